"""`track.py NAME...`: starts as my_tool 0.3.0 and tracks `command_<NAME>` for each NAME."""

import sys

import dlt_telemetry

dlt_telemetry.start("my_tool", "0.3.0")
for name in sys.argv[1:]:
    dlt_telemetry.track("command", name, {"format": "parquet", "rows": 3, "nested": {"ok": True}})
