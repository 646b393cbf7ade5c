//! When to try a request again: a pure function of what happened, how many attempts were made
//! and what the server asked for, so it is tested without any I/O or clock.

use std::time::Duration;

use dlt_http::Failure;

/// What one attempt to send a request ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The server answered with this HTTP status.
    Status(u16),
    /// No answer: refused, no such host, a timeout, a TLS failure, a reset.
    Failed(Failure),
}

/// What to do after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Delivered.
    Done,
    /// Try again after this long, with the same `messageId`s and a fresh `sentAt`.
    Backoff(Duration),
    /// Stop trying.
    GiveUp(GiveUp),
}

/// Why a request is not tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiveUp {
    /// The server refused the request for good (4xx other than 408 and 429, 501, 505, 3xx):
    /// sending it again would give the same answer, so its messages are dropped.
    Rejected,
    /// The server could not take it now and the attempts ran out: its messages are kept in the
    /// outbox for a later run.
    Exhausted,
}

/// Retry limits: exponential backoff with jitter, and how much of a server's `Retry-After` is
/// honoured. Every wait also ends at the shutdown deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// The wait after the first failed attempt; it doubles with each further attempt.
    pub backoff_base: Duration,
    /// The longest computed wait.
    pub backoff_cap: Duration,
    /// The longest `Retry-After` honoured; a longer one is shortened to this.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The detached sender's policy: it keeps trying until its own time bound, never waiting
    /// more than 2 s between attempts (a laptop back online is noticed quickly).
    pub fn for_sender() -> Self {
        Self { max_attempts: u32::MAX, backoff_cap: Duration::from_secs(2), ..Self::default() }
    }

    /// Decides what follows an attempt.
    ///
    /// `attempt` counts the attempts made so far, this one included (1 after the first).
    /// `retry_after` is the server's `Retry-After`, already parsed by [`dlt_http::parse_retry_after`].
    /// `jitter` is a random number in `[0, 1)` drawn by the caller.
    pub fn decide(&self, outcome: Outcome, attempt: u32, retry_after: Option<Duration>, jitter: f64) -> Decision {
        if let Outcome::Status(200..=299) = outcome {
            return Decision::Done;
        }
        if !is_retryable(outcome) {
            return Decision::GiveUp(GiveUp::Rejected);
        }
        if attempt >= self.max_attempts {
            return Decision::GiveUp(GiveUp::Exhausted);
        }
        Decision::Backoff(match retry_after {
            Some(wait) => wait.min(self.max_retry_after),
            None => self.backoff(attempt, jitter),
        })
    }

    /// The wait after `attempt` failed attempts without `Retry-After`: `base * 2^(attempt - 1)`,
    /// capped, of which the upper half is scaled by `jitter` ("equal jitter"), so that clients
    /// that failed together do not retry together. A jitter that is not a number counts as 0.5.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(31);
        let full = self.backoff_base.saturating_mul(1 << exponent).min(self.backoff_cap);
        let half = full / 2;
        let jitter = if jitter.is_nan() { 0.5 } else { jitter.clamp(0.0, 1.0) };
        half.saturating_add(half.mul_f64(jitter))
    }
}

/// True for what may succeed later: 408, 429, 5xx except 501 and 505, and every failure to get
/// an answer (while running, a refused connection may be a laptop offline for a moment; at exit
/// the worker does not wait for it).
fn is_retryable(outcome: Outcome) -> bool {
    match outcome {
        Outcome::Status(status) => matches!(status, 408 | 429 | 500 | 502..=504 | 506..=599),
        Outcome::Failed(_) => true,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(5),
        }
    }

    #[test]
    fn success_is_done() {
        for status in [200, 201, 202, 204, 299] {
            assert_eq!(policy().decide(Outcome::Status(status), 1, None, 0.5), Decision::Done, "{status}");
        }
    }

    #[test]
    fn transient_failures_are_retried() {
        for outcome in [
            Outcome::Status(408),
            Outcome::Status(429),
            Outcome::Status(500),
            Outcome::Status(502),
            Outcome::Status(503),
            Outcome::Status(504),
            Outcome::Status(599),
            Outcome::Failed(Failure::Refused),
            Outcome::Failed(Failure::Unresolvable),
            Outcome::Failed(Failure::Timeout),
            Outcome::Failed(Failure::Other),
        ] {
            assert!(matches!(policy().decide(outcome, 1, None, 0.5), Decision::Backoff(_)), "{outcome:?}");
        }
    }

    #[test]
    fn permanent_failures_are_rejected_at_once() {
        for status in [301, 400, 401, 403, 404, 413, 422, 501, 505] {
            assert_eq!(
                policy().decide(Outcome::Status(status), 1, None, 0.5),
                Decision::GiveUp(GiveUp::Rejected),
                "{status}"
            );
        }
    }

    #[test]
    fn attempts_run_out() {
        let policy = policy();
        assert!(matches!(policy.decide(Outcome::Status(503), 3, None, 0.0), Decision::Backoff(_)));
        assert_eq!(policy.decide(Outcome::Status(503), 4, None, 0.0), Decision::GiveUp(GiveUp::Exhausted));
        assert_eq!(policy.decide(Outcome::Failed(Failure::Timeout), 9, None, 0.0), Decision::GiveUp(GiveUp::Exhausted));
        assert_eq!(policy.decide(Outcome::Status(400), 9, None, 0.0), Decision::GiveUp(GiveUp::Rejected));
    }

    #[test]
    fn backoff_doubles_within_jitter_and_is_capped() {
        let policy = policy();
        let ms = |attempt, jitter| policy.backoff(attempt, jitter).as_millis();
        assert_eq!((ms(1, 0.0), ms(1, 0.999_999)), (50, 99));
        assert_eq!((ms(2, 0.0), ms(2, 0.5)), (100, 150));
        assert_eq!((ms(3, 0.0), ms(4, 0.0)), (200, 400));
        assert_eq!((ms(5, 0.0), ms(5, 1.0)), (500, 1_000));
        assert_eq!(ms(60, 1.0), 1_000);
        assert_eq!(ms(0, 0.0), 50);
    }

    #[test]
    fn a_jitter_that_is_not_a_number_never_panics() {
        let policy = policy();
        for jitter in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 2.0] {
            let wait = policy.backoff(3, jitter);
            assert!(wait >= Duration::from_millis(200) && wait <= Duration::from_millis(400), "{jitter}: {wait:?}");
        }
        let huge = RetryPolicy { backoff_base: Duration::MAX, backoff_cap: Duration::MAX, ..policy };
        assert!(huge.backoff(40, 1.0) >= Duration::from_secs(u64::MAX / 2));
        assert!(matches!(huge.decide(Outcome::Status(503), 1, None, f64::NAN), Decision::Backoff(_)));
    }

    #[test]
    fn the_sender_keeps_trying_with_waits_of_at_most_two_seconds() {
        let policy = RetryPolicy::for_sender();
        assert!(
            matches!(policy.decide(Outcome::Failed(Failure::Refused), 10_000, None, 0.99), Decision::Backoff(wait) if wait <= Duration::from_secs(2))
        );
    }

    #[test]
    fn retry_after_is_honoured_but_capped() {
        let policy = policy();
        let decide = |wait| policy.decide(Outcome::Status(429), 1, Some(Duration::from_secs(wait)), 0.9);
        assert_eq!(decide(2), Decision::Backoff(Duration::from_secs(2)));
        assert_eq!(decide(0), Decision::Backoff(Duration::ZERO));
        assert_eq!(decide(3_600), Decision::Backoff(Duration::from_secs(5)));
    }
}
