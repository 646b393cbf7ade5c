//! The `outbox_reader` property in seconds: whatever a recipient's `outbox-<n>.jsonl` holds,
//! `inspect_outboxes` and a hand-off append never panic, and afterwards the file holds the new
//! message whole, once, and otherwise only lines of the old file, kept byte for byte.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dlt_properties::outbox_reader::check;
use proptest::prelude::*;
use serde_json::json;

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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn an_outbox_of_any_lines_is_read_and_appended_to_leaving_only_message_lines(data in outbox_file()) {
        let telemetry = dlt_test_support::private_tempdir().unwrap();
        check(telemetry.path(), &data).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn an_outbox_of_any_bytes_never_panics_the_reader(data in prop::collection::vec(any::<u8>(), 0..256)) {
        let telemetry = dlt_test_support::private_tempdir().unwrap();
        check(telemetry.path(), &data).map_err(TestCaseError::fail)?;
    }
}

/// The properties above are not empty: a recent message line of the old file is kept as it was,
/// before the one appended.
#[test]
fn a_recent_message_line_is_kept_byte_for_byte() {
    let telemetry = dlt_test_support::private_tempdir().unwrap();
    let line = r#"{"anonymousId":"933dd165453d196a58adaf49444e9b4c","event":"command_init","properties":{},"context":{"ci_run":false,"cpu":2,"exec_info":[],"os":{"name":"Linux","version":"6.1"},"library":{"name":"dlt","version":"1.31.0"}},"type":"track","messageId":"00000000-0000-4000-8000-000000000001","timestamp":"2025-12-31T23:00:00Z"}"#;
    check(telemetry.path(), format!("{line}\n").as_bytes()).unwrap();
    let outboxes = std::fs::read_dir(telemetry.path().join("outbox")).unwrap().collect::<Result<Vec<_>, _>>().unwrap();
    let [recipient] = outboxes.as_slice() else { panic!("one recipient: {outboxes:?}") };
    let after = std::fs::read_to_string(recipient.path().join("outbox-0.jsonl")).unwrap();
    assert!(after.starts_with(&format!("{line}\n")), "{after}");
    assert_eq!(after.lines().count(), 2, "{after}");
}
