//! Reading the record for `dlt telemetry log` and `dlt telemetry`: through the file gate, under
//! each folder's lock, creating, repairing and deleting nothing. A recipient's problem (a file refused, a line that
//! is not a record) is shown with that recipient, never an error of the whole.

use std::path::Path;
use std::time::Instant;

use dlt_fs::{EntryKind, PrivateDir};
use serde_json::Value;
use time::OffsetDateTime;

use super::counts::{DroppedCounts, read_counts};
use super::{
    DEFAULT_SENT_MAX_AGE, DEFAULT_SENT_MAX_BYTES, LOCK_FILE, LOCK_WAIT, SENT_DIR, SENT_FILE, read_lines, within,
};
use crate::recipient::{parse_description, read_description};

/// One delivered message, as the record holds it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SentMessage {
    /// When the endpoint confirmed it (its 2xx answer arrived).
    pub sent_at: OffsetDateTime,
    /// The message exactly as it was sent: the request body, or its element of `batch`.
    pub message: Value,
}

/// One recipient's record: what was delivered to it, and the counts.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct SentState {
    /// The endpoint, its credentials hidden (`None` when the folder does not say).
    pub endpoint: Option<String>,
    /// Whether messages went with a write key.
    pub write_key: bool,
    /// The delivered messages of the last 30 days still in the record, oldest first.
    pub messages: Vec<SentMessage>,
    /// How many messages were delivered in all (since the last opt-out), including those the
    /// record no longer holds.
    pub delivered: u64,
    /// When the last one was confirmed.
    pub last_delivered_at: Option<OffsetDateTime>,
    /// Messages dropped, never to be sent, by reason.
    pub dropped: DroppedCounts,
    /// What is wrong with the folder or its files: refused by the file gate, lines that are not
    /// records, counts that cannot be read. The next write repairs what it can.
    pub problems: Vec<String>,
}

/// Every recipient's record under `telemetry_dir`, without creating, repairing or deleting
/// anything; messages older than 30 days are left out. An error only when the telemetry dir or
/// its `sent` folder is refused by the file gate (or cannot be listed).
pub fn inspect_sent(telemetry_dir: &Path) -> Result<Vec<SentState>, dlt_fs::GateError> {
    let Some(telemetry) = PrivateDir::open(telemetry_dir)? else { return Ok(Vec::new()) };
    let Some(sent) = telemetry.open_dir(SENT_DIR)? else { return Ok(Vec::new()) };
    let now = OffsetDateTime::now_utc();
    let mut states: Vec<SentState> = sent
        .entries()?
        .into_iter()
        .filter(|entry| matches!(entry.kind, EntryKind::Dir | EntryKind::Link))
        .filter_map(|entry| inspect_recipient(&sent, &entry.name, now))
        .collect();
    states.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
    Ok(states)
}

/// One recipient's folder; `None` when it went away meanwhile.
fn inspect_recipient(sent: &PrivateDir, name: &str, now: OffsetDateTime) -> Option<SentState> {
    let mut state = SentState::default();
    let dir = match sent.open_dir(name) {
        Ok(dir) => dir?,
        Err(error) => {
            state.problems.push(error.to_string());
            return Some(state);
        }
    };
    // Read as writers leave it: under the folder's lock (taken only when a writer made it; a
    // reader creates nothing), or as it is when the lock is not free soon.
    let _lock = match dir.entry(LOCK_FILE) {
        Ok(Some(_)) => dir.lock(LOCK_FILE, Instant::now() + LOCK_WAIT).ok(),
        _ => None,
    };
    match read_description(&dir) {
        Ok(bytes) => (state.endpoint, state.write_key) = parse_description(bytes.as_deref()),
        Err(error) => state.problems.push(error.to_string()),
    }
    match read_lines(&dir, DEFAULT_SENT_MAX_BYTES) {
        Ok(read) => {
            if read.skipped > 0 {
                state.problems.push(format!("{SENT_FILE} is larger than its bound, read from its end"));
            }
            let mut not_records = 0;
            for line in read.lines {
                match parse_line(&line.bytes) {
                    Some(message) if within(message.sent_at, now, DEFAULT_SENT_MAX_AGE) => {
                        state.messages.push(message);
                    }
                    Some(_) => {}
                    None => not_records += 1,
                }
            }
            match not_records {
                0 => {}
                1 => state.problems.push(format!("{SENT_FILE} has 1 line that is not a record; it is left out")),
                n => state.problems.push(format!("{SENT_FILE} has {n} lines that are not records; they are left out")),
            }
            state.messages.sort_by_key(|message| message.sent_at);
        }
        Err(error) => state.problems.push(error.to_string()),
    }
    match read_counts(&dir) {
        Ok(Some(counts)) => {
            state.delivered = counts.delivered;
            state.last_delivered_at = counts.last_delivered_at;
            state.dropped = counts.dropped;
        }
        Ok(None) => {}
        Err(error) => state.problems.push(error.to_string()),
    }
    Some(state)
}

/// A record line: `{"sent_at": "<RFC 3339>", "message": {...}}`.
fn parse_line(bytes: &[u8]) -> Option<SentMessage> {
    let mut value: Value = serde_json::from_slice(bytes).ok()?;
    let sent_at = value.get("sent_at")?.as_str()?;
    let sent_at = OffsetDateTime::parse(sent_at, &time::format_description::well_known::Rfc3339).ok()?;
    let message = value.get_mut("message").map(Value::take).filter(Value::is_object)?;
    Some(SentMessage { sent_at, message })
}
