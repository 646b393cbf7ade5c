//! The on-disk outbox: messages that were not delivered by the shutdown deadline (or ran out of
//! attempts), kept as JSON lines for the next run to send, bounded in bytes and age.
//!
//! The directory holds:
//! - `outbox.jsonl`: the messages waiting, one per line, oldest first. It is only ever replaced
//!   whole (written to a temporary file, then renamed), so no reader sees a torn line.
//! - `claimed-<pid>-<random>.jsonl`: messages a running transport took over to send, locked by
//!   it while it runs. A claim whose lock can be taken was left by a process that died, and the
//!   next transport takes it over.
//! - `.lock`: every change to the directory is made while holding the lock on this file, so
//!   processes sharing the directory never interleave their writes.

use std::fs::{self, File, TryLockError};
use std::io::{self, BufWriter, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use dlt_telemetry_model::TrackMessage;
use time::OffsetDateTime;

use crate::stats::{Counters, add};
use crate::wire::{encode_message, now_utc};

/// The default size bound of the outbox: 1 MiB.
pub const DEFAULT_OUTBOX_MAX_BYTES: u64 = 1024 * 1024;
/// The default age bound of the outbox: 7 days.
pub const DEFAULT_OUTBOX_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

const OUTBOX_FILE: &str = "outbox.jsonl";
const LOCK_FILE: &str = ".lock";
const CLAIM_PREFIX: &str = "claimed-";
const CLAIM_SUFFIX: &str = ".jsonl";
const TEMP_PREFIX: &str = ".tmp-";
/// How often a locked directory is tried again.
const LOCK_POLL: Duration = Duration::from_millis(2);
/// Files larger than this many times the size bound are read only this far (a file that size
/// was not written by a transport; the cut line is counted as corrupt).
const READ_LIMIT_FACTOR: u64 = 4;

/// Where and how much to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxOptions {
    /// The directory, created when first needed, e.g. `<global dir>/telemetry/outbox`.
    pub dir: PathBuf,
    /// The largest the outbox may grow; the oldest messages are dropped first.
    pub max_bytes: u64,
    /// Messages older than this (by their `timestamp`) are dropped.
    pub max_age: Duration,
}

impl OutboxOptions {
    /// An outbox in `dir` with the default bounds: 1 MiB and 7 days.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), max_bytes: DEFAULT_OUTBOX_MAX_BYTES, max_age: DEFAULT_OUTBOX_MAX_AGE }
    }
}

/// How long purging waits for another process that holds the outbox.
const PURGE_LOCK_WAIT: Duration = Duration::from_secs(1);

/// Deletes every message in the outbox at `dir`, waiting or claimed, under the outbox's lock so
/// that no other process appends in between. For when the user turns telemetry off: nothing
/// queued before is ever sent. The lock file stays (another process may hold it); a missing
/// directory is not an error.
pub fn purge_outbox(dir: &Path) -> io::Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    let _lock = lock_dir(dir, Instant::now() + PURGE_LOCK_WAIT)?;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        if entry.file_name().to_str().is_some_and(is_outbox_file) {
            remove_if_present(&entry.path())?;
        }
    }
    Ok(())
}

/// The messages in the outbox at `dir`, waiting or claimed, without taking them; lines that are
/// not messages are skipped. For showing what is left to send.
pub fn read_outbox(dir: &Path) -> io::Result<Vec<TrackMessage>> {
    let entries = match fs::read_dir(dir) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        entries => entries?,
    };
    let mut messages = Vec::new();
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_str().is_some_and(|name| name == OUTBOX_FILE || is_claim(name)) {
            let (lines, _) = read_lines(&entry.path(), u64::MAX)?;
            messages.extend(lines.into_iter().map(|line| line.message));
        }
    }
    Ok(messages)
}

/// A transport's handle on its outbox directory.
#[derive(Debug)]
pub(crate) struct Outbox {
    options: OutboxOptions,
    counters: Arc<Counters>,
}

/// Messages of earlier runs that this transport took over; they stay on disk, locked, until
/// [`Outbox::release`].
#[derive(Debug)]
pub(crate) struct Claim {
    path: PathBuf,
    _lock: File,
}

/// One outbox line and the message it holds.
#[derive(Debug)]
struct Line {
    bytes: Vec<u8>,
    message: TrackMessage,
}

impl Outbox {
    pub(crate) fn new(options: OutboxOptions, counters: Arc<Counters>) -> Self {
        Self { options, counters }
    }

    /// Takes over the messages left by earlier runs (the outbox and the claims of dead
    /// processes), within the bounds. Problems are counted and logged, never returned.
    pub(crate) fn claim(&self, lock_deadline: Instant) -> (Vec<TrackMessage>, Option<Claim>) {
        match self.try_claim(lock_deadline) {
            Ok(claimed) => claimed,
            Err(error) => {
                self.io_error("claim", &error);
                (Vec::new(), None)
            }
        }
    }

    /// Appends undelivered messages (without `sentAt`, which is set again on the next attempt)
    /// and keeps the outbox within its bounds. False when they could not be saved.
    pub(crate) fn append(&self, messages: Vec<TrackMessage>, lock_deadline: Instant) -> bool {
        let count = messages.len();
        match self.try_append(messages, lock_deadline) {
            Ok(()) => {
                add(&self.counters.written_to_outbox, count);
                true
            }
            Err(error) => {
                self.io_error("append to", &error);
                false
            }
        }
    }

    /// Gives a claim up once what it held was delivered or appended back to the outbox.
    pub(crate) fn release(&self, claim: Claim) {
        // Deleted before its lock is released, so that nobody takes it over in between.
        if let Err(error) = remove_if_present(&claim.path) {
            self.io_error("release a claim on", &error);
        }
    }

    fn try_claim(&self, lock_deadline: Instant) -> io::Result<(Vec<TrackMessage>, Option<Claim>)> {
        let dir = &self.options.dir;
        if !dir.is_dir() {
            return Ok((Vec::new(), None));
        }
        let _lock = lock_dir(dir, lock_deadline)?;
        let mut sources = Vec::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            let path = entry.path();
            if name.starts_with(TEMP_PREFIX) {
                // Written under the lock we hold, so left by a process that died mid-write.
                remove_if_present(&path)?;
            } else if name == OUTBOX_FILE {
                sources.push((path, None));
            } else if is_claim(&name) {
                let file = File::options().read(true).write(true).open(&path)?;
                match file.try_lock() {
                    Ok(()) => sources.push((path, Some(file))),
                    Err(TryLockError::WouldBlock) => {}
                    Err(TryLockError::Error(error)) => return Err(error),
                }
            }
        }
        let mut lines = Vec::new();
        for (path, _) in &sources {
            lines.extend(self.read(path)?);
        }
        let lines = self.bound(lines);
        let claim = if lines.is_empty() { None } else { Some(write_claim(dir, &lines)?) };
        for (path, _) in &sources {
            remove_if_present(path)?;
        }
        add(&self.counters.read_from_outbox, lines.len());
        Ok((lines.into_iter().map(|line| line.message).collect(), claim))
    }

    fn try_append(&self, messages: Vec<TrackMessage>, lock_deadline: Instant) -> io::Result<()> {
        let dir = &self.options.dir;
        fs::create_dir_all(dir)?;
        let _lock = lock_dir(dir, lock_deadline)?;
        let path = dir.join(OUTBOX_FILE);
        let mut lines = match self.read(&path) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
            lines => lines?,
        };
        for mut message in messages {
            message.sent_at = None;
            lines.push(Line { bytes: encode_message(&message).map_err(io::Error::other)?, message });
        }
        let lines = self.bound(lines);
        if lines.is_empty() {
            return remove_if_present(&path);
        }
        let (temp, file) = create_temp(dir)?;
        write_lines(file, &lines).and_then(|()| fs::rename(&temp, &path)).inspect_err(|_| {
            let _ = fs::remove_file(&temp);
        })
    }

    /// The messages of one outbox file; lines that are not messages are counted and skipped.
    fn read(&self, path: &Path) -> io::Result<Vec<Line>> {
        let limit = self.options.max_bytes.max(DEFAULT_OUTBOX_MAX_BYTES).saturating_mul(READ_LIMIT_FACTOR);
        let (lines, corrupt) = read_lines(path, limit)?;
        if corrupt > 0 {
            add(&self.counters.outbox_corrupt_lines, corrupt);
            tracing::debug!(path = %path.display(), corrupt, "telemetry outbox: skipped lines that are not messages");
        }
        Ok(lines)
    }

    /// Applies the bounds and counts what they drop.
    fn bound(&self, lines: Vec<Line>) -> Vec<Line> {
        let bounded = retain_within(lines, now_utc(), self.options.max_age, self.options.max_bytes);
        add(&self.counters.dropped_expired, bounded.expired);
        add(&self.counters.dropped_outbox_full, bounded.overflow);
        bounded.kept
    }

    fn io_error(&self, action: &str, error: &io::Error) {
        add(&self.counters.outbox_errors, 1);
        tracing::debug!(dir = %self.options.dir.display(), %error, "telemetry outbox: could not {action} the outbox");
    }
}

/// What [`retain_within`] kept and how many it dropped for each reason.
#[derive(Debug)]
struct Bounded {
    kept: Vec<Line>,
    expired: usize,
    overflow: usize,
}

/// The lines an outbox may keep, oldest first: one per `messageId`, none older than `max_age`
/// by its `timestamp` (a line without one has no provable age and counts as expired), and
/// then the newest that fit in `max_bytes`.
fn retain_within(mut lines: Vec<Line>, now: OffsetDateTime, max_age: Duration, max_bytes: u64) -> Bounded {
    lines.sort_by_key(|line| line.message.timestamp);
    let mut seen = std::collections::HashSet::new();
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
fn line_size(line: &Line) -> u64 {
    u64::try_from(line.bytes.len()).unwrap_or(u64::MAX).saturating_add(1)
}

/// Reads up to `limit` bytes of an outbox file: the messages, and how many lines were not one.
fn read_lines(path: &Path, limit: u64) -> io::Result<(Vec<Line>, usize)> {
    let mut bytes = Vec::new();
    File::open(path)?.take(limit).read_to_end(&mut bytes)?;
    let mut lines = Vec::new();
    let mut corrupt = 0;
    for bytes in bytes.split(|&byte| byte == b'\n').filter(|line| !line.trim_ascii().is_empty()) {
        match serde_json::from_slice(bytes) {
            Ok(message) => lines.push(Line { bytes: bytes.to_vec(), message }),
            Err(_) => corrupt += 1,
        }
    }
    Ok((lines, corrupt))
}

/// Writes a claim file holding `lines`, locked for as long as the returned claim lives.
fn write_claim(dir: &Path, lines: &[Line]) -> io::Result<Claim> {
    let (temp, file) = create_temp(dir)?;
    let path = dir.join(format!("{CLAIM_PREFIX}{}-{:016x}{CLAIM_SUFFIX}", std::process::id(), fastrand::u64(..)));
    let written = file
        .lock()
        .and_then(|()| file.try_clone())
        .and_then(|writer| write_lines(writer, lines))
        .and_then(|()| fs::rename(&temp, &path));
    match written {
        Ok(()) => Ok(Claim { path, _lock: file }),
        Err(error) => {
            let _ = fs::remove_file(&temp);
            Err(error)
        }
    }
}

/// Locks the directory, waiting for another process at most until `deadline`.
fn lock_dir(dir: &Path, deadline: Instant) -> io::Result<File> {
    let file = File::options().create(true).truncate(false).write(true).open(dir.join(LOCK_FILE))?;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(TryLockError::WouldBlock) if Instant::now() < deadline => thread::sleep(LOCK_POLL),
            Err(TryLockError::WouldBlock) => {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "the outbox stayed locked by another process"));
            }
            Err(TryLockError::Error(error)) => return Err(error),
        }
    }
}

/// A new temporary file in `dir`, to be renamed once complete.
fn create_temp(dir: &Path) -> io::Result<(PathBuf, File)> {
    let path = dir.join(format!("{TEMP_PREFIX}{}-{:016x}", std::process::id(), fastrand::u64(..)));
    let file = File::options().write(true).create_new(true).open(&path)?;
    Ok((path, file))
}

/// Writes one line per message and makes them durable before the file is renamed into place.
fn write_lines(file: File, lines: &[Line]) -> io::Result<()> {
    let mut writer = BufWriter::new(file);
    for line in lines {
        writer.write_all(&line.bytes)?;
        writer.write_all(b"\n")?;
    }
    writer.into_inner().map_err(io::IntoInnerError::into_error)?.sync_all()
}

fn remove_if_present(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        removed => removed,
    }
}

fn is_claim(name: &str) -> bool {
    name.starts_with(CLAIM_PREFIX) && name.ends_with(CLAIM_SUFFIX)
}

/// Files that hold (or are becoming) outbox messages.
fn is_outbox_file(name: &str) -> bool {
    name == OUTBOX_FILE || is_claim(name) || name.starts_with(TEMP_PREFIX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use dlt_telemetry_model::{Context, EventCategory, Library, OsInfo};
    use serde_json::Map;

    use super::*;
    use crate::wire::fill_segment_fields;

    fn message(index: usize, age: Duration) -> TrackMessage {
        let context = Context::new(false, 2, vec![], OsInfo::new("Linux", "6.1.0"), Library::new("dlt", "0.1.0"), None);
        let mut properties = Map::new();
        properties.insert("index".into(), index.into());
        let mut message = TrackMessage::new(EventCategory::Command, "telemetry", properties, "00", context);
        fill_segment_fields(&mut message, now_utc() - age);
        message
    }

    fn outbox(dir: &Path) -> (Outbox, Arc<Counters>) {
        let counters = Arc::new(Counters::default());
        (Outbox::new(OutboxOptions::new(dir), counters.clone()), counters)
    }

    fn indexes(messages: &[TrackMessage]) -> Vec<u64> {
        let mut indexes: Vec<u64> = messages.iter().map(|m| m.properties["index"].as_u64().unwrap()).collect();
        indexes.sort_unstable();
        indexes
    }

    fn soon() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    fn line(message: TrackMessage) -> Line {
        Line { bytes: encode_message(&message).unwrap(), message }
    }

    #[test]
    fn bounds_drop_duplicates_expired_then_oldest() {
        let day = Duration::from_secs(24 * 60 * 60);
        let old = message(0, 8 * day);
        let mut undated = message(1, Duration::ZERO);
        undated.timestamp = None;
        let newest = message(2, Duration::ZERO);
        let middle = message(3, day);
        let oldest_kept = message(4, 2 * day);
        let lines = vec![line(old), line(undated), line(newest.clone()), line(middle), line(oldest_kept), line(newest)];
        let sizes: u64 = lines[2..5].iter().map(line_size).sum();

        let bounded = retain_within(lines, now_utc(), 7 * day, sizes - 1);
        assert_eq!(bounded.expired, 2);
        assert_eq!(bounded.overflow, 1);
        let kept: Vec<_> = bounded.kept.into_iter().map(|l| l.message).collect();
        assert_eq!(indexes(&kept), [2, 3]);
        assert_eq!(kept[0].properties["index"], 3, "oldest first");
    }

    #[test]
    fn appended_messages_come_back_from_a_claim_without_sent_at() {
        let dir = tempfile::tempdir().unwrap();
        let (outbox, counters) = outbox(dir.path());
        let mut sent = message(7, Duration::ZERO);
        sent.sent_at = Some(now_utc());
        assert!(outbox.append(vec![sent.clone(), message(8, Duration::ZERO)], soon()));
        assert_eq!(counters.snapshot().written_to_outbox, 2);

        let (claimed, claim) = outbox.claim(soon());
        assert_eq!(indexes(&claimed), [7, 8]);
        let first = claimed.iter().find(|m| m.properties["index"] == 7).unwrap();
        assert_eq!(first.message_id, sent.message_id);
        assert_eq!(first.sent_at, None);
        assert_eq!(counters.snapshot().read_from_outbox, 2);
        assert!(!dir.path().join(OUTBOX_FILE).exists());
        assert_eq!(indexes(&read_outbox(dir.path()).unwrap()), [7, 8], "still on disk while claimed");

        outbox.release(claim.unwrap());
        assert!(read_outbox(dir.path()).unwrap().is_empty());
    }

    #[test]
    fn a_live_claim_is_not_taken_a_dead_one_is() {
        let dir = tempfile::tempdir().unwrap();
        let (first, _) = outbox(dir.path());
        let (second, _) = outbox(dir.path());
        assert!(first.append(vec![message(1, Duration::ZERO)], soon()));
        let (claimed, claim) = first.claim(soon());
        assert_eq!(indexes(&claimed), [1]);

        let (taken, none) = second.claim(soon());
        assert!(taken.is_empty() && none.is_none(), "a claim held by a live transport stays with it");

        // The process dies: its lock goes away, its claim file stays.
        drop(claim);
        let (taken, claim) = second.claim(soon());
        assert_eq!(indexes(&taken), [1]);
        second.release(claim.unwrap());
        assert!(fs::read_dir(dir.path()).unwrap().all(|e| e.unwrap().file_name() == LOCK_FILE));
    }

    #[test]
    fn corrupt_lines_are_skipped_and_counted() {
        let dir = tempfile::tempdir().unwrap();
        let good = encode_message(&message(5, Duration::ZERO)).unwrap();
        let mut content = b"{not json\n\n".to_vec();
        content.extend_from_slice(&good);
        content.extend_from_slice(b"\n{\"anonymousId\":\"only\"}\n\xff\xfe\n");
        content.extend_from_slice(&good[..good.len() / 2]);
        fs::write(dir.path().join(OUTBOX_FILE), content).unwrap();
        let (outbox, counters) = outbox(dir.path());

        let (claimed, claim) = outbox.claim(soon());
        assert_eq!(indexes(&claimed), [5]);
        assert!(claim.is_some());
        assert_eq!(counters.snapshot().outbox_corrupt_lines, 4);
        assert_eq!(counters.snapshot().outbox_errors, 0);
    }

    #[test]
    fn concurrent_appends_neither_interleave_nor_lose_lines() {
        let dir = tempfile::tempdir().unwrap();
        let writers: Vec<_> = (0..8)
            .map(|writer| {
                let dir = dir.path().to_owned();
                thread::spawn(move || {
                    let (outbox, _) = outbox(&dir);
                    for batch in 0..5 {
                        let messages =
                            (0..10).map(|i| message(writer * 100 + batch * 10 + i, Duration::ZERO)).collect();
                        assert!(outbox.append(messages, soon()));
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let content = fs::read_to_string(dir.path().join(OUTBOX_FILE)).unwrap();
        assert!(content.lines().all(|line| serde_json::from_str::<TrackMessage>(line).is_ok()));
        let expected: Vec<u64> = (0..8).flat_map(|w| (0..50).map(move |i| w * 100 + i)).collect();
        assert_eq!(indexes(&read_outbox(dir.path()).unwrap()), expected);
    }

    #[test]
    fn a_locked_directory_is_waited_for_until_the_deadline() {
        let dir = tempfile::tempdir().unwrap();
        let held = lock_dir(dir.path(), soon()).unwrap();
        let (outbox, counters) = outbox(dir.path());
        let started = Instant::now();
        assert!(!outbox.append(vec![message(1, Duration::ZERO)], Instant::now() + Duration::from_millis(50)));
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(counters.snapshot().outbox_errors, 1);
        drop(held);
        assert!(outbox.append(vec![message(1, Duration::ZERO)], soon()));
    }

    #[test]
    fn purge_deletes_waiting_and_claimed_messages() {
        let dir = tempfile::tempdir().unwrap();
        let outbox_dir = dir.path().join("outbox");
        let (outbox, _) = outbox(&outbox_dir);
        assert!(outbox.append(vec![message(1, Duration::ZERO)], soon()));
        let (_, claim) = outbox.claim(soon());
        assert!(outbox.append(vec![message(2, Duration::ZERO)], soon()));
        assert_eq!(read_outbox(&outbox_dir).unwrap().len(), 2);

        purge_outbox(&outbox_dir).unwrap();
        let left: Vec<_> = fs::read_dir(&outbox_dir).unwrap().map(|entry| entry.unwrap().file_name()).collect();
        assert_eq!(left, [LOCK_FILE], "only the lock file stays: another process may hold it");
        drop(claim);
        purge_outbox(&outbox_dir).unwrap();
        assert!(read_outbox(&outbox_dir).unwrap().is_empty());
    }

    #[test]
    fn purge_keeps_files_that_are_not_the_outboxs() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        fs::write(dir.path().join(OUTBOX_FILE), "{}\n").unwrap();
        purge_outbox(dir.path()).unwrap();
        assert!(dir.path().join("notes.txt").exists());
        assert!(!dir.path().join(OUTBOX_FILE).exists());
    }

    #[test]
    fn purge_waits_for_the_lock_and_fails_rather_than_race() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(OUTBOX_FILE), "{}\n").unwrap();
        let held = lock_dir(dir.path(), soon()).unwrap();
        let started = Instant::now();
        let error = purge_outbox(dir.path()).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(3));
        assert!(dir.path().join(OUTBOX_FILE).exists(), "nothing deleted behind the holder's back");
        drop(held);
        purge_outbox(dir.path()).unwrap();
        assert!(!dir.path().join(OUTBOX_FILE).exists());
    }
}
