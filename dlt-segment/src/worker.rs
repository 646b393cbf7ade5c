//! The worker: one thread running a current-thread tokio runtime that takes messages from the
//! queue, sends them (batched or one by one), retries, answers flushes and, at shutdown, keeps
//! what is left in the outbox.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::sync::mpsc::SyncSender;
use std::time::{Duration, Instant, SystemTime};

use dlt_telemetry_model::TrackMessage;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::options::{Api, Endpoint, redact_credentials};
use crate::outbox::{Claim, Outbox};
use crate::retry::{Decision, Failure, Outcome, RetryPolicy, parse_retry_after};
use crate::stats::{Counters, add};
use crate::wire::{BatchBody, BatchLimits, Push, encode_message, fill_segment_fields, now_utc};

/// Sending stops this long before the shutdown deadline, to leave time for the outbox.
const OUTBOX_RESERVE: Duration = Duration::from_millis(50);
/// How long an outbox write may wait for another process holding the directory.
const OUTBOX_LOCK_WAIT: Duration = Duration::from_millis(200);

/// What the caller's side asks of the worker.
#[derive(Debug)]
pub(crate) enum Command {
    /// Answer `true` once nothing is queued, in flight or waiting for a retry.
    Flush(SyncSender<bool>),
    /// Deliver until `deadline`, keep the rest, stop, and answer.
    Shutdown { deadline: Instant, reply: SyncSender<Summary> },
}

/// What a shutdown left over.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Summary {
    /// Messages not delivered by the deadline.
    pub(crate) leftover: u64,
    /// Of those, the ones appended to the outbox.
    pub(crate) saved: u64,
}

/// Everything the worker thread needs, built by [`crate::SegmentClient::start`].
#[derive(Debug)]
pub(crate) struct Worker {
    pub(crate) http: reqwest::Client,
    pub(crate) endpoint: Endpoint,
    pub(crate) headers: HeaderMap,
    pub(crate) policy: RetryPolicy,
    pub(crate) limits: BatchLimits,
    pub(crate) outbox: Option<Outbox>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) messages: mpsc::Receiver<TrackMessage>,
    pub(crate) control: mpsc::UnboundedReceiver<Command>,
}

/// A message taken from the queue (or the outbox) and not yet delivered.
#[derive(Debug)]
struct Pending {
    message: TrackMessage,
    /// Attempts made to send it so far.
    attempts: u32,
}

/// A shutdown in progress.
#[derive(Debug)]
struct Stopping {
    /// No request is started or kept waiting after this.
    cutoff: Instant,
    reply: Option<SyncSender<Summary>>,
}

/// The worker's state while it runs.
#[derive(Debug)]
struct Running {
    worker: Worker,
    pending: VecDeque<Pending>,
    claim: Option<Claim>,
    flush_waiters: Vec<SyncSender<bool>>,
    stopping: Option<Stopping>,
    control_open: bool,
    /// A retry would come after the cutoff: stop now rather than wait for it.
    given_up: bool,
}

impl Worker {
    /// Runs until shut down; `claim_timeout` bounds the wait for another process holding the
    /// outbox at start.
    pub(crate) fn run(self, runtime: tokio::runtime::Runtime, claim_timeout: Duration) {
        let mut running = Running {
            worker: self,
            pending: VecDeque::new(),
            claim: None,
            flush_waiters: Vec::new(),
            stopping: None,
            control_open: true,
            given_up: false,
        };
        running.claim_outbox(deadline_after(claim_timeout));
        runtime.block_on(running.serve());
        // Anything still running on the runtime (a DNS lookup on a blocking thread) is abandoned
        // rather than waited for.
        runtime.shutdown_background();
    }
}

impl Running {
    fn claim_outbox(&mut self, lock_deadline: Instant) {
        let Some(outbox) = &self.worker.outbox else { return };
        let (messages, claim) = outbox.claim(lock_deadline);
        self.claim = claim;
        for message in messages {
            self.accept(message);
        }
    }

    async fn serve(mut self) {
        loop {
            self.take_queued();
            if self.pending.is_empty() {
                self.answer_flushes(true);
                if self.stopping.is_some() {
                    break;
                }
                self.wait_for_work().await;
            } else if self.given_up || self.cutoff().is_some_and(|cutoff| Instant::now() >= cutoff) {
                break;
            } else {
                self.send_next().await;
            }
        }
        self.finish();
    }

    /// Moves queued messages into `pending`, up to one batch's worth.
    fn take_queued(&mut self) {
        while self.pending.len() < self.worker.limits.max_batch_messages {
            match self.worker.messages.try_recv() {
                Ok(message) => self.accept(message),
                Err(_) => break,
            }
        }
    }

    fn accept(&mut self, mut message: TrackMessage) {
        fill_segment_fields(&mut message, now_utc());
        self.pending.push_back(Pending { message, attempts: 0 });
    }

    async fn wait_for_work(&mut self) {
        tokio::select! {
            command = self.worker.control.recv(), if self.control_open => self.on_command(command),
            message = self.worker.messages.recv() => match message {
                Some(message) => self.accept(message),
                // The client is gone without saying so: stop now.
                None => self.stop(Instant::now(), None),
            },
        }
    }

    fn on_command(&mut self, command: Option<Command>) {
        match command {
            Some(Command::Flush(reply)) => self.flush_waiters.push(reply),
            Some(Command::Shutdown { deadline, reply }) => self.stop(deadline, Some(reply)),
            None => {
                self.control_open = false;
                self.stop(Instant::now(), None);
            }
        }
    }

    fn stop(&mut self, deadline: Instant, reply: Option<SyncSender<Summary>>) {
        let reserve = if self.worker.outbox.is_some() { OUTBOX_RESERVE } else { Duration::ZERO };
        let cutoff = deadline.checked_sub(reserve).unwrap_or(deadline);
        match &mut self.stopping {
            Some(stopping) => {
                stopping.cutoff = stopping.cutoff.min(cutoff);
                if reply.is_some() {
                    stopping.reply = reply;
                }
            }
            None => self.stopping = Some(Stopping { cutoff, reply }),
        }
    }

    fn cutoff(&self) -> Option<Instant> {
        self.stopping.as_ref().map(|stopping| stopping.cutoff)
    }

    /// Sends one request and acts on its outcome.
    async fn send_next(&mut self) {
        let sent_at = now_utc();
        let Some((body, in_flight)) = self.next_request(sent_at) else { return };
        let request =
            self.worker.http.post(self.worker.endpoint.url.clone()).headers(self.worker.headers.clone()).body(body);
        let Some((outcome, retry_after)) = self.until_cutoff(exchange(request)).await else {
            // The deadline came first: the request is abandoned and its messages kept.
            self.requeue(in_flight);
            return;
        };
        let attempt = in_flight.iter().map(|pending| pending.attempts).max().unwrap_or(0) + 1;
        let retry_after = retry_after.and_then(|value| parse_retry_after(&value, SystemTime::now()));
        let count = in_flight.len();
        match self.worker.policy.decide(outcome, attempt, retry_after, fastrand::f64()) {
            Decision::Done => add(&self.worker.counters.sent, count),
            Decision::Fail(Failure::Rejected) => {
                add(&self.worker.counters.dropped_rejected, count);
                tracing::debug!(?outcome, messages = count, "telemetry request rejected; its messages are dropped");
            }
            Decision::Fail(Failure::Exhausted) => {
                tracing::debug!(?outcome, messages = count, attempt, "telemetry request out of attempts");
                self.set_aside(
                    in_flight.into_iter().map(|pending| pending.message).collect(),
                    deadline_after(OUTBOX_LOCK_WAIT),
                );
            }
            Decision::Backoff(wait) => {
                tracing::debug!(?outcome, messages = count, attempt, ?wait, "telemetry request will be retried");
                add(&self.worker.counters.retried, count);
                self.requeue(in_flight.into_iter().map(|pending| Pending { attempts: attempt, ..pending }).collect());
                self.back_off(wait).await;
            }
        }
    }

    /// The next request body and the messages it carries, taken from the front of `pending`.
    /// Messages too large to send, or that cannot be serialised, are dropped and counted.
    fn next_request(&mut self, sent_at: OffsetDateTime) -> Option<(Vec<u8>, Vec<Pending>)> {
        let limits = self.worker.limits;
        let mut batch = (self.worker.endpoint.api == Api::Batch).then(|| BatchBody::new(sent_at, limits));
        let mut in_flight = Vec::new();
        while let Some(mut pending) = self.pending.pop_front() {
            pending.message.sent_at = Some(sent_at);
            let encoded = match encode_message(&pending.message) {
                Ok(encoded) => encoded,
                Err(error) => {
                    add(&self.worker.counters.dropped_rejected, 1);
                    tracing::debug!(%error, event = pending.message.event, "telemetry message cannot be serialised");
                    continue;
                }
            };
            let push = match &mut batch {
                Some(batch) => batch.push(&encoded),
                None if encoded.len() > limits.max_message_bytes => Push::TooLarge,
                None => {
                    in_flight.push(pending);
                    return Some((encoded, in_flight));
                }
            };
            match push {
                Push::Added => in_flight.push(pending),
                Push::Full => {
                    self.pending.push_front(pending);
                    break;
                }
                Push::TooLarge => {
                    add(&self.worker.counters.dropped_too_large, 1);
                    tracing::debug!(
                        bytes = encoded.len(),
                        limit = limits.max_message_bytes,
                        event = pending.message.event,
                        "telemetry message too large; dropped"
                    );
                }
            }
        }
        batch.filter(|batch| !batch.is_empty()).map(|batch| (batch.finish(), in_flight))
    }

    /// Puts messages back at the front of `pending`, in their order.
    fn requeue(&mut self, messages: Vec<Pending>) {
        for pending in messages.into_iter().rev() {
            self.pending.push_front(pending);
        }
    }

    /// Runs `future` while answering commands; `None` if the shutdown cutoff came first.
    async fn until_cutoff<F: Future>(&mut self, future: F) -> Option<F::Output> {
        let mut future = std::pin::pin!(future);
        loop {
            let cutoff = self.cutoff();
            tokio::select! {
                biased;
                output = &mut future => return Some(output),
                command = self.worker.control.recv(), if self.control_open => self.on_command(command),
                () = sleep_until(cutoff) => return None,
            }
        }
    }

    /// Waits before a retry while answering commands. If a shutdown means the retry could
    /// not start before the cutoff, gives up at once instead of waiting for nothing.
    async fn back_off(&mut self, wait: Duration) {
        let wake = deadline_after(wait);
        loop {
            if self.cutoff().is_some_and(|cutoff| wake >= cutoff) {
                self.given_up = true;
                return;
            }
            tokio::select! {
                () = sleep_until(Some(wake)) => return,
                command = self.worker.control.recv(), if self.control_open => self.on_command(command),
            }
        }
    }

    /// Keeps undelivered messages in the outbox; returns how many were saved. Those that
    /// cannot be saved are counted as undelivered.
    fn set_aside(&self, messages: Vec<TrackMessage>, lock_deadline: Instant) -> usize {
        let count = messages.len();
        let saved =
            count > 0 && self.worker.outbox.as_ref().is_some_and(|outbox| outbox.append(messages, lock_deadline));
        if saved {
            count
        } else {
            add(&self.worker.counters.dropped_undelivered, count);
            0
        }
    }

    fn answer_flushes(&mut self, done: bool) {
        for waiter in self.flush_waiters.drain(..) {
            // A waiter that gave up has hung up; nothing to tell it.
            let _ = waiter.try_send(done);
        }
    }

    /// Keeps what is left (pending and still queued) in the outbox, gives up the claim on the
    /// earlier outbox once that worked, and answers the shutdown.
    fn finish(mut self) {
        self.worker.messages.close();
        while let Ok(message) = self.worker.messages.try_recv() {
            self.accept(message);
        }
        let leftover: Vec<TrackMessage> = self.pending.drain(..).map(|pending| pending.message).collect();
        let count = leftover.len();
        let lock_deadline = deadline_after(OUTBOX_LOCK_WAIT);
        let saved = self.set_aside(leftover, lock_deadline);
        // When not everything could be set aside, the claim file stays: unlocked once dropped,
        // the next run takes it over. Some of its messages may be sent twice then (with the same
        // messageId, which Segment drops), but none is lost.
        if let (Some(outbox), Some(claim)) = (&self.worker.outbox, self.claim.take())
            && saved == count
        {
            outbox.release(claim);
        }
        if count > 0 {
            tracing::debug!(
                endpoint = redact_credentials(self.worker.endpoint.url.as_str()),
                undelivered = count,
                saved,
                "telemetry shut down with messages undelivered"
            );
        }
        self.answer_flushes(count == 0);
        if let Some(reply) = self.stopping.and_then(|stopping| stopping.reply) {
            let summary = Summary { leftover: to_u64(count), saved: to_u64(saved) };
            let _ = reply.try_send(summary);
        }
    }
}

/// Sends one request: its outcome and the server's `Retry-After`, if any. The response body is
/// read (and ignored) so that the connection can be reused.
async fn exchange(request: reqwest::RequestBuilder) -> (Outcome, Option<String>) {
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after =
                response.headers().get(RETRY_AFTER).and_then(|value| value.to_str().ok()).map(str::to_owned);
            let _ = response.bytes().await;
            (Outcome::Status(status), retry_after)
        }
        Err(error) => {
            let outcome = if error.is_timeout() { Outcome::Timeout } else { Outcome::ConnectionError };
            tracing::debug!(error = %error.without_url(), "telemetry request failed");
            (outcome, None)
        }
    }
}

/// Sleeps until `deadline`, or forever without one.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}

/// `timeout` from now; a timeout too large to represent means about a century.
pub(crate) fn deadline_after(timeout: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(timeout).or_else(|| now.checked_add(Duration::from_secs(100 * 365 * 24 * 3600))).unwrap_or(now)
}

fn to_u64(count: usize) -> u64 {
    u64::try_from(count).unwrap_or(u64::MAX)
}
