//! When to try a request again, for every transport that retries (Segment, OTLP): one pure
//! function of what the attempt gave, how many were made, what the server asked for and how
//! much time is left, with each protocol's retryable statuses as data. No I/O, no clock: the
//! caller says how much time is left and draws the jitter.

use std::ops::RangeInclusive;
use std::time::Duration;

use crate::Failure;

/// What one attempt to send a request ended with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttemptOutcome {
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
    /// Try again after this long.
    Backoff(Duration),
    /// Stop trying.
    GiveUp(GiveUp),
}

/// Why a request is not tried again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GiveUp {
    /// The server refused the request for good (a status the protocol does not retry):
    /// sending it again would give the same answer.
    Rejected,
    /// The attempts ran out.
    Exhausted,
    /// The program is exiting and the endpoint cannot be reached (refused, unresolvable, TLS):
    /// no time is spent on it before exit.
    Unreachable,
    /// The wait before another attempt would end after the time left.
    OutOfTime,
}

/// One attempt, as [`RetryPolicy::decide`] weighs it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Attempt {
    /// What it ended with.
    pub outcome: AttemptOutcome,
    /// How many attempts were made so far, this one included (1 after the first).
    pub number: u32,
    /// The server's `Retry-After`, parsed by [`crate::parse_retry_after`].
    pub retry_after: Option<Duration>,
    /// How long until the caller must be done (a deadline, an export timeout); `None` when
    /// nothing bounds it.
    pub time_left: Option<Duration>,
    /// Whether the program is exiting (an endpoint that cannot be reached is then not retried).
    pub exiting: bool,
    /// A random number in `[0, 1)` drawn by the caller, to spread the retries of clients that
    /// failed together.
    pub jitter: f64,
}

impl Attempt {
    /// The first attempt, ending with `outcome`: nothing asked by the server, no time bound,
    /// not exiting, a jitter of one half. The `with_` methods set the rest.
    pub fn first(outcome: AttemptOutcome) -> Self {
        Self { outcome, number: 1, retry_after: None, time_left: None, exiting: false, jitter: 0.5 }
    }
}

/// The statuses Segment's libraries retry: 408, 429 and 5xx but 501 and 505.
pub const SEGMENT_RETRYABLE: &[RangeInclusive<u16>] = &[408..=408, 429..=429, 500..=500, 502..=504, 506..=599];
/// The statuses the OTLP/HTTP specification retries: 429, 502, 503 and 504.
pub const OTLP_RETRYABLE: &[RangeInclusive<u16>] = &[429..=429, 502..=504];

/// A protocol's retry rules: which statuses are retried, how many attempts, exponential
/// backoff with jitter, and how much of a server's `Retry-After` is honoured. Every failure to
/// get an answer is retried, unless the program is exiting and the endpoint is unreachable.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// The statuses worth another attempt.
    pub retryable: &'static [RangeInclusive<u16>],
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// The wait after the first failed attempt; it doubles with each further attempt.
    pub backoff_base: Duration,
    /// The longest computed wait.
    pub backoff_cap: Duration,
    /// The longest `Retry-After` honoured; a longer one is shortened to this.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// Segment: its retryable statuses, 5 attempts, 100 ms doubling to at most 10 s, a
    /// `Retry-After` of at most 30 s.
    pub fn segment() -> Self {
        Self {
            retryable: SEGMENT_RETRYABLE,
            max_attempts: 5,
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(30),
        }
    }

    /// OTLP/HTTP: the specification's retryable statuses, 4 attempts, 100 ms doubling to at
    /// most 1.6 s, a `Retry-After` of at most 30 s.
    pub fn otlp() -> Self {
        Self {
            retryable: OTLP_RETRYABLE,
            max_attempts: 4,
            backoff_base: Duration::from_millis(100),
            backoff_cap: Duration::from_millis(1_600),
            max_retry_after: Duration::from_secs(30),
        }
    }

    /// The same policy with at most `max_attempts` attempts per request.
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// The same policy backing off from `base`, doubling to at most `cap`.
    pub fn with_backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.backoff_base = base;
        self.backoff_cap = cap;
        self
    }

    /// The same policy honouring a `Retry-After` of at most `max`.
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Decides what follows an attempt.
    pub fn decide(&self, attempt: &Attempt) -> Decision {
        let retryable = match attempt.outcome {
            AttemptOutcome::Status(200..=299) => return Decision::Done,
            AttemptOutcome::Status(status) => self.retryable.iter().any(|range| range.contains(&status)),
            AttemptOutcome::Failed(failure) if attempt.exiting && !failure.may_succeed_on_retry() => {
                return Decision::GiveUp(GiveUp::Unreachable);
            }
            AttemptOutcome::Failed(_) => true,
        };
        if !retryable {
            return Decision::GiveUp(GiveUp::Rejected);
        }
        if attempt.number >= self.max_attempts {
            return Decision::GiveUp(GiveUp::Exhausted);
        }
        let wait = match attempt.retry_after {
            Some(wait) => wait.min(self.max_retry_after),
            None => self.backoff(attempt.number, attempt.jitter),
        };
        match attempt.time_left {
            Some(left) if wait >= left => Decision::GiveUp(GiveUp::OutOfTime),
            _ => Decision::Backoff(wait),
        }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy::segment()
            .with_max_attempts(4)
            .with_backoff(Duration::from_millis(100), Duration::from_secs(1))
            .with_max_retry_after(Duration::from_secs(5))
    }

    fn decide(policy: &RetryPolicy, outcome: AttemptOutcome, number: u32) -> Decision {
        policy.decide(&Attempt { number, ..Attempt::first(outcome) })
    }

    #[test]
    fn success_is_done() {
        for status in [200, 201, 202, 204, 299] {
            assert_eq!(decide(&policy(), AttemptOutcome::Status(status), 1), Decision::Done, "{status}");
        }
    }

    #[test]
    fn each_protocol_retries_its_own_statuses_and_every_failure_to_get_an_answer() {
        let failures = [Failure::Refused, Failure::Unresolvable, Failure::Timeout, Failure::Tls, Failure::Other];
        let cases: [(RetryPolicy, &[u16], &[u16]); 2] = [
            (RetryPolicy::segment(), &[408, 429, 500, 502, 503, 504, 506, 599], &[301, 400, 401, 404, 413, 501, 505]),
            (RetryPolicy::otlp(), &[429, 502, 503, 504], &[400, 404, 408, 500, 501, 505, 599]),
        ];
        for (policy, retried, rejected) in cases {
            for &status in retried {
                assert!(matches!(decide(&policy, AttemptOutcome::Status(status), 1), Decision::Backoff(_)), "{status}");
            }
            for &status in rejected {
                assert_eq!(
                    decide(&policy, AttemptOutcome::Status(status), 1),
                    Decision::GiveUp(GiveUp::Rejected),
                    "{status}"
                );
            }
            for failure in failures {
                assert!(
                    matches!(decide(&policy, AttemptOutcome::Failed(failure), 1), Decision::Backoff(_)),
                    "{failure}"
                );
            }
        }
    }

    #[test]
    fn attempts_run_out() {
        let policy = policy();
        assert!(matches!(decide(&policy, AttemptOutcome::Status(503), 3), Decision::Backoff(_)));
        assert_eq!(decide(&policy, AttemptOutcome::Status(503), 4), Decision::GiveUp(GiveUp::Exhausted));
        assert_eq!(decide(&policy, AttemptOutcome::Failed(Failure::Timeout), 9), Decision::GiveUp(GiveUp::Exhausted));
        assert_eq!(decide(&policy, AttemptOutcome::Status(400), 9), Decision::GiveUp(GiveUp::Rejected));
    }

    #[test]
    fn an_unreachable_endpoint_is_not_retried_at_exit() {
        let exiting =
            |failure| policy().decide(&Attempt { exiting: true, ..Attempt::first(AttemptOutcome::Failed(failure)) });
        for failure in [Failure::Refused, Failure::Unresolvable, Failure::Tls] {
            assert_eq!(exiting(failure), Decision::GiveUp(GiveUp::Unreachable), "{failure}");
        }
        for failure in [Failure::Timeout, Failure::Other] {
            assert!(matches!(exiting(failure), Decision::Backoff(_)), "{failure}");
        }
    }

    #[test]
    fn no_wait_outlasts_the_time_left() {
        let attempt = |time_left, retry_after: Option<u64>| Attempt {
            time_left: Some(Duration::from_millis(time_left)),
            retry_after: retry_after.map(Duration::from_secs),
            jitter: 1.0,
            ..Attempt::first(AttemptOutcome::Status(503))
        };
        assert_eq!(policy().decide(&attempt(100, None)), Decision::GiveUp(GiveUp::OutOfTime));
        assert_eq!(policy().decide(&attempt(101, None)), Decision::Backoff(Duration::from_millis(100)));
        assert_eq!(policy().decide(&attempt(1_000, Some(2))), Decision::GiveUp(GiveUp::OutOfTime));
        assert_eq!(policy().decide(&attempt(60_000, Some(2))), Decision::Backoff(Duration::from_secs(2)));
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
        let otlp = RetryPolicy::otlp();
        assert_eq!(otlp.backoff(30, 1.0), Duration::from_millis(1_600));
    }

    #[test]
    fn a_jitter_that_is_not_a_number_never_panics() {
        let policy = policy();
        for jitter in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 2.0] {
            let wait = policy.backoff(3, jitter);
            assert!(wait >= Duration::from_millis(200) && wait <= Duration::from_millis(400), "{jitter}: {wait:?}");
        }
        let huge = policy.clone().with_backoff(Duration::MAX, Duration::MAX);
        assert!(huge.backoff(40, 1.0) >= Duration::from_secs(u64::MAX / 2));
        let attempt = Attempt { jitter: f64::NAN, ..Attempt::first(AttemptOutcome::Status(503)) };
        assert!(matches!(huge.decide(&attempt), Decision::Backoff(_)));
    }

    #[test]
    fn retry_after_is_honoured_but_capped() {
        let policy = policy();
        let decide = |wait| {
            policy.decide(&Attempt {
                retry_after: Some(Duration::from_secs(wait)),
                ..Attempt::first(AttemptOutcome::Status(429))
            })
        };
        assert_eq!(decide(2), Decision::Backoff(Duration::from_secs(2)));
        assert_eq!(decide(0), Decision::Backoff(Duration::ZERO));
        assert_eq!(decide(3_600), Decision::Backoff(Duration::from_secs(5)));
    }
}
