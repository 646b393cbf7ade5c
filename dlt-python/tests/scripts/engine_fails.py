"""The engine raising inside every call: the host never sees it. `engine_fails.py [--dlt]`."""

import sys

import dlt_telemetry
from dlt_telemetry import _engine


def fail(*args, **kwargs):
    raise RuntimeError("the engine failed")


class BrokenMapping(dict):
    def items(self):
        raise RuntimeError("cannot iterate")

    def __iter__(self):
        raise RuntimeError("cannot iterate")


dlt_telemetry.start("my_tool", "0.3.0")
# Odd input reaches the real engine: nothing raises.
dlt_telemetry.track("command", "odd", BrokenMapping(a=1))
dlt_telemetry.track(7, None, [1, 2])  # type: ignore[arg-type]
dlt_telemetry.track("command", "objects", {"path": object(), "nan": float("nan"), "big": 2**80})
# Then every entry point of the engine raises.
for name in ("track", "flush", "configure", "is_configured", "shutdown"):
    setattr(_engine, name, fail)
dlt_telemetry.track("command", "after_failure")
assert dlt_telemetry.flush(0.1) is False
if "--dlt" in sys.argv:
    import dlt

    dlt_telemetry.install()
    pipeline = dlt.pipeline(pipeline_name="tiny", destination="dummy", dataset_name="tiny_data")
    pipeline.run([{"id": 1}], table_name="items")
print("host finished")
