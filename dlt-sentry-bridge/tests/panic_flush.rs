//! The panic hook waits for its event at most min(2 s, shutdown timeout), caught panics
//! included, against a transport whose flush blocks until it is released.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use dlt_sentry_bridge::{SentryOptions, init};
use sentry_core::{Envelope, Hub, Transport};

/// Where a test gives up on a flush that was asked to wait longer, so that a regression fails
/// in seconds instead of hanging for the 600 s it asked for.
const GIVE_UP: Duration = Duration::from_secs(10);

/// A transport whose flush blocks until [`GatedTransport::release`] (or its timeout, at most
/// [`GIVE_UP`]); it records the timeout of every flush and counts the envelopes it is given.
#[derive(Default)]
struct GatedTransport {
    released: Mutex<bool>,
    opened: Condvar,
    flush_timeouts: Mutex<Vec<Duration>>,
    envelopes: AtomicUsize,
}

impl GatedTransport {
    fn release(&self) {
        *self.released.lock().unwrap() = true;
        self.opened.notify_all();
    }

    fn flush_timeouts(&self) -> Vec<Duration> {
        self.flush_timeouts.lock().unwrap().clone()
    }
}

impl Transport for GatedTransport {
    fn send_envelope(&self, _envelope: Envelope) {
        self.envelopes.fetch_add(1, Ordering::SeqCst);
    }

    fn flush(&self, timeout: Duration) -> bool {
        self.flush_timeouts.lock().unwrap().push(timeout);
        let released = self.released.lock().unwrap();
        *self.opened.wait_timeout_while(released, timeout.min(GIVE_UP), |released| !*released).unwrap().0
    }
}

/// Panics (caught) under a bridge with this shutdown timeout on a gated transport; returns
/// how long the panic took and the transport.
fn caught_panic(shutdown_timeout: Duration) -> (Duration, Arc<GatedTransport>) {
    let transport = Arc::new(GatedTransport::default());
    let mut options = SentryOptions::new("1.31.0");
    options.dsn = Some("https://public@sentry.invalid/42".parse().unwrap());
    options.capture_panics = true;
    options.shutdown_timeout = shutdown_timeout;
    options.transport = Some(transport.clone());
    let hub = Arc::new(Hub::new_from_top(Hub::current()));
    let elapsed = Hub::run(hub, || {
        let guard = init(options);
        let started = Instant::now();
        let result = std::panic::catch_unwind(|| panic!("a caught panic"));
        let elapsed = started.elapsed();
        assert!(result.is_err());
        transport.release();
        assert!(guard.shutdown_by(Instant::now() + Duration::from_secs(1)));
        elapsed
    });
    (elapsed, transport)
}

/// One test for both timeouts: the hook is process-wide and the latest `init` sets its
/// timeout, so the two cases must not run at the same time.
#[test]
fn a_panic_waits_at_most_two_seconds_and_never_longer_than_the_shutdown_timeout() {
    let (elapsed, transport) = caught_panic(Duration::from_secs(600));
    assert_eq!(transport.envelopes.load(Ordering::SeqCst), 1, "the panic was reported");
    assert_eq!(transport.flush_timeouts()[0], Duration::from_secs(2));
    assert!(elapsed < Duration::from_secs(3), "a panic took {elapsed:?} with a 600 s shutdown timeout");

    let (elapsed, transport) = caught_panic(Duration::from_millis(300));
    assert_eq!(transport.envelopes.load(Ordering::SeqCst), 1, "the panic was reported");
    assert_eq!(transport.flush_timeouts()[0], Duration::from_millis(300));
    assert!(elapsed < Duration::from_millis(1300), "a panic took {elapsed:?} with a 300 ms shutdown timeout");
}
