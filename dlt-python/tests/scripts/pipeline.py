"""A small dlt pipeline to dlt's dummy destination: `pipeline.py [--engine]`.

With --engine, dlt_telemetry.install() runs first. Prints the load info's first line.
"""

import sys

import dlt

if "--engine" in sys.argv:
    import dlt_telemetry

    dlt_telemetry.install()

pipeline = dlt.pipeline(pipeline_name="tiny", destination="dummy", dataset_name="tiny_data")
info = pipeline.run([{"id": 1, "name": "a"}, {"id": 2, "name": "b"}], table_name="items")
print(str(info).splitlines()[0])
if "--engine" in sys.argv:
    from dlt.common.runtime import anon_tracker

    assert anon_tracker._THREAD_POOL is None, "dlt's own tracker never starts its worker"
