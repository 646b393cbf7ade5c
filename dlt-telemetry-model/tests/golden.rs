//! Agreement with real dlt payloads: every message under `testdata/golden/segment/` parses and
//! serialises back unchanged, key order included.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

use dlt_telemetry_model::{AnonymousMessage, KnownEvent, PipelineTrace, RunContext, TrackMessage};
use serde_json::Value;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/golden")
}

/// Every golden message body, found by listing the folder: `(file, body)`.
fn golden_messages() -> Vec<(PathBuf, Value)> {
    let mut files = Vec::new();
    for version in fs::read_dir(golden_dir().join("segment")).unwrap() {
        for file in fs::read_dir(version.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            let json: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
            let body = if json.get("request").is_some() { json["body"].clone() } else { json };
            files.push((path, body));
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(files.len() >= 18, "expected all golden messages, found {}", files.len());
    files
}

#[test]
fn every_golden_message_round_trips_with_key_order() {
    for (path, body) in golden_messages() {
        let message: TrackMessage =
            serde_json::from_value(body.clone()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let reserialised = serde_json::to_string(&message).unwrap();
        assert_eq!(reserialised, serde_json::to_string(&body).unwrap(), "{}", path.display());
    }
}

#[test]
fn raw_bytes_as_sent_by_dlt_parse_to_the_same_message() {
    for version in ["dlt-1.31", "dlt-0.2.6"] {
        for file in fs::read_dir(golden_dir().join("segment").join(version)).unwrap() {
            let path = file.unwrap().path();
            let json: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
            let raw: TrackMessage = serde_json::from_str(json["body_raw"].as_str().unwrap()).unwrap();
            assert_eq!(serde_json::to_value(&raw).unwrap(), json["body"], "{}", path.display());
        }
    }
}

#[test]
fn known_golden_events_parse_into_typed_properties() {
    let mut typed = 0;
    for (path, body) in golden_messages() {
        let message: TrackMessage = serde_json::from_value(body).unwrap();
        let event = KnownEvent::parse(&message).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let expect_known = message.event != "command_telemetry_switch";
        assert_eq!(event.is_some(), expect_known, "{}: {}", path.display(), message.event);
        typed += usize::from(event.is_some());
    }
    assert!(typed >= 17);
}

#[test]
fn typed_pipeline_load_reads_dlt_131_fields() {
    let path = golden_dir().join("segment/dlt-1.31/A07_pipeline_run.pipeline_load.json");
    let json: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    let message: TrackMessage = serde_json::from_value(json["body"].clone()).unwrap();
    let Some(KnownEvent::PipelineLoad(load)) = KnownEvent::parse(&message).unwrap() else {
        panic!("not a pipeline_load");
    };
    assert_eq!(load.step.pipeline_name_hash.as_deref(), Some("HAaZnBCl4sy0jO0VDVOy"));
    assert_eq!(load.step.dataset_name_hash.as_deref(), Some("45i9eQF39wFD28VfKOIP"));
    assert_eq!(load.destination_fingerprint.as_deref(), Some(""));
    assert!(load.step.success);
    assert_eq!(message.context.run_context.as_ref().map(RunContext::name), Some("dlt"));
    assert_eq!(message.context.python.as_deref(), Some("3.11.2"));
}

#[test]
fn dlt_trace_asdict_parses() {
    let path = golden_dir().join("trace/dlt-1.31-pipeline-trace-asdict.json");
    let trace: PipelineTrace = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(trace.pipeline.pipeline_name, "tiny");
    assert_eq!(trace.steps.len(), 3);
    assert!(trace.succeeded());
    assert_eq!(trace.steps[0].step, "extract");
    assert!(trace.steps[0].extra.contains_key("extract_info"));
    assert_eq!(trace.extra["engine_version"], 2);
}

#[test]
fn segment_fields_added_to_a_parsed_message_follow_dlts_fields_in_order() {
    for (path, body) in golden_messages() {
        let mut message: TrackMessage = serde_json::from_value(body.clone()).unwrap();
        message.message_type = Some(dlt_telemetry_model::TRACK_TYPE.into());
        message.message_id = Some("5f6d3c4e-2b1a-4c8d-9e7f-0a1b2c3d4e5f".into());
        message.timestamp = Some(time::OffsetDateTime::UNIX_EPOCH);
        message.sent_at = Some(time::OffsetDateTime::UNIX_EPOCH);
        let json = serde_json::to_value(&message).unwrap();
        let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        let dlt_keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        let mut expected = dlt_keys.clone();
        expected.extend(["type", "messageId", "timestamp", "sentAt"]);
        assert_eq!(keys, expected, "{}", path.display());
    }
}

#[test]
fn every_golden_message_passes_the_privacy_gate_unchanged() {
    for (path, body) in golden_messages() {
        let message: TrackMessage = serde_json::from_value(body).unwrap();
        let screened = AnonymousMessage::screen(message.clone()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert_eq!(screened.message().properties, message.properties, "{}", path.display());
        assert_eq!(screened.message().context, message.context, "{}", path.display());
    }
}
