//! The on-disk outbox: messages not delivered yet, kept as JSON lines for a later sender, one
//! folder per recipient, bounded in bytes (per recipient and in all) and in age.
//!
//! **Words used here and in the worker** (`worker.rs`):
//! - *recipient*: an endpoint with its write key. Each has its own folder, named by a digest of
//!   both, so a message is only ever sent where it was recorded for.
//! - *counter*: the opt-out counter in the mark at `<telemetry dir>/opt-out`; a message is
//!   filed under the counter its process started with, and is void once the counter moved.
//! - *append* (the worker's *set aside*): keep undelivered messages in the recipient's outbox.
//! - *claim*: a process takes messages over to send them, by renaming them into a claim file
//!   of its own, locked while it lives; *release* deletes the claim once its messages were
//!   delivered or appended back.
//! - *write ahead*: at shutdown, before the last attempts, everything the worker holds is
//!   written to a claim, so that a kill during those attempts loses nothing.
//! - *settle*: the worker acting on one request's outcome (delivered, rejected for good,
//!   retried later, or set aside).
//! - *withdraw*: the worker's answer to an opt-out seen while it runs: everything held is
//!   dropped, the claims are deleted, nothing more is taken or kept.
//! - *heal*: a damaged file (too large, torn or foreign lines) is read back within its bound
//!   and rewritten, below.
//! - *sender*: the one process per recipient (holding `sender.lock`) that delivers an outbox
//!   after the program that recorded it has exited (`crate::sender`).
//!
//! Every file and folder here is reached through the file gate ([`dlt_fs::PrivateDir`]): the
//! telemetry dir, `outbox/` and each recipient's folder are verified private on their open
//! handle (a folder of this user, mode `0700`), files are opened relative to it without
//! following a link, and a link, a FIFO or a file with other names found here is refused and
//! left alone, never written through.
//!
//! `<telemetry dir>/outbox/<recipient id>/` (folders `0700`, files `0600`) holds:
//! - `outbox-<n>.jsonl`: the messages waiting, recorded under opt-out counter `n` (see
//!   [`crate::opt_out`]), one per line, oldest first: appended to in place while it ends in a
//!   whole line and stays within its bound, otherwise replaced whole (dropping what the bounds
//!   drop); a claim applies the bounds to what it takes;
//! - `claimed-<n>-<pid>-<random>.jsonl`: messages a running process took over to send (or
//!   wrote ahead at shutdown), locked by it while it runs; a claim whose lock can be taken was
//!   left by a process that died, and the next claimer takes it over;
//! - `.lock`: every change to the folder is made holding it (a short lock: appending never
//!   waits for a sender);
//! - `sender.lock`: held by the one sender delivering this recipient's outbox;
//! - `recipient.json`: the endpoint with its password hidden, and whether a write key is used;
//! - `sender.log`: the latest delivery failures and outbox repairs, bounded.
//!
//! A process writes only under the counter it started with, and only while the mark still
//! holds it. A claimer takes only files of its counter and deletes files of any other counter
//! unread. Files from before files carried the counter (`outbox.jsonl`,
//! `claimed-<pid>-<random>.jsonl`) cannot be tied to an opt-out, so they are deleted, never
//! sent; so are files directly under `outbox/`, written before outboxes were kept per
//! recipient.
//!
//! **Healing.** A file larger than its bound (after a crash, a full disk, a copy, an older
//! version) is read from its end: at most the bound's worth of its newest bytes, the first
//! (cut) line dropped, so reading it costs no more memory than a full outbox and its newest
//! messages survive. Setting the whole file aside instead would keep bytes nobody sends and
//! lose the newest messages with the oldest. Lines that are not messages (garbage, a line torn
//! by a crash) are dropped. The file is then rewritten (by an append) or taken over (by a
//! claim) within the bound, and one line naming the recipient's endpoint (never a secret) goes
//! to `sender.log`. Appends and claims go on working; `dlt telemetry` shows the damage.

mod files;
mod inspect;

use std::collections::HashSet;
use std::fs::{File, TryLockError};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use dlt_fs::{Durability, EntryKind, FileLock, GateError, PrivateDir};
use dlt_telemetry_model::{AnonymousMessage, TrackMessage};

use self::files::{
    APPEND_LOCK, FileMessages, Line, MessageFile, OUTBOXES_DIR, SENDER_LOCK, append_in_place, append_to_failure_log,
    claim_name, folder_usage, joined, outbox_name, purge_messages, read_messages, retain_within,
};
pub(crate) use self::files::{append_after_whole_lines, gate_failure_class};
pub use self::inspect::{RecipientState, inspect_outboxes};
use crate::clock::Clock;
use crate::opt_out::{OptOutMark, OptOutWatch};
use crate::recipient::{Recipient, read_description};
use crate::sent::{DEFAULT_SENT_MAX_AGE, DEFAULT_SENT_MAX_BYTES, PurgedOutbox, SentLog, purge_sent};
use crate::stats::{Counters, add};

/// The default size bound of one recipient's outbox: 1 MiB.
pub(crate) const DEFAULT_OUTBOX_MAX_BYTES: u64 = 1024 * 1024;
/// The default size bound of all recipients' outboxes together: 4 MiB.
pub(crate) const DEFAULT_OUTBOX_MAX_TOTAL_BYTES: u64 = 4 * 1024 * 1024;
/// The default age bound: 7 days. Older messages are dropped, older folders removed.
pub(crate) const DEFAULT_OUTBOX_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// How long an append or a claim waits for another process holding the recipient's folder.
pub(crate) const LOCK_WAIT: Duration = Duration::from_millis(200);
/// How long purging waits for a process holding a recipient's folder.
const PURGE_LOCK_WAIT: Duration = Duration::from_secs(1);

/// Where and how much to keep.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutboxOptions {
    /// The telemetry dir, e.g. `<global dir>/telemetry`: the outboxes are in its `outbox`
    /// folder, the opt-out mark beside it. It must be a private folder of this user (it is
    /// created `0700`, with missing parents, when missing): one that group or others may use is
    /// refused by the file gate, and then nothing is sent or kept, since the opt-out cannot be
    /// checked.
    pub telemetry_dir: PathBuf,
    /// The largest one recipient's outbox may grow; the oldest messages are dropped first.
    pub max_bytes: u64,
    /// The largest all recipients' outboxes may grow together; the folders of the recipients
    /// least recently written are emptied first.
    pub max_total_bytes: u64,
    /// Messages older than this (by their `timestamp`) are dropped, folders not written for
    /// this long removed.
    pub max_age: Duration,
    /// The largest one recipient's record of what was sent (`<telemetry dir>/sent/<id>/`) may
    /// grow; the oldest lines are dropped first.
    pub sent_max_bytes: u64,
    /// Lines of the record of what was sent older than this are dropped.
    pub sent_max_age: Duration,
    /// The opt-out mark as the process read it before it read the configuration that turned
    /// usage telemetry on ([`crate::read_opt_out`]): the counter it works under, which every
    /// later look at the mark is compared with. `None`: the mark is read when the outbox is
    /// made, which misses an opt-out that lands between the configuration's reading and then.
    pub opt_out_baseline: Option<OptOutMark>,
}

impl OutboxOptions {
    /// Outboxes under `telemetry_dir` with the default bounds: 1 MiB per recipient, 4 MiB in
    /// all, 7 days; the record of what was sent, 1 MiB per recipient and 30 days.
    pub fn new(telemetry_dir: impl Into<PathBuf>) -> Self {
        Self {
            telemetry_dir: telemetry_dir.into(),
            max_bytes: DEFAULT_OUTBOX_MAX_BYTES,
            max_total_bytes: DEFAULT_OUTBOX_MAX_TOTAL_BYTES,
            max_age: DEFAULT_OUTBOX_MAX_AGE,
            sent_max_bytes: DEFAULT_SENT_MAX_BYTES,
            sent_max_age: DEFAULT_SENT_MAX_AGE,
            opt_out_baseline: None,
        }
    }

    /// Works under the counter of `mark`, read before the configuration (see
    /// [`OutboxOptions::opt_out_baseline`]).
    #[must_use]
    pub fn with_opt_out_baseline(mut self, mark: OptOutMark) -> Self {
        self.opt_out_baseline = Some(mark);
        self
    }
}

/// Deletes every recipient's waiting and claimed messages, of every counter (and files of
/// unknown recipients), each folder under its lock so that no process appends in between, and
/// then every record of what was sent, leaving as counts how many messages the opt-out
/// dropped. For when the user turns telemetry off. Lock files stay (another process may hold
/// them); a missing folder is fine. A link is refused, not deleted; the first error is
/// returned once everything else was deleted.
pub(crate) fn purge_outboxes(telemetry_dir: &Path) -> io::Result<()> {
    let mut first_error = None;
    let mut purged = Vec::new();
    match open_outboxes(telemetry_dir)
        .and_then(|outboxes| outboxes.map(|dir| dir.entries().map(|e| (dir, e))).transpose())
    {
        Ok(Some((outboxes, entries))) => {
            for entry in entries {
                let result = if entry.kind == EntryKind::Dir {
                    purge_recipient(&outboxes, &entry.name).map(|recipient| purged.extend(recipient))
                } else {
                    outboxes.remove_file(&entry.name).map(drop)
                };
                if let Err(error) = result {
                    first_error.get_or_insert(error);
                }
            }
        }
        Ok(None) => {}
        Err(error) => {
            first_error.get_or_insert(error);
        }
    }
    if let Err(error) = purge_sent(telemetry_dir, &purged) {
        first_error.get_or_insert(error);
    }
    first_error.map_or(Ok(()), |error| Err(error.into()))
}

/// Deletes one recipient's messages; what it held, for the counts.
fn purge_recipient(outboxes: &PrivateDir, name: &str) -> Result<Option<PurgedOutbox>, GateError> {
    let Some(dir) = outboxes.open_dir(name)? else { return Ok(None) };
    let _lock = dir.lock(APPEND_LOCK, Instant::now() + PURGE_LOCK_WAIT)?;
    let mut ids = HashSet::new();
    for entry in dir.entries()? {
        if matches!(MessageFile::of(&entry.name), Some(kind) if kind != MessageFile::Temporary)
            && let Ok(Some(read)) = read_messages(&dir, &entry.name, DEFAULT_OUTBOX_MAX_BYTES)
        {
            ids.extend(read.lines.into_iter().map(|line| line.message.message_id));
        }
    }
    let description = read_description(&dir).ok().flatten();
    purge_messages(&dir)?;
    let messages = u64::try_from(ids.len()).unwrap_or(u64::MAX);
    Ok(Some(PurgedOutbox { id: name.to_owned(), messages, description }))
}

/// `<telemetry dir>/outbox`, verified, if it exists; nothing is created.
fn open_outboxes(telemetry_dir: &Path) -> Result<Option<PrivateDir>, GateError> {
    match PrivateDir::open(telemetry_dir)? {
        Some(telemetry) => telemetry.open_dir(OUTBOXES_DIR),
        None => Ok(None),
    }
}

/// A process's handle on its recipient's outbox.
#[derive(Debug)]
pub(crate) struct Outbox {
    options: OutboxOptions,
    recipient: Recipient,
    /// The recipient's folder, for messages and tests; every use goes through the gate.
    dir: PathBuf,
    counters: Arc<Counters>,
    clock: Arc<dyn Clock>,
    /// The opt-out counter when this process started (`None`: the mark could not be read, so
    /// nothing is ever sent or kept). A different counter later means the user opted out since.
    started_under: Option<u64>,
    watch: Mutex<OptOutWatch>,
    /// The record of what this recipient was sent.
    sent: SentLog,
}

/// Messages taken over from the outbox (or written ahead at shutdown); they stay on disk,
/// locked by this process, until [`Outbox::release`].
#[derive(Debug)]
pub(crate) struct Claim {
    name: String,
    _lock: File,
}

/// What the opt-out mark says about the messages of this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Consent {
    /// The mark holds the counter this process started with: its messages may go.
    Given,
    /// The user opted out since this process started (or the mark cannot be read): it sends
    /// and keeps nothing more.
    Withdrawn,
}

impl Outbox {
    /// The outbox of `recipient`, under the counter of the options' opt-out baseline, else of
    /// the opt-out mark read now.
    pub(crate) fn new(
        options: OutboxOptions,
        recipient: Recipient,
        counters: Arc<Counters>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let dir = options.telemetry_dir.join(OUTBOXES_DIR).join(recipient.id());
        let mut watch = OptOutWatch::new(&options.telemetry_dir);
        let started_under = options.opt_out_baseline.clone().unwrap_or_else(|| watch.mark()).counter();
        let sent = SentLog::new(
            &options.telemetry_dir,
            recipient.clone(),
            (options.sent_max_bytes, options.sent_max_age),
            clock.clone(),
            counters.clone(),
        );
        Self { options, recipient, dir, counters, clock, started_under, watch: Mutex::new(watch), sent }
    }

    /// Records messages the endpoint confirmed, exactly as they were sent, with this process's
    /// new drops, unless the user opted out since this process started.
    pub(crate) fn record_delivered<'a>(&self, messages: impl IntoIterator<Item = &'a AnonymousMessage>) {
        self.sent.delivered(messages, &|| self.consent() == Consent::Given);
    }

    /// Adds this process's new drops to the recipient's counts, unless the user opted out since
    /// this process started.
    pub(crate) fn record_drops(&self) {
        self.sent.dropped(&|| self.consent() == Consent::Given);
    }

    /// What the opt-out mark says now: a `stat`, and a small read when the mark changed.
    pub(crate) fn consent(&self) -> Consent {
        let now = self.watch.lock().unwrap_or_else(PoisonError::into_inner).mark().counter();
        match (self.started_under, now) {
            (Some(started), Some(now)) if started == now => Consent::Given,
            _ => Consent::Withdrawn,
        }
    }

    /// Whether this recipient has a folder: without one, nothing waits.
    pub(crate) fn exists(&self) -> bool {
        matches!(self.open_dir(), Ok(Some(_)))
    }

    /// Whether a sender is delivering this recipient's outbox now.
    pub(crate) fn sender_running(&self) -> bool {
        matches!(self.open_dir(), Ok(Some(dir)) if dir.is_locked(SENDER_LOCK).unwrap_or(false))
    }

    /// Takes the sender's lock of this recipient and records this process as its holder;
    /// `Ok(None)` when it is still held at `deadline` (another sender runs). Waiting a moment
    /// lets a look at the lock ([`Self::sender_running`], `dlt telemetry`), which holds it
    /// shared for an instant, pass instead of turning the sender away.
    pub(crate) fn lock_sender(&self, deadline: Instant) -> io::Result<Option<FileLock>> {
        let lock = match self.create_dir()?.lock(SENDER_LOCK, deadline) {
            Ok(lock) => lock,
            Err(GateError::Io { source, .. }) if source.kind() == io::ErrorKind::TimedOut => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        lock.record_holder()?;
        Ok(Some(lock))
    }

    /// Takes over the messages left by earlier runs (the outbox and the claims of dead
    /// processes) recorded under this process's counter, within the bounds, while the opt-out
    /// mark allows. Problems are counted and logged, never returned.
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
    /// not be written (then they are kept only in memory, as before) or may not be kept.
    pub(crate) fn write_ahead(&self, messages: &[TrackMessage]) -> Option<Claim> {
        let counter = self.started_under.filter(|_| self.consent() == Consent::Given)?;
        let lines: Vec<Line> = messages.iter().filter_map(|message| Line::of(message.clone()).ok()).collect();
        if lines.is_empty() {
            return None;
        }
        let written = self.create_dir().and_then(|dir| write_claim(&dir, counter, &lines));
        written.map_err(|error| self.io_error("write ahead to", &error.into())).ok()
    }

    /// Gives a claim up once what it held was delivered or appended back to the outbox.
    pub(crate) fn release(&self, claim: Claim) {
        // Deleted before its lock is released, so that nobody takes it over in between.
        let removed = self.open_dir().and_then(|dir| dir.map_or(Ok(false), |dir| dir.remove_file(&claim.name)));
        if let Err(error) = removed {
            self.io_error("release a claim on", &error.into());
        }
    }

    /// For the sender, before it exits: under the append lock, true when nothing waits that
    /// it may send (no outbox of its counter, no claim of a dead process), and then the
    /// sender's lock is released while the append lock is still held, so that an appender
    /// either sees the sender running or finds the lock free and starts a new one.
    pub(crate) fn release_sender_if_empty(&self, sender: &mut Option<FileLock>, lock_deadline: Instant) -> bool {
        let (Ok(Some(dir)), Some(counter)) = (self.open_dir(), self.started_under) else { return false };
        let Ok(_lock) = dir.lock(APPEND_LOCK, lock_deadline) else { return false };
        let empty = dir.entries().is_ok_and(|entries| {
            entries.iter().all(|entry| match MessageFile::of(&entry.name) {
                Some(MessageFile::Outbox { counter: of }) if of == counter => entry.len == 0,
                // A claim held by a live process is that process's to deliver.
                Some(MessageFile::Claim { counter: of }) if of == counter => {
                    dir.is_locked(&entry.name).unwrap_or(false)
                }
                // Files of another counter, or older versions, are never sent.
                _ => true,
            })
        });
        if empty {
            sender.take();
        }
        empty
    }

    /// Notes a failed delivery (or an outbox repair, or why the sender cannot start) in the
    /// recipient's failure log, which `dlt telemetry` shows. `what` is a class of failure,
    /// never a value.
    pub(crate) fn log_failure(&self, what: &str) {
        let line = format!(
            "{} {what}\n",
            self.clock.now().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
        );
        if let Err(error) = self.create_dir().and_then(|dir| append_to_failure_log(&dir, &line)) {
            tracing::debug!(%error, "telemetry outbox: could not write the failure log");
        }
    }

    /// The recipient's folder, verified, if it exists; nothing is created.
    fn open_dir(&self) -> Result<Option<PrivateDir>, GateError> {
        match open_outboxes(&self.options.telemetry_dir)? {
            Some(outboxes) => outboxes.open_dir(self.recipient.id()),
            None => Ok(None),
        }
    }

    /// The recipient's folder, created (with the folders above it and `recipient.json`) when
    /// missing, verified either way.
    fn create_dir(&self) -> Result<PrivateDir, GateError> {
        let dir = PrivateDir::create(&self.options.telemetry_dir)?
            .create_dir(OUTBOXES_DIR)?
            .create_dir(self.recipient.id())?;
        self.recipient.describe_in(&dir)?;
        Ok(dir)
    }

    fn try_claim(&self, lock_deadline: Instant) -> io::Result<(Vec<TrackMessage>, Option<Claim>)> {
        self.remove_unknown_recipients();
        let Some(dir) = self.open_dir()? else { return Ok((Vec::new(), None)) };
        let _lock = dir.lock(APPEND_LOCK, lock_deadline)?;
        let (Consent::Given, Some(counter)) = (self.consent(), self.started_under) else {
            // Opted out since: nothing is taken, and the newer counter's files are not ours.
            return Ok((Vec::new(), None));
        };
        let mut sources = Vec::new();
        for entry in dir.entries()? {
            let Some(kind) = MessageFile::of(&entry.name) else { continue };
            match kind {
                MessageFile::Outbox { .. } if kind.sendable_under(counter) => sources.push((entry.name, None)),
                MessageFile::Claim { .. } if kind.sendable_under(counter) => {
                    let file = match dir.open_for_update(&entry.name) {
                        Ok(Some(file)) => file,
                        Ok(None) => continue,
                        Err(error) => {
                            self.skip(&error);
                            continue;
                        }
                    };
                    match file.try_lock() {
                        Ok(()) => sources.push((entry.name, Some(file))),
                        Err(TryLockError::WouldBlock) => {}
                        Err(TryLockError::Error(error)) => return Err(error),
                    }
                }
                // Left by a writer that died (under the lock we hold), recorded under another
                // counter, or by an older version: never sent.
                _ => {
                    if let Err(error) = dir.remove_file(&entry.name) {
                        self.skip(&error);
                    }
                }
            }
        }
        let mut lines = Vec::new();
        let mut taken = Vec::new();
        for (name, lock) in sources {
            match self.read(&dir, &name) {
                Ok(read) => {
                    lines.extend(read.lines);
                    taken.push((name, lock));
                }
                Err(error) => self.skip(&error),
            }
        }
        let lines = self.bound(lines, Consent::Given);
        let claim = if lines.is_empty() { None } else { Some(write_claim(&dir, counter, &lines)?) };
        for (name, _lock) in &taken {
            dir.remove_file(name)?;
        }
        add(&self.counters.read_from_outbox, lines.len());
        Ok((lines.into_iter().map(|line| line.message).collect(), claim))
    }

    fn try_append(&self, messages: Vec<TrackMessage>, lock_deadline: Instant) -> io::Result<Appended> {
        if messages.is_empty() {
            return Ok(Appended { saved: true, sender_needed: false });
        }
        let dir = self.create_dir()?;
        let _lock = dir.lock(APPEND_LOCK, lock_deadline)?;
        // Checked under the lock that purging takes too: after an opt-out nothing is kept.
        let consent = self.consent();
        if consent == Consent::Withdrawn {
            add(&self.counters.dropped_opted_out, messages.len());
        }
        let (Consent::Given, Some(counter)) = (consent, self.started_under) else {
            return Ok(Appended { saved: true, sender_needed: false });
        };
        let name = outbox_name(counter);
        let appended = messages.len();
        let mut new_lines = Vec::with_capacity(appended);
        for mut message in messages {
            message.sent_at = None;
            new_lines.push(Line::of(message)?);
        }
        if append_in_place(&dir, &name, &new_lines, self.options.max_bytes)? {
            add(&self.counters.written_to_outbox, appended);
            self.keep_total_within_bounds();
            return Ok(Appended { saved: true, sender_needed: !self.sender_running() });
        }
        let mut lines = self.read(&dir, &name)?.lines;
        lines.extend(new_lines);
        let lines = self.bound(lines, consent);
        if lines.is_empty() {
            dir.remove_file(&name)?;
        } else {
            dir.write_atomic(&name, &joined(&lines), Durability::Fast)?;
        }
        add(&self.counters.written_to_outbox, appended);
        self.keep_total_within_bounds();
        let sender_needed = !lines.is_empty() && !self.sender_running();
        Ok(Appended { saved: true, sender_needed })
    }

    /// The messages of one outbox file (none when it does not exist), read from its end when it
    /// is over the bound. Damage is counted, and noted in the failure log: the caller is about
    /// to replace or take over the file, which repairs it.
    fn read(&self, dir: &PrivateDir, name: &str) -> Result<FileMessages, GateError> {
        let read = read_messages(dir, name, self.options.max_bytes)?.unwrap_or_default();
        add(&self.counters.outbox_corrupt_lines, read.corrupt);
        if let Some(damage) = read.damage(name) {
            tracing::debug!(dir = %self.dir.display(), %damage, "telemetry outbox: repaired");
            self.log_failure(&format!(
                "repaired the outbox for {} ({damage}): kept the newest messages within the bound",
                self.recipient.shown_endpoint()
            ));
        }
        Ok(read)
    }

    /// Applies the opt-out mark and the bounds, and counts what they drop.
    fn bound(&self, lines: Vec<Line>, consent: Consent) -> Vec<Line> {
        if consent == Consent::Withdrawn {
            add(&self.counters.dropped_opted_out, lines.len());
            return Vec::new();
        }
        let bounded = retain_within(lines, self.clock.now(), self.options.max_age, self.options.max_bytes);
        add(&self.counters.dropped_expired, bounded.expired);
        add(&self.counters.dropped_outbox_full, bounded.overflow);
        bounded.kept
    }

    /// Deletes files directly under the outboxes' folder: written before outboxes were kept
    /// per recipient, their recipient is unknown, so they are never sent. Links are left.
    fn remove_unknown_recipients(&self) {
        let Ok(Some(outboxes)) = open_outboxes(&self.options.telemetry_dir) else { return };
        for entry in outboxes.entries().into_iter().flatten() {
            if entry.kind == EntryKind::File {
                let _ = outboxes.remove_file(&entry.name);
            }
        }
    }

    /// Removes other recipients' folders not written within the age bound, then empties the
    /// least recently written ones while all outboxes together are over their size bound.
    /// Folders in use (their lock held) or refused by the gate are left for another time.
    fn keep_total_within_bounds(&self) {
        let Ok(Some(outboxes)) = open_outboxes(&self.options.telemetry_dir) else { return };
        let Ok(entries) = outboxes.entries() else { return };
        let now = SystemTime::from(self.clock.now());
        let mut others = Vec::new();
        let mut total = 0;
        for entry in entries.into_iter().filter(|entry| entry.kind == EntryKind::Dir) {
            let Ok(Some(dir)) = outboxes.open_dir(&entry.name) else { continue };
            let (bytes, written) = folder_usage(&dir, entry.modified.unwrap_or(SystemTime::UNIX_EPOCH));
            total += bytes;
            if entry.name != self.recipient.id() {
                others.push((written, bytes, entry.name, dir));
            }
        }
        others.sort_by_key(|(written, ..)| *written);
        for (written, bytes, name, dir) in others {
            let expired = now.duration_since(written).is_ok_and(|age| age > self.options.max_age);
            if !expired && total <= self.options.max_total_bytes {
                continue;
            }
            let Ok(Some(_lock)) = dir.try_lock(APPEND_LOCK) else { continue };
            if dir.is_locked(SENDER_LOCK).unwrap_or(true) {
                continue;
            }
            let removed = if expired { outboxes.remove_dir_all(&name).map(drop) } else { purge_messages(&dir) };
            match removed {
                Ok(()) => total = total.saturating_sub(bytes),
                Err(error) => tracing::debug!(%error, "telemetry outbox: could not trim"),
            }
        }
    }

    /// Counts and logs a failed outbox operation, and notes its class in the failure log.
    fn io_error(&self, action: &str, error: &io::Error) {
        add(&self.counters.outbox_errors, 1);
        tracing::debug!(dir = %self.dir.display(), %error, "telemetry outbox: could not {action} the outbox");
        let class = match error.get_ref().and_then(|inner| inner.downcast_ref::<GateError>()) {
            Some(gate) => gate_failure_class(gate),
            None => error.kind().to_string(),
        };
        self.log_failure(&format!("could not {action} the outbox: {class}"));
    }

    /// Notes a file that is skipped (refused by the gate, or unreadable) while the rest goes on.
    fn skip(&self, error: &GateError) {
        add(&self.counters.outbox_errors, 1);
        tracing::debug!(%error, "telemetry outbox: skipped a file");
        self.log_failure(&format!("skipped a file of the outbox: {}", gate_failure_class(error)));
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

/// Writes a claim file holding `lines`, recorded under `counter`, locked for as long as the
/// returned claim lives.
fn write_claim(dir: &PrivateDir, counter: u64, lines: &[Line]) -> Result<Claim, GateError> {
    let name = claim_name(counter);
    let lock = dir.create_locked(&name, &joined(lines))?;
    Ok(Claim { name, _lock: lock })
}

#[cfg(test)]
mod tests;
