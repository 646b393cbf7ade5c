//! What kind of failure a request met, for deciding what is worth retrying.

use std::error::Error;
use std::fmt;
use std::io;

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
