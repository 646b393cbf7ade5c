//! Typed events: how they serialise, and that they read back into the same values.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dlt_telemetry_model::events::{
    CommandEvent, ExtractedData, Init, PipelineAccessDataset, PipelineCommand, PipelineExtract, PipelineLoad,
    PipelineNormalize, PipelineRun, PipelineStep, TelemetryStatus, TelemetrySwitch,
};
use dlt_telemetry_model::{
    AnonymousId, AnonymousMessage, Context, Event, EventCategory, KnownEvent, Library, OsInfo, RunContext,
    RunContextInfo, SafeContext, TrackMessage, digest128,
};
use serde_json::json;
use time::macros::datetime;

fn context() -> Context {
    Context::new(OsInfo::new("Linux", "6.1.0"), Library::new("dlt", "0.1.0"))
        .with_cpu(2)
        .with_exec_info(vec!["docker".into()])
        .with_run_context(RunContext::Info(RunContextInfo::new("dlt")))
}

fn step(success: bool) -> PipelineStep {
    PipelineStep {
        elapsed: 0.905544,
        success,
        destination_name: Some("duckdb".into()),
        destination_type: Some("dlt.destinations.duckdb".into()),
        pipeline_name_hash: Some(digest128("tiny")),
        dataset_name_hash: Some(digest128("tiny_data")),
        default_schema_name_hash: None,
        transaction_id: "7a2854ba5e862d2a319cfca0a5d578b1".into(),
    }
}

/// The message of `event`, built through the privacy gate.
fn message_of<E: Event>(event: E) -> TrackMessage {
    let context = SafeContext::screen(context());
    AnonymousMessage::from_event(event, AnonymousId::from_random_bytes([0; 16]), &context).into_message()
}

/// Builds the message of `event` and reads it back as a typed event.
fn round_trip<E: Event + Clone>(event: E) -> (TrackMessage, KnownEvent) {
    let message = message_of(event);
    let text = serde_json::to_string(&message).unwrap();
    let parsed: TrackMessage = serde_json::from_str(&text).unwrap();
    assert_eq!(parsed, message);
    let typed = KnownEvent::parse(&parsed).unwrap().expect("a known event");
    (message, typed)
}

#[test]
fn every_known_event_reads_back_equal() {
    let command = |arguments| CommandEvent { arguments, elapsed: 0.5, success: true };
    let cases = [
        (round_trip(command(TelemetryStatus {})).1, KnownEvent::Telemetry(command(TelemetryStatus {}))),
        (
            round_trip(CommandEvent { arguments: TelemetrySwitch { enabled: true }, elapsed: 0.1, success: true }).1,
            KnownEvent::TelemetrySwitch(CommandEvent {
                arguments: TelemetrySwitch { enabled: true },
                elapsed: 0.1,
                success: true,
            }),
        ),
        (
            round_trip(CommandEvent { arguments: Init::new("chess", "duckdb"), elapsed: 3.2, success: false }).1,
            KnownEvent::Init(CommandEvent { arguments: Init::new("chess", "duckdb"), elapsed: 3.2, success: false }),
        ),
        (
            round_trip(CommandEvent {
                arguments: PipelineCommand { operation: "trace".into() },
                elapsed: 0.0,
                success: true,
            })
            .1,
            KnownEvent::Pipeline(CommandEvent {
                arguments: PipelineCommand { operation: "trace".into() },
                elapsed: 0.0,
                success: true,
            }),
        ),
        (
            round_trip(PipelineNormalize { step: step(true) }).1,
            KnownEvent::PipelineNormalize(PipelineNormalize { step: step(true) }),
        ),
        (round_trip(PipelineRun { step: step(false) }).1, KnownEvent::PipelineRun(PipelineRun { step: step(false) })),
    ];
    for (parsed, expected) in cases {
        assert_eq!(parsed, expected);
    }
    let extract = PipelineExtract {
        step: step(true),
        extract_data: Some(vec![ExtractedData { name: String::new(), data_type: "dict".into() }]),
    };
    assert_eq!(round_trip(extract.clone()).1, KnownEvent::PipelineExtract(extract));
    let load = PipelineLoad { step: step(true), destination_fingerprint: Some(String::new()) };
    assert_eq!(round_trip(load.clone()).1, KnownEvent::PipelineLoad(load));
    let access = PipelineAccessDataset {
        success: true,
        destination_name: None,
        destination_type: None,
        pipeline_name_hash: Some(digest128("tiny")),
        dataset_name_hash: None,
        default_schema_name_hash: None,
        requested_schema_name_hash: None,
    };
    assert_eq!(round_trip(access.clone()).1, KnownEvent::PipelineAccessDataset(access));
}

#[test]
fn properties_follow_dlt_order_then_category_and_name() {
    let load = PipelineLoad { step: step(true), destination_fingerprint: Some(String::new()) };
    let message = message_of(load);
    let keys: Vec<&str> = message.properties.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "elapsed",
            "success",
            "destination_name",
            "destination_type",
            "pipeline_name_hash",
            "dataset_name_hash",
            "default_schema_name_hash",
            "transaction_id",
            "destination_fingerprint",
            "event_category",
            "event_name",
        ]
    );
    assert_eq!(message.properties["default_schema_name_hash"], json!(null));
    assert_eq!(message.event, "pipeline_load");
    assert_eq!(message.category_and_name(), Some((EventCategory::Pipeline, "load")));
}

#[test]
fn a_message_with_segment_fields_serialises_them_after_dlts() {
    let mut message = message_of(PipelineRun { step: step(true) });
    message.anonymous_id = "ab".repeat(16);
    message.message_type = Some(dlt_telemetry_model::TRACK_TYPE.into());
    message.message_id = Some("5f6d3c4e-2b1a-4c8d-9e7f-0a1b2c3d4e5f".into());
    message.timestamp = Some(datetime!(2026-11-25 14:11:27.305463 UTC));
    message.sent_at = Some(datetime!(2026-11-25 14:11:28 UTC));
    insta::assert_json_snapshot!(message);
    let parsed: TrackMessage = serde_json::from_str(&serde_json::to_string(&message).unwrap()).unwrap();
    assert_eq!(parsed.timestamp, message.timestamp);
}

#[test]
fn unknown_events_of_known_categories_are_messages_without_a_type() {
    let text = r#"{"anonymousId":"x","event":"mcp_tool_secrets_list","properties":{"mcp_primitive":"tool","event_category":"mcp","event_name":"tool_secrets_list"},"context":{"ci_run":true,"cpu":1,"exec_info":[],"os":{"name":"Linux","version":"6"},"library":{"name":"dlt","version":"1"},"run_context":"dlt"}}"#;
    let message: TrackMessage = serde_json::from_str(text).unwrap();
    assert_eq!(KnownEvent::parse(&message).unwrap(), None);
    assert_eq!(message.category_and_name(), Some((EventCategory::Mcp, "tool_secrets_list")));
    assert_eq!(message.context.run_context, Some(RunContext::Name("dlt".into())));
    assert_eq!(serde_json::to_string(&message).unwrap(), text);
}

#[test]
fn a_known_event_with_wrongly_typed_properties_is_an_error() {
    let mut message = message_of(PipelineRun { step: step(true) });
    message.anonymous_id = "ab".repeat(16);
    message.properties.insert("success".into(), json!("yes"));
    let error = KnownEvent::parse(&message).unwrap_err();
    assert!(error.to_string().contains("invalid type"), "{error}");
}

#[test]
fn a_message_missing_a_required_field_does_not_parse() {
    for missing in ["anonymousId", "event", "properties", "context"] {
        let mut json = serde_json::to_value(message_of(PipelineRun { step: step(true) })).unwrap();
        json.as_object_mut().unwrap().remove(missing);
        let error = serde_json::from_value::<TrackMessage>(json).unwrap_err();
        assert!(error.to_string().contains(missing), "{missing}: {error}");
    }
}
