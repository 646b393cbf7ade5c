"""Keeps dlt (Python) out of the machine's real dlt folders in the tests' processes.

dlt running as root keeps its global dir in /var/dlt whatever HOME says (and reads no
DLT_GLOBAL_DIR), so every process a test starts gets this folder on PYTHONPATH: when
DLT_TELEMETRY_TEST_GLOBAL_DIR is set, dlt's ``global_dir()`` returns it instead. The engine
follows dlt's global dir once ``install()`` ran, and reads DLT_GLOBAL_DIR (which the tests set
to the same folder) otherwise.
"""

import os

_global_dir = os.environ.get("DLT_TELEMETRY_TEST_GLOBAL_DIR")
if _global_dir:
    import dlt.common.runtime.run_context as _run_context

    _run_context.global_dir = lambda: _global_dir
