//! Why a client could not be built. No variant holds a proxy URL or a value that did not parse.

use std::path::PathBuf;

/// Why [`build_client`](crate::build_client) failed. Nothing here shows a password or echoes a
/// value that did not parse; trust files are named by path (local output, not telemetry).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// A proxy variable holds something that is not a usable proxy URL.
    #[error("{variable} is not a usable proxy URL: {problem}")]
    InvalidProxy {
        /// The variable that held it, as spelled in the environment (`https_proxy`, `HTTPS_PROXY`, ...).
        variable: &'static str,
        /// What is wrong with it.
        problem: ProxyUrlProblem,
    },
    /// `SSL_CERT_FILE` or `SSL_CERT_DIR` names something that cannot be trusted.
    #[error("{variable}={}: {problem}", path.display())]
    TrustFile {
        /// `SSL_CERT_FILE` or `SSL_CERT_DIR`.
        variable: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// What is wrong with it.
        problem: TrustFileProblem,
    },
    /// The user agent is not a valid header value.
    #[error("the user agent is not a valid HTTP header value")]
    InvalidUserAgent,
    /// The TLS configuration could not be built.
    #[error("could not set up TLS")]
    Tls(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    /// reqwest refused the configuration.
    #[error("could not build the HTTP client")]
    Client(#[source] reqwest::Error),
}

/// What is wrong with a proxy URL; never the URL itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProxyUrlProblem {
    /// It is not a URL by dlt-redact's one rule for URLs: it does not parse, has no host, holds
    /// whitespace, or looks like `user:password@` where the parser reads no password (a `/`,
    /// `?` or `#` in the password not percent-encoded).
    #[error(transparent)]
    Url(#[from] dlt_redact::UrlError),
    /// A scheme other than `http` or `https` (SOCKS is not built in).
    #[error("scheme {0} is not supported (http and https are)")]
    UnsupportedScheme(String),
}

/// What is wrong with a trust file or folder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustFileProblem {
    /// Nothing is there.
    #[error("not found")]
    NotFound,
    /// A file where a folder is expected.
    #[error("not a folder")]
    NotAFolder,
    /// It is not read: not a regular file (a FIFO, a device, a folder where a file is
    /// expected, ...), larger than [`TRUST_FILE_CAP`](crate::TRUST_FILE_CAP), or the OS refused.
    #[error("{}", describe(.0))]
    Read(#[source] dlt_fs::ReadError),
    /// It holds no PEM certificate that rustls accepts.
    #[error("holds no usable PEM certificate")]
    NoCertificate,
}

/// `is a named pipe (FIFO), not a regular file`, `is larger than 8 MiB`, or `cannot be read:`
/// and what the OS said.
fn describe(error: &dlt_fs::ReadError) -> String {
    match error {
        dlt_fs::ReadError::Io(error) => format!("cannot be read: {error}"),
        other => other.to_string(),
    }
}
