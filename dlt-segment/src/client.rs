//! The caller's side of the HTTP transport: a bounded queue into one worker thread, and the
//! commands that flush it and shut it down within a deadline.

use std::sync::mpsc::{RecvTimeoutError, sync_channel};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use dlt_telemetry_model::AnonymousMessage;
use tokio::sync::mpsc::{self, error::TrySendError};

use crate::clock::Clock;
use crate::error::SegmentError;
use crate::options::SegmentOptions;
use crate::outbox::Outbox;
use crate::stats::{Counters, Stats, add};
use crate::transport::{ShutdownReport, Transport};
use crate::wire::{BatchLimits, to_millis};
use crate::worker::{ClaimAtStart, Command, Summary, Worker, deadline_after};

/// How long past its deadline `shutdown` waits for the worker's report: time for the worker to
/// append what is left to the outbox.
const REPORT_GRACE: Duration = Duration::from_millis(500);

/// The Segment transport: `track` puts a message on a bounded queue and returns; one worker
/// thread batches, sends and retries; shutdown (explicit or on drop) is bounded by one
/// deadline, after which what is left goes to the outbox.
///
/// Works with or without a tokio runtime in the host: the worker runs its own current-thread
/// runtime on its own thread, and nothing here blocks on the host's runtime.
#[derive(Debug)]
pub struct SegmentClient {
    messages: mpsc::Sender<AnonymousMessage>,
    control: mpsc::UnboundedSender<Command>,
    counters: Arc<Counters>,
    clock: Arc<dyn Clock>,
    shutdown_timeout: Duration,
    report: Mutex<Option<ShutdownReport>>,
    summary: Arc<OnceLock<Summary>>,
}

impl SegmentClient {
    /// Validates the options, builds the HTTP client and starts the worker thread. What earlier
    /// runs left in the outbox for the same recipient is taken over and sent first, unless a
    /// sender is delivering it.
    pub fn start(options: SegmentOptions) -> Result<Self, SegmentError> {
        Self::start_claiming(options, ClaimAtStart::UnlessSenderRunning)
    }

    pub(crate) fn start_claiming(options: SegmentOptions, claim_at_start: ClaimAtStart) -> Result<Self, SegmentError> {
        let headers = options.headers()?;
        let http = dlt_http::build_client(&options.http).map_err(SegmentError::HttpClient)?;
        let counters = Arc::new(Counters::default());
        let (messages, messages_rx) =
            mpsc::channel(options.queue_capacity.clamp(1, tokio::sync::Semaphore::MAX_PERMITS));
        let (control, control_rx) = mpsc::unbounded_channel();
        let summary = Arc::new(OnceLock::new());
        let recipient = options.recipient();
        let api = options.api();
        let outbox =
            options.outbox.map(|outbox| Outbox::new(outbox, recipient, counters.clone(), options.clock.clone()));
        let worker = Worker {
            http,
            url: options.endpoint.url().clone(),
            api,
            headers,
            policy: options.retry,
            limits: BatchLimits { max_batch_messages: options.limits.max_batch_messages.max(1), ..options.limits },
            concurrency: options.concurrency.max(1),
            outbox,
            claim_at_start,
            counters: counters.clone(),
            clock: options.clock.clone(),
            messages: messages_rx,
            control: control_rx,
            summary: summary.clone(),
        };
        dlt_http::spawn_runtime_thread("dlt-segment", worker.run()).map_err(SegmentError::Spawn)?;
        Ok(Self {
            messages,
            control,
            counters,
            clock: options.clock,
            shutdown_timeout: options.shutdown_timeout,
            report: Mutex::default(),
            summary,
        })
    }

    /// Asks the worker to take over what the outbox holds now.
    pub(crate) fn reclaim(&self) {
        let _ = self.control.send(Command::Reclaim);
    }
}

impl Transport for SegmentClient {
    /// Stamps `timestamp` (when missing) and queues the message; when the queue is full the
    /// message is dropped and counted. Never blocks. `type` and `messageId` are filled by the
    /// worker.
    fn track(&self, mut message: AnonymousMessage) {
        message.record_time(to_millis(self.clock.now()));
        match self.messages.try_send(message) {
            Ok(()) => add(&self.counters.queued, 1),
            Err(TrySendError::Full(_)) => add(&self.counters.dropped_queue_full, 1),
            Err(TrySendError::Closed(_)) => add(&self.counters.dropped_after_shutdown, 1),
        }
    }

    /// True once the queue is empty and nothing is in flight or waiting for a retry.
    fn flush(&self, timeout: Duration) -> bool {
        let (reply, answer) = sync_channel(1);
        self.control.send(Command::Flush { until: deadline_after(timeout), reply }).is_ok()
            && answer.recv_timeout(timeout).unwrap_or(false)
    }

    /// The first shutdown's report is kept: a later call returns it. Calls may overlap (a
    /// signal handler shutting down now while the program shuts down with its deadline): each
    /// asks the worker, the earliest deadline wins, and each gets the report.
    fn shutdown(&self, deadline: Instant) -> ShutdownReport {
        if let Some(report) = *self.report.lock().unwrap_or_else(PoisonError::into_inner) {
            return report;
        }
        let (reply, answer) = sync_channel(1);
        let summary = match self.control.send(Command::Shutdown { deadline, reply }) {
            Ok(()) => answer.recv_timeout(deadline.saturating_duration_since(Instant::now()) + REPORT_GRACE),
            Err(_) => Err(RecvTimeoutError::Disconnected),
        };
        // Overlapping calls: the worker may have finished on another's command before it read
        // this one; its summary is the same for every caller.
        let summary = summary.or_else(|error| self.summary.get().copied().ok_or(error));
        let stats = self.counters.snapshot();
        let finished = match summary {
            Ok(summary) => ShutdownReport {
                drained: summary.leftover == 0,
                saved_to_outbox: summary.saved,
                lost: summary.leftover - summary.saved,
                confirmed: true,
                sender_needed: summary.sender_needed,
                stats,
            },
            Err(_) => ShutdownReport {
                drained: false,
                saved_to_outbox: 0,
                lost: 0,
                confirmed: false,
                sender_needed: false,
                stats,
            },
        };
        *self.report.lock().unwrap_or_else(PoisonError::into_inner).get_or_insert(finished)
    }

    fn stats(&self) -> Stats {
        self.counters.snapshot()
    }
}

impl Drop for SegmentClient {
    /// Shuts down with the configured timeout, unless that was done already.
    fn drop(&mut self) {
        self.shutdown(deadline_after(self.shutdown_timeout));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use dlt_redact::HttpUrl;

    use super::*;

    /// Overlapping shutdowns: the worker may finish on one caller's command before it reads
    /// another's. That other caller still gets the worker's report, not an unconfirmed one.
    #[test]
    fn a_shutdown_the_worker_never_read_gets_the_workers_report() {
        let endpoint = HttpUrl::parse("http://127.0.0.1:9/v1/batch").unwrap();
        let client = SegmentClient::start(SegmentOptions::new(endpoint, "dlt/0.1.0")).unwrap();
        let first = client.shutdown(Instant::now() + Duration::from_secs(5));
        assert!(first.confirmed);
        // As if the second call had passed the cache before the first stored its report.
        *client.report.lock().unwrap() = None;
        let second = client.shutdown(Instant::now() + Duration::from_secs(5));
        assert_eq!(second, first);
    }
}
