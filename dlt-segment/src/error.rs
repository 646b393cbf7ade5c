//! Why a transport could not be started. Once started, nothing reaches the host: failures are
//! counted in [`crate::Stats`] and logged at debug level.

/// Why [`crate::SegmentClient::start`] failed. Messages name the value and what was expected;
/// credentials in an endpoint URL are replaced by `[redacted]`.
#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    /// The endpoint is not an absolute URL.
    #[error(
        "telemetry endpoint `{endpoint}` is not a valid URL ({reason}); expected e.g. https://api.segment.io/v1/batch"
    )]
    InvalidEndpoint {
        /// The endpoint as given, credentials redacted.
        endpoint: String,
        /// What the URL parser objected to.
        reason: String,
    },
    /// The endpoint is a URL, but not one to POST to.
    #[error("telemetry endpoint `{endpoint}` has scheme `{scheme}`; expected http or https")]
    UnsupportedScheme {
        /// The endpoint as given, credentials redacted.
        endpoint: String,
        /// The scheme found.
        scheme: String,
    },
    /// The user agent cannot be sent as an HTTP header.
    #[error("user agent `{user_agent}` is not a valid HTTP header value; expected e.g. dlt/0.1.0")]
    InvalidUserAgent {
        /// The user agent as given.
        user_agent: String,
    },
    /// The write key cannot be sent as an HTTP header (its value is not shown).
    #[error("the Segment write key contains characters that cannot be sent in an HTTP header")]
    InvalidWriteKey,
    /// The HTTP client could not be built (e.g. no TLS roots).
    #[error("could not build the telemetry HTTP client")]
    HttpClient(#[source] reqwest::Error),
    /// The worker's async runtime could not be built.
    #[error("could not build the telemetry worker's runtime")]
    Runtime(#[source] std::io::Error),
    /// The worker thread could not be spawned.
    #[error("could not spawn the telemetry worker thread")]
    Spawn(#[source] std::io::Error),
}
