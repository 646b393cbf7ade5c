//! The outbox reader: any bytes as a recipient's `outbox-0.jsonl`, inspected as `dlt telemetry`
//! does, then appended to by a [`HandoffTransport`] (one message tracked, then shutdown). Never
//! a panic; inspection counts no more messages than the file has lines; afterwards the file
//! holds the new message whole, once, and otherwise only lines of the input kept byte for byte
//! (an append in place leaves lines that are not messages for the next claim to skip), and the
//! folder holds no file the outbox does not know.
//!
//! Fuzz input: the file's bytes.

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dlt_fs::PrivateDir;
use dlt_redact::HttpUrl;
use dlt_segment::{Clock, HandoffTransport, OutboxOptions, Recipient, SegmentOptions, Transport, inspect_outboxes};
use dlt_telemetry_model::{
    AnonymousId, AnonymousMessage, Context, EventCategory, Library, OsInfo, SafeContext, TrackMessage,
};
use time::OffsetDateTime;
use time::macros::datetime;

/// The outbox's "now": lines recorded shortly before it are kept, others dropped by age.
pub const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

/// The random bytes of the `anonymousId` of the message each case appends.
const APPENDED: [u8; 16] = [0xa5; 16];

/// Never contacted: the hand-off transport opens no socket.
const ENDPOINT: &str = "http://127.0.0.1:9/v1/batch";

/// The files a recipient's folder may hold after a hand-off.
const KNOWN_FILES: [&str; 5] = ["outbox-0.jsonl", "recipient.json", ".lock", "sender.lock", "sender.log"];

#[derive(Debug)]
struct FixedClock;

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        NOW
    }
}

/// The message each case appends, with the [`APPENDED`] id.
fn appended_message() -> Result<AnonymousMessage, String> {
    let context = SafeContext::screen(Context::new(OsInfo::new("Linux", "6.1"), Library::new("dlt", "0.1.0")));
    let id = AnonymousId::from_random_bytes(APPENDED);
    AnonymousMessage::from_properties(EventCategory::Command, "test", serde_json::Map::new(), id, &context)
        .map_err(|refused| format!("the appended message is refused by the gate: {refused:?}"))
}

/// Puts `data` in the outbox of a recipient under `telemetry` (a folder of this user's only,
/// or missing), inspects it and appends one message to it.
pub fn check(telemetry: &Path, data: &[u8]) -> Result<(), String> {
    let endpoint = HttpUrl::parse(ENDPOINT).map_err(|error| error.to_string())?;
    let recipient = Recipient::new(&endpoint, None).id().to_owned();
    let dir = telemetry.join("outbox").join(&recipient);
    let _ = std::fs::remove_dir_all(telemetry.join("outbox"));
    PrivateDir::create(telemetry)
        .and_then(|telemetry| telemetry.create_dir("outbox"))
        .and_then(|outboxes| outboxes.create_dir(&recipient))
        .map_err(|error| format!("the scratch folder cannot hold an outbox: {error}"))?;
    // No opt-out was ever recorded here: counter 0.
    let outbox = dir.join("outbox-0.jsonl");
    crate::write(&outbox, data)?;

    let states = inspect_outboxes(telemetry).map_err(|error| format!("a regular outbox file is not read: {error}"))?;
    let [state] = states.as_slice() else { return Err(format!("one recipient, inspected as {states:?}")) };
    let lines = data.split(|&byte| byte == b'\n').filter(|line| !line.trim_ascii().is_empty()).count();
    if state.waiting > lines {
        return Err(format!("{} waiting, from {lines} lines", state.waiting));
    }

    let mut options = SegmentOptions::new(endpoint, "dlt-properties/0.0.0").with_outbox(OutboxOptions::new(telemetry));
    options.clock = Arc::new(FixedClock);
    let transport = HandoffTransport::new(options).map_err(|error| error.to_string())?;
    transport.track(appended_message()?);
    let report = transport.shutdown(Instant::now() + Duration::from_secs(5));
    if (report.saved_to_outbox, report.lost) != (1, 0) {
        return Err(format!("the new message was not saved: {report:?}"));
    }

    let after = crate::read(&outbox)?;
    let Some(whole_lines) = after.strip_suffix(b"\n") else { return Err("the last line is not ended".into()) };
    let appended_id = AnonymousId::from_random_bytes(APPENDED).to_string();
    let input_lines: HashSet<&[u8]> = data.split(|&byte| byte == b'\n').collect();
    let mut appended = 0;
    for line in whole_lines.split(|&byte| byte == b'\n') {
        if serde_json::from_slice::<TrackMessage>(line).is_ok_and(|parsed| parsed.anonymous_id == appended_id) {
            appended += 1;
        } else if !input_lines.contains(line) {
            return Err(format!("a line that was not in the input: {:?}", String::from_utf8_lossy(line)));
        }
    }
    if appended != 1 {
        return Err(format!("the new message is there {appended} times, not once"));
    }
    let entries = std::fs::read_dir(&dir).map_err(|error| format!("the recipient's folder is gone: {error}"))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !KNOWN_FILES.contains(&name.as_str()) {
            return Err(format!("left behind: {name}"));
        }
    }
    Ok(())
}

/// The fuzz target's entry point: the input is the file. An input that holds the appended
/// message's id could pass for it, so it is not checked.
pub fn check_input(scratch: &Path, data: &[u8]) -> Result<(), String> {
    let id = AnonymousId::from_random_bytes(APPENDED).to_string();
    if data.windows(id.len()).any(|window| window == id.as_bytes()) {
        return Ok(());
    }
    check(&scratch.join("outbox_reader").join("telemetry"), data)
}
