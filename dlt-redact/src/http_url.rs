//! URLs from configuration: parsed once, shown only parsed and with their credentials
//! (user info, query values, fragment) hidden, and rejected with an error that never repeats
//! the value.

use std::fmt;
use std::str::FromStr;

use url::{Position, Url};

use crate::MASK;
use crate::text::{hide_url_credentials, query_value_ranges, replace_ranges};

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
    /// (`https://user:123/secret@host` parses as host `user`, port `123`), or the parser reads
    /// no user info and an `@` follows the host (`http://to/ken@host` parses as host `to`, path
    /// `/ken@host`). Both [`HttpUrl::parse`] and [`parse_url`] refuse it: a [`Url`] does not keep
    /// its text, so nothing shown from it could tell which part was meant as user info. An `@`
    /// that belongs in a path or query is written `%40`.
    #[error(
        "the URL has an `@` that does not end a user name or password the parser can read; percent-encode `/ ? # @` in a user name or password (and `@` elsewhere as %40)"
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
/// the parsed form. `Display` and `Debug` show the parsed URL as [`display_url`] does: the
/// whole user info (a user name alone too) as `***`, every query value as `***` (keys kept)
/// and the fragment as `***`: `https://***@h/x?api_key=***`. Text that looks like
/// `user:password@` where the parser reads no password (an unescaped `/` or `#` in a password
/// turns `user:123/pw@host` into a host `user` with port `123`) is refused
/// ([`UrlError::AmbiguousCredentials`]), so what is shown is never a misreading of the value.
///
/// ```
/// use dlt_redact::HttpUrl;
///
/// let url = HttpUrl::parse("https://u:pa%2Fss@telemetry.example.com/v1/batch")?;
/// assert_eq!(url.as_str(), "https://u:pa%2Fss@telemetry.example.com/v1/batch");
/// assert_eq!(url.to_string(), "https://***@telemetry.example.com/v1/batch");
/// assert_eq!(url.url().host_str(), Some("telemetry.example.com"));
///
/// let url = HttpUrl::parse("http://tok_SECRET@host/v1/track?api_key=k3y&token=t0k#frag")?;
/// assert_eq!(url.to_string(), "http://***@host/v1/track?api_key=***&token=***#***");
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

/// A URL for showing: the whole user info (user name and password, or a user name alone) as
/// `***`, the value of every query part as `***` (keys kept; a part without `=` is all
/// value), and the fragment, when there is one, as `***`. Scheme, host, port and path are
/// shown as the parser read them.
///
/// The result then goes through the free-text rule ([`crate::hide_url_credentials`]) as a
/// whole, so that a [`Url`] parsed elsewhere (not by [`parse_url`]) whose path holds what was
/// meant as user info (`https://user:123/secret@host`) is not shown either; an `@` in a path
/// therefore hides the path before it.
///
/// ```
/// let url = dlt_redact::parse_url("socks5h://user:pw@proxy.internal:1080")?;
/// assert_eq!(dlt_redact::display_url(&url), "socks5h://***@proxy.internal:1080");
/// let url = dlt_redact::parse_url("https://h/x?api_key=k3y&email=a%40b.example#frag")?;
/// assert_eq!(dlt_redact::display_url(&url), "https://h/x?api_key=***&email=***#***");
/// # Ok::<(), dlt_redact::UrlError>(())
/// ```
pub fn display_url(url: &Url) -> String {
    let mut shown = String::from(&url[..Position::BeforeUsername]);
    if !url.username().is_empty() || url.password().is_some() {
        shown.push_str(MASK);
        shown.push('@');
    }
    shown.push_str(&url[Position::BeforeHost..Position::AfterPath]);
    if let Some(query) = url.query() {
        let values: Vec<_> = query_value_ranges(query, 0..query.len()).filter(|value| !value.is_empty()).collect();
        shown.push('?');
        shown.push_str(&replace_ranges(query, &values, MASK));
    }
    if let Some(fragment) = url.fragment() {
        shown.push('#');
        if !fragment.is_empty() {
            shown.push_str(MASK);
        }
    }
    match hide_url_credentials(&shown, MASK) {
        std::borrow::Cow::Borrowed(_) => shown,
        std::borrow::Cow::Owned(hidden) => hidden,
    }
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
    let read_user_info = !url.username().is_empty() || url.password().is_some();
    if (url.password().is_none() && looks_like_credentials(raw)) || (!read_user_info && user_info_cut_short(raw)) {
        return Err(UrlError::AmbiguousCredentials);
    }
    Ok(url)
}

/// Whether an unescaped `/`, `?` or `#` may have cut what was meant as user info: the host
/// ends at one, and an `@` follows anywhere after it (`http://tok?en@host/` is read as host
/// `tok` with a query `en@host/`, `http://t/ok#en@host` as host `t`, path `/ok` and a fragment:
/// host and path would be shown, and they are the first part of the token).
fn user_info_cut_short(raw: &str) -> bool {
    let Some(separator) = raw.find("://") else { return false };
    let rest = &raw[separator + 3..];
    rest.find(['/', '?', '#']).is_some_and(|end| rest[end..].contains('@'))
}

/// Whether the value, read by the URL rule, has a `user:password@` part: a `:` before the last
/// `@` after `://`.
fn looks_like_credentials(raw: &str) -> bool {
    let Some(separator) = raw.find("://") else { return false };
    let rest = &raw[separator + 3..];
    rest.rfind('@').is_some_and(|at| rest[..at].contains(':'))
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
        assert_eq!(url.to_string(), "https://***@example.com/x?q=***");
        assert_eq!(format!("{url:?}"), "HttpUrl(\"https://***@example.com/x?q=***\")");

        let plain: HttpUrl = "http://127.0.0.1:9/v1/batch".parse().unwrap();
        assert!(!plain.has_password());
        assert_eq!(plain.to_string(), "http://127.0.0.1:9/v1/batch");
    }

    #[test]
    fn a_user_name_alone_query_values_and_the_fragment_are_hidden() {
        let shown = |raw: &str| {
            let url = HttpUrl::parse(raw).unwrap();
            assert_eq!(url.as_str(), raw);
            format!("{url} {url:?}")
        };
        assert_eq!(
            shown("http://tok_SECRET@host/v1/track"),
            "http://***@host/v1/track HttpUrl(\"http://***@host/v1/track\")"
        );
        assert_eq!(
            shown("https://h/x?api_key=k3y&token=t0k&flag&empty="),
            "https://h/x?api_key=***&token=***&***&empty= HttpUrl(\"https://h/x?api_key=***&token=***&***&empty=\")"
        );
        assert_eq!(shown("https://h/x#access_token=t0k"), "https://h/x#*** HttpUrl(\"https://h/x#***\")");
        assert_eq!(shown("https://h/x?#"), "https://h/x?# HttpUrl(\"https://h/x?#\")");
        assert_eq!(shown("https://:pw@[::1]:8443/"), "https://***@[::1]:8443/ HttpUrl(\"https://***@[::1]:8443/\")");
        // A value holding an encoded `@`, `=` or an encoded `&` is hidden whole.
        assert_eq!(
            HttpUrl::parse("https://h/?m=a%40b.example&t=x%26y=z").unwrap().to_string(),
            "https://h/?m=***&t=***"
        );
    }

    #[test]
    fn a_url_parsed_elsewhere_never_shows_what_looks_like_user_info() {
        // The parser reads host `user`, port 123 and path `/secret@host`; `parse_url` refuses it.
        let url = Url::parse("https://user:123/secret@host/x").unwrap();
        assert_eq!(display_url(&url), "https://***@host/x");
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
        // A `?` or `#` in a token alone: the parser would read a host made of its first part.
        for raw in ["http://tok?secret@host/", "socks5h://QZ?$$'$=@a", "https://tok#secret@host"] {
            assert_eq!(parse_url(raw), Err(UrlError::AmbiguousCredentials), "{raw}");
            assert!(!HttpUrl::parse(raw).unwrap_err().to_string().contains("tok"), "{raw}");
        }
        // A `/` in a token alone: host and path before the `@` would be shown. An `@` after the
        // host is refused wherever it is, as the parser cannot tell it from one of these.
        for raw in ["http://&/Zq32c-#!@host/v1", "http://t/ok?en@host/", "http://t/ok@host/", "https://h/x?mail=a@b"] {
            assert_eq!(parse_url(raw), Err(UrlError::AmbiguousCredentials), "{raw}");
        }
        // Percent-encoded, it is a query value as any other, and hidden.
        assert_eq!(HttpUrl::parse("https://h/x?mail=a%40b").unwrap().to_string(), "https://h/x?mail=***");
        // Percent-encoded, the same password is read as one.
        let url = HttpUrl::parse("https://user:123%2Fsecret@host/x").unwrap();
        assert_eq!(url.url().password(), Some("123%2Fsecret"));
        assert_eq!(url.to_string(), "https://***@host/x");
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
        assert_eq!(display_url(&url), "socks5h://***@proxy:1080");
        assert_eq!(display_url(&parse_url("http://proxy:3128").unwrap()), "http://proxy:3128/");
        assert_eq!(parse_url("file:///etc/passwd"), Err(UrlError::NoHost));
        assert_eq!(parse_url("mailto:someone@example.com"), Err(UrlError::NotAbsolute));
        assert_eq!(parse_url("http://proxy:3128\r"), Err(UrlError::WhitespaceOrControl));
    }
}
