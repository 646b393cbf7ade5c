//! Property tests of the outbox reader, the `outbox_reader` fuzz target's properties in
//! seconds: whatever a recipient's `outbox-<n>.jsonl` holds, `inspect_outboxes` and a hand-off
//! append never panic, and afterwards the file holds the new message whole, once, and otherwise
//! only lines of the old file, kept byte for byte (an append in place leaves lines that are not
//! messages for the next claim to skip).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use dlt_fs::PrivateDir;
use dlt_redact::HttpUrl;
use dlt_segment::{
    HandoffTransport, ManualClock, OutboxOptions, Recipient, SegmentOptions, Transport, inspect_outboxes,
};
use dlt_telemetry_model::{AnonymousId, AnonymousMessage, EventCategory, TrackMessage};
use proptest::prelude::*;
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;

/// The outbox's "now"; lines are recorded around it.
const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);
/// The `anonymousId` of the message appended in each case: `a5` 16 times.
const APPENDED: [u8; 16] = [0xa5; 16];

/// One outbox line: a message recorded within the age bound or not, with a `messageId` from a
/// small set (so that some repeat), or something else.
fn line() -> impl Strategy<Value = String> {
    let message = (
        prop::sample::select(vec![
            "2025-12-31T23:00:00Z",
            "2025-12-30T12:00:00.5+02:00",
            "2026-01-01T00:00:00Z",
            "2026-02-01T00:00:00Z",
            "2025-01-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59-23:59",
        ]),
        proptest::option::of(0u8..4),
        any::<String>(),
        any::<bool>(),
    )
        .prop_map(|(timestamp, id, name, carriage_return)| {
            let mut message = json!({
                "anonymousId": "933dd165453d196a58adaf49444e9b4c",
                "event": format!("command_{name}"),
                "properties": {"elapsed": 0.25, "success": true},
                "context": {"ci_run": false, "cpu": 2, "exec_info": [], "os": {"name": "Linux", "version": "6.1"},
                            "library": {"name": "dlt", "version": "1.31.0"}},
                "type": "track",
                "timestamp": timestamp,
            });
            if let Some(id) = id {
                message["messageId"] = json!(format!("00000000-0000-4000-8000-00000000000{id}"));
            }
            let line = message.to_string();
            if carriage_return { format!("{line}\r") } else { line }
        });
    prop_oneof![
        4 => message,
        1 => any::<String>(),
        1 => prop::sample::select(vec!["", "   ", "{}", "[]", "null", "{\"anonymousId\":1}", "\u{feff}{}"])
            .prop_map(str::to_owned),
    ]
}

/// A file of such lines, with or without a last line break, sometimes a byte cut off.
fn outbox_file() -> impl Strategy<Value = Vec<u8>> {
    (prop::collection::vec(line(), 0..6), any::<bool>(), any::<Option<prop::sample::Index>>()).prop_map(
        |(lines, last_break, cut)| {
            let mut bytes = lines.join("\n").into_bytes();
            if last_break {
                bytes.push(b'\n');
            }
            if let Some(cut) = cut {
                let at = cut.index(bytes.len() + 1);
                bytes.truncate(at);
            }
            bytes
        },
    )
}

fn message() -> AnonymousMessage {
    let id = AnonymousId::from_random_bytes(APPENDED);
    let context = dlt_test_support::test_context();
    AnonymousMessage::from_properties(EventCategory::Command, "test", serde_json::Map::new(), id, &context).unwrap()
}

fn check(telemetry: &Path, endpoint: &HttpUrl, data: &[u8]) -> Result<(), TestCaseError> {
    let id = Recipient::new(endpoint, None).id().to_owned();
    let dir = telemetry.join("outbox").join(&id);
    let _ = std::fs::remove_dir_all(telemetry.join("outbox"));
    PrivateDir::create(telemetry).unwrap().create_dir("outbox").unwrap().create_dir(&id).unwrap();
    let outbox = dir.join("outbox-0.jsonl");
    std::fs::write(&outbox, data).unwrap();

    let states = inspect_outboxes(telemetry).unwrap();
    prop_assert_eq!(states.len(), 1);
    let lines = data.split(|&byte| byte == b'\n').filter(|line| !line.trim_ascii().is_empty()).count();
    prop_assert!(states[0].waiting <= lines);

    let mut options =
        SegmentOptions::new(endpoint.clone(), "dlt-test/0.1.0").with_outbox(OutboxOptions::new(telemetry));
    options.clock = ManualClock::new(NOW);
    let transport = HandoffTransport::new(options).unwrap();
    transport.track(message());
    let report = transport.shutdown(Instant::now() + Duration::from_secs(5));
    prop_assert_eq!((report.saved_to_outbox, report.lost), (1, 0));

    let after = std::fs::read(&outbox).unwrap();
    prop_assert!(after.ends_with(b"\n"));
    let input_lines: HashSet<&[u8]> = data.split(|&byte| byte == b'\n').collect();
    let mut appended = 0;
    for line in after[..after.len() - 1].split(|&byte| byte == b'\n') {
        if serde_json::from_slice::<TrackMessage>(line)
            .is_ok_and(|parsed| parsed.anonymous_id == AnonymousId::from_random_bytes(APPENDED).to_string())
        {
            appended += 1;
        } else {
            prop_assert!(input_lines.contains(line), "not from the input: {:?}", String::from_utf8_lossy(line));
        }
    }
    prop_assert_eq!(appended, 1);
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let expected = ["outbox-0.jsonl", "recipient.json", ".lock", "sender.lock", "sender.log"];
        prop_assert!(expected.contains(&name.as_str()), "{}", name);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn an_outbox_of_any_lines_is_read_and_appended_to_leaving_only_message_lines(data in outbox_file()) {
        let telemetry = dlt_test_support::private_tempdir().unwrap();
        // Never contacted: the hand-off transport opens no socket.
        let endpoint = HttpUrl::parse("http://127.0.0.1:9/v1/batch").unwrap();
        check(telemetry.path(), &endpoint, &data)?;
    }

    #[test]
    fn an_outbox_of_any_bytes_never_panics_the_reader(data in prop::collection::vec(any::<u8>(), 0..256)) {
        let telemetry = dlt_test_support::private_tempdir().unwrap();
        let endpoint = HttpUrl::parse("http://127.0.0.1:9/v1/batch").unwrap();
        check(telemetry.path(), &endpoint, &data)?;
    }
}

/// The properties above are not empty: a recent message line of the old file is kept as it was.
#[test]
fn a_recent_message_line_is_kept_byte_for_byte() {
    let telemetry = dlt_test_support::private_tempdir().unwrap();
    let endpoint = HttpUrl::parse("http://127.0.0.1:9/v1/batch").unwrap();
    let line = r#"{"anonymousId":"933dd165453d196a58adaf49444e9b4c","event":"command_init","properties":{},"context":{"ci_run":false,"cpu":2,"exec_info":[],"os":{"name":"Linux","version":"6.1"},"library":{"name":"dlt","version":"1.31.0"}},"type":"track","messageId":"00000000-0000-4000-8000-000000000001","timestamp":"2025-12-31T23:00:00Z"}"#;
    check(telemetry.path(), &endpoint, format!("{line}\n").as_bytes()).unwrap();
    let outbox = telemetry.path().join("outbox").join(Recipient::new(&endpoint, None).id()).join("outbox-0.jsonl");
    let after = std::fs::read_to_string(outbox).unwrap();
    assert!(after.starts_with(&format!("{line}\n")), "{after}");
    assert_eq!(after.lines().count(), 2, "{after}");
}
