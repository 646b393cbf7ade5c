//! The OTLP/HTTP traces endpoint, with the specification's path rules, shown only with its
//! password hidden.

use std::fmt;

use url::Url;

/// The path appended to a base endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT`).
const TRACES_PATH: &str = "v1/traces";

/// Why an endpoint was rejected. Never carries the value, which may hold a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// The value does not parse as a URL.
    #[error("not a URL")]
    NotAUrl,
    /// The URL is not `http://` or `https://`, or has no host.
    #[error("not an http:// or https:// URL with a host")]
    NotHttp,
}

/// Where spans are posted: the full URL of the traces endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct OtlpEndpoint {
    url: Url,
}

impl OtlpEndpoint {
    /// A traces URL used as is (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); a URL without a path
    /// gets the root path `/`, as the specification says.
    pub fn traces_url(raw: &str) -> Result<Self, EndpointError> {
        parse_http(raw).map(|url| Self { url })
    }

    /// A base URL to which `v1/traces` is appended (`OTEL_EXPORTER_OTLP_ENDPOINT`,
    /// `runtime.otlp_endpoint`): `http://host:4318` and `http://host:4318/` both give
    /// `http://host:4318/v1/traces`, `http://host/otlp` gives `http://host/otlp/v1/traces`.
    pub fn from_base(raw: &str) -> Result<Self, EndpointError> {
        let mut url = parse_http(raw)?;
        let path = url.path();
        let path = if path.ends_with('/') { format!("{path}{TRACES_PATH}") } else { format!("{path}/{TRACES_PATH}") };
        url.set_path(&path);
        Ok(Self { url })
    }

    /// The URL to post to, password included.
    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    /// The password of the URL, when it has one (to hide it wherever text is exported).
    pub(crate) fn password(&self) -> Option<&str> {
        self.url.password()
    }
}

fn parse_http(raw: &str) -> Result<Url, EndpointError> {
    let url = Url::parse(raw.trim()).map_err(|_| EndpointError::NotAUrl)?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err(EndpointError::NotHttp);
    }
    Ok(url)
}

impl fmt::Display for OtlpEndpoint {
    /// The URL with its password (if any) replaced by `***`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.url.password().is_none() {
            return f.write_str(self.url.as_str());
        }
        let mut shown = self.url.clone();
        // Cannot fail: the URL has a host, since it has a password.
        let _ = shown.set_password(Some("***"));
        f.write_str(shown.as_str())
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
        assert_eq!(OtlpEndpoint::from_base("collector:4318"), Err(EndpointError::NotHttp));
        assert_eq!(OtlpEndpoint::from_base("grpc://collector:4317"), Err(EndpointError::NotHttp));
        assert_eq!(OtlpEndpoint::from_base("not a url"), Err(EndpointError::NotAUrl));
        assert_eq!(OtlpEndpoint::traces_url(""), Err(EndpointError::NotAUrl));
    }

    #[test]
    fn the_password_is_never_shown() {
        let endpoint = OtlpEndpoint::from_base("https://user:hunter2@collector:4318").unwrap();
        let shown = format!("{endpoint} {endpoint:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("https://user:***@collector:4318/v1/traces"), "{shown}");
        assert_eq!(endpoint.password(), Some("hunter2"));
    }
}
