//! Counters a host can read: what was queued, sent, retried, dropped and kept for later.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a transport's counters, all counted in messages since it started.
///
/// Every message taken in (`queued` plus `read_from_outbox`) ends up in exactly one of `sent`,
/// `dropped_too_large`, `dropped_rejected`, `dropped_opted_out`, `dropped_invalid`,
/// `written_to_outbox` or `dropped_undelivered`, or is still on its way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Accepted by `track`.
    pub queued: u64,
    /// Delivered: the server answered 2xx (or, for the debug transport, the line was written).
    pub sent: u64,
    /// Sent again after a failed attempt, once per message per retry.
    pub retried: u64,
    /// Refused by `track` because the queue was full.
    pub dropped_queue_full: u64,
    /// Refused by `track` because the transport was already shut down.
    pub dropped_after_shutdown: u64,
    /// Larger than Segment accepts; never sent.
    pub dropped_too_large: u64,
    /// Refused by the server for good (e.g. 400), or could not be serialised.
    pub dropped_rejected: u64,
    /// Not delivered and not saved: no outbox is configured, or writing it failed.
    pub dropped_undelivered: u64,
    /// Taken from the outbox left by an earlier run, to be sent by this one.
    pub read_from_outbox: u64,
    /// Appended to the outbox: undelivered at shutdown, or out of attempts.
    pub written_to_outbox: u64,
    /// Dropped from the outbox because they were older than its age limit.
    pub dropped_expired: u64,
    /// Dropped from the outbox, oldest first, to keep it within its size limit.
    pub dropped_outbox_full: u64,
    /// Dropped because the user opted out after they were recorded (or after this process
    /// started): never sent, never kept.
    pub dropped_opted_out: u64,
    /// Outbox lines that were not a message; skipped.
    pub outbox_corrupt_lines: u64,
    /// Outbox messages the privacy gate refused (an id or event name that is not one); never
    /// sent.
    pub dropped_invalid: u64,
    /// Outbox reads or writes that failed (each is also logged at debug level).
    pub outbox_errors: u64,
}

/// The live counters behind [`Stats`], shared by the caller side and the worker.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) queued: AtomicU64,
    pub(crate) sent: AtomicU64,
    pub(crate) retried: AtomicU64,
    pub(crate) dropped_queue_full: AtomicU64,
    pub(crate) dropped_after_shutdown: AtomicU64,
    pub(crate) dropped_too_large: AtomicU64,
    pub(crate) dropped_rejected: AtomicU64,
    pub(crate) dropped_undelivered: AtomicU64,
    pub(crate) read_from_outbox: AtomicU64,
    pub(crate) written_to_outbox: AtomicU64,
    pub(crate) dropped_expired: AtomicU64,
    pub(crate) dropped_outbox_full: AtomicU64,
    pub(crate) dropped_opted_out: AtomicU64,
    pub(crate) outbox_corrupt_lines: AtomicU64,
    pub(crate) dropped_invalid: AtomicU64,
    pub(crate) outbox_errors: AtomicU64,
}

/// Adds `count` to one counter.
pub(crate) fn add(counter: &AtomicU64, count: usize) {
    counter.fetch_add(u64::try_from(count).unwrap_or(u64::MAX), Ordering::Relaxed);
}

impl Counters {
    /// The counters as they are now.
    pub(crate) fn snapshot(&self) -> Stats {
        let Self {
            queued,
            sent,
            retried,
            dropped_queue_full,
            dropped_after_shutdown,
            dropped_too_large,
            dropped_rejected,
            dropped_undelivered,
            read_from_outbox,
            written_to_outbox,
            dropped_expired,
            dropped_outbox_full,
            dropped_opted_out,
            outbox_corrupt_lines,
            dropped_invalid,
            outbox_errors,
        } = self;
        let read = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        Stats {
            queued: read(queued),
            sent: read(sent),
            retried: read(retried),
            dropped_queue_full: read(dropped_queue_full),
            dropped_after_shutdown: read(dropped_after_shutdown),
            dropped_too_large: read(dropped_too_large),
            dropped_rejected: read(dropped_rejected),
            dropped_undelivered: read(dropped_undelivered),
            read_from_outbox: read(read_from_outbox),
            written_to_outbox: read(written_to_outbox),
            dropped_expired: read(dropped_expired),
            dropped_outbox_full: read(dropped_outbox_full),
            dropped_opted_out: read(dropped_opted_out),
            outbox_corrupt_lines: read(outbox_corrupt_lines),
            dropped_invalid: read(dropped_invalid),
            outbox_errors: read(outbox_errors),
        }
    }
}
