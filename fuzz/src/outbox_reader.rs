//! The outbox reader: any bytes as a recipient's `outbox-0.jsonl`, inspected as `dlt telemetry`
//! does, then appended to by a [`HandoffTransport`] (one message tracked, then shutdown).
//! Never a panic; afterwards the file holds the new message whole, once, and otherwise only
//! lines of the input kept byte for byte (an append in place leaves lines that are not messages
//! for the next claim to skip).

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dlt_redact::HttpUrl;
use dlt_segment::{Clock, HandoffTransport, OutboxOptions, Recipient, SegmentOptions, Transport, inspect_outboxes};
use dlt_telemetry_model::{Context, EventCategory, Library, OsInfo, TrackMessage};
use time::OffsetDateTime;
use time::macros::datetime;

/// The outbox's "now": seed lines carry timestamps shortly before it, so that they are kept.
pub const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

/// The `anonymousId` prefix of the message appended in each run.
const APPENDED: &str = "fuzz-appended-";

#[derive(Debug)]
struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        NOW
    }
}

struct Sandbox {
    telemetry: PathBuf,
    recipient_dir: PathBuf,
    endpoint: HttpUrl,
}

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let telemetry = crate::sandbox_dir("outbox_reader").join("telemetry");
        // Never contacted: the hand-off transport opens no socket.
        let endpoint = HttpUrl::parse("http://127.0.0.1:9/v1/batch").expect("a URL");
        let recipient_dir = telemetry.join("outbox").join(Recipient::new(&endpoint, None).id());
        Sandbox { telemetry, recipient_dir, endpoint }
    })
}

fn message(anonymous_id: &str) -> TrackMessage {
    let context = Context::new(OsInfo::new("Linux", "6.1"), Library::new("dlt", "0.1.0")).with_cpu(2);
    TrackMessage::new(EventCategory::Command, "fuzz", serde_json::Map::new(), anonymous_id, context)
}

/// Reads and appends to an outbox that holds `data`.
pub fn check(data: &[u8]) {
    if data.windows(APPENDED.len()).any(|window| window == APPENDED.as_bytes()) {
        return;
    }
    static RUN: AtomicU64 = AtomicU64::new(0);
    let sandbox = sandbox();
    let _ = std::fs::remove_dir_all(sandbox.telemetry.join("outbox"));
    let recipient = sandbox.recipient_dir.file_name().and_then(|name| name.to_str()).expect("a hex name");
    dlt_fs::PrivateDir::create(&sandbox.telemetry)
        .and_then(|telemetry| telemetry.create_dir("outbox"))
        .and_then(|outboxes| outboxes.create_dir(recipient))
        .expect("the sandbox is writable");
    // No opt-out was ever recorded here: counter 0.
    let outbox = sandbox.recipient_dir.join("outbox-0.jsonl");
    std::fs::write(&outbox, data).expect("the sandbox is writable");

    let states = inspect_outboxes(&sandbox.telemetry).expect("a regular outbox file is read");
    assert_eq!(states.len(), 1, "{states:?}");
    let lines = data.split(|&byte| byte == b'\n').filter(|line| !line.trim_ascii().is_empty()).count();
    assert!(states[0].waiting <= lines, "{} waiting, from {lines} lines", states[0].waiting);

    let mut options = SegmentOptions::new(sandbox.endpoint.clone(), "dlt-fuzz/0.0.0")
        .with_outbox(OutboxOptions::new(&sandbox.telemetry));
    options.clock = Arc::new(FixedClock);
    let transport = HandoffTransport::new(options).expect("valid options");
    let id = format!("{APPENDED}{}", RUN.fetch_add(1, Ordering::Relaxed));
    transport.track(message(&id));
    let report = transport.shutdown(Instant::now() + Duration::from_secs(5));
    assert_eq!((report.saved_to_outbox, report.lost), (1, 0), "{report:?}");

    let after = std::fs::read(&outbox).expect("the outbox holds the new message");
    assert!(after.ends_with(b"\n"), "the last line is not ended");
    let input_lines: HashSet<&[u8]> = data.split(|&byte| byte == b'\n').collect();
    let mut new_lines = 0;
    for line in after[..after.len() - 1].split(|&byte| byte == b'\n') {
        if serde_json::from_slice::<TrackMessage>(line).is_ok_and(|parsed| parsed.anonymous_id == id) {
            new_lines += 1;
        } else {
            assert!(
                input_lines.contains(line),
                "a line that was not in the input: {:?}",
                String::from_utf8_lossy(line)
            );
        }
    }
    assert_eq!(new_lines, 1, "the new message is not there once");

    for entry in std::fs::read_dir(&sandbox.recipient_dir).expect("the folder stays").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(
            ["outbox-0.jsonl", "recipient.json", ".lock", "sender.lock", "sender.log"].contains(&name.as_str()),
            "left behind: {name}"
        );
    }
}
