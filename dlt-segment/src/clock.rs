//! The clock, injected wherever time decides what happens: message timestamps, the outbox's age
//! bounds (messages and folders), `Retry-After` dates and the sender's time bound are read from
//! it, so tests set the time instead of waiting for it. (The opt-out mark compares counters,
//! never times; the waits themselves, a backoff or a request's timeout, are real.)

use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use time::OffsetDateTime;

/// A source of the current time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time, in UTC.
    fn now(&self) -> OffsetDateTime;

    /// A monotonic reading, for time bounds (the sender's): `Instant::now()` unless a test
    /// moves it.
    fn instant(&self) -> Instant {
        Instant::now()
    }
}

/// The system's clock.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// The clock transports use unless told otherwise.
pub(crate) fn system_clock() -> Arc<dyn Clock> {
    Arc::new(SystemClock)
}

/// A clock that says what the test tells it (feature `test-util`): its wall time stands still
/// until moved; its monotonic reading runs with the real one, plus every forward move.
#[cfg(feature = "test-util")]
#[derive(Debug)]
pub struct ManualClock {
    moved: std::sync::Mutex<(OffsetDateTime, std::time::Duration)>,
}

#[cfg(feature = "test-util")]
impl ManualClock {
    /// A clock standing at `now`.
    pub fn new(now: OffsetDateTime) -> Arc<Self> {
        Arc::new(Self { moved: std::sync::Mutex::new((now, std::time::Duration::ZERO)) })
    }

    /// Moves the clock forward (or its wall time back, with a negative duration).
    pub fn advance(&self, by: time::Duration) {
        let mut moved = self.moved.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        moved.0 += by;
        moved.1 += std::time::Duration::try_from(by).unwrap_or_default();
    }
}

#[cfg(feature = "test-util")]
impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        self.moved.lock().unwrap_or_else(std::sync::PoisonError::into_inner).0
    }

    fn instant(&self) -> Instant {
        let ahead = self.moved.lock().unwrap_or_else(std::sync::PoisonError::into_inner).1;
        let now = Instant::now();
        now.checked_add(ahead).unwrap_or(now)
    }
}
