//! The JSON event schemas of dlt telemetry.
