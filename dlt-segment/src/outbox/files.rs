//! The files of a recipient's folder: their names, reading them (healing what is damaged), and
//! writing them, all through the file gate.

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read as _, Seek as _, Write as _};
use std::time::Duration;

use dlt_fs::{Durability, EntryKind, GateError, PrivateDir};
use dlt_telemetry_model::TrackMessage;
use time::OffsetDateTime;

pub(super) const OUTBOXES_DIR: &str = "outbox";
pub(super) const APPEND_LOCK: &str = ".lock";
pub(super) const SENDER_LOCK: &str = "sender.lock";
pub(super) const FAILURE_LOG: &str = "sender.log";
const OUTBOX_PREFIX: &str = "outbox-";
const CLAIM_PREFIX: &str = "claimed-";
const JSONL: &str = ".jsonl";
/// The name outbox files had before they carried the opt-out counter.
const LEGACY_OUTBOX: &str = "outbox.jsonl";
/// The failure log is cut back to its newest half once it grows past this.
pub(super) const FAILURE_LOG_MAX_BYTES: u64 = 16 * 1024;

/// What a file in a recipient's folder is, by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MessageFile {
    /// `outbox-<counter>.jsonl`: messages waiting, recorded under that opt-out counter.
    Outbox { counter: u64 },
    /// `claimed-<counter>-<pid>-<random>.jsonl`: messages a process took over to send.
    Claim { counter: u64 },
    /// A file being written, renamed into place once complete (`.<pid>.<random>.tmp`).
    Temporary,
    /// `outbox.jsonl` or `claimed-<pid>-<random>.jsonl`, from before files carried the
    /// counter: when they were recorded cannot be told, so they are deleted, never sent.
    Legacy,
}

impl MessageFile {
    /// What `name` is; `None` for the other files (locks, `recipient.json`, `sender.log`).
    pub(super) fn of(name: &str) -> Option<Self> {
        if name.starts_with('.') && name.ends_with(".tmp") {
            return Some(Self::Temporary);
        }
        if name == LEGACY_OUTBOX {
            return Some(Self::Legacy);
        }
        let stem = name.strip_suffix(JSONL)?;
        if let Some(counter) = stem.strip_prefix(OUTBOX_PREFIX) {
            return counter.parse().ok().map(|counter| Self::Outbox { counter });
        }
        let parts: Vec<&str> = stem.strip_prefix(CLAIM_PREFIX)?.split('-').collect();
        match parts.as_slice() {
            [counter, _pid, _random] => counter.parse().ok().map(|counter| Self::Claim { counter }),
            [_pid, _random] => Some(Self::Legacy),
            _ => None,
        }
    }

    /// Whether it holds messages that may be sent under `counter`.
    pub(super) fn sendable_under(self, counter: u64) -> bool {
        matches!(self, Self::Outbox { counter: of } | Self::Claim { counter: of } if of == counter)
    }
}

/// The outbox file of messages recorded under `counter`.
pub(super) fn outbox_name(counter: u64) -> String {
    format!("{OUTBOX_PREFIX}{counter}{JSONL}")
}

/// A new claim file's name for messages recorded under `counter`.
pub(super) fn claim_name(counter: u64) -> String {
    format!("{CLAIM_PREFIX}{counter}-{}-{:016x}{JSONL}", std::process::id(), fastrand::u64(..))
}

/// One outbox line and the message it holds.
#[derive(Debug)]
pub(super) struct Line {
    pub(super) bytes: Vec<u8>,
    pub(super) message: TrackMessage,
}

impl Line {
    pub(super) fn of(message: TrackMessage) -> io::Result<Self> {
        Ok(Self { bytes: serde_json::to_vec(&message).map_err(io::Error::other)?, message })
    }
}

/// What one outbox file held, and what was wrong with it.
#[derive(Debug, Default)]
pub(super) struct FileMessages {
    pub(super) lines: Vec<Line>,
    /// Lines that were not a message (a line cut short by a crash, garbage).
    pub(super) corrupt: usize,
    /// Bytes at the start of a file larger than the window that were not read.
    pub(super) skipped: u64,
}

impl FileMessages {
    /// What was wrong, in words for the failure log and `dlt telemetry`; `None` when nothing.
    pub(super) fn damage(&self, name: &str) -> Option<String> {
        let mut damage = Vec::new();
        if self.skipped > 0 {
            damage.push(format!("{name} is larger than its bound, read from its end"));
        }
        match self.corrupt {
            0 => {}
            1 => damage.push(format!("{name} has 1 line that is not a message")),
            corrupt => damage.push(format!("{name} has {corrupt} lines that are not messages")),
        }
        (!damage.is_empty()).then(|| damage.join(", "))
    }
}

/// Reads the messages of the outbox file `name`: all of it, or, when it is larger than
/// `window`, its last `window` bytes (the newest messages; the first line, cut, is dropped).
/// Lines that are not messages are counted and skipped. `Ok(None)` when there is no file.
pub(super) fn read_messages(dir: &PrivateDir, name: &str, window: u64) -> Result<Option<FileMessages>, GateError> {
    let Some(tail) = dir.read_tail(name, window)? else { return Ok(None) };
    let mut bytes = tail.bytes.as_slice();
    if tail.skipped > 0 {
        let cut = bytes.iter().position(|&byte| byte == b'\n').map_or(bytes.len(), |at| at + 1);
        bytes = &bytes[cut..];
    }
    let mut read = FileMessages { skipped: tail.skipped, ..FileMessages::default() };
    for bytes in bytes.split(|&byte| byte == b'\n').filter(|line| !line.trim_ascii().is_empty()) {
        match serde_json::from_slice(bytes) {
            Ok(message) => read.lines.push(Line { bytes: bytes.to_vec(), message }),
            Err(_) => read.corrupt += 1,
        }
    }
    Ok(Some(read))
}

/// What [`retain_within`] kept and how many it dropped for each reason.
#[derive(Debug)]
pub(super) struct Bounded {
    pub(super) kept: Vec<Line>,
    pub(super) expired: usize,
    pub(super) overflow: usize,
}

/// The lines an outbox may keep, oldest first: one per `messageId`, none older than `max_age`
/// by its `timestamp` (a line without one has no provable age and counts as expired), and
/// then the newest that fit in `max_bytes`.
pub(super) fn retain_within(mut lines: Vec<Line>, now: OffsetDateTime, max_age: Duration, max_bytes: u64) -> Bounded {
    lines.sort_by_key(|line| line.message.timestamp);
    let mut seen = HashSet::new();
    lines.retain(|line| line.message.message_id.as_ref().is_none_or(|id| seen.insert(id.clone())));
    let before = lines.len();
    lines.retain(|line| {
        line.message.timestamp.is_some_and(|timestamp| {
            let age = now - timestamp;
            !age.is_positive() || age.unsigned_abs() <= max_age
        })
    });
    let expired = before - lines.len();
    let mut size: u64 = lines.iter().map(line_size).sum();
    let mut overflow = 0;
    for line in &lines {
        if size <= max_bytes {
            break;
        }
        size -= line_size(line);
        overflow += 1;
    }
    lines.drain(..overflow);
    Bounded { kept: lines, expired, overflow }
}

/// A line's size on disk, newline included.
pub(super) fn line_size(line: &Line) -> u64 {
    u64::try_from(line.bytes.len()).unwrap_or(u64::MAX).saturating_add(1)
}

/// The lines as an outbox file holds them, each ending in a newline.
pub(super) fn joined(lines: &[Line]) -> Vec<u8> {
    let mut text = Vec::with_capacity(lines.iter().map(|line| line.bytes.len() + 1).sum());
    for line in lines {
        text.extend_from_slice(&line.bytes);
        text.push(b'\n');
    }
    text
}

/// Appends `lines` to the existing outbox file `name` without reading it, when that keeps it
/// whole and within `max_bytes`: it is empty or ends in a newline (a write cut short by a
/// crash does not), and the lines fit. False when the file must be rewritten instead (or does
/// not exist); nothing was written then.
pub(super) fn append_in_place(dir: &PrivateDir, name: &str, lines: &[Line], max_bytes: u64) -> io::Result<bool> {
    let Some(mut file) = dir.open_for_update(name)? else { return Ok(false) };
    let size = file.metadata()?.len();
    let text = joined(lines);
    if size.saturating_add(u64::try_from(text.len()).unwrap_or(u64::MAX)) > max_bytes {
        return Ok(false);
    }
    append_after_whole_lines(&mut file, size, &text)
}

/// Appends `text` to `file` (of `size` bytes) when it is empty or ends in a newline (a write
/// cut short by a crash does not); false, with nothing written, otherwise. The outbox and the
/// record of what was sent append this way.
pub(crate) fn append_after_whole_lines(file: &mut File, size: u64, text: &[u8]) -> io::Result<bool> {
    if size > 0 {
        let mut last = [0];
        file.seek(io::SeekFrom::End(-1))?;
        file.read_exact(&mut last)?;
        if last != *b"\n" {
            return Ok(false);
        }
    }
    file.seek(io::SeekFrom::End(0))?;
    file.write_all(text)?;
    Ok(true)
}

/// Appends a line to the failure log, first cutting it back to its newest half when it is
/// over its bound.
pub(super) fn append_to_failure_log(dir: &PrivateDir, line: &str) -> Result<(), GateError> {
    let size = dir.entry(FAILURE_LOG)?.map_or(0, |entry| entry.len);
    if size > FAILURE_LOG_MAX_BYTES {
        let tail = dir.read_tail(FAILURE_LOG, FAILURE_LOG_MAX_BYTES / 2)?.map(|tail| tail.bytes).unwrap_or_default();
        let keep_from = tail.iter().position(|&byte| byte == b'\n').map_or(tail.len(), |at| at + 1);
        dir.write_atomic(FAILURE_LOG, &tail[keep_from..], Durability::Fast)?;
    }
    let append = |mut file: File| file.write_all(line.as_bytes());
    dir.append(FAILURE_LOG)
        .and_then(|file| append(file).map_err(|source| GateError::Io { path: dir.path().join(FAILURE_LOG), source }))
}

/// The last non-empty line of the failure log, if any.
pub(super) fn last_failure(dir: &PrivateDir) -> Result<Option<String>, GateError> {
    let Some(tail) = dir.read_tail(FAILURE_LOG, FAILURE_LOG_MAX_BYTES * 2)? else { return Ok(None) };
    let text = String::from_utf8_lossy(&tail.bytes);
    Ok(text.lines().rev().find(|line| !line.trim().is_empty()).map(str::to_owned))
}

/// Deletes the message files of a folder whose append lock the caller holds (all of them,
/// whatever their counter). A link is refused, not deleted; the first error is returned once
/// every other file was deleted.
pub(super) fn purge_messages(dir: &PrivateDir) -> Result<(), GateError> {
    let mut first_error = None;
    for entry in dir.entries()? {
        if MessageFile::of(&entry.name).is_some()
            && let Err(error) = dir.remove_file(&entry.name)
        {
            first_error.get_or_insert(error);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// The bytes of messages a recipient folder holds, and when it was last written (`since`: the
/// folder's own time).
pub(super) fn folder_usage(dir: &PrivateDir, since: std::time::SystemTime) -> (u64, std::time::SystemTime) {
    let mut bytes = 0;
    let mut written = since;
    for entry in dir.entries().into_iter().flatten() {
        if entry.kind == EntryKind::File && MessageFile::of(&entry.name).is_some() {
            bytes += entry.len;
        }
        if let Some(modified) = entry.modified {
            written = written.max(modified);
        }
    }
    (bytes, written)
}

/// What went wrong with the outbox, as a class for the failure log: never a path or a value.
pub(crate) fn gate_failure_class(error: &GateError) -> String {
    match error {
        GateError::Link { .. } => "a symbolic link stands in the outbox (refused)".to_owned(),
        GateError::NotPrivate { .. } => "a folder of the outbox is not private to this user (refused)".to_owned(),
        GateError::NotRegular { .. } => "something other than a file stands in the outbox (refused)".to_owned(),
        GateError::HardLinked { .. } => "an outbox file has other names, hard links (refused)".to_owned(),
        GateError::TooLarge { .. } => "an outbox file is too large".to_owned(),
        GateError::Io { source, .. } => source.kind().to_string(),
        _ => "refused by the file gate".to_owned(),
    }
}
