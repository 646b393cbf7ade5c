//! The record of what left: every message an endpoint confirmed (a 2xx answer), exactly as it
//! was sent, and per recipient the counts of what was delivered and what was dropped, and why.
//!
//! It is written by whichever process got the confirmation (a host's worker, a detached
//! sender), on the worker's thread, never the caller's; a message that was printed instead
//! (the debug sink) or only handed off was not delivered and is not recorded. The user reads it
//! with `dlt telemetry log` ([`inspect_sent`]).
//!
//! `<telemetry dir>/sent/<recipient id>/` (the same id as the recipient's outbox; folders
//! `0700`, files `0600`, every one through the file gate, [`dlt_fs::PrivateDir`]) holds:
//! - `sent.jsonl`: one line per delivered message, oldest first,
//!   `{"sent_at":"<RFC 3339, when the endpoint confirmed>","message":{...}}`, where `message`
//!   is the message's JSON byte for byte as it went on the wire (inside a batch, the element of
//!   `batch`; its `sentAt` is the attempt's). Bounded: lines older than
//!   [`DEFAULT_SENT_MAX_AGE`] (30 days) and then the oldest lines beyond
//!   [`DEFAULT_SENT_MAX_BYTES`] (1 MiB) are dropped. A line is appended in place while the file
//!   ends in a whole line, stays within its bound and its first line is not too old; otherwise
//!   the file is rewritten whole (temporary file, then rename), down to three quarters of its
//!   bound, which also heals a damaged one;
//! - `counts.json`: `{"delivered":{"count":12,"last_at":"..."},"dropped":{"rejected":1,...}}`,
//!   rewritten in place on each change;
//! - `recipient.json`: the endpoint with its credentials hidden, and whether a write key is
//!   used (as in the outbox);
//! - `.lock`: every change is made holding it, so a host and a detached sender writing for the
//!   same recipient never interleave, and readers take it too.
//!
//! Nothing is written once the user opted out (the caller checks the opt-out mark first), and
//! switching off ([`crate::record_opt_out`]) deletes every `sent.jsonl` and resets the counts
//! to what the opt-out itself dropped ([`purge_sent`]).

mod counts;
mod inspect;

use std::io::{self, Read as _};
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use dlt_fs::{Durability, EntryKind, GateError, PrivateDir};
use dlt_telemetry_model::AnonymousMessage;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use self::counts::DroppedCounts;
use self::counts::{COUNTS_FILE, Counts, read_counts, write_counts};
pub use self::inspect::{SentMessage, SentState, inspect_sent};
use crate::clock::Clock;
use crate::outbox::append_after_whole_lines;
use crate::recipient::{RECIPIENT_FILE, Recipient};
use crate::stats::Counters;
use crate::wire::encode_message;

/// The folder of the records, inside the telemetry dir.
pub(crate) const SENT_DIR: &str = "sent";
/// The record of one recipient.
pub(crate) const SENT_FILE: &str = "sent.jsonl";
const LOCK_FILE: &str = ".lock";
/// How long a write waits for another process holding the recipient's record.
const LOCK_WAIT: Duration = Duration::from_millis(200);
/// Every line starts with this, so that the time of the oldest line is read without parsing it.
const LINE_START: &[u8] = br#"{"sent_at":""#;
/// Enough of a line's start to hold [`LINE_START`] and any RFC 3339 time.
const LINE_START_WINDOW: usize = 64;

/// The default size bound of one recipient's record: 1 MiB.
pub const DEFAULT_SENT_MAX_BYTES: u64 = 1024 * 1024;
/// The default age bound of the record: 30 days.
pub const DEFAULT_SENT_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 60 * 60);

/// A process's handle on its recipient's record.
#[derive(Debug)]
pub(crate) struct SentLog {
    telemetry_dir: std::path::PathBuf,
    recipient: Recipient,
    max_bytes: u64,
    max_age: Duration,
    clock: Arc<dyn Clock>,
    counters: Arc<Counters>,
    /// The drops of this process already added to `counts.json`.
    persisted: Mutex<DroppedCounts>,
}

impl SentLog {
    pub(crate) fn new(
        telemetry_dir: &Path,
        recipient: Recipient,
        (max_bytes, max_age): (u64, Duration),
        clock: Arc<dyn Clock>,
        counters: Arc<Counters>,
    ) -> Self {
        Self {
            telemetry_dir: telemetry_dir.to_owned(),
            recipient,
            max_bytes,
            max_age,
            clock,
            counters,
            persisted: Mutex::new(DroppedCounts::default()),
        }
    }

    /// Records `messages` as delivered now, and adds this process's new drops to the counts,
    /// if `allowed` (the opt-out mark, asked again under the folder's lock, which an opt-out
    /// takes to delete the record). Problems are logged, never returned: the record never
    /// stands in the way of delivery.
    pub(crate) fn delivered<'a>(
        &self,
        messages: impl IntoIterator<Item = &'a AnonymousMessage>,
        allowed: &dyn Fn() -> bool,
    ) {
        let now = self.clock.now();
        let Ok(sent_at) = now.format(&Rfc3339) else { return };
        let mut lines = Vec::new();
        let mut count = 0;
        for message in messages {
            let Ok(encoded) = encode_message(message) else { continue };
            lines.extend_from_slice(LINE_START);
            lines.extend_from_slice(sent_at.as_bytes());
            lines.extend_from_slice(br#"","message":"#);
            lines.extend_from_slice(&encoded);
            lines.extend_from_slice(b"}\n");
            count += 1;
        }
        if count == 0 {
            return;
        }
        if let Err(error) = self.write(&lines, count, now, allowed) {
            tracing::debug!(%error, "telemetry: could not record what was sent");
        }
    }

    /// Adds this process's drops since the last write to the counts, if there are any new ones
    /// and `allowed` (as for [`SentLog::delivered`]).
    pub(crate) fn dropped(&self, allowed: &dyn Fn() -> bool) {
        if self.new_drops().is_zero() {
            return;
        }
        if let Err(error) = self.write(&[], 0, self.clock.now(), allowed) {
            tracing::debug!(%error, "telemetry: could not count what was dropped");
        }
    }

    fn new_drops(&self) -> DroppedCounts {
        let persisted = *self.persisted.lock().unwrap_or_else(PoisonError::into_inner);
        DroppedCounts::of(&self.counters.snapshot()).since(&persisted)
    }

    fn write(
        &self,
        lines: &[u8],
        delivered: u64,
        now: OffsetDateTime,
        allowed: &dyn Fn() -> bool,
    ) -> Result<(), GateError> {
        if !allowed() {
            return Ok(());
        }
        let dir = PrivateDir::create(&self.telemetry_dir)?.create_dir(SENT_DIR)?.create_dir(self.recipient.id())?;
        self.recipient.describe_in(&dir)?;
        let _lock = dir.lock(LOCK_FILE, Instant::now() + LOCK_WAIT)?;
        if !allowed() {
            return Ok(());
        }
        if !lines.is_empty() {
            let appended = append_in_place(&dir, lines, now, self.max_bytes, self.max_age)
                .map_err(|source| GateError::Io { path: dir.path().join(SENT_FILE), source })?;
            if !appended {
                rewrite(&dir, lines, now, self.max_bytes, self.max_age)?;
            }
        }
        let mut persisted = self.persisted.lock().unwrap_or_else(PoisonError::into_inner);
        let current = DroppedCounts::of(&self.counters.snapshot());
        let mut counts = read_counts(&dir).ok().flatten().unwrap_or_default();
        counts.add_delivered(delivered, now);
        counts.dropped.add(&current.since(&persisted));
        write_counts(&dir, &counts)?;
        *persisted = current;
        Ok(())
    }
}

/// Appends `lines` to the record without reading it, when that keeps it whole and within its
/// bounds: it ends in a newline, the lines fit, and its oldest line is within the age bound.
/// False when the file must be rewritten instead (or does not exist); nothing was written then.
fn append_in_place(
    dir: &PrivateDir,
    lines: &[u8],
    now: OffsetDateTime,
    max_bytes: u64,
    max_age: Duration,
) -> io::Result<bool> {
    let Some(mut file) = dir.open_for_update(SENT_FILE)? else { return Ok(false) };
    let size = file.metadata()?.len();
    if size == 0 || size.saturating_add(u64::try_from(lines.len()).unwrap_or(u64::MAX)) > max_bytes {
        return Ok(false);
    }
    let mut start = [0; LINE_START_WINDOW];
    let read = file.read(&mut start)?;
    if !line_time(&start[..read]).is_some_and(|sent_at| within(sent_at, now, max_age)) {
        return Ok(false);
    }
    append_after_whole_lines(&mut file, size, lines)
}

/// Replaces the record with what it may keep of its lines and the new ones: lines that are not
/// records and lines older than the age bound are dropped, then the oldest until it is within
/// three quarters of its bound, so that the next appends go in place again rather than each
/// rewriting a full file.
fn rewrite(
    dir: &PrivateDir,
    lines: &[u8],
    now: OffsetDateTime,
    max_bytes: u64,
    max_age: Duration,
) -> Result<(), GateError> {
    let target = max_bytes - max_bytes / 4;
    let old = read_lines(dir, max_bytes)?;
    let mut kept: Vec<&[u8]> = old
        .lines
        .iter()
        .filter(|line| line.sent_at.is_some_and(|sent_at| within(sent_at, now, max_age)))
        .map(|line| line.bytes.as_slice())
        .collect();
    kept.extend(split_lines(lines));
    let mut size: u64 = kept.iter().map(|line| line_size(line)).sum();
    let mut over = 0;
    for line in &kept {
        if size <= target {
            break;
        }
        size -= line_size(line);
        over += 1;
    }
    let mut text = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    for line in &kept[over..] {
        text.extend_from_slice(line);
        text.push(b'\n');
    }
    dir.write_atomic(SENT_FILE, &text, Durability::Fast)
}

/// One line of the record, and its time when it is one.
#[derive(Debug)]
pub(crate) struct RecordLine {
    pub(crate) bytes: Vec<u8>,
    pub(crate) sent_at: Option<OffsetDateTime>,
}

/// The lines of a record file.
#[derive(Debug, Default)]
pub(crate) struct RecordLines {
    pub(crate) lines: Vec<RecordLine>,
    /// Bytes at the start of a file larger than its bound that were not read.
    pub(crate) skipped: u64,
}

/// The lines of the record (none when there is none): all of it or, when it is larger than
/// `window`, its last `window` bytes, the first (cut) line dropped.
pub(crate) fn read_lines(dir: &PrivateDir, window: u64) -> Result<RecordLines, GateError> {
    let Some(tail) = dir.read_tail(SENT_FILE, window)? else { return Ok(RecordLines::default()) };
    let mut bytes = tail.bytes.as_slice();
    if tail.skipped > 0 {
        let cut = bytes.iter().position(|&byte| byte == b'\n').map_or(bytes.len(), |at| at + 1);
        bytes = &bytes[cut..];
    }
    let lines = split_lines(bytes).map(|line| RecordLine { bytes: line.to_vec(), sent_at: line_time(line) }).collect();
    Ok(RecordLines { lines, skipped: tail.skipped })
}

fn split_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes.split(|&byte| byte == b'\n').filter(|line| !line.trim_ascii().is_empty())
}

/// The time at the start of a record line, if it starts as one does.
fn line_time(start: &[u8]) -> Option<OffsetDateTime> {
    let rest = start.strip_prefix(LINE_START)?;
    let end = rest.iter().position(|&byte| byte == b'"')?;
    OffsetDateTime::parse(std::str::from_utf8(&rest[..end]).ok()?, &Rfc3339).ok()
}

/// Whether a line confirmed at `sent_at` is within `max_age` of `now` (a time ahead of `now`,
/// from a clock set back, counts as new).
pub(crate) fn within(sent_at: OffsetDateTime, now: OffsetDateTime, max_age: Duration) -> bool {
    let age = now - sent_at;
    !age.is_positive() || age.unsigned_abs() <= max_age
}

fn line_size(line: &[u8]) -> u64 {
    u64::try_from(line.len()).unwrap_or(u64::MAX).saturating_add(1)
}

/// For an opt-out: deletes every recipient's record of what was sent, and sets its counts to
/// what the opt-out dropped (`opted_out`: the messages that waited in its outbox, from
/// `opted_out`), each folder under its lock. A recipient whose outbox held
/// messages but who had no record gets counts too. Lock files stay; a missing folder is fine;
/// a link is refused, not deleted. The first error is returned once everything else was done.
pub(crate) fn purge_sent(telemetry_dir: &Path, opted_out: &[PurgedOutbox]) -> Result<(), GateError> {
    let Some(telemetry) = PrivateDir::open(telemetry_dir)? else { return Ok(()) };
    let existing = telemetry.open_dir(SENT_DIR)?;
    let mut first_error = None;
    let mut done = Vec::new();
    if let Some(sent) = &existing {
        for entry in sent.entries()? {
            let purged = if entry.kind == EntryKind::Dir {
                let waiting =
                    opted_out.iter().find(|purged| purged.id == entry.name).map_or(0, |purged| purged.messages);
                done.push(entry.name.clone());
                sent.open_dir(&entry.name).and_then(|dir| dir.map_or(Ok(()), |dir| reset(&dir, waiting)))
            } else {
                sent.remove_file(&entry.name).map(drop)
            };
            if let Err(error) = purged {
                first_error.get_or_insert(error);
            }
        }
    }
    for purged in opted_out.iter().filter(|purged| purged.messages > 0 && !done.contains(&purged.id)) {
        let created = telemetry.create_dir(SENT_DIR).and_then(|sent| sent.create_dir(&purged.id)).and_then(|dir| {
            if let Some(description) = &purged.description {
                dir.create_new(RECIPIENT_FILE, description, Durability::Fast)?;
            }
            reset(&dir, purged.messages)
        });
        if let Err(error) = created {
            first_error.get_or_insert(error);
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// What an opt-out deleted from one recipient's outbox.
#[derive(Debug)]
pub(crate) struct PurgedOutbox {
    /// The recipient's id (its folder's name).
    pub(crate) id: String,
    /// How many messages waited.
    pub(crate) messages: u64,
    /// Its `recipient.json`, when it could be read.
    pub(crate) description: Option<Vec<u8>>,
}

/// Deletes a recipient's record and leaves counts of `opted_out` drops only.
fn reset(dir: &PrivateDir, opted_out: u64) -> Result<(), GateError> {
    let _lock = dir.lock(LOCK_FILE, Instant::now() + Duration::from_secs(1))?;
    dir.remove_file(SENT_FILE)?;
    let mut counts = Counts::default();
    counts.dropped.opted_out = opted_out;
    if opted_out == 0 { dir.remove_file(COUNTS_FILE).map(drop) } else { write_counts(dir, &counts) }
}

#[cfg(test)]
mod tests;
