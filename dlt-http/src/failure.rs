//! What kind of failure a request met, and when the server asked to be tried again, for
//! deciding what is worth retrying.

use std::error::Error;
use std::fmt;
use std::io;
use std::time::{Duration, SystemTime};

/// What kind of failure a request met. Transports use it to decide what not to retry at exit:
/// an endpoint that refuses connections, a name that does not resolve and a certificate that is
/// not trusted will not change within the seconds before exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Failure {
    /// Nothing listens there (the endpoint, or the proxy, refused the connection).
    Refused,
    /// The host name does not resolve.
    Unresolvable,
    /// Connecting or the whole request took longer than its timeout.
    Timeout,
    /// The TLS handshake failed: a certificate not trusted, expired, for another name, ...
    Tls,
    /// Anything else: a connection reset or closed, a proxy that could not reach the target, ...
    Other,
}

impl Failure {
    /// Classifies a reqwest error by walking its chain of sources.
    pub fn of(error: &reqwest::Error) -> Self {
        let mut found = Found::default();
        visit(error, &mut found);
        if found.tls {
            Self::Tls
        } else if found.unresolvable {
            Self::Unresolvable
        } else if found.refused {
            Self::Refused
        } else if found.timeout || error.is_timeout() {
            Self::Timeout
        } else {
            Self::Other
        }
    }

    /// True when another attempt within the seconds before exit may succeed (a timeout, a reset):
    /// false for a refused connection, a name that does not resolve and a TLS failure.
    pub fn may_succeed_on_retry(self) -> bool {
        matches!(self, Self::Timeout | Self::Other)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Refused => "connection refused",
            Self::Unresolvable => "host name does not resolve",
            Self::Timeout => "timed out",
            Self::Tls => "TLS handshake failed (certificate not trusted?)",
            Self::Other => "request failed",
        })
    }
}

/// Parses a `Retry-After` value, in seconds (`120`, or `2.5` as Sentry's servers may send) or
/// as an HTTP date (`Wed, 25 Nov 2026 14:11:27 GMT`), into a wait counted from `now`.
/// Surrounding whitespace is ignored. A date in the past means no wait; anything else (a
/// negative number, text) is not understood and gives `None`. Shared by every transport.
///
/// ```
/// use std::time::{Duration, SystemTime};
///
/// assert_eq!(dlt_http::parse_retry_after("120", SystemTime::now()), Some(Duration::from_secs(120)));
/// assert_eq!(dlt_http::parse_retry_after("2.5", SystemTime::now()), Some(Duration::from_millis(2_500)));
/// assert_eq!(dlt_http::parse_retry_after("soon", SystemTime::now()), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

#[derive(Default)]
struct Found {
    tls: bool,
    unresolvable: bool,
    refused: bool,
    timeout: bool,
}

/// Visits `error` and its sources; an `io::Error` wrapping another error is opened too (its
/// `source()` skips the wrapped error itself).
fn visit(error: &(dyn Error + 'static), found: &mut Found) {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<rustls::Error>() {
            found.tls = true;
        }
        #[cfg(feature = "test-util")]
        if error.is::<crate::test_util::NameNotResolved>() {
            found.unresolvable = true;
        }
        // hyper-util labels every failure of the resolver so; its error type is private.
        if error.to_string() == "dns error" {
            found.unresolvable = true;
        }
        if let Some(io_error) = error.downcast_ref::<io::Error>() {
            match io_error.kind() {
                io::ErrorKind::ConnectionRefused => found.refused = true,
                io::ErrorKind::TimedOut => found.timeout = true,
                _ => {}
            }
            if let Some(inner) = io_error.get_ref() {
                visit(inner, found);
            }
        }
        current = error.source();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = httpdate::parse_http_date("Wed, 25 Nov 2026 14:11:27 GMT").unwrap();
        assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 3 ", now), Some(Duration::from_secs(3)));
        assert_eq!(parse_retry_after("Wed, 25 Nov 2026 14:12:00 GMT", now), Some(Duration::from_secs(33)));
        assert_eq!(parse_retry_after("Wed, 25 Nov 2026 14:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("1.5", now), Some(Duration::from_millis(1_500)), "as Sentry's servers may send");
        for not_a_wait in ["NaN", "inf", "-0.5", "1e400"] {
            assert_eq!(parse_retry_after(not_a_wait, now), None, "{not_a_wait}");
        }
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse_retry_after(" 3 ", now), Some(Duration::from_secs(3)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(5));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(5)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(5));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
