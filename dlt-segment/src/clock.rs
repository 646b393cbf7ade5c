//! The wall clock, injected: message timestamps and the outbox's age bound are compared against
//! it, so tests set the time instead of waiting for it. (The opt-out mark compares counters,
//! never times.)

use std::fmt;
use std::sync::Arc;

use time::OffsetDateTime;

/// A source of the current time (UTC). Deadlines use `Instant`, not this.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time, in UTC.
    fn now(&self) -> OffsetDateTime;
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

/// A clock that says what the test tells it (feature `test-util`).
#[cfg(feature = "test-util")]
#[derive(Debug)]
pub struct ManualClock {
    now: std::sync::Mutex<OffsetDateTime>,
}

#[cfg(feature = "test-util")]
impl ManualClock {
    /// A clock standing at `now`.
    pub fn new(now: OffsetDateTime) -> Arc<Self> {
        Arc::new(Self { now: std::sync::Mutex::new(now) })
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: time::Duration) {
        let mut now = self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }
}

#[cfg(feature = "test-util")]
impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
