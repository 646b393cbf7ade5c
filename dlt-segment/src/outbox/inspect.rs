//! What `dlt telemetry` shows of the outboxes: read through the file gate; nothing is taken,
//! created, repaired or deleted. A recipient's problem (a file refused, a file over its bound,
//! lines that are not messages) is shown with that recipient, never an error of the whole.

use std::collections::HashSet;
use std::path::Path;

use dlt_fs::{EntryKind, GateError, PrivateDir};
use time::OffsetDateTime;

use super::files::{MessageFile, SENDER_LOCK, last_failure, read_messages};
use super::{DEFAULT_OUTBOX_MAX_BYTES, open_outboxes};
use crate::opt_out::read_opt_out;
use crate::recipient::{parse_description, read_description};

/// One recipient's outbox as `dlt telemetry` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecipientState {
    /// The endpoint, its password hidden (`None` when the folder does not say).
    pub endpoint: Option<String>,
    /// Whether messages go with a write key.
    pub write_key: bool,
    /// Messages waiting that may be sent under the current opt-out counter, claimed ones
    /// included (what a sender would keep of a file over its bound).
    pub waiting: usize,
    /// When the oldest waiting message was recorded.
    pub oldest: Option<OffsetDateTime>,
    /// Whether a sender is delivering this outbox now.
    pub sender_running: bool,
    /// The process id of the sender, when one runs.
    pub sender_pid: Option<u32>,
    /// The latest line of the sender's failure log, if any.
    pub last_error: Option<String>,
    /// What is wrong with the folder or its files: refused by the file gate, over its bound,
    /// lines that are not messages. The next sender repairs what it can; what the gate refuses
    /// is left for the user.
    pub problems: Vec<String>,
}

/// Every recipient's outbox under `telemetry_dir`, without taking, creating or repairing
/// anything. An error only when the telemetry dir or its `outbox` folder is refused by the
/// file gate (or cannot be listed); each recipient's own problems are in its state.
pub fn inspect_outboxes(telemetry_dir: &Path) -> Result<Vec<RecipientState>, GateError> {
    let Some(outboxes) = open_outboxes(telemetry_dir)? else { return Ok(Vec::new()) };
    let counter = read_opt_out(telemetry_dir).counter();
    let mut states: Vec<RecipientState> = outboxes
        .entries()?
        .into_iter()
        .filter(|entry| matches!(entry.kind, EntryKind::Dir | EntryKind::Link))
        .filter_map(|entry| inspect_recipient(&outboxes, &entry.name, counter))
        .collect();
    states.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
    Ok(states)
}

/// One recipient's folder; `None` when it went away meanwhile.
fn inspect_recipient(outboxes: &PrivateDir, name: &str, counter: Option<u64>) -> Option<RecipientState> {
    let mut state = RecipientState::default();
    let dir = match outboxes.open_dir(name) {
        Ok(dir) => dir?,
        Err(error) => {
            state.problems.push(error.to_string());
            return Some(state);
        }
    };
    match read_description(&dir) {
        Ok(bytes) => (state.endpoint, state.write_key) = parse_description(bytes.as_deref()),
        Err(error) => state.problems.push(error.to_string()),
    }
    let mut waiting = Vec::new();
    match dir.entries() {
        Ok(entries) => {
            let sendable = entries.iter().filter(|entry| {
                let kind = MessageFile::of(&entry.name);
                counter.is_some_and(|counter| kind.is_some_and(|kind| kind.sendable_under(counter)))
            });
            for entry in sendable {
                match read_messages(&dir, &entry.name, DEFAULT_OUTBOX_MAX_BYTES) {
                    Ok(Some(read)) => {
                        if let Some(damage) = read.damage(&entry.name) {
                            state.problems.push(format!("{damage}; the next sender keeps the newest messages"));
                        }
                        waiting.extend(read.lines);
                    }
                    Ok(None) => {}
                    Err(error) => state.problems.push(error.to_string()),
                }
            }
        }
        Err(error) => state.problems.push(error.to_string()),
    }
    let distinct: HashSet<_> = waiting.iter().map(|line| line.message.message_id.clone()).collect();
    state.waiting = distinct.len();
    state.oldest = waiting.iter().filter_map(|line| line.message.timestamp).min();
    state.sender_running = dir.is_locked(SENDER_LOCK).unwrap_or_else(|error| {
        state.problems.push(error.to_string());
        false
    });
    state.sender_pid = dir.lock_holder(SENDER_LOCK);
    state.last_error = last_failure(&dir).unwrap_or_else(|error| {
        state.problems.push(error.to_string());
        None
    });
    Some(state)
}
