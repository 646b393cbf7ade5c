//! The HTTP client the OTLP exporter posts through. It runs on the SDK's batch thread: each
//! export drives a current-thread tokio runtime of its own until the request is done, retries
//! within the export timeout (or the exit deadline, whichever is first), and gives up at once
//! when the exit deadline passes.

use std::fmt;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use dlt_http::{
    Attempt, AttemptOutcome, CurrentThreadRuntime, DEFAULT_BODY_CAP, Decision, Failure, RetryPolicy, parse_retry_after,
    read_body_capped,
};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use reqwest::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER, USER_AGENT};
use tokio::sync::watch;
use url::Url;

use super::Counters;
use crate::headers::OtlpHeaders;
use crate::options::OtlpCompression;

/// The longest export timeout honoured, whatever `OTEL_EXPORTER_OTLP_TIMEOUT` says.
pub(crate) const MAX_EXPORT_TIMEOUT: Duration = Duration::from_secs(3600);

/// Why an export was given up. Carries no URL and no header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum ExportError {
    /// The collector could not be reached: connection refused, name not resolved, TLS failed.
    #[error("could not reach the OTLP collector")]
    Unreachable,
    /// The export timeout or the exit deadline passed first.
    #[error("the OTLP export timed out")]
    TimedOut,
    /// Another transport failure.
    #[error("the OTLP request failed")]
    Transport,
    /// Called from inside an async runtime, where this client cannot block.
    #[error("the OTLP client cannot run inside an async runtime")]
    InsideRuntime,
}

/// What the client needs besides the runtime.
pub(crate) struct ClientConfig {
    /// The client to post with.
    pub(crate) http: reqwest::Client,
    /// The traces URL (credentials included: reqwest turns them into basic auth).
    pub(crate) url: Url,
    /// Headers sent with every request.
    pub(crate) headers: OtlpHeaders,
    /// Body compression.
    pub(crate) compression: OtlpCompression,
    /// Time for one export, all attempts included.
    pub(crate) export_timeout: Duration,
    /// `<library>/<version>`, put before the exporter's own `User-Agent` (the library name
    /// alone is used if that is not a valid header value, the crate name if neither is).
    pub(crate) user_agent: String,
    /// Set when the host starts exiting: the time by which everything must be over.
    pub(crate) exit: watch::Receiver<Option<Instant>>,
    /// Shared with the guard.
    pub(crate) counters: Arc<Counters>,
}

/// The `opentelemetry_http::HttpClient` handed to the OTLP exporter.
pub(crate) struct OtlpHttpClient {
    config: ClientConfig,
    /// Never blocks when dropped (the client may be dropped inside a host's async code). Not
    /// dlt-http's runtime thread: the SDK's batch processor owns the thread that exports and
    /// calls this client from it, so the client only needs a runtime to block on there.
    runtime: CurrentThreadRuntime,
}

impl OtlpHttpClient {
    /// A client with its own current-thread runtime (no thread is started here).
    pub(crate) fn new(config: ClientConfig) -> std::io::Result<Self> {
        Ok(Self { config, runtime: CurrentThreadRuntime::new()? })
    }
}

impl fmt::Debug for OtlpHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpHttpClient")
            .field("headers", &self.config.headers)
            .field("compression", &self.config.compression)
            .field("export_timeout", &self.config.export_timeout)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl HttpClient for OtlpHttpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        if tokio::runtime::Handle::try_current().is_ok() {
            self.config.counters.count_batch(false);
            return Err(Box::new(ExportError::InsideRuntime));
        }
        let content_type = request.headers().get(CONTENT_TYPE).cloned();
        let exporter_agent = request.headers().get(USER_AGENT).and_then(|agent| agent.to_str().ok());
        let user_agent = exporter_agent
            .and_then(|agent| HeaderValue::from_str(&format!("{} {agent}", self.config.user_agent)).ok())
            .or_else(|| HeaderValue::from_str(&self.config.user_agent).ok())
            .unwrap_or_else(|| HeaderValue::from_static(env!("CARGO_PKG_NAME")));
        let body = request.into_body();
        let result = self.runtime.block_on(export(&self.config, body, content_type, user_agent));
        let sent = matches!(&result, Ok(response) if response.status().is_success());
        self.config.counters.count_batch(sent);
        result.map_err(|error| Box::new(error) as HttpError)
    }
}

/// An answer, or how the attempt failed.
enum Posted {
    Answer(reqwest::Response),
    Failed(Failure),
}

/// Posts one batch, retrying as [`RetryPolicy::otlp`] says (429, 502, 503, 504 and failures to
/// get an answer; an unreachable collector not once the host is exiting), within the export
/// timeout and the exit deadline. A 2xx answer comes back with its body when that is at most [`DEFAULT_BODY_CAP`]
/// (empty otherwise, never read past the cap); any other status comes back without its body.
async fn export(
    config: &ClientConfig,
    body: Bytes,
    content_type: Option<HeaderValue>,
    user_agent: HeaderValue,
) -> Result<Response<Bytes>, ExportError> {
    let (body, encoding) = compress(body, config.compression);
    let headers = request_headers(config, user_agent, content_type, encoding);
    let started = Instant::now();
    let export_deadline = started.checked_add(config.export_timeout.min(MAX_EXPORT_TIMEOUT)).unwrap_or(started);
    let policy = RetryPolicy::otlp();
    let mut attempts = 0;
    loop {
        let Some(deadline) = deadline(export_deadline, &config.exit) else {
            return Err(ExportError::TimedOut);
        };
        config.counters.count_request();
        attempts += 1;
        let request = config.http.post(config.url.clone()).headers(headers.clone()).body(body.clone());
        let posted = match within(deadline, &config.exit, request.send()).await {
            None => Posted::Failed(Failure::Timeout),
            Some(Ok(response)) => Posted::Answer(response),
            Some(Err(error)) => {
                let failure = Failure::of(&error);
                tracing::debug!(error = %error.without_url(), %failure, "an OTLP request failed");
                Posted::Failed(failure)
            }
        };
        let (outcome, retry_after, answer) = match posted {
            Posted::Answer(response) if response.status().is_success() => {
                let status = response.status();
                let body = within(deadline, &config.exit, read_body_capped(response, DEFAULT_BODY_CAP))
                    .await
                    .and_then(Result::ok)
                    .unwrap_or_default();
                return Ok(answer(status, body));
            }
            Posted::Answer(response) => {
                let retry_after = response
                    .headers()
                    .get(RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| parse_retry_after(value, SystemTime::now()));
                let status = response.status();
                (AttemptOutcome::Status(status.as_u16()), retry_after, Ok(answer(status, Bytes::new())))
            }
            Posted::Failed(failure) => (AttemptOutcome::Failed(failure), None, Err(error_of(failure))),
        };
        let attempt = Attempt {
            outcome,
            number: attempts,
            retry_after,
            time_left: Some(deadline.saturating_duration_since(Instant::now())),
            exiting: config.exit.borrow().is_some(),
            jitter: fastrand::f64(),
        };
        match policy.decide(&attempt) {
            Decision::Backoff(wait) if back_off(&policy, wait, attempt, export_deadline, &config.exit).await => {}
            _ => return answer,
        }
    }
}

/// The headers of every attempt: the user agent, then the configured headers (which may
/// replace it), then the content type and encoding of the body (which nothing replaces).
fn request_headers(
    config: &ClientConfig,
    user_agent: HeaderValue,
    content_type: Option<HeaderValue>,
    encoding: Option<&'static str>,
) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(USER_AGENT, user_agent);
    for (name, value) in config.headers.entries() {
        headers.insert(name.clone(), value.clone());
    }
    if let Some(content_type) = content_type {
        headers.insert(CONTENT_TYPE, content_type);
    }
    if let Some(encoding) = encoding {
        headers.insert(CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    headers
}

/// Waits `wait` before a retry. If the host starts exiting meanwhile, decides again as exiting,
/// with the rest of the wait and the time the exit deadline leaves (a refused connection then
/// stops, a wait that outlasts the deadline too). Returns whether to retry.
async fn back_off(
    policy: &RetryPolicy,
    wait: Duration,
    attempt: Attempt,
    export_deadline: Instant,
    exit: &watch::Receiver<Option<Instant>>,
) -> bool {
    let wake = Instant::now().checked_add(wait).unwrap_or_else(Instant::now);
    tokio::select! {
        () = tokio::time::sleep_until(wake.into()) => return true,
        _ = exit_started(exit.clone()) => {}
    }
    let Some(deadline) = deadline(export_deadline, exit) else { return false };
    let now = Instant::now();
    let exiting = Attempt {
        retry_after: Some(wake.saturating_duration_since(now)),
        time_left: Some(deadline.saturating_duration_since(now)),
        exiting: true,
        ..attempt
    };
    if !matches!(policy.decide(&exiting), Decision::Backoff(_)) {
        return false;
    }
    tokio::time::sleep_until(wake.into()).await;
    true
}

/// The earlier of the export deadline and the exit deadline; `None` when it has passed.
fn deadline(export_deadline: Instant, exit: &watch::Receiver<Option<Instant>>) -> Option<Instant> {
    let exit_deadline = *exit.borrow();
    let deadline = exit_deadline.map_or(export_deadline, |exit_deadline| exit_deadline.min(export_deadline));
    (deadline > Instant::now()).then_some(deadline)
}

/// Runs `work` until `deadline`, or until the exit deadline passes if the host starts exiting
/// meanwhile; `None` when cut short.
async fn within<T>(
    deadline: Instant,
    exit: &watch::Receiver<Option<Instant>>,
    work: impl Future<Output = T>,
) -> Option<T> {
    tokio::select! {
        result = tokio::time::timeout_at(deadline.into(), work) => result.ok(),
        () = exit_deadline_passed(exit.clone()) => None,
    }
}

/// Resolves with the exit deadline once the host starts exiting; never if it does not.
async fn exit_started(mut exit: watch::Receiver<Option<Instant>>) -> Instant {
    loop {
        if let Some(deadline) = *exit.borrow_and_update() {
            return deadline;
        }
        if exit.changed().await.is_err() {
            return std::future::pending().await;
        }
    }
}

/// Resolves when the exit deadline has passed.
async fn exit_deadline_passed(exit: watch::Receiver<Option<Instant>>) {
    let deadline = exit_started(exit).await;
    tokio::time::sleep_until(deadline.into()).await;
}

/// The response handed back to the exporter: status and body only.
fn answer(status: reqwest::StatusCode, body: Bytes) -> Response<Bytes> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response
}

fn error_of(failure: Failure) -> ExportError {
    match failure {
        Failure::Timeout => ExportError::TimedOut,
        failure if !failure.may_succeed_on_retry() => ExportError::Unreachable,
        _ => ExportError::Transport,
    }
}

/// Gzips the body when asked; on the (unexpected) failure to, sends it uncompressed.
fn compress(body: Bytes, compression: OtlpCompression) -> (Bytes, Option<&'static str>) {
    match compression {
        OtlpCompression::None => (body, None),
        OtlpCompression::Gzip => {
            let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            match encoder.write_all(&body).and_then(|()| encoder.finish()) {
                Ok(compressed) => (Bytes::from(compressed), Some("gzip")),
                Err(_) => (body, None),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::Read as _;

    use super::*;

    #[test]
    fn gzip_round_trips_and_none_passes_through() {
        let body = Bytes::from_static(b"spans spans spans spans");
        assert_eq!(compress(body.clone(), OtlpCompression::None), (body.clone(), None));
        let (compressed, encoding) = compress(body.clone(), OtlpCompression::Gzip);
        assert_eq!(encoding, Some("gzip"));
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(compressed.as_ref()).read_to_end(&mut decoded).unwrap();
        assert_eq!(decoded, body);
    }

    #[test]
    fn the_exit_deadline_shortens_the_export_deadline() {
        let now = Instant::now();
        let (signal, exit) = crate::transport::ExitSignal::new();
        let export_deadline = now + Duration::from_secs(10);
        assert_eq!(deadline(export_deadline, &exit), Some(export_deadline));
        signal.raise(now + Duration::from_secs(1));
        assert_eq!(deadline(export_deadline, &exit), Some(now + Duration::from_secs(1)));
        signal.raise(now);
        assert_eq!(deadline(export_deadline, &exit), None);
    }
}
