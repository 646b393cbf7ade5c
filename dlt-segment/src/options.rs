//! What a transport is told: where to send, with which key and user agent, and its limits.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use dlt_http::{HttpSettings, NetworkEnv};
use dlt_redact::{HttpUrl, MASK, Secret};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};

use crate::clock::{Clock, system_clock};
use crate::error::SegmentError;
use crate::outbox::OutboxOptions;
use crate::recipient::Recipient;
use crate::wire::BatchLimits;
use dlt_http::RetryPolicy;

/// Segment's batch API. A host that has a write key but no endpoint of its own sends here.
pub const SEGMENT_BATCH_ENDPOINT: &str = "https://api.segment.io/v1/batch";

/// A Segment write key. Its value never appears in `Debug` output, logs or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct WriteKey(Secret);

impl WriteKey {
    /// Wraps a write key, e.g. from `runtime.dlthub_telemetry_segment_write_key`.
    pub fn new(key: impl Into<Secret>) -> Self {
        Self(key.into())
    }

    /// The key itself, for the recipient's digest.
    pub(crate) fn expose(&self) -> &str {
        self.0.expose()
    }

    /// `Basic base64(key + ":")`: the key as HTTP Basic user name with an empty password, the
    /// way Segment (and dlt) send it. `None` for an empty key, which dlt treats as no key.
    fn authorization(&self) -> Option<Result<HeaderValue, SegmentError>> {
        (!self.0.is_empty()).then(|| {
            let key = self.0.expose();
            let mut value = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(format!("{key}:"))))
                .map_err(|_| SegmentError::InvalidWriteKey)?;
            value.set_sensitive(true);
            Ok(value)
        })
    }
}

impl fmt::Debug for WriteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WriteKey({MASK})")
    }
}

/// Everything a transport needs. Plain values: reading configuration files is the host's
/// business.
#[derive(Clone)]
#[non_exhaustive]
pub struct SegmentOptions {
    /// Where to POST, used verbatim. A path ending in `/v1/batch` (e.g.
    /// [`SEGMENT_BATCH_ENDPOINT`]) gets Segment's batch API; any other URL gets one message per
    /// POST, the way dlt does it.
    pub endpoint: HttpUrl,
    /// Sent as `Authorization: Basic base64(key + ":")`; no header without a key.
    pub write_key: Option<WriteKey>,
    /// `<library>/<version>` of the host, e.g. `dlt/0.1.0`.
    pub user_agent: String,
    /// Messages waiting for the worker (at least 1); when full, `track` drops the message and
    /// counts it. Memory is bounded by this plus one batch.
    pub queue_capacity: usize,
    /// How long shutting down (and dropping the client) may take, a request in flight included.
    pub shutdown_timeout: Duration,
    /// Proxies, trust roots and timeouts of the HTTP client (see `dlt-http`).
    pub http: HttpSettings,
    /// When and how often to try again.
    pub retry: RetryPolicy,
    /// Segment's size limits.
    pub limits: BatchLimits,
    /// How many requests may be in flight at once (at least 1), batches or single messages: as
    /// soon as one ends the next may start.
    pub concurrency: usize,
    /// Where to keep what could not be delivered, for a later sender; `None` drops it (counted).
    pub outbox: Option<OutboxOptions>,
    /// The wall clock: message timestamps, the outbox's age bound.
    pub clock: Arc<dyn Clock>,
}

impl SegmentOptions {
    /// Options with the defaults: no write key, a queue of 1,000 messages, a 1 s shutdown,
    /// 2 s to connect, 10 s per request, no proxy, [`RetryPolicy::segment`], Segment's limits,
    /// 4 requests at once, no outbox, the system clock.
    pub fn new(endpoint: HttpUrl, user_agent: impl Into<String>) -> Self {
        let user_agent = user_agent.into();
        let http = HttpSettings::new(NetworkEnv::from_lookup(|_| None))
            .with_connect_timeout(Duration::from_secs(2))
            .with_request_timeout(Duration::from_secs(10));
        Self {
            endpoint,
            write_key: None,
            user_agent,
            queue_capacity: 1_000,
            shutdown_timeout: Duration::from_secs(1),
            http,
            retry: RetryPolicy::segment(),
            limits: BatchLimits::SEGMENT,
            concurrency: 4,
            outbox: None,
            clock: system_clock(),
        }
    }

    /// The same options with a write key.
    pub fn with_write_key(mut self, key: WriteKey) -> Self {
        self.write_key = Some(key);
        self
    }

    /// The same options with an outbox.
    pub fn with_outbox(mut self, outbox: OutboxOptions) -> Self {
        self.outbox = Some(outbox);
        self
    }

    /// Who the messages are for: the endpoint and the write key.
    pub fn recipient(&self) -> Recipient {
        Recipient::new(&self.endpoint, self.write_key.as_ref())
    }

    /// The headers of every request: `Content-Type`, `User-Agent` and, with a key,
    /// `Authorization`.
    pub(crate) fn headers(&self) -> Result<HeaderMap, SegmentError> {
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        let user_agent = HeaderValue::try_from(self.user_agent.as_str())
            .map_err(|_| SegmentError::InvalidUserAgent { user_agent: self.user_agent.clone() })?;
        headers.insert(USER_AGENT, user_agent);
        if let Some(authorization) = self.write_key.as_ref().and_then(WriteKey::authorization) {
            headers.insert(AUTHORIZATION, authorization?);
        }
        Ok(headers)
    }

    /// Which of Segment's APIs the endpoint speaks: a path ending in `/v1/batch` is the batch API.
    pub(crate) fn api(&self) -> Api {
        let path = self.endpoint.url().path();
        if path.strip_suffix('/').unwrap_or(path).ends_with("/v1/batch") { Api::Batch } else { Api::Single }
    }
}

impl fmt::Debug for SegmentOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            endpoint,
            write_key,
            user_agent,
            queue_capacity,
            shutdown_timeout,
            http,
            retry,
            limits,
            concurrency,
            outbox,
            clock,
        } = self;
        f.debug_struct("SegmentOptions")
            .field("endpoint", endpoint)
            .field("write_key", write_key)
            .field("user_agent", user_agent)
            .field("queue_capacity", queue_capacity)
            .field("shutdown_timeout", shutdown_timeout)
            .field("http", http)
            .field("retry", retry)
            .field("limits", limits)
            .field("concurrency", concurrency)
            .field("outbox", outbox)
            .field("clock", clock)
            .finish()
    }
}

/// Which of Segment's APIs an endpoint speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Api {
    /// `{"batch": [...], "sentAt": ...}`, many messages per request.
    Batch,
    /// One message per request, its JSON as the body.
    Single,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn options(endpoint: &str) -> SegmentOptions {
        SegmentOptions::new(HttpUrl::parse(endpoint).unwrap(), "dlt/0.1.0")
    }

    #[test]
    fn endpoint_path_picks_the_api() {
        let api = |raw| options(raw).api();
        assert_eq!(api(SEGMENT_BATCH_ENDPOINT), Api::Batch);
        assert_eq!(api("http://127.0.0.1:9/segment/v1/batch/"), Api::Batch);
        assert_eq!(api("https://telemetry.scalevector.ai"), Api::Single);
        assert_eq!(api("https://api.segment.io/v1/track"), Api::Single);
        assert_eq!(api("https://example.com/v1/batches"), Api::Single);
    }

    #[test]
    fn write_key_is_basic_auth_and_never_printed() {
        let options = options(SEGMENT_BATCH_ENDPOINT).with_write_key(WriteKey::new("test_write_key_123"));
        let headers = options.headers().unwrap();
        assert_eq!(headers[AUTHORIZATION], "Basic dGVzdF93cml0ZV9rZXlfMTIzOg==");
        assert!(headers[AUTHORIZATION].is_sensitive());
        assert_eq!(headers[USER_AGENT], "dlt/0.1.0");
        assert_eq!(headers[CONTENT_TYPE], "application/json");
        let printed = format!("{options:?} {:?}", options.write_key);
        assert!(!printed.contains("test_write_key_123"), "{printed}");
        assert!(printed.contains("WriteKey(***)"));
    }

    #[test]
    fn no_or_empty_key_means_no_authorization() {
        let options = options(SEGMENT_BATCH_ENDPOINT);
        assert!(!options.headers().unwrap().contains_key(AUTHORIZATION));
        let options = options.with_write_key(WriteKey::new(""));
        assert!(!options.headers().unwrap().contains_key(AUTHORIZATION));
    }

    #[test]
    fn bad_user_agent_is_an_error() {
        let mut options = options(SEGMENT_BATCH_ENDPOINT);
        options.user_agent = "dlt/\n0.1".into();
        assert!(matches!(options.headers().unwrap_err(), SegmentError::InvalidUserAgent { .. }));
    }

    #[test]
    fn debug_output_hides_endpoint_credentials() {
        let options = options("https://user:secret@example.com/v1/batch");
        let printed = format!("{options:?}");
        assert!(!printed.contains("secret"), "{printed}");
    }
}
