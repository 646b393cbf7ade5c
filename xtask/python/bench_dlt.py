"""The dlt (Python) side of `cargo xtask bench-vs-dlt`.

  bench_dlt.py deliver --messages N [--engine]
                        track N pipeline_load events with dlt's anonymous tracker, timing each
                        track() call, then stop the tracker (which waits until every event is
                        posted); print the same JSON object as xtask/examples/bench_segment.rs
  bench_dlt.py pipeline [--engine]
                        run a 3-row pipeline to the dummy destination (4 events)

With --engine, dlt_telemetry.install() switches dlt to this project's engine first, and
`deliver` waits for the engine (sending from the process) instead of dlt's tracker.

The endpoint and the telemetry switch come from the environment, as dlt reads them
(RUNTIME__DLTHUB_TELEMETRY_ENDPOINT, RUNTIME__DLTHUB_TELEMETRY). DLT_GLOBAL_DIR, which dlt itself
does not read, moves dlt's global dir too, so that a run as root stays out of /var/dlt.
"""

import json
import os
import sys
import time

# The properties of the Rust side's message (xtask/examples/bench_segment.rs).
LOAD_PROPERTIES = {
    "elapsed": 0.905544,
    "success": True,
    "destination_name": "duckdb",
    "destination_type": "dlt.destinations.duckdb",
    "pipeline_name_hash": "HAaZnBCl4sy0jO0VDVOy",
    "dataset_name_hash": "45i9eQF39wFD28VfKOIP",
    "default_schema_name_hash": "HAaZnBCl4sy0jO0VDVOy",
    "transaction_id": "7a2854ba5e862d2a319cfca0a5d578b1",
    "destination_fingerprint": "",
}


def use_global_dir() -> None:
    """dlt's global dir is DLT_GLOBAL_DIR when it is set (dlt reads it only as root's /var/dlt)."""
    global_dir = os.environ.get("DLT_GLOBAL_DIR")
    if global_dir:
        import dlt.common.runtime.run_context as run_context

        run_context.global_dir = lambda: global_dir


def install_engine() -> None:
    import dlt_telemetry

    dlt_telemetry.install()


def deliver(messages: int, engine: bool) -> None:
    import dlt
    from dlt.common.runtime import anon_tracker

    if engine:
        install_engine()
    # The run context starts telemetry from the configuration, as any dlt program does.
    dlt.current.run_context()
    endpoint = os.environ["RUNTIME__DLTHUB_TELEMETRY_ENDPOINT"]
    if anon_tracker._ANON_TRACKER_ENDPOINT != endpoint:
        sys.exit(f"dlt's tracker is not sending to {endpoint}: {anon_tracker._ANON_TRACKER_ENDPOINT!r}")

    # track() adds event_category and event_name to the dict it is given: one fresh dict each.
    batches = [dict(LOAD_PROPERTIES) for _ in range(messages)]
    track_ns = []
    started = time.perf_counter()
    for properties in batches:
        call = time.perf_counter_ns()
        anon_tracker.track("pipeline", "load", properties)
        track_ns.append(time.perf_counter_ns() - call)
    if engine:
        import dlt_telemetry

        if not dlt_telemetry.flush(300.0):
            sys.exit("the engine did not deliver every event")
    else:
        anon_tracker.disable_anon_tracker()  # waits for the worker to post every event
    delivered_seconds = time.perf_counter() - started
    print(json.dumps({"messages": messages, "delivered_seconds": delivered_seconds, "track_ns": track_ns}))


def pipeline(engine: bool) -> None:
    import dlt

    if engine:
        install_engine()
    rows = [{"id": 1, "name": "alpha"}, {"id": 2, "name": "beta"}, {"id": 3, "name": "gamma"}]
    bench = dlt.pipeline(
        pipeline_name="bench_pipeline",
        destination=dlt.destinations.dummy(completed_prob=1.0),
        dataset_name="bench_data",
    )
    info = bench.run(rows, table_name="rows")
    info.raise_on_failed_jobs()
    print(f"loaded {len(rows)} rows")


def main() -> None:
    args = sys.argv[1:]
    engine = "--engine" in args
    args = [arg for arg in args if arg != "--engine"]
    use_global_dir()
    if args[:1] == ["deliver"] and len(args) == 3 and args[1] == "--messages":
        deliver(int(args[2]), engine)
    elif args == ["pipeline"]:
        pipeline(engine)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
