//! What a transport is told: where to send, with which key and user agent, and its limits.

use std::fmt;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use reqwest::Url;
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};

use crate::error::SegmentError;
use crate::outbox::OutboxOptions;
use crate::retry::RetryPolicy;
use crate::wire::BatchLimits;

/// Segment's batch API. A host that has a write key but no endpoint of its own sends here.
pub const SEGMENT_BATCH_ENDPOINT: &str = "https://api.segment.io/v1/batch";

/// A Segment write key. Its value never appears in `Debug` output, logs or errors.
#[derive(Clone, PartialEq, Eq)]
pub struct WriteKey(String);

impl WriteKey {
    /// Wraps a write key, e.g. from `runtime.dlthub_telemetry_segment_write_key`.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// `Basic base64(key + ":")`: the key as HTTP Basic user name with an empty password, the
    /// way Segment (and dlt) send it. `None` for an empty key, which dlt treats as no key.
    fn authorization(&self) -> Option<Result<HeaderValue, SegmentError>> {
        (!self.0.is_empty()).then(|| {
            let mut value = HeaderValue::try_from(format!("Basic {}", STANDARD.encode(format!("{}:", self.0))))
                .map_err(|_| SegmentError::InvalidWriteKey)?;
            value.set_sensitive(true);
            Ok(value)
        })
    }
}

impl fmt::Debug for WriteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WriteKey([redacted])")
    }
}

/// Everything a [`crate::SegmentClient`] needs. Plain values: reading configuration files is
/// the host's business.
#[derive(Clone)]
pub struct SegmentOptions {
    /// Where to POST, used verbatim. A path ending in `/v1/batch` (e.g.
    /// [`SEGMENT_BATCH_ENDPOINT`]) gets Segment's batch API; any other URL gets one message per
    /// POST, the way dlt does it.
    pub endpoint: String,
    /// Sent as `Authorization: Basic base64(key + ":")`; no header without a key.
    pub write_key: Option<WriteKey>,
    /// `<library>/<version>` of the host, e.g. `dlt/0.1.0`.
    pub user_agent: String,
    /// Messages waiting for the worker (at least 1); when full, `track` drops the message and
    /// counts it. Memory is bounded by this plus one batch.
    pub queue_capacity: usize,
    /// How long shutting down (and dropping the client) may take, a request in flight included.
    pub shutdown_timeout: Duration,
    /// Limit for opening a connection (TCP and TLS).
    pub connect_timeout: Duration,
    /// Limit for a whole request, connecting included.
    pub request_timeout: Duration,
    /// When and how often to try again.
    pub retry: RetryPolicy,
    /// Segment's size limits.
    pub limits: BatchLimits,
    /// Where to keep what could not be delivered, for the next run; `None` drops it (counted).
    pub outbox: Option<OutboxOptions>,
}

impl SegmentOptions {
    /// Options with the defaults: no write key, a queue of 1,000 messages, a 1 s shutdown,
    /// 2 s to connect, 10 s per request, [`RetryPolicy::default`], Segment's limits, no outbox.
    pub fn new(endpoint: impl Into<String>, user_agent: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into(),
            write_key: None,
            user_agent: user_agent.into(),
            queue_capacity: 1_000,
            shutdown_timeout: Duration::from_secs(1),
            connect_timeout: Duration::from_secs(2),
            request_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            limits: BatchLimits::SEGMENT,
            outbox: None,
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
}

impl fmt::Debug for SegmentOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            endpoint,
            write_key,
            user_agent,
            queue_capacity,
            shutdown_timeout,
            connect_timeout,
            request_timeout,
            retry,
            limits,
            outbox,
        } = self;
        f.debug_struct("SegmentOptions")
            .field("endpoint", &redact_credentials(endpoint))
            .field("write_key", write_key)
            .field("user_agent", user_agent)
            .field("queue_capacity", queue_capacity)
            .field("shutdown_timeout", shutdown_timeout)
            .field("connect_timeout", connect_timeout)
            .field("request_timeout", request_timeout)
            .field("retry", retry)
            .field("limits", limits)
            .field("outbox", outbox)
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

/// A validated endpoint.
#[derive(Clone, Debug)]
pub(crate) struct Endpoint {
    pub(crate) url: Url,
    pub(crate) api: Api,
}

impl Endpoint {
    /// Checks that `raw` is an absolute http(s) URL and picks the API from its path.
    pub(crate) fn parse(raw: &str) -> Result<Self, SegmentError> {
        let url = Url::parse(raw).map_err(|error| SegmentError::InvalidEndpoint {
            endpoint: redact_credentials(raw),
            reason: error.to_string(),
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SegmentError::UnsupportedScheme {
                endpoint: redact_credentials(raw),
                scheme: url.scheme().to_owned(),
            });
        }
        let path = url.path();
        let api = if path.strip_suffix('/').unwrap_or(path).ends_with("/v1/batch") { Api::Batch } else { Api::Single };
        Ok(Self { url, api })
    }
}

/// The URL with any `user:password@` replaced by `[redacted]@`, for messages and logs.
pub(crate) fn redact_credentials(url: &str) -> String {
    let authority_start = url.find("://").map_or(0, |i| i + 3);
    let authority_end = url[authority_start..].find(['/', '?', '#']).map_or(url.len(), |i| authority_start + i);
    match url[authority_start..authority_end].rfind('@') {
        Some(at) => format!("{}[redacted]{}", &url[..authority_start], &url[authority_start + at..]),
        None => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn endpoint_path_picks_the_api() {
        let api = |raw| Endpoint::parse(raw).unwrap().api;
        assert_eq!(api(SEGMENT_BATCH_ENDPOINT), Api::Batch);
        assert_eq!(api("http://127.0.0.1:9/segment/v1/batch/"), Api::Batch);
        assert_eq!(api("https://telemetry.scalevector.ai"), Api::Single);
        assert_eq!(api("https://api.segment.io/v1/track"), Api::Single);
        assert_eq!(api("https://example.com/v1/batches"), Api::Single);
    }

    #[test]
    fn endpoint_must_be_an_http_url() {
        let error = Endpoint::parse("telemetry-tracker.services4745.workers.dev").unwrap_err();
        assert!(matches!(error, SegmentError::InvalidEndpoint { .. }), "{error:?}");
        assert!(error.to_string().contains("`telemetry-tracker.services4745.workers.dev` is not a valid URL"));
        let error = Endpoint::parse("ftp://user:hunter2@example.com/v1/batch").unwrap_err();
        assert_eq!(
            error.to_string(),
            "telemetry endpoint `ftp://[redacted]@example.com/v1/batch` has scheme `ftp`; expected http or https"
        );
    }

    #[test]
    fn credentials_in_urls_are_redacted() {
        assert_eq!(redact_credentials("https://u:p@h.io/a@b"), "https://[redacted]@h.io/a@b");
        assert_eq!(redact_credentials("https://h.io/v1/batch?x=@"), "https://h.io/v1/batch?x=@");
        assert_eq!(redact_credentials("u:p@h.io"), "[redacted]@h.io");
    }

    #[test]
    fn write_key_is_basic_auth_and_never_printed() {
        let options = SegmentOptions::new(SEGMENT_BATCH_ENDPOINT, "dlt/0.1.0")
            .with_write_key(WriteKey::new("test_write_key_123"));
        let headers = options.headers().unwrap();
        assert_eq!(headers[AUTHORIZATION], "Basic dGVzdF93cml0ZV9rZXlfMTIzOg==");
        assert!(headers[AUTHORIZATION].is_sensitive());
        assert_eq!(headers[USER_AGENT], "dlt/0.1.0");
        assert_eq!(headers[CONTENT_TYPE], "application/json");
        let printed = format!("{options:?} {:?}", options.write_key);
        assert!(!printed.contains("test_write_key_123"), "{printed}");
        assert!(printed.contains("WriteKey([redacted])"));
    }

    #[test]
    fn no_or_empty_key_means_no_authorization() {
        let options = SegmentOptions::new(SEGMENT_BATCH_ENDPOINT, "dlt/0.1.0");
        assert!(!options.headers().unwrap().contains_key(AUTHORIZATION));
        let options = options.with_write_key(WriteKey::new(""));
        assert!(!options.headers().unwrap().contains_key(AUTHORIZATION));
    }

    #[test]
    fn bad_user_agent_is_an_error() {
        let error = SegmentOptions::new(SEGMENT_BATCH_ENDPOINT, "dlt/\n0.1").headers().unwrap_err();
        assert!(matches!(error, SegmentError::InvalidUserAgent { .. }));
    }

    #[test]
    fn debug_output_hides_endpoint_credentials() {
        let options = SegmentOptions::new("https://user:secret@example.com/v1/batch", "dlt/0.1.0");
        let printed = format!("{options:?}");
        assert!(!printed.contains("secret"), "{printed}");
    }
}
