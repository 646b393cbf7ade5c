"""Parses Sentry envelopes with Sentry's official Python SDK and reports what it cannot read.

Usage: python check_envelopes.py <envelope file>...

For every file: the envelope must deserialize; every item must have a known type and a payload
the SDK reads (events through get_event(), transactions through get_transaction_event()); the
fields Sentry's protocol requires must be there with the right types; any field the protocol
does not define is reported. Exit status 1 when anything could not be read.
"""

import sys

from sentry_sdk.envelope import Envelope

KNOWN_ITEM_TYPES = {"event", "transaction", "session", "sessions", "attachment", "client_report", "check_in", "log"}

# Top-level fields of Sentry's event payload (develop.sentry.dev/sdk/data-model/event-payloads/).
EVENT_FIELDS = {
    "event_id", "timestamp", "start_timestamp", "platform", "level", "logger", "transaction",
    "transaction_info", "server_name", "release", "dist", "environment", "modules", "extra",
    "fingerprint", "exception", "message", "logentry", "breadcrumbs", "contexts", "tags", "user",
    "request", "sdk", "spans", "type", "threads", "stacktrace", "debug_meta", "measurements",
}
REQUIRED = {"event": {"event_id": str, "timestamp": (str, float, int)}, "transaction": {
    "event_id": str, "timestamp": (str, float, int), "start_timestamp": (str, float, int),
    "transaction": str, "contexts": dict, "spans": list}}
SPAN_FIELDS = {"span_id", "trace_id", "parent_span_id", "op", "description", "status", "tags",
               "data", "start_timestamp", "timestamp", "same_process_as_parent", "origin"}


def problems_of(item):
    """The problems of one item, as sentences."""
    problems = []
    item_type = item.type
    if item_type not in KNOWN_ITEM_TYPES:
        return [f"item type {item_type!r} is not one Sentry knows"]
    if item_type == "event":
        payload = item.get_event()
    elif item_type == "transaction":
        payload = item.get_transaction_event()
    else:
        payload = item.payload.json
    if payload is None:
        return [f"{item_type}: the SDK could not read the payload"]
    for field, kinds in REQUIRED.get(item_type, {}).items():
        if not isinstance(payload.get(field), kinds):
            problems.append(f"{item_type}: required field {field!r} missing or of the wrong type")
    if item_type in ("event", "transaction"):
        for field in sorted(set(payload) - EVENT_FIELDS):
            problems.append(f"{item_type}: field {field!r} is not in Sentry's event protocol")
        for index, span in enumerate(payload.get("spans", [])):
            for field in sorted(set(span) - SPAN_FIELDS):
                problems.append(f"{item_type}: spans[{index}].{field} is not in Sentry's span protocol")
            for field in ("span_id", "trace_id", "start_timestamp"):
                if field not in span:
                    problems.append(f"{item_type}: spans[{index}] lacks {field!r}")
        if item_type == "transaction" and "trace" not in payload.get("contexts", {}):
            problems.append("transaction: contexts.trace is missing")
    return problems


def main(paths):
    failures = 0
    for path in paths:
        with open(path, "rb") as file:
            data = file.read()
        try:
            envelope = Envelope.deserialize(data)
        except Exception as error:  # the SDK raises assorted errors on bad input
            print(f"{path}: cannot deserialize: {error}")
            failures += 1
            continue
        types = [item.type for item in envelope.items]
        problems = [p for item in envelope.items for p in problems_of(item)]
        if not envelope.items:
            problems.append("the envelope has no items")
        print(f"{path}: items {types}: " + ("ok" if not problems else "; ".join(problems)))
        failures += len(problems)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
