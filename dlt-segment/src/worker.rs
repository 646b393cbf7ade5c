//! The worker: one thread running a current-thread tokio runtime that takes messages from the
//! queue, sends them (batched, or one per request) in a window of a few requests in flight
//! where the next starts as soon as one ends, retries each on its own schedule,
//! answers flushes, checks the opt-out mark before every request and, at shutdown, keeps what
//! is left in the outbox: written ahead first, so that a process killed while it tries leaves
//! it behind, and without trying again an endpoint that refused or does not resolve.

use std::collections::VecDeque;
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use dlt_http::{
    Attempt, AttemptOutcome, DEFAULT_BODY_CAP, Decision, Failure, GiveUp, RetryPolicy, parse_retry_after,
    read_body_capped,
};
use dlt_telemetry_model::{AnonymousMessage, TrackMessage};
use futures_util::StreamExt as _;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use reqwest::Url;
use reqwest::header::{HeaderMap, RETRY_AFTER};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use crate::clock::Clock;
use crate::options::Api;
use crate::outbox::{Appended, Claim, Consent, LOCK_WAIT, Outbox};
use crate::stats::{Counters, add};
use crate::wire::{BatchBody, BatchLimits, Push, encode_message, fill_segment_fields, to_millis};

/// Sending stops this long before the shutdown deadline, to leave time for the outbox.
const OUTBOX_RESERVE: Duration = Duration::from_millis(50);
/// Flushes waiting at once (a caller that gave up no longer counts); more are answered "not
/// done" at once rather than piled up while the endpoint is down.
const MAX_FLUSH_WAITERS: usize = 32;

/// What the caller's side asks of the worker.
#[derive(Debug)]
pub(crate) enum Command {
    /// Answer `true` once nothing is queued, in flight or waiting for a retry; the caller
    /// waits until `until`.
    Flush { until: Instant, reply: SyncSender<bool> },
    /// Take over what the outbox holds now (the sender does, between rounds).
    Reclaim,
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
    /// The outbox holds messages and no sender is running for them.
    pub(crate) sender_needed: bool,
}

/// When the worker takes over what earlier runs left in the outbox.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ClaimAtStart {
    /// Unless a sender is delivering this recipient's outbox (a host).
    UnlessSenderRunning,
    /// Always: the worker is the sender.
    Always,
}

/// Everything the worker thread needs, built by [`crate::SegmentClient::start`].
#[derive(Debug)]
pub(crate) struct Worker {
    pub(crate) http: reqwest::Client,
    pub(crate) url: Url,
    pub(crate) api: Api,
    pub(crate) headers: HeaderMap,
    pub(crate) policy: RetryPolicy,
    pub(crate) limits: BatchLimits,
    pub(crate) concurrency: usize,
    pub(crate) outbox: Option<Outbox>,
    pub(crate) claim_at_start: ClaimAtStart,
    pub(crate) counters: Arc<Counters>,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) messages: mpsc::Receiver<AnonymousMessage>,
    pub(crate) control: mpsc::UnboundedReceiver<Command>,
    /// The summary of the shutdown, set before the worker answers anyone or drops the control
    /// channel: a shutdown whose command came too late to be read takes it from here.
    pub(crate) summary: Arc<OnceLock<Summary>>,
}

/// A message taken from the queue (or the outbox) and not yet delivered.
#[derive(Debug)]
struct Pending {
    message: AnonymousMessage,
    /// Attempts made to send it so far.
    attempts: u32,
}

/// A request that ended: its id, its outcome and the server's `Retry-After`.
type Exchanged = (u64, (AttemptOutcome, Option<String>));

/// The messages of a request that will be tried again, and when.
#[derive(Debug)]
struct Retry {
    due: Instant,
    messages: Vec<Pending>,
}

/// A shutdown in progress.
#[derive(Debug)]
struct Stopping {
    /// No request is started or kept waiting after this.
    cutoff: Instant,
    /// Everyone who asked for the shutdown, to be told how it went.
    replies: Vec<SyncSender<Summary>>,
}

/// A caller of `flush` waiting for the answer until `until`.
#[derive(Debug)]
struct FlushWaiter {
    until: Instant,
    reply: SyncSender<bool>,
}

/// The worker's state while it runs.
#[derive(Debug)]
struct Running {
    worker: Worker,
    pending: VecDeque<Pending>,
    /// The requests in flight, at most `concurrency`, each ending with its id.
    in_flight: FuturesUnordered<BoxFuture<'static, Exchanged>>,
    /// The messages of each request in flight, by id (for a write-ahead meanwhile, and to keep
    /// them if the request is abandoned).
    in_flight_messages: Vec<(u64, Vec<Pending>)>,
    next_request_id: u64,
    /// Messages waiting to be retried, each group when it falls due.
    retries: Vec<Retry>,
    claims: Vec<Claim>,
    flush_waiters: Vec<FlushWaiter>,
    stopping: Option<Stopping>,
    control_open: bool,
    /// A retry would come after the cutoff: stop now rather than wait for it.
    given_up: bool,
    /// The latest attempt found nothing listening, no such host or an untrusted certificate:
    /// at shutdown it is not tried again.
    unreachable: bool,
    /// The user opted out after this process started: nothing more is sent or kept.
    withdrawn: bool,
    /// Messages given up on (out of attempts) and kept since the shutdown began: the shutdown
    /// reports them as kept too.
    kept_while_stopping: Kept,
}

/// Messages set aside for the outbox, and whether a sender is needed for them.
#[derive(Debug, Default, Clone, Copy)]
struct Kept {
    given: usize,
    saved: usize,
    sender_needed: bool,
}

impl Worker {
    /// Takes over the outbox as `claim_at_start` says, then serves until shut down.
    pub(crate) async fn run(self) {
        let mut running = Running {
            worker: self,
            pending: VecDeque::new(),
            in_flight: FuturesUnordered::new(),
            in_flight_messages: Vec::new(),
            next_request_id: 0,
            retries: Vec::new(),
            claims: Vec::new(),
            flush_waiters: Vec::new(),
            stopping: None,
            control_open: true,
            given_up: false,
            unreachable: false,
            withdrawn: false,
            kept_while_stopping: Kept::default(),
        };
        running.claim_at_start();
        running.serve().await;
    }
}

impl Running {
    fn claim_at_start(&mut self) {
        let Some(outbox) = self.worker.outbox.as_ref().filter(|outbox| outbox.exists()) else { return };
        // A host only looks at the sender's lock, never takes it: taken, it would show this
        // process as a sender running to anyone looking meanwhile (its own `status` too) and
        // turn away a sender starting then. A sender that starts after the look and before the
        // claim is harmless: the claims are made under the append lock, so each message is
        // taken by one of them, and a sender leaves a live host's claim to that host.
        if self.worker.claim_at_start == ClaimAtStart::UnlessSenderRunning && outbox.sender_running() {
            return;
        }
        self.claim();
    }

    fn claim(&mut self) {
        let Some(outbox) = &self.worker.outbox else { return };
        let (messages, claim) = outbox.claim(Instant::now() + LOCK_WAIT);
        self.claims.extend(claim);
        for message in messages {
            // Read back from disk, where anyone who can write the folder could have put it:
            // it passes the privacy gate again.
            match AnonymousMessage::screen(message) {
                Ok(message) => self.accept(message),
                Err(refused) => {
                    add(&self.worker.counters.dropped_invalid, 1);
                    tracing::debug!(%refused, "telemetry outbox: a message the privacy gate refuses; dropped");
                }
            }
        }
    }

    async fn serve(mut self) {
        loop {
            self.take_queued();
            self.wake_due_retries(Instant::now());
            if self.must_stop() {
                break;
            }
            self.fill_window();
            if self.is_idle() {
                self.release_claims();
                self.answer_flushes(true);
                if self.stopping.is_some() {
                    break;
                }
                self.wait_for_work().await;
            } else if !self.withdrawn {
                self.wait_for_progress().await;
            }
        }
        self.finish();
    }

    /// Nothing queued, in flight or waiting for a retry.
    fn is_idle(&self) -> bool {
        self.pending.is_empty() && self.in_flight.is_empty() && self.retries.is_empty()
    }

    /// Whether to stop now and keep what is left: out of time for a retry, opted out, or
    /// shutting down with an endpoint that cannot be reached, past the cutoff, or with nothing
    /// that could be sent before it (only retries due after it).
    fn must_stop(&self) -> bool {
        if self.is_idle() {
            return false;
        }
        let nothing_before = |cutoff: Instant| {
            self.in_flight.is_empty() && self.pending.is_empty() && self.retries.iter().all(|retry| retry.due >= cutoff)
        };
        self.given_up
            || self.withdrawn
            || (self.stopping.is_some() && self.unreachable)
            || self.cutoff().is_some_and(|cutoff| Instant::now() >= cutoff || nothing_before(cutoff))
    }

    /// Whether the worker may take another message: it holds (pending, in flight or waiting
    /// for a retry) less than one batch's worth, so memory stays bounded by the queue plus one
    /// batch.
    fn has_room(&self) -> bool {
        self.held().count() < self.worker.limits.max_batch_messages
    }

    /// Moves queued messages into `pending` while there is room.
    fn take_queued(&mut self) {
        while self.has_room() {
            match self.worker.messages.try_recv() {
                Ok(message) => self.accept(message),
                Err(_) => break,
            }
        }
    }

    fn accept(&mut self, mut message: AnonymousMessage) {
        if self.withdrawn {
            add(&self.worker.counters.dropped_opted_out, 1);
            return;
        }
        fill_segment_fields(&mut message, to_millis(self.worker.clock.now()));
        self.pending.push_back(Pending { message, attempts: 0 });
    }

    /// Puts the retries that are due back at the front of `pending`, oldest first.
    fn wake_due_retries(&mut self, now: Instant) {
        let (due, waiting): (Vec<Retry>, Vec<Retry>) =
            std::mem::take(&mut self.retries).into_iter().partition(|retry| retry.due <= now);
        self.retries = waiting;
        for retry in due.into_iter().rev() {
            self.requeue(retry.messages);
        }
    }

    /// Starts requests while the window has room and messages are ready, each after a look at
    /// the opt-out mark: as soon as one request ends, the next may start, so a slow or hanging
    /// request never holds the others.
    fn fill_window(&mut self) {
        let concurrency = self.worker.concurrency.max(1);
        while self.in_flight.len() < concurrency && !self.pending.is_empty() {
            if self.consent() == Consent::Withdrawn {
                self.withdraw();
                return;
            }
            let Some((body, messages)) = self.next_request(to_millis(self.worker.clock.now())) else { return };
            let id = self.next_request_id;
            self.next_request_id += 1;
            let request =
                self.worker.http.post(self.worker.url.clone()).headers(self.worker.headers.clone()).body(body);
            self.in_flight.push(Box::pin(async move { (id, exchange(request).await) }));
            self.in_flight_messages.push((id, messages));
        }
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

    /// Waits for the next thing that changes what to do: a request ending, a command, a
    /// message while there is room for it, a retry falling due, or the shutdown's cutoff.
    async fn wait_for_progress(&mut self) {
        let room = self.has_room();
        let next_retry = self.retries.iter().map(|retry| retry.due).min();
        let cutoff = self.cutoff();
        tokio::select! {
            biased;
            Some((id, (outcome, retry_after))) = self.in_flight.next(), if !self.in_flight.is_empty() => {
                let position = self.in_flight_messages.iter().position(|(request, _)| *request == id);
                if let Some(position) = position {
                    let (_, messages) = self.in_flight_messages.swap_remove(position);
                    self.settle(messages, outcome, retry_after);
                }
            }
            command = self.worker.control.recv(), if self.control_open => self.on_command(command),
            message = self.worker.messages.recv(), if room => match message {
                Some(message) => self.accept(message),
                None => self.stop(Instant::now(), None),
            },
            () = sleep_until(next_retry), if next_retry.is_some() => {}
            () = sleep_until(cutoff), if cutoff.is_some() => {}
        }
    }

    fn on_command(&mut self, command: Option<Command>) {
        match command {
            Some(Command::Flush { until, reply }) => {
                // Callers that gave up waiting are forgotten, so that a caller flushing in a
                // loop with a short timeout is not refused at once after a while.
                let now = Instant::now();
                self.flush_waiters.retain(|waiter| waiter.until > now);
                if self.flush_waiters.len() < MAX_FLUSH_WAITERS {
                    self.flush_waiters.push(FlushWaiter { until, reply });
                } else {
                    let _ = reply.try_send(false);
                }
            }
            Some(Command::Reclaim) => self.claim(),
            Some(Command::Shutdown { deadline, reply }) => {
                let first = self.stopping.is_none();
                self.stop(deadline, Some(reply));
                if first {
                    self.write_ahead();
                }
            }
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
                stopping.replies.extend(reply);
            }
            None => self.stopping = Some(Stopping { cutoff, replies: reply.into_iter().collect() }),
        }
    }

    fn cutoff(&self) -> Option<Instant> {
        self.stopping.as_ref().map(|stopping| stopping.cutoff)
    }

    /// Every message this worker holds, in flight or not, in order.
    fn held(&self) -> impl Iterator<Item = &Pending> {
        self.in_flight_messages
            .iter()
            .flat_map(|(_, messages)| messages)
            .chain(self.retries.iter().flat_map(|retry| &retry.messages))
            .chain(&self.pending)
    }

    /// At shutdown, before trying anything more: everything queued, pending and in flight goes
    /// to a claim of this process on disk, so that a kill during the last attempts loses
    /// nothing.
    fn write_ahead(&mut self) {
        if self.worker.outbox.is_none() {
            return;
        }
        while let Ok(message) = self.worker.messages.try_recv() {
            self.accept(message);
        }
        let messages: Vec<TrackMessage> = self.held().map(|pending| pending.message.message().clone()).collect();
        if let Some(claim) = self.worker.outbox.as_ref().and_then(|outbox| outbox.write_ahead(&messages)) {
            self.claims.push(claim);
        }
    }

    /// What the opt-out mark says; without an outbox there is no mark to look at.
    fn consent(&self) -> Consent {
        self.worker.outbox.as_ref().map_or(Consent::Given, Outbox::consent)
    }

    /// The user opted out after this process started: everything held is dropped (requests in
    /// flight abandoned), nothing more is taken, and the claims are deleted (switching off
    /// purged the outbox already).
    fn withdraw(&mut self) {
        self.withdrawn = true;
        self.abandon_in_flight();
        self.wake_due_retries(deadline_after(Duration::MAX));
        add(&self.worker.counters.dropped_opted_out, self.pending.len());
        self.pending.clear();
        while self.worker.messages.try_recv().is_ok() {
            add(&self.worker.counters.dropped_opted_out, 1);
        }
        self.release_claims();
        tracing::debug!("telemetry was switched off: this process sends and keeps nothing more");
    }

    /// Drops the requests in flight (their connections close) and puts their messages back at
    /// the front of `pending`.
    fn abandon_in_flight(&mut self) {
        self.in_flight.clear();
        for (_, messages) in std::mem::take(&mut self.in_flight_messages).into_iter().rev() {
            self.requeue(messages);
        }
    }

    /// Acts on one request's outcome: delivered, dropped for good, kept in the outbox, or
    /// scheduled for a retry.
    fn settle(&mut self, in_flight: Vec<Pending>, outcome: AttemptOutcome, retry_after: Option<String>) {
        let count = in_flight.len();
        let attempt = in_flight.iter().map(|pending| pending.attempts).max().unwrap_or(0).saturating_add(1);
        self.unreachable =
            matches!(outcome, AttemptOutcome::Failed(Failure::Refused | Failure::Unresolvable | Failure::Tls));
        if !matches!(outcome, AttemptOutcome::Status(200..=299)) {
            self.log_failure(outcome, attempt);
        }
        let now = Instant::now();
        let decision = self.worker.policy.decide(&Attempt {
            outcome,
            number: attempt,
            retry_after: retry_after.and_then(|value| parse_retry_after(&value, self.worker.clock.now().into())),
            time_left: self.cutoff().map(|cutoff| cutoff.saturating_duration_since(now)),
            exiting: self.stopping.is_some(),
            jitter: fastrand::f64(),
        });
        match decision {
            Decision::Done => {
                add(&self.worker.counters.sent, count);
                // The record of what left: written here, on the worker's thread, once confirmed.
                if let Some(outbox) = &self.worker.outbox {
                    outbox.record_delivered(in_flight.iter().map(|pending| &pending.message));
                }
            }
            Decision::GiveUp(GiveUp::Rejected) => {
                add(&self.worker.counters.dropped_rejected, count);
                tracing::debug!(?outcome, messages = count, "telemetry request rejected; its messages are dropped");
                if let Some(outbox) = &self.worker.outbox {
                    outbox.record_drops();
                }
            }
            // Exit is no time to wait for an endpoint that is not there: kept with the rest.
            Decision::GiveUp(GiveUp::Unreachable) => self.requeue(in_flight),
            Decision::GiveUp(GiveUp::OutOfTime) => {
                // The retry would come after the cutoff: kept with the rest, and the worker stops.
                self.given_up = true;
                self.requeue(in_flight);
            }
            Decision::GiveUp(_) => {
                tracing::debug!(?outcome, messages = count, attempt, "telemetry request out of attempts");
                self.set_aside(in_flight.into_iter().map(|pending| pending.message.into_message()).collect());
            }
            Decision::Backoff(wait) => {
                tracing::debug!(?outcome, messages = count, attempt, ?wait, "telemetry request will be retried");
                add(&self.worker.counters.retried, count);
                let messages = in_flight.into_iter().map(|pending| Pending { attempts: attempt, ..pending }).collect();
                self.retries.push(Retry { due: deadline_after(wait), messages });
            }
        }
    }

    fn log_failure(&self, outcome: AttemptOutcome, attempt: u32) {
        let Some(outbox) = &self.worker.outbox else { return };
        let what = match outcome {
            AttemptOutcome::Status(status) => format!("HTTP {status}"),
            AttemptOutcome::Failed(failure) => failure.to_string(),
        };
        outbox.log_failure(&format!("{what} (attempt {attempt})"));
    }

    /// The next request body and the messages it carries, taken from the front of `pending`:
    /// one batch, or one message. Messages too large to send, or that cannot be serialised,
    /// are dropped and counted.
    fn next_request(&mut self, sent_at: OffsetDateTime) -> Option<(Vec<u8>, Vec<Pending>)> {
        let limits = self.worker.limits;
        let mut batch = (self.worker.api == Api::Batch).then(|| BatchBody::new(sent_at, limits));
        let mut in_batch = Vec::new();
        while let Some(mut pending) = self.pending.pop_front() {
            pending.message.set_sent_at(Some(sent_at));
            let encoded = match encode_message(&pending.message) {
                Ok(encoded) => encoded,
                Err(error) => {
                    add(&self.worker.counters.dropped_rejected, 1);
                    tracing::debug!(%error, event = pending.message.event(), "telemetry message cannot be serialised");
                    continue;
                }
            };
            let push = match &mut batch {
                Some(batch) => batch.push(&encoded),
                None if encoded.len() > limits.max_message_bytes => Push::TooLarge,
                None => return Some((encoded, vec![pending])),
            };
            match push {
                Push::Added => in_batch.push(pending),
                Push::Full => {
                    self.pending.push_front(pending);
                    break;
                }
                Push::TooLarge => {
                    add(&self.worker.counters.dropped_too_large, 1);
                    tracing::debug!(
                        bytes = encoded.len(),
                        limit = limits.max_message_bytes,
                        event = pending.message.event(),
                        "telemetry message too large; dropped"
                    );
                }
            }
        }
        batch.filter(|batch| !batch.is_empty()).map(|batch| (batch.finish(), in_batch))
    }

    /// Puts messages back at the front of `pending`, in their order.
    fn requeue(&mut self, messages: Vec<Pending>) {
        for pending in messages.into_iter().rev() {
            self.pending.push_front(pending);
        }
    }

    /// Keeps undelivered messages in the outbox. Those that cannot be saved are counted as
    /// undelivered.
    fn set_aside(&mut self, messages: Vec<TrackMessage>) -> Appended {
        let count = messages.len();
        let appended = match &self.worker.outbox {
            Some(outbox) => outbox.append(messages, Instant::now() + LOCK_WAIT),
            None => {
                add(&self.worker.counters.dropped_undelivered, count);
                Appended { saved: count == 0, sender_needed: false }
            }
        };
        if self.stopping.is_some() {
            let kept = &mut self.kept_while_stopping;
            kept.given += count;
            kept.saved += if appended.saved { count } else { 0 };
            kept.sender_needed |= appended.sender_needed;
        }
        appended
    }

    /// Gives up every claim: what they held was delivered, dropped or appended back.
    fn release_claims(&mut self) {
        let Some(outbox) = &self.worker.outbox else { return };
        for claim in self.claims.drain(..) {
            outbox.release(claim);
        }
    }

    fn answer_flushes(&mut self, done: bool) {
        for waiter in self.flush_waiters.drain(..) {
            // A waiter that gave up has hung up; nothing to tell it.
            let _ = waiter.reply.try_send(done);
        }
    }

    /// Keeps what is left (pending and still queued) in the outbox, gives up the claims once
    /// that worked, and answers the shutdown.
    fn finish(mut self) {
        self.worker.messages.close();
        while let Ok(message) = self.worker.messages.try_recv() {
            self.accept(message);
        }
        if self.consent() == Consent::Withdrawn && !self.withdrawn {
            self.withdraw();
        }
        // Requests still in flight are abandoned and their messages kept (sent again later
        // with the same messageId, which Segment drops if the first one arrived).
        self.abandon_in_flight();
        self.wake_due_retries(deadline_after(Duration::MAX));
        let leftover: Vec<TrackMessage> =
            self.pending.drain(..).map(|pending| pending.message.into_message()).collect();
        let count = leftover.len();
        let appended = self.set_aside(leftover);
        // When the leftovers could not be set aside, the claims stay: unlocked once this
        // process ends, the next sender takes them over. Some of their messages may then be
        // sent twice (with the same messageId, which Segment drops), but none is lost.
        if appended.saved {
            self.release_claims();
        }
        if let Some(outbox) = &self.worker.outbox {
            outbox.record_drops();
        }
        if count > 0 {
            tracing::debug!(
                undelivered = count,
                saved = appended.saved,
                "telemetry shut down with messages undelivered"
            );
        }
        self.answer_flushes(count == 0);
        let kept = self.kept_while_stopping;
        let summary = Summary {
            leftover: to_u64(kept.given),
            saved: to_u64(kept.saved),
            sender_needed: kept.sender_needed || appended.sender_needed,
        };
        let _ = self.worker.summary.set(summary);
        for reply in self.stopping.map(|stopping| stopping.replies).unwrap_or_default() {
            let _ = reply.try_send(summary);
        }
    }
}

/// Sends one request: its outcome and the server's `Retry-After`, if any. At most a small part
/// of the response body is read (and ignored), so that the connection can be reused.
async fn exchange(request: reqwest::RequestBuilder) -> (AttemptOutcome, Option<String>) {
    match request.send().await {
        Ok(response) => {
            let status = response.status().as_u16();
            let retry_after =
                response.headers().get(RETRY_AFTER).and_then(|value| value.to_str().ok()).map(str::to_owned);
            let _ = read_body_capped(response, DEFAULT_BODY_CAP).await;
            (AttemptOutcome::Status(status), retry_after)
        }
        Err(error) => {
            let failure = Failure::of(&error);
            tracing::debug!(error = %error.without_url(), %failure, "telemetry request failed");
            (AttemptOutcome::Failed(failure), None)
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
