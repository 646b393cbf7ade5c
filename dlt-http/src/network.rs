//! Proxy and trust settings, read through a lookup the way curl reads them.

use std::ffi::OsStr;
use std::fmt;
use std::path::PathBuf;

use dlt_redact::{display_url, parse_url};
use url::Url;

use crate::error::{HttpError, ProxyUrlProblem};

/// The proxy variables for `http://` targets, in the order they are looked up.
const HTTP_PROXY: [&str; 2] = ["http_proxy", "HTTP_PROXY"];
/// The proxy variables for `https://` targets.
const HTTPS_PROXY: [&str; 2] = ["https_proxy", "HTTPS_PROXY"];
/// The proxy variables for any target without a more specific one.
const ALL_PROXY: [&str; 2] = ["all_proxy", "ALL_PROXY"];
/// The hosts that bypass every proxy.
const NO_PROXY: [&str; 2] = ["no_proxy", "NO_PROXY"];
/// A PEM file of extra trusted certificates (OpenSSL's name; upper case only, as OpenSSL reads it).
pub(crate) const SSL_CERT_FILE: &str = "SSL_CERT_FILE";
/// Folders of extra trusted certificates, separated like `PATH`.
pub(crate) const SSL_CERT_DIR: &str = "SSL_CERT_DIR";
/// Set by a web server for a CGI program, where `HTTP_PROXY` may come from a request header.
const CGI_MARKER: &str = "REQUEST_METHOD";

/// Proxies and extra trust for HTTP clients, read from an environment the caller hands over.
///
/// Read as curl reads them: for each of `http_proxy`, `https_proxy`, `all_proxy` and `no_proxy`
/// the lower-case name first, then the upper-case one; an empty value counts as unset. Like
/// Python and reqwest (and unlike curl, which reads `http_proxy` only in lower case),
/// `HTTP_PROXY` is honoured too, except in a CGI program (`REQUEST_METHOD` set), where a client
/// can set it through a request header. A proxy URL without a scheme is `http://`. `SSL_CERT_FILE`
/// and `SSL_CERT_DIR` (upper case, as OpenSSL reads them) add to the trusted roots.
///
/// Proxy URLs are parsed and shown by dlt-redact's one rule for URLs ([`dlt_redact::parse_url`],
/// [`dlt_redact::display_url`]). `Debug` and `Display` show a proxy's user info as `***`; a value
/// that does not parse is never kept, only which variable held it. A value whose password the
/// URL parser would read as a port and a path (`http://user:123/secret@proxy:3128`: a `/`, `?`
/// or `#` in the password not percent-encoded) is refused, not taken for a proxy named `user`.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct NetworkEnv {
    http_proxy: Option<ProxySetting>,
    https_proxy: Option<ProxySetting>,
    all_proxy: Option<ProxySetting>,
    no_proxy: Option<String>,
    cert_file: Option<PathBuf>,
    cert_dirs: Vec<PathBuf>,
}

/// One proxy variable: which name held it, and its URL or why it is not one.
#[derive(Clone, PartialEq, Eq)]
struct ProxySetting {
    variable: &'static str,
    url: Result<Url, ProxyUrlProblem>,
}

impl NetworkEnv {
    /// Reads the settings through `lookup` (a variable's value, or `None` when unset).
    ///
    /// ```
    /// use dlt_http::NetworkEnv;
    ///
    /// let env = NetworkEnv::from_lookup(|name| match name {
    ///     "HTTPS_PROXY" => Some("http://user:secret@proxy.internal:3128".into()),
    ///     "no_proxy" => Some("localhost,127.0.0.1".into()),
    ///     _ => None,
    /// });
    /// assert!(env.to_string().contains("http://***@proxy.internal:3128/ (HTTPS_PROXY)"));
    /// assert!(!format!("{env:?}").contains("secret"));
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let value = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let first = |names: &[&'static str]| names.iter().find_map(|name| value(name).map(|v| (*name, v)));
        let proxy = |names: &[&'static str]| {
            first(names).map(|(variable, raw)| ProxySetting { variable, url: parse_proxy_url(&raw) })
        };
        let http_names: &[&'static str] = if value(CGI_MARKER).is_some() { &HTTP_PROXY[..1] } else { &HTTP_PROXY };
        Self {
            http_proxy: proxy(http_names),
            https_proxy: proxy(&HTTPS_PROXY),
            all_proxy: proxy(&ALL_PROXY),
            no_proxy: first(&NO_PROXY).map(|(_, list)| list.trim().to_owned()),
            cert_file: value(SSL_CERT_FILE).map(PathBuf::from),
            cert_dirs: value(SSL_CERT_DIR)
                .map(|dirs| std::env::split_paths(OsStr::new(&dirs)).filter(|p| !p.as_os_str().is_empty()).collect())
                .unwrap_or_default(),
        }
    }

    /// Reads the settings from this process's environment. Variables that are not valid UTF-8
    /// count as unset.
    pub fn from_process() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// `SSL_CERT_FILE`, when set.
    pub fn cert_file(&self) -> Option<&std::path::Path> {
        self.cert_file.as_deref()
    }

    /// The folders of `SSL_CERT_DIR`, when set.
    pub fn cert_dirs(&self) -> &[PathBuf] {
        &self.cert_dirs
    }

    /// True when a proxy variable is set (usable or not).
    pub fn has_proxy(&self) -> bool {
        self.http_proxy.is_some() || self.https_proxy.is_some() || self.all_proxy.is_some()
    }

    /// The proxies to give the client: for `http://` and for `https://` targets, each with the
    /// `NO_PROXY` list. Empty when `NO_PROXY` is `*` (curl: every host bypasses the proxy).
    pub(crate) fn proxies(&self) -> Result<Vec<reqwest::Proxy>, HttpError> {
        let usable = |setting: &Option<ProxySetting>| -> Result<Option<Url>, HttpError> {
            match setting {
                None => Ok(None),
                Some(ProxySetting { url: Ok(url), .. }) => Ok(Some(url.clone())),
                Some(ProxySetting { variable, url: Err(problem) }) => {
                    Err(HttpError::InvalidProxy { variable, problem: problem.clone() })
                }
            }
        };
        let all = usable(&self.all_proxy)?;
        let http = usable(&self.http_proxy)?.or_else(|| all.clone());
        let https = usable(&self.https_proxy)?.or(all);
        if self.bypasses_everything() {
            return Ok(Vec::new());
        }
        let no_proxy = || self.no_proxy.as_deref().and_then(reqwest::NoProxy::from_string);
        let mut proxies = Vec::new();
        if let Some(url) = http {
            proxies.push(reqwest::Proxy::http(url).map_err(HttpError::Client)?.no_proxy(no_proxy()));
        }
        if let Some(url) = https {
            proxies.push(reqwest::Proxy::https(url).map_err(HttpError::Client)?.no_proxy(no_proxy()));
        }
        Ok(proxies)
    }

    /// `NO_PROXY` holds `*`.
    fn bypasses_everything(&self) -> bool {
        self.no_proxy.as_deref().is_some_and(|list| list.split([',', ' ']).any(|entry| entry.trim() == "*"))
    }

    fn proxy_settings(&self) -> [(&'static str, Option<&ProxySetting>); 3] {
        [("http", self.http_proxy.as_ref()), ("https", self.https_proxy.as_ref()), ("all", self.all_proxy.as_ref())]
    }
}

/// Parses a proxy variable as curl does: no scheme means `http://`; `http` and `https` proxies
/// only (SOCKS is not built in). The rest is dlt-redact's rule for URLs ([`parse_url`]), which
/// refuses a value whose password the parser would read as a port and a path.
fn parse_proxy_url(raw: &str) -> Result<Url, ProxyUrlProblem> {
    let raw = raw.trim();
    let url = if raw.contains("://") { parse_url(raw) } else { parse_url(&format!("http://{raw}")) }?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(ProxyUrlProblem::UnsupportedScheme(other.to_owned())),
    }
}

impl fmt::Display for ProxySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.url {
            Ok(url) => write!(f, "{} ({})", display_url(url), self.variable),
            Err(problem) => write!(f, "unusable: {problem} ({})", self.variable),
        }
    }
}

impl fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Debug for NetworkEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { http_proxy, https_proxy, all_proxy, no_proxy, cert_file, cert_dirs } = self;
        f.debug_struct("NetworkEnv")
            .field("http_proxy", http_proxy)
            .field("https_proxy", https_proxy)
            .field("all_proxy", all_proxy)
            .field("no_proxy", no_proxy)
            .field("cert_file", cert_file)
            .field("cert_dirs", cert_dirs)
            .finish()
    }
}

/// One line for status output: the proxies (passwords hidden), `NO_PROXY`, and what is trusted.
impl fmt::Display for NetworkEnv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let proxies: Vec<String> = self
            .proxy_settings()
            .into_iter()
            .filter_map(|(target, setting)| setting.map(|setting| format!("{target}={setting}")))
            .collect();
        if proxies.is_empty() {
            f.write_str("proxy: none")?;
        } else {
            write!(f, "proxy: {}", proxies.join(", "))?;
        }
        if let Some(list) = &self.no_proxy {
            write!(f, "; no_proxy: {list}")?;
        }
        f.write_str("; trust: bundled roots, OS store")?;
        if let Some(file) = &self.cert_file {
            write!(f, ", {SSL_CERT_FILE}={}", file.display())?;
        }
        if !self.cert_dirs.is_empty() {
            let dirs: Vec<String> = self.cert_dirs.iter().map(|dir| dir.display().to_string()).collect();
            write!(f, ", {SSL_CERT_DIR}={}", dirs.join(":"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> NetworkEnv {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        NetworkEnv::from_lookup(move |name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    fn shown(setting: &Option<ProxySetting>) -> String {
        setting.as_ref().map(ToString::to_string).unwrap_or_default()
    }

    #[test]
    fn lower_case_wins_over_upper_case() {
        let env = env(&[("https_proxy", "http://lower:1"), ("HTTPS_PROXY", "http://upper:2")]);
        assert_eq!(shown(&env.https_proxy), "http://lower:1/ (https_proxy)");
    }

    #[test]
    fn an_empty_lower_case_value_falls_back_to_upper_case() {
        let env = env(&[("no_proxy", ""), ("NO_PROXY", "localhost"), ("all_proxy", " "), ("ALL_PROXY", "p:8")]);
        assert_eq!(env.no_proxy.as_deref(), Some("localhost"));
        assert_eq!(shown(&env.all_proxy), "http://p:8/ (ALL_PROXY)");
    }

    #[test]
    fn upper_case_http_proxy_is_ignored_in_a_cgi_program() {
        let plain = env(&[("HTTP_PROXY", "http://p:1")]);
        assert!(plain.http_proxy.is_some());
        let cgi = env(&[("HTTP_PROXY", "http://p:1"), ("REQUEST_METHOD", "GET")]);
        assert!(cgi.http_proxy.is_none());
        let cgi_lower = env(&[("http_proxy", "http://p:1"), ("REQUEST_METHOD", "GET")]);
        assert!(cgi_lower.http_proxy.is_some());
    }

    #[test]
    fn a_proxy_without_scheme_is_http() {
        let env = env(&[("HTTPS_PROXY", "user:pw@proxy.internal:3128")]);
        assert_eq!(shown(&env.https_proxy), "http://***@proxy.internal:3128/ (HTTPS_PROXY)");
    }

    #[test]
    fn unusable_proxies_name_the_variable_and_never_echo_the_value() {
        for (raw, problem) in [
            ("http://user:hunter2@[::1", "not a valid URL: invalid IPv6 address"),
            ("socks5://user:hunter2@proxy:1080", "scheme socks5 is not supported"),
            ("http://user:hunter2@:8080", "the URL has no host"),
            ("http://user:hunter2 x@proxy:8080", "whitespace"),
            ("user:123/hunter2@proxy:3128", "percent-encode"),
        ] {
            let env = env(&[("ALL_PROXY", raw)]);
            let error = env.proxies().unwrap_err().to_string();
            assert!(error.starts_with("ALL_PROXY"), "{error}");
            assert!(error.contains(problem), "{error}");
            for text in [error, format!("{env:?}"), env.to_string()] {
                assert!(!text.contains("hunter2"), "{text}");
            }
        }
    }

    #[test]
    fn a_password_the_parser_would_read_as_port_and_path_is_refused_and_never_shown() {
        let env = env(&[("HTTPS_PROXY", "http://user:123/secret@proxy:3128")]);
        assert!(env.has_proxy());
        let error = env.proxies().unwrap_err();
        assert!(matches!(
            &error,
            HttpError::InvalidProxy {
                variable: "HTTPS_PROXY",
                problem: ProxyUrlProblem::Url(dlt_redact::UrlError::AmbiguousCredentials)
            }
        ));
        let mut shown = vec![format!("{env:?}"), env.to_string(), format!("{error:?}")];
        let mut source: Option<&dyn std::error::Error> = Some(&error);
        while let Some(error) = source {
            shown.push(error.to_string());
            source = error.source();
        }
        assert!(
            shown[1].contains("https=unusable: the URL has an `@` that does not end a user name or password"),
            "{}",
            shown[1]
        );
        for text in shown {
            assert!(!text.contains("secret"), "{text}");
            assert!(!text.contains("123"), "{text}");
        }
    }

    #[test]
    fn specific_proxies_win_over_all_proxy() {
        let env = env(&[("ALL_PROXY", "http://all:1"), ("https_proxy", "http://tls:2")]);
        assert_eq!(env.proxies().unwrap().len(), 2);
        assert!(format!("{env}").contains("https=http://tls:2/ (https_proxy)"));
    }

    #[test]
    fn no_proxy_star_means_no_proxy_at_all() {
        let env = env(&[("ALL_PROXY", "http://all:1"), ("NO_PROXY", "example.com, *")]);
        assert!(env.has_proxy());
        assert!(env.proxies().unwrap().is_empty());
    }

    #[test]
    fn trust_variables_are_upper_case_only_and_split_like_path() {
        let env = env(&[("ssl_cert_file", "/lower"), ("SSL_CERT_FILE", "/ca.pem"), ("SSL_CERT_DIR", "/a::/b")]);
        assert_eq!(env.cert_file(), Some(std::path::Path::new("/ca.pem")));
        assert_eq!(env.cert_dirs(), [PathBuf::from("/a"), PathBuf::from("/b")]);
        assert_eq!(
            env.to_string(),
            "proxy: none; trust: bundled roots, OS store, SSL_CERT_FILE=/ca.pem, SSL_CERT_DIR=/a:/b"
        );
    }
}
