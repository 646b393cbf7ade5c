//! Sentry rate limits as pure decisions: what a response says (429, `Retry-After`,
//! `X-Sentry-Rate-Limits`) and whether an envelope may be sent now.

use std::time::{Duration, Instant, SystemTime};

use sentry_core::protocol::{Envelope, EnvelopeItem};

/// How long to back off after a 429 that names no duration.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The rate-limit category of an envelope, from its first item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Category {
    /// Error events.
    Error,
    /// Transactions.
    Transaction,
    /// Anything else (client reports, sessions): only limited by an all-category limit.
    Other,
}

impl Category {
    /// The category of an envelope's first item.
    pub(crate) fn of(envelope: &Envelope) -> Self {
        match envelope.items().next() {
            Some(EnvelopeItem::Event(_)) => Self::Error,
            Some(EnvelopeItem::Transaction(_)) => Self::Transaction,
            _ => Self::Other,
        }
    }
}

/// Until when each category is rate-limited.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct RateLimits {
    all: Option<Instant>,
    error: Option<Instant>,
    transaction: Option<Instant>,
}

impl RateLimits {
    /// Whether an envelope of `category` must be dropped at `now`.
    pub(crate) fn is_limited(&self, category: Category, now: Instant) -> bool {
        let specific = match category {
            Category::Error => self.error,
            Category::Transaction => self.transaction,
            Category::Other => None,
        };
        [self.all, specific].into_iter().flatten().any(|until| now < until)
    }

    /// Records what a response said. `X-Sentry-Rate-Limits` wins over `Retry-After` (parsed by
    /// `dlt-http`, as every transport does); a 429 without either, or with no wait in it, backs
    /// off for a minute.
    pub(crate) fn update(
        &mut self,
        status: u16,
        retry_after: Option<&str>,
        sentry_rate_limits: Option<&str>,
        now: Instant,
    ) {
        if let Some(header) = sentry_rate_limits {
            self.apply_sentry_header(header, now);
        } else if status == 429 {
            let delay = retry_after
                .and_then(|value| dlt_http::parse_retry_after(value, SystemTime::now()))
                .filter(|delay| !delay.is_zero())
                .unwrap_or(DEFAULT_RETRY_AFTER);
            extend(&mut self.all, until(now, delay));
        }
    }

    /// `X-Sentry-Rate-Limits: <seconds>:<category;category>:<scope>[:...], ...`; an empty
    /// category list means every category.
    fn apply_sentry_header(&mut self, header: &str, now: Instant) {
        for limit in header.split(',') {
            let mut parts = limit.trim().split(':');
            let Some(delay) = parts.next().and_then(parse_seconds) else {
                continue;
            };
            let until = until(now, delay);
            let categories = parts.next().unwrap_or("");
            if categories.is_empty() {
                extend(&mut self.all, until);
                continue;
            }
            for category in categories.split(';') {
                match category {
                    "error" | "default" => extend(&mut self.error, until),
                    "transaction" => extend(&mut self.transaction, until),
                    _ => {}
                }
            }
        }
    }
}

/// Moves a limit later, never earlier.
fn extend(limit: &mut Option<Instant>, until: Instant) {
    if limit.is_none_or(|current| current < until) {
        *limit = Some(until);
    }
}

/// The longest a server may make us hold back: anything longer is a broken header.
const MAX_RATE_LIMIT: Duration = Duration::from_secs(3600);

/// When a limit of `delay` from `now` ends, with the delay capped so the clock cannot overflow.
fn until(now: Instant, delay: Duration) -> Instant {
    let delay = delay.min(MAX_RATE_LIMIT);
    now.checked_add(delay).unwrap_or(now)
}

/// Parses a non-negative number of seconds, e.g. `60` or `2.5`.
fn parse_seconds(text: &str) -> Option<Duration> {
    let seconds: f64 = text.trim().parse().ok()?;
    Duration::try_from_secs_f64(seconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absurd_delays_are_capped_not_overflowing() {
        let now = Instant::now();
        let mut limits = RateLimits::default();
        limits.update(429, Some("1e19"), None, now);
        limits.update(200, None, Some("1e300::organization"), now);
        assert!(limits.is_limited(Category::Error, now + Duration::from_secs(3599)));
        assert!(!limits.is_limited(Category::Error, now + MAX_RATE_LIMIT + Duration::from_secs(1)));
    }

    #[test]
    fn a_429_with_retry_after_limits_everything_for_that_long() {
        let now = Instant::now();
        let mut limits = RateLimits::default();
        limits.update(429, Some("10"), None, now);
        assert!(limits.is_limited(Category::Error, now + Duration::from_secs(9)));
        assert!(limits.is_limited(Category::Other, now + Duration::from_secs(9)));
        assert!(!limits.is_limited(Category::Error, now + Duration::from_secs(10)));
    }

    #[test]
    fn a_429_without_headers_backs_off_a_minute() {
        let now = Instant::now();
        let mut limits = RateLimits::default();
        limits.update(429, Some("Wed, 21 Oct 2015 07:28:00 GMT"), None, now);
        assert!(limits.is_limited(Category::Transaction, now + Duration::from_secs(59)));
        assert!(!limits.is_limited(Category::Transaction, now + Duration::from_secs(60)));
    }

    #[test]
    fn sentry_header_limits_only_the_named_categories() {
        let now = Instant::now();
        let mut limits = RateLimits::default();
        limits.update(200, None, Some("60:transaction:key, 2.5:error;default:organization"), now);
        let later = now + Duration::from_secs(2);
        assert!(limits.is_limited(Category::Transaction, later));
        assert!(limits.is_limited(Category::Error, later));
        assert!(!limits.is_limited(Category::Other, later));
        assert!(!limits.is_limited(Category::Error, now + Duration::from_secs(3)));
    }

    #[test]
    fn sentry_header_without_categories_limits_everything_and_garbage_is_ignored() {
        let now = Instant::now();
        let mut limits = RateLimits::default();
        limits.update(429, Some("1"), Some("nonsense, 30::organization"), now);
        assert!(limits.is_limited(Category::Other, now + Duration::from_secs(29)));
        assert!(!limits.is_limited(Category::Other, now + Duration::from_secs(30)));
    }

    #[test]
    fn success_without_headers_changes_nothing() {
        let now = Instant::now();
        let mut limits = RateLimits::default();
        limits.update(200, Some("100"), None, now);
        assert_eq!(limits, RateLimits::default());
    }
}
