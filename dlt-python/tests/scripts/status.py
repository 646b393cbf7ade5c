"""Prints dlt_telemetry.status() as JSON, as a tool named `probe`."""

import json

import dlt_telemetry

dlt_telemetry.start("probe", "0.0.1")
print(json.dumps(dlt_telemetry.status()))
