//! The OTLP/HTTP traces endpoint, with the specification's path rules, checked and shown by
//! dlt-redact's one rule for URLs (its credentials hidden, a value that does not parse never
//! echoed).

use std::fmt;

use dlt_redact::{HttpUrl, UrlError};
use url::Url;

/// The path appended to a base endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`).
const TRACES_PATH: &str = "v1/traces";

/// Where spans are posted: the full URL of the traces endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct OtlpEndpoint {
    url: HttpUrl,
}

impl OtlpEndpoint {
    /// A traces URL used as is (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); a URL without a path
    /// gets the root path `/`, as the specification says. Surrounding whitespace is ignored.
    pub fn traces_url(raw: &str) -> Result<Self, UrlError> {
        HttpUrl::parse(raw.trim()).map(|url| Self { url })
    }

    /// A base URL to which `v1/traces` is appended (`OTEL_EXPORTER_OTLP_ENDPOINT`,
    /// `runtime.otlp_endpoint`): `http://host:4318` and `http://host:4318/` both give
    /// `http://host:4318/v1/traces`, `http://host/otlp` gives `http://host/otlp/v1/traces`.
    pub fn from_base(raw: &str) -> Result<Self, UrlError> {
        let base = HttpUrl::parse(raw.trim())?;
        let mut url = base.url().clone();
        let path = url.path();
        let path = if path.ends_with('/') { format!("{path}{TRACES_PATH}") } else { format!("{path}/{TRACES_PATH}") };
        url.set_path(&path);
        HttpUrl::parse(url.as_str()).map(|url| Self { url })
    }

    /// The URL to post to, password included.
    pub(crate) fn url(&self) -> &Url {
        self.url.url()
    }

    /// The credentials of the URL as dlt-redact reads them (to hide them wherever text is
    /// exported).
    pub(crate) fn credentials(&self) -> Vec<String> {
        dlt_redact::url_credentials(self.url.as_str())
    }
}

impl fmt::Display for OtlpEndpoint {
    /// The URL with its user info, query values and fragment (if any) replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.url, f)
    }
}

impl fmt::Debug for OtlpEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OtlpEndpoint({self})")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn base(raw: &str) -> String {
        OtlpEndpoint::from_base(raw).unwrap().url().to_string()
    }

    #[test]
    fn a_base_endpoint_gets_v1_traces_respecting_a_trailing_slash() {
        assert_eq!(base("http://collector:4318"), "http://collector:4318/v1/traces");
        assert_eq!(base("http://collector:4318/"), "http://collector:4318/v1/traces");
        assert_eq!(base("https://collector/otlp"), "https://collector/otlp/v1/traces");
        assert_eq!(base("https://collector/otlp/"), "https://collector/otlp/v1/traces");
    }

    #[test]
    fn a_traces_endpoint_is_used_as_is() {
        let url = |raw| OtlpEndpoint::traces_url(raw).unwrap().url().to_string();
        assert_eq!(url("http://collector:4318/custom/path"), "http://collector:4318/custom/path");
        assert_eq!(url("http://collector:4318/v1/traces/"), "http://collector:4318/v1/traces/");
        assert_eq!(url("http://collector:4318"), "http://collector:4318/");
    }

    #[test]
    fn only_http_urls_with_a_host_are_accepted() {
        assert_eq!(OtlpEndpoint::from_base("collector:4318"), Err(UrlError::NotAbsolute));
        assert_eq!(OtlpEndpoint::from_base("grpc://collector:4317"), Err(UrlError::Scheme));
        assert_eq!(OtlpEndpoint::from_base("not a url"), Err(UrlError::WhitespaceOrControl));
        assert_eq!(OtlpEndpoint::traces_url(""), Err(UrlError::Empty));
        assert_eq!(OtlpEndpoint::traces_url(" http://collector:4318/v1/traces\n").unwrap().url().path(), "/v1/traces");
    }

    #[test]
    fn the_password_is_never_shown() {
        let endpoint = OtlpEndpoint::from_base("https://user:hunter2@collector:4318").unwrap();
        let shown = format!("{endpoint} {endpoint:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("https://***@collector:4318/v1/traces"), "{shown}");
        assert_eq!(endpoint.credentials(), ["user:hunter2", "hunter2"]);
        // A password the URL parser would read as port and path is refused, never shown.
        let error = OtlpEndpoint::traces_url("https://user:443/hunter2@collector/v1/traces").unwrap_err();
        assert_eq!(error, UrlError::AmbiguousCredentials);
        let shown = format!("{error} {error:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
    }
}
