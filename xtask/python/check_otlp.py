"""Decodes OTLP/HTTP trace exports with OpenTelemetry's Python opentelemetry-proto package,
prints the span tree of every trace, and checks the tree of the pipeline run.

Usage: python check_otlp.py --trace-id HEX [--parent TRACEID-SPANID] [--fail-at STEP] FILE...

Each FILE is one request body as posted to /v1/traces; a name ending in .gz is gunzipped first.
The run must be one root span "run chess" in trace --trace-id (a child of the caller's span
when --parent is given, a root otherwise) with one child per step, extract, normalize, load, in
that order, up to the step given by --fail-at, which must be ERROR under an ERROR root; there
must be one command span "dlt pipeline". Exit status 1 when a body does not decode or the tree
is not that.
"""

import argparse
import gzip
import sys

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Status

STEPS = ["extract", "normalize", "load"]
RUN = "run chess"
COMMAND = "dlt pipeline"


def value_of(any_value):
    """The Python value of an AnyValue."""
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def attributes(key_values):
    return {kv.key: value_of(kv.value) for kv in key_values}


def decode(path):
    """The spans of one body, as dicts; raises when the body is not an ExportTraceServiceRequest."""
    with open(path, "rb") as file:
        data = file.read()
    if path.endswith(".gz"):
        data = gzip.decompress(data)
    request = ExportTraceServiceRequest()
    request.ParseFromString(data)
    spans = []
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append({
                    "trace_id": span.trace_id.hex(),
                    "span_id": span.span_id.hex(),
                    "parent": span.parent_span_id.hex(),
                    "name": span.name,
                    "start": span.start_time_unix_nano,
                    "end": span.end_time_unix_nano,
                    "status": span.status.code,
                    "message": span.status.message,
                    "attributes": attributes(span.attributes),
                    "events": [event.name for event in span.events],
                    "resource": resource,
                    "scope": scope_spans.scope.name,
                })
    return spans


def status_name(code):
    return Status.StatusCode.Name(code).removeprefix("STATUS_CODE_")


def print_tree(spans):
    by_trace = {}
    for span in spans:
        by_trace.setdefault(span["trace_id"], []).append(span)
    for trace_id, members in by_trace.items():
        print(f"trace {trace_id}")
        ids = {span["span_id"] for span in members}
        children = {}
        for span in sorted(members, key=lambda span: span["start"]):
            parent = span["parent"] if span["parent"] in ids else None
            children.setdefault(parent, []).append(span)

        def show(span, depth):
            dlt = {key: value for key, value in span["attributes"].items() if key.startswith("dlt.")}
            parent = "" if depth or not span["parent"] else f" (child of {span['parent']})"
            status = status_name(span["status"])
            message = f": {span['message']}" if span["message"] else ""
            events = f" events={span['events']}" if span["events"] else ""
            print(f"{'  ' * (depth + 1)}{span['name']} [{span['span_id']}]{parent} {status}{message} {dlt}{events}")
            for child in children.get(span["span_id"], []):
                show(child, depth + 1)

        for root in children.get(None, []):
            show(root, 0)


def problems_of(spans, trace_id, parent, fail_at):
    problems = []
    for span in spans:
        if len(span["trace_id"]) != 32 or set(span["trace_id"]) == {"0"}:
            problems.append(f"{span['name']}: invalid trace id {span['trace_id']!r}")
        if len(span["span_id"]) != 16 or set(span["span_id"]) == {"0"}:
            problems.append(f"{span['name']}: invalid span id {span['span_id']!r}")
        if span["end"] < span["start"] or span["start"] == 0:
            problems.append(f"{span['name']}: times are not a start and a later end")
        if not span["resource"].get("service.name"):
            problems.append(f"{span['name']}: the resource has no service.name")
    roots = [span for span in spans if span["name"] == RUN]
    if len(roots) != 1:
        return problems + [f"expected one {RUN!r} span, found {len(roots)}"]
    root = roots[0]
    if root["trace_id"] != trace_id:
        problems.append(f"the run is in trace {root['trace_id']}, the example printed {trace_id}")
    expected_parent = parent[1] if parent else ""
    if parent and root["trace_id"] != parent[0]:
        problems.append(f"the run is in trace {root['trace_id']}, not the caller's {parent[0]}")
    if root["parent"] != expected_parent:
        problems.append(f"the run's parent is {root['parent']!r}, expected {expected_parent!r}")
    steps = sorted((span for span in spans if span["parent"] == root["span_id"]), key=lambda span: span["start"])
    expected = STEPS[: STEPS.index(fail_at) + 1] if fail_at else STEPS
    if [span["name"] for span in steps] != expected:
        problems.append(f"the run's children are {[span['name'] for span in steps]}, expected {expected}")
    for span in steps:
        if span["trace_id"] != root["trace_id"]:
            problems.append(f"{span['name']} is in another trace than its run")
        failed = span["name"] == fail_at
        if (span["status"] == Status.STATUS_CODE_ERROR) != failed:
            problems.append(f"{span['name']} has status {status_name(span['status'])}")
        if span["attributes"].get("dlt.step.name") != span["name"]:
            problems.append(f"{span['name']} lacks dlt.step.name")
    if (root["status"] == Status.STATUS_CODE_ERROR) != bool(fail_at):
        problems.append(f"the run has status {status_name(root['status'])}")
    commands = [span for span in spans if span["name"] == COMMAND]
    if len(commands) != 1:
        problems.append(f"expected one {COMMAND!r} span, found {len(commands)}")
    elif commands[0]["parent"] != expected_parent:
        problems.append(f"the command's parent is {commands[0]['parent']!r}, expected {expected_parent!r}")
    return problems


def main():
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--trace-id", required=True)
    arguments.add_argument("--parent", help="TRACEID-SPANID of the caller's span")
    arguments.add_argument("--fail-at", choices=STEPS)
    arguments.add_argument("files", nargs="+")
    options = arguments.parse_args()
    spans = []
    failures = 0
    for path in options.files:
        try:
            decoded = decode(path)
        except Exception as error:  # protobuf raises DecodeError, gzip OSError
            print(f"{path}: cannot decode: {error!r}")
            failures += 1
            continue
        print(f"{path}: {len(decoded)} span(s)")
        spans.extend(decoded)
    print_tree(spans)
    parent = tuple(options.parent.split("-")) if options.parent else None
    problems = problems_of(spans, options.trace_id, parent, options.fail_at)
    for problem in problems:
        print(f"problem: {problem}")
    if not problems and not failures:
        print("ok: one run, one root, its steps in order")
    return 1 if problems or failures else 0


if __name__ == "__main__":
    sys.exit(main())
