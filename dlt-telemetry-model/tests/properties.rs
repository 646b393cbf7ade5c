//! Property tests of message parsing, the `message_parsing` fuzz target's properties in
//! seconds: a message that parses serialises, parses again to an equal value and serialises to
//! the same bytes (its key order kept); bytes that are almost a message never panic the parser
//! or `KnownEvent::parse`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dlt_telemetry_model::{KnownEvent, TrackMessage};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// The round trip of the fuzz target; nothing when `bytes` is not a message.
fn round_trip(bytes: &[u8]) -> Result<bool, TestCaseError> {
    let Ok(message) = serde_json::from_slice::<TrackMessage>(bytes) else { return Ok(false) };
    let known = KnownEvent::parse(&message);
    let _ = message.category_and_name();
    let serialised = serde_json::to_vec(&message).map_err(|error| TestCaseError::fail(error.to_string()))?;
    let again: TrackMessage = serde_json::from_slice(&serialised)
        .map_err(|error| TestCaseError::fail(format!("{error}: {}", String::from_utf8_lossy(&serialised))))?;
    prop_assert_eq!(&again, &message);
    let serialised_again = serde_json::to_vec(&again).unwrap();
    prop_assert_eq!(String::from_utf8_lossy(&serialised_again), String::from_utf8_lossy(&serialised));
    let known_again = KnownEvent::parse(&again);
    prop_assert_eq!(known.as_ref().ok(), known_again.as_ref().ok());
    prop_assert_eq!(known.is_err(), known_again.is_err());
    Ok(true)
}

/// A JSON number, as a sender writes it: integers of any size, and any finite float.
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        prop::num::f64::NORMAL.prop_map(Value::from),
        prop::num::f64::SUBNORMAL.prop_map(Value::from),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![Just(Value::Null), any::<bool>().prop_map(Value::from), number(), any::<String>().prop_map(Value::from)]
}

fn json() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::vec((any::<String>(), inner), 0..4)
                .prop_map(|entries| Value::Object(entries.into_iter().collect())),
        ]
    })
}

/// Keys the model does not know, for the `extra` maps.
fn extra() -> impl Strategy<Value = Vec<(String, Value)>> {
    prop::collection::vec(("x_[a-zA-Z0-9_]{0,6}", json()), 0..3)
}

fn event() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "command_telemetry",
            "command_telemetry.switch",
            "command_init",
            "command_pipeline",
            "pipeline_extract",
            "pipeline_normalize",
            "pipeline_load",
            "pipeline_run",
            "pipeline_access_dataset",
            "helper_airflow",
            "mcp_",
        ])
        .prop_map(str::to_owned),
        any::<String>(),
    ]
}

/// Properties with the keys the known events read, of the right type or not, and others.
fn properties() -> impl Strategy<Value = Map<String, Value>> {
    let known = prop::sample::select(vec![
        "elapsed",
        "success",
        "destination_name",
        "destination_type",
        "transaction_id",
        "pipeline_name_hash",
        "data",
        "operation",
        "enabled",
        "source_name",
        "event_category",
        "event_name",
    ]);
    prop::collection::vec((prop_oneof![known.prop_map(str::to_owned), any::<String>()], json()), 0..8)
        .prop_map(|entries| entries.into_iter().collect())
}

/// An RFC 3339 date-time anywhere in years 0 to 9999, any offset, 0 to 9 fraction digits.
fn timestamp() -> impl Strategy<Value = String> {
    (0u32..=9999, 1u32..=12, 1u32..=28, 0u32..24, 0u32..60, 0u32..60, 0usize..=9, any::<u32>(), -23i32..=23, 0u32..60)
        .prop_map(|(year, month, day, hour, minute, second, digits, fraction, offset_hours, offset_minutes)| {
            let fraction =
                if digits == 0 { String::new() } else { format!(".{}", &format!("{fraction:010}")[..digits]) };
            let offset = if offset_hours == 0 && offset_minutes == 0 {
                "Z".to_owned()
            } else {
                let sign = if offset_hours < 0 { '-' } else { '+' };
                format!("{sign}{:02}:{offset_minutes:02}", offset_hours.unsigned_abs())
            };
            format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{fraction}{offset}")
        })
}

fn object(entries: Vec<(String, Value)>) -> Value {
    Value::Object(entries.into_iter().collect())
}

fn library() -> impl Strategy<Value = Value> {
    ("[a-z]{1,6}", "[0-9.]{1,6}", extra()).prop_map(|(name, version, extra)| {
        let mut entries = vec![("name".to_owned(), Value::from(name)), ("version".to_owned(), Value::from(version))];
        entries.extend(extra);
        object(entries)
    })
}

fn context() -> impl Strategy<Value = Value> {
    let run_context = prop_oneof![
        Just(None),
        "[a-z]{1,6}".prop_map(|name| Some(Value::from(name))),
        ("[a-z]{1,6}", proptest::option::of("[a-z]{1,6}")).prop_map(|(name, profile)| {
            let mut entries = vec![("name".to_owned(), Value::from(name))];
            entries.extend(profile.map(|profile| ("profile".to_owned(), Value::from(profile))));
            Some(object(entries))
        }),
    ];
    (
        any::<bool>(),
        any::<u32>(),
        prop::collection::vec("[a-z_]{1,8}", 0..3),
        library(),
        library(),
        proptest::option::of("3\\.[0-9]{1,2}\\.[0-9]"),
        run_context,
        proptest::option::of(library()),
        extra(),
    )
        .prop_flat_map(|(ci_run, cpu, exec_info, os, library, python, run_context, dlthub, extra)| {
            let mut entries = vec![
                ("ci_run".to_owned(), Value::from(ci_run)),
                ("cpu".to_owned(), Value::from(cpu)),
                ("exec_info".to_owned(), Value::from(exec_info)),
                ("os".to_owned(), os),
                ("library".to_owned(), library),
            ];
            entries.extend(python.map(|python| ("python".to_owned(), Value::from(python))));
            entries.extend(run_context.map(|run_context| ("run_context".to_owned(), run_context)));
            entries.extend(dlthub.map(|dlthub| ("dlthub".to_owned(), dlthub)));
            entries.extend(extra);
            Just(entries).prop_shuffle().prop_map(object)
        })
}

/// A message as JSON text: the required fields, some of Segment's, unknown ones, in any order.
fn message() -> impl Strategy<Value = String> {
    (
        "[0-9a-f]{32}",
        event(),
        properties(),
        context(),
        proptest::option::of(Just("track")),
        proptest::option::of("[0-9a-f-]{36}"),
        proptest::option::of(timestamp()),
        proptest::option::of(timestamp()),
        proptest::option::of(any::<String>()),
        extra(),
    )
        .prop_flat_map(
            |(anonymous_id, event, properties, context, kind, message_id, timestamp, sent_at, user_id, extra)| {
                let mut entries = vec![
                    ("anonymousId".to_owned(), Value::from(anonymous_id)),
                    ("event".to_owned(), Value::from(event)),
                    ("properties".to_owned(), Value::Object(properties)),
                    ("context".to_owned(), context),
                ];
                entries.extend(kind.map(|kind| ("type".to_owned(), Value::from(kind))));
                entries.extend(message_id.map(|id| ("messageId".to_owned(), Value::from(id))));
                entries.extend(timestamp.map(|at| ("timestamp".to_owned(), Value::from(at))));
                entries.extend(sent_at.map(|at| ("sentAt".to_owned(), Value::from(at))));
                entries.extend(user_id.map(|id| ("userId".to_owned(), Value::from(id))));
                entries.extend(extra);
                Just(entries).prop_shuffle().prop_map(|entries| object(entries).to_string())
            },
        )
}

/// Bytes that make JSON interesting.
const ODD_BYTES: &[u8] = b"{}[]:,\"\\ \n\r\t0123456789.eE+-ntfu\xff\xc3\x00";

/// `text` with a few bytes inserted, removed or replaced.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    (message(), prop::collection::vec((any::<prop::sample::Index>(), 0u8..3, prop::sample::select(ODD_BYTES)), 1..6))
        .prop_map(|(text, edits)| {
            let mut bytes = text.into_bytes();
            for (at, kind, byte) in edits {
                let at = at.index(bytes.len() + 1);
                match kind {
                    0 => bytes.insert(at, byte),
                    1 if at < bytes.len() => drop(bytes.remove(at)),
                    _ if at < bytes.len() => bytes[at] = byte,
                    _ => bytes.push(byte),
                }
            }
            bytes
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn a_message_survives_a_round_trip_with_its_key_order(text in message()) {
        prop_assert!(round_trip(text.as_bytes())?, "the message does not parse: {}", text);
    }

    #[test]
    fn bytes_that_are_almost_a_message_never_panic(bytes in mutated()) {
        round_trip(&bytes)?;
    }
}

/// A regression found by the `message_parsing` fuzz target: serde_json without its
/// `float_roundtrip` feature read some numbers as the float next to theirs
/// (`5.448030699994887e-25`, the shortest form of a float as serialising writes it, and
/// `0.0000000000000000000000005448030699994888`), so a message holding one (a step's
/// `elapsed`, say) changed when parsed, serialised and parsed again. The workspace enables it.
#[test]
fn a_float_survives_a_round_trip() {
    assert_eq!(serde_json::from_str::<f64>("5.448030699994887e-25").unwrap(), 5.448030699994887e-25);
    let message = r#"{"anonymousId":"be1d2228ccfa198fbfc59932191d3cce","event":"command_init","properties":{"elapsed":0.0000000000000000000000005448030699994888,"success":true},"context":{"ci_run":false,"cpu":2,"exec_info":[],"os":{"name":"Linux","version":"6.1"},"library":{"name":"dlt","version":"1.31.0"}}}"#;
    let parsed: TrackMessage = serde_json::from_str(message).unwrap();
    let again: TrackMessage = serde_json::from_slice(&serde_json::to_vec(&parsed).unwrap()).unwrap();
    assert_eq!(again, parsed);
}
