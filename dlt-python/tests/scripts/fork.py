"""Tracks `parent_before`, forks a child that tracks `child` and exits normally, waits for it,
then tracks `parent_after`. With --dlt, the child also runs a dlt pipeline."""

import os
import sys

import dlt_telemetry

dlt_telemetry.start("my_tool", "0.3.0")
dlt_telemetry.track("command", "parent_before")
pid = os.fork()
if pid == 0:
    dlt_telemetry.track("command", "child")
    sys.exit(0)
_, status = os.waitpid(pid, 0)
assert os.waitstatus_to_exitcode(status) == 0, status
dlt_telemetry.track("command", "parent_after")
