//! The HTTP transport: a bounded queue that never blocks the caller, one background thread
//! (dlt-http's, with its own current-thread runtime) posting through dlt-http's client, and
//! flush/shutdown that return within their timeout even when the server never answers. At
//! shutdown, an endpoint that has just refused a connection, failed to resolve or failed the
//! TLS handshake is not tried again: what is queued is dropped and counted.

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use dlt_http::{DEFAULT_BODY_CAP, Failure, HttpSettings, NetworkEnv, build_client, read_body_capped};
use sentry_core::types::Dsn;
use sentry_core::{Envelope, Transport};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::rate_limit::{Category, RateLimits};
use super::{Counters, EnvelopeOutcome, TransportError};

/// The content type of a Sentry envelope.
const ENVELOPE_CONTENT_TYPE: &str = "application/x-sentry-envelope";

/// Settings of the HTTP transport.
#[derive(Debug, Clone)]
pub(crate) struct HttpConfig {
    /// Proxies and extra trusted certificates.
    pub(crate) network: NetworkEnv,
    /// Connect timeout of each request.
    pub(crate) connect_timeout: Duration,
    /// Total timeout of each request.
    pub(crate) request_timeout: Duration,
    /// Envelopes that may wait; at least one.
    pub(crate) queue_capacity: usize,
    /// Sent as `User-Agent` and as `sentry_client` in `X-Sentry-Auth`.
    pub(crate) user_agent: String,
}

/// Flush or shutdown: drain the queue by `deadline`, then answer on `done`.
struct Control {
    shutdown: bool,
    deadline: Instant,
    done: std_mpsc::SyncSender<bool>,
}

/// The caller's side of the transport.
pub(crate) struct HttpTransport {
    envelopes: mpsc::Sender<Envelope>,
    control: mpsc::UnboundedSender<Control>,
    counters: Arc<Counters>,
}

impl HttpTransport {
    /// Builds the client and starts the sender thread.
    pub(crate) fn start(dsn: &Dsn, config: &HttpConfig) -> Result<Self, TransportError> {
        // dlt-http's client follows no redirect: one would carry X-Sentry-Auth (the DSN's key)
        // to whatever host it names.
        let settings = HttpSettings::new(config.network.clone())
            .with_connect_timeout(config.connect_timeout)
            .with_request_timeout(config.request_timeout)
            .with_user_agent(config.user_agent.clone());
        let http = build_client(&settings).map_err(TransportError::HttpClient)?;
        let (envelope_tx, envelope_rx) = mpsc::channel(config.queue_capacity.max(1));
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let poster = Poster {
            http,
            url: dsn.envelope_api_url().to_string(),
            auth: dsn.to_auth(Some(&config.user_agent)).to_string(),
            limits: RateLimits::default(),
            counters: Arc::clone(&counters),
            unreachable: None,
        };
        // The thread ends on its own once the transport is dropped; it is not joined.
        dlt_http::spawn_runtime_thread("dlt-sentry-sender", run(poster, envelope_rx, control_rx))
            .map_err(TransportError::Thread)?;
        Ok(Self { envelopes: envelope_tx, control: control_tx, counters })
    }

    /// The counters of this transport.
    pub(crate) fn counters(&self) -> Arc<Counters> {
        Arc::clone(&self.counters)
    }

    /// Asks the worker to drain within `timeout` and waits at most that long for its answer.
    fn drain(&self, shutdown: bool, timeout: Duration) -> bool {
        let (done, answer) = std_mpsc::sync_channel(1);
        let now = Instant::now();
        let control = Control { shutdown, deadline: now.checked_add(timeout).unwrap_or(now), done };
        if self.control.send(control).is_err() {
            return false;
        }
        answer.recv_timeout(timeout).unwrap_or(false)
    }
}

impl Transport for HttpTransport {
    fn send_envelope(&self, envelope: Envelope) {
        match self.envelopes.try_send(envelope) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.counters.count(EnvelopeOutcome::DroppedQueueFull);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => self.counters.count(EnvelopeOutcome::Failed),
        }
    }

    fn flush(&self, timeout: Duration) -> bool {
        self.drain(false, timeout)
    }

    fn shutdown(&self, timeout: Duration) -> bool {
        self.drain(true, timeout)
    }
}

/// The worker's side: posts one envelope at a time and remembers rate limits.
struct Poster {
    http: reqwest::Client,
    url: String,
    auth: String,
    limits: RateLimits,
    counters: Arc<Counters>,
    /// Set when the last post could not reach the endpoint in a way that another attempt
    /// before exit will not change (refused, not resolving, TLS); cleared by any answer.
    unreachable: Option<Failure>,
}

impl Poster {
    /// Posts one envelope unless its category is rate-limited, and says what became of it.
    /// Counting is the caller's, so that a post cut short by a deadline is counted once.
    async fn post(&mut self, envelope: Envelope) -> EnvelopeOutcome {
        if self.limits.is_limited(Category::of(&envelope), std::time::Instant::now()) {
            return EnvelopeOutcome::DroppedRateLimited;
        }
        let mut body = Vec::new();
        if envelope.to_writer(&mut body).is_err() {
            return EnvelopeOutcome::Failed;
        }
        let response = self
            .http
            .post(&self.url)
            .header("X-Sentry-Auth", &self.auth)
            .header(reqwest::header::CONTENT_TYPE, ENVELOPE_CONTENT_TYPE)
            .body(body)
            .send()
            .await;
        let response = match response {
            Ok(response) => response,
            Err(error) => {
                let failure = Failure::of(&error);
                if !failure.may_succeed_on_retry() {
                    self.unreachable = Some(failure);
                }
                tracing::debug!(error = %error.without_url(), %failure, "could not send an envelope to Sentry");
                return EnvelopeOutcome::Failed;
            }
        };
        self.unreachable = None;
        let status = response.status();
        let header = |name: &str| response.headers().get(name).and_then(|value| value.to_str().ok());
        self.limits.update(
            status.as_u16(),
            header("retry-after"),
            header("x-sentry-rate-limits"),
            std::time::Instant::now(),
        );
        let outcome = if status.is_success() {
            EnvelopeOutcome::Sent
        } else if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            EnvelopeOutcome::DroppedRateLimited
        } else {
            tracing::debug!(status = status.as_u16(), "Sentry rejected an envelope");
            EnvelopeOutcome::Failed
        };
        // Nothing in the body is needed. A small one is read so that the connection can be
        // used again; a larger one is left unread and its connection closed.
        let _ = read_body_capped(response, DEFAULT_BODY_CAP).await;
        outcome
    }

    /// Posts one envelope until `deadline` and counts what became of it; false when the
    /// deadline cut it short.
    async fn post_by(&mut self, envelope: Envelope, deadline: Instant) -> bool {
        let counters = Arc::clone(&self.counters);
        let outcome = tokio::time::timeout_at(deadline, self.post(envelope)).await.ok();
        counters.count(outcome.unwrap_or(EnvelopeOutcome::Failed));
        outcome.is_some()
    }

    /// Posts everything queued until `deadline`; true when the queue was emptied in time.
    /// Envelopes still queued at the deadline stay queued for later. At shutdown, once the
    /// endpoint proves unreachable, the rest is dropped (and counted) instead of tried.
    async fn drain(&mut self, envelopes: &mut mpsc::Receiver<Envelope>, deadline: Instant, shutdown: bool) -> bool {
        loop {
            if shutdown && let Some(failure) = self.unreachable {
                let dropped = self.drop_queued(envelopes);
                if dropped > 0 {
                    tracing::debug!(%failure, dropped, "Sentry is unreachable; queued envelopes dropped at shutdown");
                }
                return dropped == 0;
            }
            if Instant::now() >= deadline {
                return envelopes.is_empty();
            }
            let Ok(envelope) = envelopes.try_recv() else {
                return true;
            };
            if !self.post_by(envelope, deadline).await {
                return false;
            }
        }
    }

    /// Drops every queued envelope, counting each; returns how many.
    fn drop_queued(&self, envelopes: &mut mpsc::Receiver<Envelope>) -> usize {
        let mut dropped = 0;
        while envelopes.try_recv().is_ok() {
            self.counters.count(EnvelopeOutcome::DroppedUnreachable);
            dropped += 1;
        }
        dropped
    }
}

/// The worker loop: post envelopes as they come; on flush or shutdown finish the request in
/// flight and the queue within the caller's deadline (cancelling what is late), then answer.
async fn run(
    mut poster: Poster,
    mut envelopes: mpsc::Receiver<Envelope>,
    mut controls: mpsc::UnboundedReceiver<Control>,
) {
    loop {
        let (control, in_flight_done) = tokio::select! {
            biased;
            control = controls.recv() => match control {
                Some(control) => {
                    // Only what this drain sees proves the endpoint unreachable: an old
                    // failure says nothing about now.
                    poster.unreachable = None;
                    (control, true)
                }
                None => return,
            },
            envelope = envelopes.recv() => match envelope {
                Some(envelope) => {
                    match post_until_control(&mut poster, envelope, &mut controls).await {
                        Some(interrupted) => interrupted,
                        None => continue,
                    }
                }
                None => return,
            },
        };
        let drained = in_flight_done && poster.drain(&mut envelopes, control.deadline, control.shutdown).await;
        // The caller may have stopped waiting; nobody to tell then.
        let _ = control.done.try_send(drained);
        if control.shutdown {
            for _ in 0..envelopes.len() {
                poster.counters.count(EnvelopeOutcome::Failed);
            }
            return;
        }
    }
}

/// Posts one envelope; if a flush or shutdown arrives meanwhile, lets the post run only
/// until that deadline and returns the control with whether the post finished in time.
async fn post_until_control(
    poster: &mut Poster,
    envelope: Envelope,
    controls: &mut mpsc::UnboundedReceiver<Control>,
) -> Option<(Control, bool)> {
    let counters = Arc::clone(&poster.counters);
    let post = poster.post(envelope);
    tokio::pin!(post);
    let control = tokio::select! {
        biased;
        outcome = &mut post => {
            counters.count(outcome);
            return None;
        }
        control = controls.recv() => control?,
    };
    let outcome = tokio::time::timeout_at(control.deadline, &mut post).await.ok();
    counters.count(outcome.unwrap_or(EnvelopeOutcome::Failed));
    Some((control, outcome.is_some()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Instant;

    use dlt_test_support::HangingServer;
    use sentry_core::protocol::Event;

    use super::*;

    fn config(request_timeout: Duration) -> HttpConfig {
        HttpConfig {
            network: NetworkEnv::default(),
            connect_timeout: Duration::from_secs(5),
            request_timeout,
            queue_capacity: 100,
            user_agent: "dlt-sentry-bridge-test".into(),
        }
    }

    fn envelope() -> Envelope {
        Envelope::from(Event { message: Some("load failed".into()), ..Default::default() })
    }

    #[test]
    fn at_shutdown_a_refusing_endpoint_is_tried_once_and_the_queue_dropped() {
        let server = HangingServer::start().unwrap();
        let dsn: Dsn = format!("http://publickey@{}/42", server.addr()).parse().unwrap();
        // The first post hangs on an open connection until its 2 s request timeout; meanwhile
        // the port starts refusing and 20 envelopes queue up behind it.
        let transport = HttpTransport::start(&dsn, &config(Duration::from_secs(2))).unwrap();
        transport.send_envelope(envelope());
        // The one connection the transport opens stays open and unanswered; the port refuses
        // from then on.
        assert!(server.wait_for_connections(1, Duration::from_secs(10)));
        server.stop_accepting();
        for _ in 0..20 {
            transport.send_envelope(envelope());
        }

        let started = Instant::now();
        let drained = transport.shutdown(Duration::from_secs(60));
        let took = started.elapsed();

        assert!(!drained, "19 envelopes were dropped");
        assert!(took < Duration::from_secs(10), "took {took:?}");
        let stats = transport.counters().snapshot();
        // The post in flight timed out (may succeed on retry: no proof), the next one was
        // refused (proof), the other 19 were dropped without a connection attempt.
        assert_eq!((stats.failed, stats.dropped_unreachable, stats.sent), (2, 19, 0), "{stats:?}");
    }

    #[test]
    fn a_flush_tries_every_envelope_even_when_refused() {
        let url = dlt_test_support::refusing_url().unwrap();
        let dsn: Dsn = format!("{}/42", url.replace("://", "://publickey@")).parse().unwrap();
        let transport = HttpTransport::start(&dsn, &config(Duration::from_secs(2))).unwrap();
        for _ in 0..5 {
            transport.send_envelope(envelope());
        }
        assert!(transport.flush(Duration::from_secs(10)));
        let stats = transport.counters().snapshot();
        assert_eq!((stats.failed, stats.dropped_unreachable), (5, 0), "{stats:?}");
    }
}
