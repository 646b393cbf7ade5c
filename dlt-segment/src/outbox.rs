//! The on-disk outbox: messages not delivered yet, kept as JSON lines for a later sender, one
//! folder per recipient, bounded in bytes (per recipient and in all) and in age.
//!
//! `<telemetry dir>/outbox/<recipient id>/` (folders `0700`, files `0600`) holds:
//! - `outbox.jsonl`: the messages waiting, one per line, oldest first: appended to in place
//!   while it ends in a whole line and stays within its bound, otherwise replaced whole
//!   (dropping what the bounds drop); a claim applies the bounds to what it takes;
//! - `claimed-<pid>-<random>.jsonl`: messages a running process took over to send, locked by
//!   it while it runs; a claim whose lock can be taken was left by a process that died, and the
//!   next claimer takes it over;
//! - `.lock`: every change to the folder is made holding it (a short lock: appending never
//!   waits for a sender);
//! - `sender.lock`: held by the one sender delivering this recipient's outbox;
//! - `recipient.json`: the endpoint with its password hidden, and whether a write key is used;
//! - `sender.log`: the latest delivery failures, bounded.
//!
//! Files directly under `outbox/` were written before outboxes were kept per recipient: their
//! recipient is unknown, so they are deleted, never sent.

use std::collections::HashSet;
use std::fs::{self, File, TryLockError};
use std::io::{self, Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use dlt_fs::{FileLock, NewFileMode, Sync};
use dlt_telemetry_model::TrackMessage;
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::opt_out::OptOutWatch;
use crate::recipient::Recipient;
use crate::stats::{Counters, add};

/// The default size bound of one recipient's outbox: 1 MiB.
pub const DEFAULT_OUTBOX_MAX_BYTES: u64 = 1024 * 1024;
/// The default size bound of all recipients' outboxes together: 4 MiB.
pub const DEFAULT_OUTBOX_MAX_TOTAL_BYTES: u64 = 4 * 1024 * 1024;
/// The default age bound: 7 days. Older messages are dropped, older folders removed.
pub const DEFAULT_OUTBOX_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

const OUTBOXES_DIR: &str = "outbox";
const OUTBOX_FILE: &str = "outbox.jsonl";
const APPEND_LOCK: &str = ".lock";
const SENDER_LOCK: &str = "sender.lock";
const RECIPIENT_FILE: &str = "recipient.json";
const FAILURE_LOG: &str = "sender.log";
const CLAIM_PREFIX: &str = "claimed-";
const CLAIM_SUFFIX: &str = ".jsonl";
/// Files larger than this many times the size bound are read only this far (a file that size
/// was not written by a transport; the cut line is counted as corrupt).
const READ_LIMIT_FACTOR: u64 = 4;
/// The failure log is cut back to its newest half once it grows past this.
const FAILURE_LOG_MAX_BYTES: u64 = 16 * 1024;
/// How long an append or a claim waits for another process holding the recipient's folder.
pub(crate) const LOCK_WAIT: Duration = Duration::from_millis(200);
/// How long purging waits for a process holding a recipient's folder.
const PURGE_LOCK_WAIT: Duration = Duration::from_secs(1);

/// Where and how much to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutboxOptions {
    /// The telemetry dir, e.g. `<global dir>/telemetry`: the outboxes are in its `outbox`
    /// folder, the opt-out mark beside it.
    pub telemetry_dir: PathBuf,
    /// The largest one recipient's outbox may grow; the oldest messages are dropped first.
    pub max_bytes: u64,
    /// The largest all recipients' outboxes may grow together; the folders of the recipients
    /// least recently written are emptied first.
    pub max_total_bytes: u64,
    /// Messages older than this (by their `timestamp`) are dropped, folders not written for
    /// this long removed.
    pub max_age: Duration,
}

impl OutboxOptions {
    /// Outboxes under `telemetry_dir` with the default bounds: 1 MiB per recipient, 4 MiB in
    /// all, 7 days.
    pub fn new(telemetry_dir: impl Into<PathBuf>) -> Self {
        Self {
            telemetry_dir: telemetry_dir.into(),
            max_bytes: DEFAULT_OUTBOX_MAX_BYTES,
            max_total_bytes: DEFAULT_OUTBOX_MAX_TOTAL_BYTES,
            max_age: DEFAULT_OUTBOX_MAX_AGE,
        }
    }

    fn outboxes_dir(&self) -> PathBuf {
        self.telemetry_dir.join(OUTBOXES_DIR)
    }
}

/// Deletes every recipient's waiting and claimed messages (and files of unknown recipients),
/// each folder under its lock so that no process appends in between. For when the user turns
/// telemetry off. Lock files stay (another process may hold them); a missing folder is fine.
pub fn purge_outboxes(telemetry_dir: &Path) -> io::Result<()> {
    let outboxes = telemetry_dir.join(OUTBOXES_DIR);
    let entries = match fs::read_dir(&outboxes) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(()),
        entries => entries?,
    };
    let mut first_error = None;
    for entry in entries.flatten() {
        let path = entry.path();
        let purged = if path.is_dir() { purge_recipient(&path) } else { remove_if_present(&path) };
        if let Err(error) = purged {
            first_error.get_or_insert(error);
        }
    }
    first_error.map_or(Ok(()), Err)
}

fn purge_recipient(dir: &Path) -> io::Result<()> {
    let _lock = FileLock::acquire(&dir.join(APPEND_LOCK), Instant::now() + PURGE_LOCK_WAIT)?;
    purge_messages(dir)
}

/// One recipient's outbox as `dlt telemetry` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecipientState {
    /// The endpoint, its password hidden (`None` when the folder does not say).
    pub endpoint: Option<String>,
    /// Whether messages go with a write key.
    pub write_key: bool,
    /// Messages waiting, claimed ones included.
    pub waiting: usize,
    /// When the oldest waiting message was recorded.
    pub oldest: Option<OffsetDateTime>,
    /// Whether a sender is delivering this outbox now.
    pub sender_running: bool,
    /// The process id of the sender, when one runs.
    pub sender_pid: Option<u32>,
    /// The latest line of the sender's failure log, if any.
    pub last_error: Option<String>,
}

/// Every recipient's outbox under `telemetry_dir`, without taking anything.
pub fn inspect_outboxes(telemetry_dir: &Path) -> io::Result<Vec<RecipientState>> {
    let outboxes = telemetry_dir.join(OUTBOXES_DIR);
    let entries = match fs::read_dir(&outboxes) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        entries => entries?,
    };
    let mut states = Vec::new();
    for entry in entries.flatten() {
        let dir = entry.path();
        if dir.is_dir() {
            states.push(inspect_recipient(&dir)?);
        }
    }
    states.sort_by(|a, b| a.endpoint.cmp(&b.endpoint));
    Ok(states)
}

fn inspect_recipient(dir: &Path) -> io::Result<RecipientState> {
    let description: Option<serde_json::Value> = dlt_fs::read_regular_file(&dir.join(RECIPIENT_FILE), 4096)
        .ok()
        .flatten()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let mut waiting = Vec::new();
    for entry in fs::read_dir(dir)?.flatten() {
        if entry.file_name().to_str().is_some_and(|name| name == OUTBOX_FILE || is_claim(name)) {
            waiting.extend(read_lines(&entry.path(), DEFAULT_OUTBOX_MAX_TOTAL_BYTES * READ_LIMIT_FACTOR)?.0);
        }
    }
    let distinct: HashSet<_> = waiting.iter().map(|line| line.message.message_id.clone()).collect();
    Ok(RecipientState {
        endpoint: description.as_ref().and_then(|d| d["endpoint"].as_str()).map(str::to_owned),
        write_key: description.as_ref().is_some_and(|d| d["write_key"] == true),
        waiting: distinct.len(),
        oldest: waiting.iter().filter_map(|line| line.message.timestamp).min(),
        sender_running: FileLock::is_held(&dir.join(SENDER_LOCK))?,
        sender_pid: FileLock::holder(&dir.join(SENDER_LOCK)),
        last_error: last_line(&dir.join(FAILURE_LOG)),
    })
}

/// A process's handle on its recipient's outbox.
#[derive(Debug)]
pub(crate) struct Outbox {
    options: OutboxOptions,
    recipient: Recipient,
    dir: PathBuf,
    counters: Arc<Counters>,
    clock: Arc<dyn Clock>,
    /// When this process started sending: an opt-out after it stops it for good.
    started_at: OffsetDateTime,
    watch: Mutex<OptOutWatch>,
}

/// Messages taken over from the outbox (or written ahead at shutdown); they stay on disk,
/// locked by this process, until [`Outbox::release`].
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

/// What the opt-out mark says about the messages of this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Consent {
    /// No opt-out, or one before this process started: messages recorded after it may go.
    Given { opted_out_at: Option<OffsetDateTime> },
    /// The user opted out after this process started: it sends and keeps nothing more.
    Withdrawn,
}

impl Consent {
    /// Whether a message may still be sent or kept.
    pub(crate) fn allows(self, message: &TrackMessage) -> bool {
        match self {
            Self::Given { opted_out_at: None } => true,
            Self::Given { opted_out_at: Some(at) } => message.timestamp.is_some_and(|recorded| recorded > at),
            Self::Withdrawn => false,
        }
    }

    /// `allows`, counting each message it refuses in `dropped`: a filter for `retain`.
    pub(crate) fn counting(self, dropped: &AtomicU64) -> impl Fn(&TrackMessage) -> bool + '_ {
        move |message| {
            let allowed = self.allows(message);
            if !allowed {
                add(dropped, 1);
            }
            allowed
        }
    }
}

impl Outbox {
    pub(crate) fn new(
        options: OutboxOptions,
        recipient: Recipient,
        counters: Arc<Counters>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let dir = recipient.dir(&options.outboxes_dir());
        let watch = Mutex::new(OptOutWatch::new(&options.telemetry_dir));
        let started_at = clock.now();
        Self { options, recipient, dir, counters, clock, started_at, watch }
    }

    /// What the opt-out mark says now: a `stat`, and a small read when the mark changed.
    pub(crate) fn consent(&self) -> Consent {
        let opted_out_at = self.watch.lock().unwrap_or_else(PoisonError::into_inner).latest();
        match opted_out_at {
            Some(at) if at >= self.started_at => Consent::Withdrawn,
            opted_out_at => Consent::Given { opted_out_at },
        }
    }

    /// Whether this recipient has a folder: without one, nothing waits.
    pub(crate) fn exists(&self) -> bool {
        self.dir.is_dir()
    }

    /// Whether a sender is delivering this recipient's outbox now.
    pub(crate) fn sender_running(&self) -> bool {
        FileLock::is_held(&self.dir.join(SENDER_LOCK)).unwrap_or(false)
    }

    /// Takes the sender's lock of this recipient, if no sender holds it, and records this
    /// process as its holder.
    pub(crate) fn try_lock_sender(&self) -> io::Result<Option<FileLock>> {
        self.ensure_dir()?;
        let lock = FileLock::try_acquire(&self.dir.join(SENDER_LOCK))?;
        if let Some(lock) = &lock {
            lock.record_holder()?;
        }
        Ok(lock)
    }

    /// Takes over the messages left by earlier runs (the outbox and the claims of dead
    /// processes), within the bounds and what the opt-out mark allows. Problems are counted and
    /// logged, never returned.
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
    /// and keeps the outboxes within their bounds. Returns whether they were saved (or needed no
    /// saving) and whether a sender should be started for them.
    pub(crate) fn append(&self, messages: Vec<TrackMessage>, lock_deadline: Instant) -> Appended {
        let count = messages.len();
        match self.try_append(messages, lock_deadline) {
            Ok(appended) => appended,
            Err(error) => {
                self.io_error("append to", &error);
                add(&self.counters.dropped_undelivered, count);
                Appended { saved: false, sender_needed: false }
            }
        }
    }

    /// Writes `messages` to a claim of this process before trying to deliver them, so that a
    /// process killed while it tries leaves them for the next sender. `None` when they could
    /// not be written (then they are kept only in memory, as before).
    pub(crate) fn write_ahead(&self, messages: &[TrackMessage]) -> Option<Claim> {
        let written = self.ensure_dir().and_then(|()| {
            let lines: Vec<Line> = messages.iter().filter_map(|message| Line::of(message.clone()).ok()).collect();
            if lines.is_empty() { Ok(None) } else { write_claim(&self.dir, &lines).map(Some) }
        });
        written.unwrap_or_else(|error| {
            self.io_error("write ahead to", &error);
            None
        })
    }

    /// Gives a claim up once what it held was delivered or appended back to the outbox.
    pub(crate) fn release(&self, claim: Claim) {
        // Deleted before its lock is released, so that nobody takes it over in between.
        if let Err(error) = remove_if_present(&claim.path) {
            self.io_error("release a claim on", &error);
        }
    }

    /// For the sender, before it exits: under the append lock, true when nothing waits (no
    /// outbox, no claim of a dead process), and then the sender's lock is released while the
    /// append lock is still held, so that an appender either sees the sender running or finds
    /// the lock free and starts a new one.
    pub(crate) fn release_sender_if_empty(&self, sender: &mut Option<FileLock>, lock_deadline: Instant) -> bool {
        let Ok(_lock) = FileLock::acquire(&self.dir.join(APPEND_LOCK), lock_deadline) else { return false };
        let empty = fs::read_dir(&self.dir).is_ok_and(|entries| {
            entries.flatten().all(|entry| {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name == OUTBOX_FILE {
                    entry.metadata().is_ok_and(|metadata| metadata.len() == 0)
                } else if is_claim(&name) {
                    // A claim held by a live process is that process's to deliver.
                    FileLock::is_held(&entry.path()).unwrap_or(false)
                } else {
                    true
                }
            })
        });
        if empty {
            sender.take();
        }
        empty
    }

    /// Notes a failed delivery in the recipient's failure log, which `dlt telemetry` shows.
    pub(crate) fn log_failure(&self, what: &str) {
        let line = format!(
            "{} {what}\n",
            self.clock.now().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
        );
        if let Err(error) =
            self.ensure_dir().and_then(|()| append_bounded(&self.dir.join(FAILURE_LOG), line.as_bytes()))
        {
            tracing::debug!(%error, "telemetry outbox: could not write the failure log");
        }
    }

    fn ensure_dir(&self) -> io::Result<()> {
        if !self.dir.is_dir() {
            dlt_fs::create_private_dir_all(&self.dir)?;
        }
        let description = self.recipient.description().to_string();
        dlt_fs::create_new_atomic(
            &self.dir.join(RECIPIENT_FILE),
            description.as_bytes(),
            NewFileMode::Private,
            Sync::Fast,
        )
        .map(drop)
    }

    fn try_claim(&self, lock_deadline: Instant) -> io::Result<(Vec<TrackMessage>, Option<Claim>)> {
        remove_unknown_recipients(&self.options.outboxes_dir());
        if !self.dir.is_dir() {
            return Ok((Vec::new(), None));
        }
        let _lock = FileLock::acquire(&self.dir.join(APPEND_LOCK), lock_deadline)?;
        let mut sources = Vec::new();
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            let path = entry.path();
            if is_temporary(&name) {
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
        let consent = self.consent();
        let lines = self.bound(lines, consent);
        let claim = if lines.is_empty() { None } else { Some(write_claim(&self.dir, &lines)?) };
        for (path, _) in &sources {
            remove_if_present(path)?;
        }
        add(&self.counters.read_from_outbox, lines.len());
        Ok((lines.into_iter().map(|line| line.message).collect(), claim))
    }

    fn try_append(&self, mut messages: Vec<TrackMessage>, lock_deadline: Instant) -> io::Result<Appended> {
        if messages.is_empty() {
            return Ok(Appended { saved: true, sender_needed: false });
        }
        self.ensure_dir()?;
        let _lock = FileLock::acquire(&self.dir.join(APPEND_LOCK), lock_deadline)?;
        // Checked under the lock that purging takes too: after an opt-out nothing is kept.
        let consent = self.consent();
        messages.retain(consent.counting(&self.counters.dropped_opted_out));
        let path = self.dir.join(OUTBOX_FILE);
        let appended = messages.len();
        let mut new_lines = Vec::with_capacity(appended);
        for mut message in messages {
            message.sent_at = None;
            new_lines.push(Line::of(message)?);
        }
        if append_in_place(&path, &new_lines, self.options.max_bytes)? {
            add(&self.counters.written_to_outbox, appended);
            self.keep_total_within_bounds();
            return Ok(Appended { saved: true, sender_needed: !self.sender_running() });
        }
        let mut lines = match self.read(&path) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => Vec::new(),
            lines => lines?,
        };
        lines.extend(new_lines);
        let lines = self.bound(lines, consent);
        if lines.is_empty() {
            remove_if_present(&path)?;
        } else {
            dlt_fs::write_atomic(&path, &joined(&lines), NewFileMode::Private, Sync::Fast)?;
        }
        add(&self.counters.written_to_outbox, appended);
        self.keep_total_within_bounds();
        let sender_needed = !lines.is_empty() && !self.sender_running();
        Ok(Appended { saved: true, sender_needed })
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

    /// Applies the opt-out mark and the bounds, and counts what they drop.
    fn bound(&self, mut lines: Vec<Line>, consent: Consent) -> Vec<Line> {
        let allowed = consent.counting(&self.counters.dropped_opted_out);
        lines.retain(|line| allowed(&line.message));
        let bounded = retain_within(lines, self.clock.now(), self.options.max_age, self.options.max_bytes);
        add(&self.counters.dropped_expired, bounded.expired);
        add(&self.counters.dropped_outbox_full, bounded.overflow);
        bounded.kept
    }

    /// Removes other recipients' folders not written within the age bound, then empties the
    /// least recently written ones while all outboxes together are over their size bound.
    /// Folders in use (their lock held) are left for another time.
    fn keep_total_within_bounds(&self) {
        let Ok(entries) = fs::read_dir(self.options.outboxes_dir()) else { return };
        let now = SystemTime::now();
        let mut others = Vec::new();
        let mut total = 0;
        for entry in entries.flatten() {
            let dir = entry.path();
            if !dir.is_dir() {
                continue;
            }
            let (bytes, written) = folder_usage(&dir);
            total += bytes;
            if dir != self.dir {
                others.push((written, bytes, dir));
            }
        }
        others.sort_by_key(|(written, ..)| *written);
        for (written, bytes, dir) in others {
            let expired = now.duration_since(written).is_ok_and(|age| age > self.options.max_age);
            if !expired && total <= self.options.max_total_bytes {
                continue;
            }
            let Ok(Some(_lock)) = FileLock::try_acquire(&dir.join(APPEND_LOCK)) else { continue };
            if FileLock::is_held(&dir.join(SENDER_LOCK)).unwrap_or(true) {
                continue;
            }
            let removed = if expired { fs::remove_dir_all(&dir) } else { purge_messages(&dir) };
            match removed {
                Ok(()) => total = total.saturating_sub(bytes),
                Err(error) => tracing::debug!(dir = %dir.display(), %error, "telemetry outbox: could not trim"),
            }
        }
    }

    fn io_error(&self, action: &str, error: &io::Error) {
        add(&self.counters.outbox_errors, 1);
        tracing::debug!(dir = %self.dir.display(), %error, "telemetry outbox: could not {action} the outbox");
    }
}

/// What an append did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Appended {
    /// The messages were written, or were not to be kept (the user opted out): nothing was lost
    /// to a failure.
    pub(crate) saved: bool,
    /// The recipient's outbox holds messages and no sender is running for it.
    pub(crate) sender_needed: bool,
}

impl Line {
    fn of(message: TrackMessage) -> io::Result<Self> {
        Ok(Self { bytes: serde_json::to_vec(&message).map_err(io::Error::other)?, message })
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
fn line_size(line: &Line) -> u64 {
    u64::try_from(line.bytes.len()).unwrap_or(u64::MAX).saturating_add(1)
}

/// Reads up to `limit` bytes of an outbox file: the messages, and how many lines were not one.
fn read_lines(path: &Path, limit: u64) -> io::Result<(Vec<Line>, usize)> {
    let bytes = match dlt_fs::read_regular_file(path, limit) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Err(io::Error::new(io::ErrorKind::NotFound, "no outbox file")),
        Err(dlt_fs::ReadError::Io(error)) => return Err(error),
        Err(error) => return Err(io::Error::new(io::ErrorKind::InvalidData, error.to_string())),
    };
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
    let name = format!("{CLAIM_PREFIX}{}-{:016x}{CLAIM_SUFFIX}", std::process::id(), fastrand::u64(..));
    let path = dir.join(name);
    let lock = dlt_fs::create_locked(&path, &joined(lines), NewFileMode::Private)?;
    Ok(Claim { path, _lock: lock })
}

/// The lines as an outbox file holds them, each ending in a newline.
fn joined(lines: &[Line]) -> Vec<u8> {
    let mut text = Vec::with_capacity(lines.iter().map(|line| line.bytes.len() + 1).sum());
    for line in lines {
        text.extend_from_slice(&line.bytes);
        text.push(b'\n');
    }
    text
}

/// Appends `lines` to an existing outbox file without reading it, when that keeps it whole
/// and within `max_bytes`: the file is a regular file (not a link) that is empty or ends in a
/// newline (a write cut short by a crash does not), and the lines fit. False when the file
/// must be rewritten instead; nothing was written then.
fn append_in_place(path: &Path, lines: &[Line], max_bytes: u64) -> io::Result<bool> {
    match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_file() => {}
        Ok(_) => return Ok(false),
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(error),
    }
    let mut file = File::options().read(true).append(true).open(path)?;
    let size = file.metadata()?.len();
    let text = joined(lines);
    if size.saturating_add(u64::try_from(text.len()).unwrap_or(u64::MAX)) > max_bytes {
        return Ok(false);
    }
    if size > 0 {
        let mut last = [0];
        file.seek(io::SeekFrom::End(-1))?;
        file.read_exact(&mut last)?;
        if last != *b"\n" {
            return Ok(false);
        }
    }
    file.write_all(&text)?;
    Ok(true)
}

/// Appends to a log, first cutting it back to its newest half when it is over its bound.
fn append_bounded(path: &Path, line: &[u8]) -> io::Result<()> {
    let size = fs::metadata(path).map(|metadata| metadata.len()).unwrap_or(0);
    if size > FAILURE_LOG_MAX_BYTES {
        let text =
            dlt_fs::read_regular_file(path, FAILURE_LOG_MAX_BYTES * 2).map_err(io::Error::other)?.unwrap_or_default();
        let keep_from = text.len() / 2;
        let keep_from =
            text[keep_from..].iter().position(|&byte| byte == b'\n').map_or(text.len(), |at| keep_from + at + 1);
        dlt_fs::write_atomic(path, &text[keep_from..], NewFileMode::Private, Sync::Fast)?;
    }
    let mut options = File::options();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)?.write_all(line)
}

/// The last non-empty line of a small text file.
fn last_line(path: &Path) -> Option<String> {
    let bytes = dlt_fs::read_regular_file(path, FAILURE_LOG_MAX_BYTES * 2).ok()??;
    let text = String::from_utf8_lossy(&bytes);
    text.lines().rev().find(|line| !line.trim().is_empty()).map(str::to_owned)
}

/// The bytes of messages a recipient folder holds, and when it was last written.
fn folder_usage(dir: &Path) -> (u64, SystemTime) {
    let mut bytes = 0;
    let mut written = fs::metadata(dir).and_then(|metadata| metadata.modified()).unwrap_or(SystemTime::UNIX_EPOCH);
    for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(metadata) = entry.metadata() else { continue };
        if entry.file_name().to_str().is_some_and(holds_messages) {
            bytes += metadata.len();
        }
        if let Ok(modified) = metadata.modified() {
            written = written.max(modified);
        }
    }
    (bytes, written)
}

/// Deletes the message files of a folder whose append lock the caller holds.
fn purge_messages(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)?.flatten() {
        if entry.file_name().to_str().is_some_and(holds_messages) {
            remove_if_present(&entry.path())?;
        }
    }
    Ok(())
}

/// Deletes files directly under the outboxes' folder: written before outboxes were kept per
/// recipient, their recipient is unknown, so they are never sent.
fn remove_unknown_recipients(outboxes: &Path) {
    for entry in fs::read_dir(outboxes).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|kind| kind.is_file()) {
            let _ = remove_if_present(&entry.path());
        }
    }
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

/// A file being written (by this crate or by `dlt-fs`), renamed into place once complete.
fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp")
}

/// Files that hold (or are becoming) messages.
fn holds_messages(name: &str) -> bool {
    name == OUTBOX_FILE || is_claim(name) || is_temporary(name)
}

#[cfg(test)]
mod tests;
