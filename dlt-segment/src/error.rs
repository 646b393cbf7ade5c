//! Why a transport could not be started. Once started, nothing reaches the host: failures are
//! counted in [`crate::Stats`] and logged at debug level.

/// Why a transport could not start. Messages name the value and what was expected; no secret
/// is ever part of one.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SegmentError {
    /// The user agent cannot be sent as an HTTP header.
    #[error("user agent `{user_agent}` is not a valid HTTP header value; expected e.g. dlt/0.1.0")]
    InvalidUserAgent {
        /// The user agent as given.
        user_agent: String,
    },
    /// A transport that only hands messages off was given no outbox to hand them to.
    #[error("no outbox is configured to hand telemetry off to")]
    NoOutbox,
    /// The write key cannot be sent as an HTTP header (its value is not shown).
    #[error("the Segment write key contains characters that cannot be sent in an HTTP header")]
    InvalidWriteKey,
    /// The HTTP client could not be built (a proxy URL or a trust file that cannot be used).
    #[error("could not build the telemetry HTTP client: {0}")]
    HttpClient(#[source] dlt_http::HttpError),
    /// The recipient's outbox folder could not be used.
    #[error("cannot use the telemetry outbox: {0}")]
    Outbox(#[source] std::io::Error),
    /// The worker thread (or its runtime) could not be started.
    #[error("could not start the telemetry worker thread: {0}")]
    Spawn(#[source] std::io::Error),
}
