//! Transports: the bounded HTTP transport, the scrubbing wrapper every transport is put in,
//! and the counters the HTTP transport keeps.

mod http;
mod rate_limit;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use sentry_core::{Envelope, Transport};

use crate::scrub::Scrubber;

pub(crate) use self::http::{HttpConfig, HttpTransport};

/// Why the HTTP transport could not start; the bridge then stays off.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TransportError {
    /// The HTTP client could not be built (an unusable proxy variable, a trust file that cannot
    /// be read, TLS setup).
    #[error("could not build the HTTP client for Sentry")]
    HttpClient(#[source] dlt_http::HttpError),
    /// The sender thread or its runtime could not be started.
    #[error("could not start the Sentry sender thread")]
    Thread(#[source] std::io::Error),
}

/// What the HTTP transport did with the envelopes it was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransportStats {
    /// Envelopes the server accepted (2xx).
    pub sent: u64,
    /// Envelopes dropped because the queue was full.
    pub dropped_queue_full: u64,
    /// Envelopes dropped while rate-limited, or answered with 429.
    pub dropped_rate_limited: u64,
    /// Envelopes lost to network errors, timeouts, the exit deadline or other HTTP statuses.
    pub failed: u64,
    /// Envelopes dropped unsent at shutdown because the endpoint had just proved unreachable
    /// (connection refused, host name not resolving, TLS handshake failed): not tried again.
    pub dropped_unreachable: u64,
}

/// Counters shared by the transport, its worker and the guard.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    sent: AtomicU64,
    dropped_queue_full: AtomicU64,
    dropped_rate_limited: AtomicU64,
    failed: AtomicU64,
    dropped_unreachable: AtomicU64,
}

/// One outcome to count.
#[derive(Debug, Clone, Copy)]
pub(crate) enum EnvelopeOutcome {
    Sent,
    DroppedQueueFull,
    DroppedRateLimited,
    Failed,
    DroppedUnreachable,
}

impl Counters {
    /// Counts one envelope with this outcome.
    pub(crate) fn count(&self, outcome: EnvelopeOutcome) {
        let counter = match outcome {
            EnvelopeOutcome::Sent => &self.sent,
            EnvelopeOutcome::DroppedQueueFull => &self.dropped_queue_full,
            EnvelopeOutcome::DroppedRateLimited => &self.dropped_rate_limited,
            EnvelopeOutcome::Failed => &self.failed,
            EnvelopeOutcome::DroppedUnreachable => &self.dropped_unreachable,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// A snapshot of the counters.
    pub(crate) fn snapshot(&self) -> TransportStats {
        TransportStats {
            sent: self.sent.load(Ordering::Relaxed),
            dropped_queue_full: self.dropped_queue_full.load(Ordering::Relaxed),
            dropped_rate_limited: self.dropped_rate_limited.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            dropped_unreachable: self.dropped_unreachable.load(Ordering::Relaxed),
        }
    }
}

/// Scrubs every envelope before handing it to the wrapped transport, so that nothing our
/// client sends (events, breadcrumbs, transactions) escapes scrubbing.
pub(crate) struct ScrubbingTransport {
    inner: Arc<dyn Transport>,
    scrubber: Arc<Scrubber>,
}

impl ScrubbingTransport {
    /// Wraps `inner`.
    pub(crate) fn new(inner: Arc<dyn Transport>, scrubber: Arc<Scrubber>) -> Self {
        Self { inner, scrubber }
    }
}

impl Transport for ScrubbingTransport {
    fn send_envelope(&self, envelope: Envelope) {
        self.inner.send_envelope(self.scrubber.scrub_envelope(envelope));
    }

    fn flush(&self, timeout: Duration) -> bool {
        self.inner.flush(timeout)
    }

    fn shutdown(&self, timeout: Duration) -> bool {
        self.inner.shutdown(timeout)
    }
}
