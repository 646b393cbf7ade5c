//! When to try an export again: a pure function of what the last attempt gave, how many
//! retries were made, whether the host is exiting and how much time is left.

use std::time::Duration;

/// Retries after the first attempt, at most.
pub(crate) const MAX_RETRIES: u32 = 3;
/// The first backoff; it doubles with each retry.
const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// The longest backoff of our own choosing.
const MAX_BACKOFF: Duration = Duration::from_millis(1600);
/// The longest `Retry-After` honoured; a longer one gives up (the time is better spent exiting).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(30);

/// What one attempt gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// An answer other than 2xx, with its `Retry-After` when there was one.
    Status {
        /// The HTTP status.
        code: u16,
        /// The parsed `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// The collector could not be reached in a way that will not change before exit:
    /// connection refused, name not resolved, TLS handshake failed
    /// ([`dlt_http::Failure::may_succeed_on_retry`] is false).
    Unreachable,
    /// The time for this export ran out.
    TimedOut,
    /// Another transport failure (reset, broken body).
    Failed,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Stop: not worth another try.
    Stop,
    /// Try again after this long.
    RetryAfter(Duration),
}

/// Decides whether to retry. Retried: 429, 502, 503 and 504 (the OTLP/HTTP specification's
/// list) and transport failures, up to [`MAX_RETRIES`] times, with exponential backoff plus
/// `jitter`, honouring `Retry-After`, and only when the wait ends before `remaining` does.
/// While exiting, an unreachable collector (refused, unresolvable, TLS) is not retried.
pub(crate) fn decide(
    attempt: Attempt,
    retries_done: u32,
    exiting: bool,
    remaining: Duration,
    jitter: Duration,
) -> Next {
    let retry_after = match attempt {
        Attempt::TimedOut => return Next::Stop,
        Attempt::Status { code: 429 | 502 | 503 | 504, retry_after } => retry_after,
        Attempt::Status { .. } => return Next::Stop,
        Attempt::Unreachable if exiting => return Next::Stop,
        Attempt::Unreachable | Attempt::Failed => None,
    };
    if retries_done >= MAX_RETRIES {
        return Next::Stop;
    }
    let wait = match retry_after {
        Some(wait) if wait > MAX_RETRY_AFTER => return Next::Stop,
        Some(wait) => wait,
        None => backoff(retries_done).saturating_add(jitter),
    };
    if wait >= remaining { Next::Stop } else { Next::RetryAfter(wait) }
}

/// 100 ms, 200 ms, 400 ms, ... up to [`MAX_BACKOFF`].
fn backoff(retries_done: u32) -> Duration {
    INITIAL_BACKOFF.saturating_mul(2u32.saturating_pow(retries_done)).min(MAX_BACKOFF)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const PLENTY: Duration = Duration::from_secs(60);
    const NO_JITTER: Duration = Duration::ZERO;

    fn status(code: u16) -> Attempt {
        Attempt::Status { code, retry_after: None }
    }

    #[test]
    fn timeouts_and_other_statuses_stop() {
        for attempt in [Attempt::TimedOut, status(400), status(401), status(404), status(500)] {
            assert_eq!(decide(attempt, 0, false, PLENTY, NO_JITTER), Next::Stop, "{attempt:?}");
        }
    }

    #[test]
    fn the_specifications_statuses_and_transport_failures_back_off_exponentially() {
        for attempt in [status(429), status(502), status(503), status(504), Attempt::Unreachable, Attempt::Failed] {
            assert_eq!(decide(attempt, 0, false, PLENTY, NO_JITTER), Next::RetryAfter(Duration::from_millis(100)));
        }
        assert_eq!(decide(status(503), 2, false, PLENTY, NO_JITTER), Next::RetryAfter(Duration::from_millis(400)));
        let jitter = Duration::from_millis(7);
        assert_eq!(decide(status(503), 1, false, PLENTY, jitter), Next::RetryAfter(Duration::from_millis(207)));
        assert_eq!(decide(status(503), MAX_RETRIES, false, PLENTY, NO_JITTER), Next::Stop);
        assert_eq!(backoff(30), MAX_BACKOFF);
    }

    #[test]
    fn a_refused_connection_is_not_retried_at_exit() {
        assert_eq!(decide(Attempt::Unreachable, 0, true, PLENTY, NO_JITTER), Next::Stop);
        assert_eq!(decide(status(503), 0, true, PLENTY, NO_JITTER), Next::RetryAfter(Duration::from_millis(100)));
    }

    #[test]
    fn no_retry_whose_wait_outlasts_the_time_left() {
        assert_eq!(decide(status(503), 0, false, Duration::from_millis(100), NO_JITTER), Next::Stop);
        let throttled = Attempt::Status { code: 429, retry_after: Some(Duration::from_secs(2)) };
        assert_eq!(decide(throttled, 0, false, PLENTY, NO_JITTER), Next::RetryAfter(Duration::from_secs(2)));
        assert_eq!(decide(throttled, 0, false, Duration::from_secs(1), NO_JITTER), Next::Stop);
        let far = Attempt::Status { code: 429, retry_after: Some(Duration::from_secs(31)) };
        assert_eq!(decide(far, 0, false, Duration::from_secs(3600), NO_JITTER), Next::Stop);
    }
}
