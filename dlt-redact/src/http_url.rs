//! URLs from configuration: parsed once, shown only parsed and with their password hidden,
//! and rejected with an error that never repeats the value.

use std::fmt;
use std::str::FromStr;

use url::Url;

use crate::MASK;
use crate::text::hide_credentials;

/// Why a URL was rejected. The message says what is wrong, never the value or any part of it
/// (a password may be anywhere in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The value is empty.
    #[error("the URL is empty")]
    Empty,
    /// The value holds a space, tab, newline or another control character; the URL parser
    /// would quietly drop or encode some of them, so the value is refused instead.
    #[error("the URL contains whitespace or control characters")]
    WhitespaceOrControl,
    /// The value has no `scheme://` (e.g. `example.com/x` or `localhost:4318`).
    #[error("not an absolute URL (expected scheme://host/...)")]
    NotAbsolute,
    /// The scheme is neither `http` nor `https`.
    #[error("the scheme must be http or https")]
    Scheme,
    /// The URL names no host.
    #[error("the URL has no host")]
    NoHost,
    /// The text looks like `user:password@host` but the parser reads no password there, which
    /// happens when `/`, `?`, `#` or `@` in a password are not percent-encoded
    /// (`https://user:123/secret@host` parses as host `user`, port `123`). Both
    /// [`HttpUrl::parse`] and [`parse_url`] refuse it: a [`Url`] does not keep its text, so
    /// nothing shown from it could tell which part was meant as a password.
    #[error(
        "the URL has a `:` before an `@` that is not a user:password part; percent-encode `/ ? # @` in a user name or password (and `@` elsewhere as %40)"
    )]
    AmbiguousCredentials,
    /// Any other reason the URL parser gave, e.g. an invalid port number. Its messages are
    /// fixed texts that never quote the input.
    #[error("not a valid URL: {0}")]
    Invalid(url::ParseError),
}

/// An absolute `http` or `https` URL, parsed once.
///
/// [`as_str`](Self::as_str) is the text exactly as given, for sending; [`url`](Self::url) is
/// the parsed form. `Display` and `Debug` show the parsed URL as [`display_url`] does, with its
/// password replaced by `***` (the user name is kept): `https://u:***@h/x`. Text that looks
/// like `user:password@` where the parser reads no password (an unescaped `/` or `#` in a
/// password turns `user:123/pw@host` into a host `user` with port `123`) is refused
/// ([`UrlError::AmbiguousCredentials`]), so what is shown is never a misreading of the value.
///
/// ```
/// use dlt_redact::HttpUrl;
///
/// let url = HttpUrl::parse("https://u:pa%2Fss@telemetry.example.com/v1/batch")?;
/// assert_eq!(url.as_str(), "https://u:pa%2Fss@telemetry.example.com/v1/batch");
/// assert_eq!(url.to_string(), "https://u:***@telemetry.example.com/v1/batch");
/// assert_eq!(url.url().host_str(), Some("telemetry.example.com"));
///
/// let error = HttpUrl::parse("ftp://u:secret@example.com").unwrap_err();
/// assert_eq!(error.to_string(), "the scheme must be http or https");
///
/// let error = HttpUrl::parse("https://u:123/secret@telemetry.example.com/v1/batch").unwrap_err();
/// assert_eq!(error, dlt_redact::UrlError::AmbiguousCredentials);
/// # Ok::<(), dlt_redact::UrlError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct HttpUrl {
    raw: String,
    url: Url,
}

impl HttpUrl {
    /// Parses an absolute `http` or `https` URL with a host, by the rule of [`parse_url`]:
    /// whitespace and control characters anywhere in the value are refused, not trimmed, and so
    /// is text that looks like `user:password@` where the parser reads no password.
    pub fn parse(raw: &str) -> Result<Self, UrlError> {
        let url = parse_checked(raw)?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(UrlError::Scheme);
        }
        Ok(Self { raw: raw.to_owned(), url })
    }

    /// The URL exactly as given, for sending; never for showing.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Whether the URL holds a password.
    pub fn has_password(&self) -> bool {
        self.url.password().is_some()
    }
}

impl FromStr for HttpUrl {
    type Err = UrlError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw)
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&display_url(&self.url))
    }
}

impl fmt::Debug for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HttpUrl({:?})", self.to_string())
    }
}

/// Parses an absolute URL of any scheme with a host (a proxy URL such as
/// `socks5h://user:pw@proxy:1080`). Whitespace and control characters are refused, and so is
/// text that looks like `user:password@` where the parser reads no password
/// ([`UrlError::AmbiguousCredentials`]): a [`Url`] does not keep its text, so
/// [`display_url`] could not tell which part of it was meant as a password.
pub fn parse_url(raw: &str) -> Result<Url, UrlError> {
    parse_checked(raw)
}

/// A URL for showing: its password replaced by `***`, the user name kept; when it has no
/// password, the URL rule of [`crate::hide_url_credentials`] is applied to the whole URL.
///
/// ```
/// let url = dlt_redact::parse_url("socks5h://user:pw@proxy.internal:1080")?;
/// assert_eq!(dlt_redact::display_url(&url), "socks5h://user:***@proxy.internal:1080");
/// # Ok::<(), dlt_redact::UrlError>(())
/// ```
pub fn display_url(url: &Url) -> String {
    if url.password().is_some() {
        let mut shown = url.clone();
        if shown.set_password(Some(MASK)).is_ok() {
            return shown.into();
        }
    }
    hide_credentials(url.as_str(), MASK, |_| false).into_owned()
}

/// Checks the text, then parses it into an absolute URL with a host whose password, if the text
/// looks like it has one, is the one the parser read.
fn parse_checked(raw: &str) -> Result<Url, UrlError> {
    if raw.is_empty() {
        return Err(UrlError::Empty);
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlError::WhitespaceOrControl);
    }
    let url = Url::parse(raw).map_err(|error| match error {
        url::ParseError::RelativeUrlWithoutBase => UrlError::NotAbsolute,
        url::ParseError::EmptyHost => UrlError::NoHost,
        other => UrlError::Invalid(other),
    })?;
    if url.cannot_be_a_base() {
        return Err(UrlError::NotAbsolute);
    }
    if url.host().is_none() {
        return Err(UrlError::NoHost);
    }
    if url.password().is_none() && looks_like_credentials(raw) {
        return Err(UrlError::AmbiguousCredentials);
    }
    Ok(url)
}

/// Whether the URL rule, applied to the whole value, finds a `user:password@` part.
fn looks_like_credentials(raw: &str) -> bool {
    matches!(hide_credentials(raw, "", |_| false), std::borrow::Cow::Owned(_))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn keeps_the_text_and_shows_the_parsed_url_without_its_password() {
        let url = HttpUrl::parse("HTTPS://u:p@ss@Example.COM:443/x?q=1").unwrap();
        assert_eq!(url.as_str(), "HTTPS://u:p@ss@Example.COM:443/x?q=1");
        assert_eq!(url.url().host_str(), Some("example.com"));
        assert!(url.has_password());
        assert_eq!(url.to_string(), "https://u:***@example.com/x?q=1");
        assert_eq!(format!("{url:?}"), "HttpUrl(\"https://u:***@example.com/x?q=1\")");

        let plain: HttpUrl = "http://127.0.0.1:9/v1/batch".parse().unwrap();
        assert!(!plain.has_password());
        assert_eq!(plain.to_string(), "http://127.0.0.1:9/v1/batch");
        assert_eq!(HttpUrl::parse("https://token@h/").unwrap().to_string(), "https://token@h/");
    }

    #[test]
    fn a_password_the_parser_would_read_as_port_and_path_is_refused() {
        for raw in ["https://user:123/secret@host/x", "https://user:/secret1@host", "https://user:443/secret@host"] {
            let error = HttpUrl::parse(raw).unwrap_err();
            assert_eq!(error, UrlError::AmbiguousCredentials, "{raw}");
            let shown = format!("{error} {error:?}");
            assert!(!shown.contains("secret"), "{shown}");
            assert_eq!(parse_url(raw), Err(UrlError::AmbiguousCredentials), "{raw}");
        }
        assert_eq!(parse_url("http://user:123/secret@proxy"), Err(UrlError::AmbiguousCredentials));
        // Percent-encoded, the same password is read as one.
        let url = HttpUrl::parse("https://user:123%2Fsecret@host/x").unwrap();
        assert_eq!(url.url().password(), Some("123%2Fsecret"));
        assert_eq!(url.to_string(), "https://user:***@host/x");
    }

    #[test]
    fn errors_say_what_is_wrong_without_the_value() {
        let cases = [
            ("", UrlError::Empty),
            ("https://u:secret@h/x\n", UrlError::WhitespaceOrControl),
            ("https://u:sec\tret@h/x", UrlError::WhitespaceOrControl),
            (" https://u:secret@h", UrlError::WhitespaceOrControl),
            ("https://u:sec\u{7f}ret@h", UrlError::WhitespaceOrControl),
            ("u:secret@h/x", UrlError::NotAbsolute),
            ("localhost:4318", UrlError::NotAbsolute),
            ("telemetry.example.com/v1/batch", UrlError::NotAbsolute),
            ("ftp://u:secret@h/x", UrlError::Scheme),
            ("https://", UrlError::NoHost),
            ("https://u:pa/ss@h/x", UrlError::Invalid(url::ParseError::InvalidPort)),
            ("https://u:secret@[::1/x", UrlError::Invalid(url::ParseError::InvalidIpv6Address)),
        ];
        for (raw, expected) in cases {
            let error = HttpUrl::parse(raw).unwrap_err();
            assert_eq!(error, expected, "{raw:?}");
            let shown = format!("{error} {error:?}");
            for part in ["secret", "sec", "pa/ss", "u:", "localhost", "telemetry", "ftp"] {
                assert!(!shown.contains(part), "{shown} shows {part}");
            }
        }
        assert_eq!(UrlError::Invalid(url::ParseError::InvalidPort).to_string(), "not a valid URL: invalid port number");
    }

    #[test]
    fn any_scheme_with_a_host_for_proxies() {
        let url = parse_url("socks5h://user:p;w@proxy:1080").unwrap();
        assert_eq!(display_url(&url), "socks5h://user:***@proxy:1080");
        assert_eq!(display_url(&parse_url("http://proxy:3128").unwrap()), "http://proxy:3128/");
        assert_eq!(parse_url("file:///etc/passwd"), Err(UrlError::NoHost));
        assert_eq!(parse_url("mailto:someone@example.com"), Err(UrlError::NotAbsolute));
        assert_eq!(parse_url("http://proxy:3128\r"), Err(UrlError::WhitespaceOrControl));
    }
}
