//! The transport interface a host talks to, and the transports that do not use the network:
//! debug (one JSON line per message to a writer) and, with the `test-util` feature, capturing.

use std::io::{self, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use dlt_telemetry_model::AnonymousMessage;
use time::OffsetDateTime;

use crate::stats::{Counters, Stats, add};
use crate::wire::{encode_message, fill_segment_fields, to_millis};

/// Where `track`ed messages go. No method panics, and failures are counted in [`Stats`], never
/// reported to the host. Each transport says how long its methods may take.
pub trait Transport: Send + Sync {
    /// Takes one message, which passed the privacy gate. The transports that send fill what
    /// Segment needs and dlt leaves out (`type`, `messageId`, `timestamp`) when missing.
    fn track(&self, message: AnonymousMessage);

    /// Waits up to `timeout` for the messages tracked so far to be dealt with; true if they
    /// were.
    fn flush(&self, timeout: Duration) -> bool {
        let _ = timeout;
        true
    }

    /// Delivers what it can until `deadline` and keeps the rest for a later sender where it
    /// can. Returns by the deadline (plus a short grace), whatever the network does.
    fn shutdown(&self, deadline: Instant) -> ShutdownReport {
        let _ = deadline;
        ShutdownReport::drained(self.stats())
    }

    /// The counters as they are now.
    fn stats(&self) -> Stats;
}

/// How a shutdown went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Nothing was left over: every message was delivered or dropped for good before the
    /// deadline.
    pub drained: bool,
    /// Messages left undelivered that this shutdown appended to the outbox.
    pub saved_to_outbox: u64,
    /// Messages left undelivered that could not be saved (no outbox, or writing it failed).
    pub lost: u64,
    /// False when the worker did not confirm within the deadline (and a short grace): it is
    /// left to finish on its own thread, and the other fields are not known.
    pub confirmed: bool,
    /// The recipient's outbox holds messages and no sender is delivering it: a detached sender
    /// started now would deliver them without waiting for the next run.
    pub sender_needed: bool,
    /// The counters when the report was made.
    pub stats: Stats,
}

impl ShutdownReport {
    /// A report for a transport that had nothing left over.
    pub fn drained(stats: Stats) -> Self {
        Self { drained: true, saved_to_outbox: 0, lost: 0, confirmed: true, sender_needed: false, stats }
    }
}

/// The debug sink, for `runtime.dlthub_telemetry_debug`: writes each message, as it would be
/// sent (with `type`, `messageId`, `timestamp` and `sentAt`), as one JSON line, instead of
/// sending it. It writes in `track`, on the caller's thread: a writer that blocks makes
/// `track` block (that is the point of a debug sink: the line is out when `track` returns).
pub struct DebugTransport {
    writer: Mutex<Box<dyn Write + Send>>,
    counters: Counters,
}

impl DebugTransport {
    /// Writes to `writer`.
    pub fn new(writer: Box<dyn Write + Send>) -> Self {
        Self { writer: Mutex::new(writer), counters: Counters::default() }
    }

    /// Writes to standard error.
    pub fn stderr() -> Self {
        Self::new(Box::new(io::stderr()))
    }

    fn writer(&self) -> MutexGuard<'_, Box<dyn Write + Send>> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for DebugTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DebugTransport").field("stats", &self.counters.snapshot()).finish_non_exhaustive()
    }
}

impl Transport for DebugTransport {
    fn track(&self, mut message: AnonymousMessage) {
        add(&self.counters.queued, 1);
        let now = to_millis(OffsetDateTime::now_utc());
        fill_segment_fields(&mut message, now);
        message.set_sent_at(Some(now));
        let written = encode_message(&message).map_err(io::Error::other).and_then(|mut line| {
            line.push(b'\n');
            self.writer().write_all(&line)
        });
        match written {
            Ok(()) => add(&self.counters.sent, 1),
            Err(error) => {
                add(&self.counters.dropped_undelivered, 1);
                tracing::debug!(%error, "telemetry debug sink: could not write a message");
            }
        }
    }

    fn flush(&self, _timeout: Duration) -> bool {
        self.writer().flush().is_ok()
    }

    fn shutdown(&self, _deadline: Instant) -> ShutdownReport {
        let flushed = self.writer().flush().is_ok();
        ShutdownReport { drained: flushed, ..ShutdownReport::drained(self.counters.snapshot()) }
    }

    fn stats(&self) -> Stats {
        self.counters.snapshot()
    }
}

/// A transport that keeps every message, as it would be sent, for tests of hosts.
#[cfg(feature = "test-util")]
#[derive(Debug, Default)]
pub struct CapturingTransport {
    messages: Mutex<Vec<dlt_telemetry_model::TrackMessage>>,
    counters: Counters,
}

#[cfg(feature = "test-util")]
impl CapturingTransport {
    /// An empty capturing transport.
    pub fn new() -> Self {
        Self::default()
    }

    /// The messages tracked so far, oldest first.
    pub fn messages(&self) -> Vec<dlt_telemetry_model::TrackMessage> {
        self.messages.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

#[cfg(feature = "test-util")]
impl Transport for CapturingTransport {
    fn track(&self, mut message: AnonymousMessage) {
        let now = to_millis(OffsetDateTime::now_utc());
        fill_segment_fields(&mut message, now);
        message.set_sent_at(Some(now));
        self.messages.lock().unwrap_or_else(PoisonError::into_inner).push(message.into_message());
        add(&self.counters.queued, 1);
        add(&self.counters.sent, 1);
    }

    fn stats(&self) -> Stats {
        self.counters.snapshot()
    }
}
