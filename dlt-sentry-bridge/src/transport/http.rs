//! The HTTP transport: a bounded queue that never blocks the caller, one background thread
//! running a current-thread tokio runtime and an async reqwest client, and flush/shutdown
//! that return within their timeout even when the server never answers.

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use sentry_core::types::Dsn;
use sentry_core::{Envelope, Transport};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::rate_limit::{Category, RateLimits};
use super::{Counters, Outcome, TransportError, ensure_crypto_provider};

/// The content type of a Sentry envelope.
const ENVELOPE_CONTENT_TYPE: &str = "application/x-sentry-envelope";

/// Settings of the HTTP transport.
#[derive(Debug, Clone)]
pub(crate) struct HttpConfig {
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
    /// Builds the client and the runtime, and starts the sender thread.
    pub(crate) fn start(dsn: &Dsn, config: &HttpConfig) -> Result<Self, TransportError> {
        ensure_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            .user_agent(config.user_agent.clone())
            // A redirect would carry X-Sentry-Auth (the DSN's key) to whatever host it names.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(TransportError::HttpClient)?;
        let runtime =
            tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(TransportError::Runtime)?;
        let (envelope_tx, envelope_rx) = mpsc::channel(config.queue_capacity.max(1));
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let poster = Poster {
            http,
            url: dsn.envelope_api_url().to_string(),
            auth: dsn.to_auth(Some(&config.user_agent)).to_string(),
            limits: RateLimits::default(),
            counters: Arc::clone(&counters),
        };
        std::thread::Builder::new()
            .name("dlt-sentry-sender".into())
            .spawn(move || runtime.block_on(run(poster, envelope_rx, control_rx)))
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
                self.counters.count(Outcome::DroppedQueueFull);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => self.counters.count(Outcome::Failed),
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
}

impl Poster {
    /// Posts one envelope unless its category is rate-limited; counts the outcome.
    async fn post(&mut self, envelope: Envelope) {
        if self.limits.is_limited(Category::of(&envelope), std::time::Instant::now()) {
            self.counters.count(Outcome::DroppedRateLimited);
            return;
        }
        let mut body = Vec::new();
        if envelope.to_writer(&mut body).is_err() {
            self.counters.count(Outcome::Failed);
            return;
        }
        let response = self
            .http
            .post(&self.url)
            .header("X-Sentry-Auth", &self.auth)
            .header(reqwest::header::CONTENT_TYPE, ENVELOPE_CONTENT_TYPE)
            .body(body)
            .send()
            .await;
        match response {
            Ok(response) => {
                let status = response.status();
                let header = |name: &str| response.headers().get(name).and_then(|value| value.to_str().ok());
                self.limits.update(
                    status.as_u16(),
                    header("retry-after"),
                    header("x-sentry-rate-limits"),
                    std::time::Instant::now(),
                );
                let outcome = if status.is_success() {
                    Outcome::Sent
                } else if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                    Outcome::DroppedRateLimited
                } else {
                    tracing::debug!(status = status.as_u16(), "Sentry rejected an envelope");
                    Outcome::Failed
                };
                self.counters.count(outcome);
            }
            Err(error) => {
                tracing::debug!(%error, "could not send an envelope to Sentry");
                self.counters.count(Outcome::Failed);
            }
        }
    }

    /// Posts everything queued until `deadline`; true when the queue was emptied in time.
    /// Envelopes still queued at the deadline stay queued for later.
    async fn drain(&mut self, envelopes: &mut mpsc::Receiver<Envelope>, deadline: Instant) -> bool {
        loop {
            if Instant::now() >= deadline {
                return envelopes.is_empty();
            }
            let Ok(envelope) = envelopes.try_recv() else {
                return true;
            };
            if tokio::time::timeout_at(deadline, self.post(envelope)).await.is_err() {
                self.counters.count(Outcome::Failed);
                return false;
            }
        }
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
                Some(control) => (control, true),
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
        let drained = in_flight_done && poster.drain(&mut envelopes, control.deadline).await;
        // The caller may have stopped waiting; nobody to tell then.
        let _ = control.done.try_send(drained);
        if control.shutdown {
            for _ in 0..envelopes.len() {
                poster.counters.count(Outcome::Failed);
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
        () = &mut post => return None,
        control = controls.recv() => control?,
    };
    let finished = tokio::time::timeout_at(control.deadline, &mut post).await.is_ok();
    if !finished {
        counters.count(Outcome::Failed);
    }
    Some((control, finished))
}
