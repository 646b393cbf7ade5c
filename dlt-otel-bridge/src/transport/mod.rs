//! Delivery: an `opentelemetry_http::HttpClient` over dlt-http's client (proxies and trust of
//! the options' `NetworkEnv`, no redirects) with retries of our own, a deadline that exit can
//! shorten, capped response bodies, and the counters the guard reports.

mod client;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use tokio::sync::watch;

pub(crate) use self::client::{ClientConfig, MAX_EXPORT_TIMEOUT, OtlpHttpClient};

/// What the exporter did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ExportStats {
    /// HTTP requests made (retries included).
    pub requests: u64,
    /// Batches of spans the collector accepted.
    pub batches_sent: u64,
    /// Batches given up on (refused, rejected, timed out, cut by the exit deadline).
    pub batches_failed: u64,
}

/// Counters shared by the HTTP client and the guard.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    batches_sent: AtomicU64,
    batches_failed: AtomicU64,
}

impl Counters {
    pub(crate) fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_batch(&self, sent: bool) {
        let counter = if sent { &self.batches_sent } else { &self.batches_failed };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> ExportStats {
        ExportStats {
            requests: self.requests.load(Ordering::Relaxed),
            batches_sent: self.batches_sent.load(Ordering::Relaxed),
            batches_failed: self.batches_failed.load(Ordering::Relaxed),
        }
    }
}

/// Tells the HTTP client that the host is exiting, and by when everything must be over.
#[derive(Debug)]
pub(crate) struct ExitSignal {
    deadline: watch::Sender<Option<Instant>>,
}

impl ExitSignal {
    /// A signal not raised yet, and the receiver the client watches.
    pub(crate) fn new() -> (Self, watch::Receiver<Option<Instant>>) {
        let (deadline, receiver) = watch::channel(None);
        (Self { deadline }, receiver)
    }

    /// Raises the signal: requests end by `deadline` and refused connections are not retried.
    pub(crate) fn raise(&self, deadline: Instant) {
        self.deadline.send_replace(Some(deadline));
    }
}
