//! Property tests of the rule: passwords drawn from printable ASCII, embedded in URLs inside
//! arbitrary text, never come out, and the output is exactly the text with them masked.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dlt_redact::{HttpUrl, MASK, Redactor, display_url, hide_url_credentials, parse_url};
use dlt_test_support::strategies::url_password_char;
use proptest::prelude::*;

/// One URL with credentials, drawn in parts.
#[derive(Debug, Clone)]
struct CredentialUrl {
    scheme: String,
    user: String,
    password: String,
    host_and_path: String,
}

impl CredentialUrl {
    fn text(&self) -> String {
        format!("{}://{}:{}@{}", self.scheme, self.user, self.password, self.host_and_path)
    }

    fn masked(&self, mask: &str) -> String {
        format!("{}://{}:{mask}@{}", self.scheme, self.user, self.host_and_path)
    }
}

/// A password of 6 to 20 characters, so that finding it in the output means it leaked.
fn password() -> impl Strategy<Value = String> {
    prop::collection::vec(url_password_char(), 6..20).prop_map(|chars| chars.concat())
}

fn user() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~-]{0,12}"
}

fn host_and_path() -> impl Strategy<Value = String> {
    "[a-z0-9][a-z0-9.-]{0,15}(:[0-9]{1,5})?(/[A-Za-z0-9._~%:=&-]{0,8}){0,3}(\\?[a-z]{1,4}=[a-z0-9]{0,6})?"
}

fn credential_url() -> impl Strategy<Value = CredentialUrl> {
    ("[a-zA-Z][a-zA-Z0-9+.-]{0,10}", user(), password(), host_and_path())
        .prop_map(|(scheme, user, password, host_and_path)| CredentialUrl { scheme, user, password, host_and_path })
}

/// Arbitrary text (any Unicode) in which no URL starts.
fn filler() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|mut text| {
        while text.contains("://") {
            text = text.replace("://", ":/");
        }
        text
    })
}

/// What ends a URL in free text: whitespace or a quote.
fn boundary() -> impl Strategy<Value = char> {
    prop::sample::select(vec![' ', '\t', '\n', '\r', '\u{a0}', '\u{2003}', '"', '\'', '`'])
}

/// Text made of fillers and URLs with credentials, each URL between two boundaries; and the
/// same text with every password masked.
fn text_with_urls() -> impl Strategy<Value = (String, String, Vec<CredentialUrl>)> {
    (prop::collection::vec((filler(), boundary(), credential_url(), boundary()), 1..4), filler()).prop_map(
        |(segments, last)| {
            let (mut text, mut expected) = (String::new(), String::new());
            let mut urls = Vec::new();
            for (filler, before, url, after) in segments {
                text.extend([filler.clone(), before.to_string(), url.text(), after.to_string()]);
                expected.extend([filler, before.to_string(), url.masked(MASK), after.to_string()]);
                urls.push(url);
            }
            text.push_str(&last);
            expected.push_str(&last);
            (text, expected, urls)
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn free_text_comes_out_exactly_masked((text, expected, urls) in text_with_urls()) {
        let hidden = hide_url_credentials(&text, MASK);
        prop_assert_eq!(hidden.as_ref(), expected.as_str());
        for url in &urls {
            // A password the surrounding text happens to contain is not a leak of the URL's.
            if !expected.contains(&url.password) {
                prop_assert!(!hidden.contains(&url.password), "{} leaked in {}", url.password, hidden);
            }
        }
        let filtered = Redactor::new(["an-unrelated-secret"]).redact(&text, "[Filtered]");
        let expected_filtered = urls.iter().fold(text.clone(), |text, url| text.replacen(&url.text(), &url.masked("[Filtered]"), 1));
        prop_assert_eq!(filtered.as_ref(), expected_filtered.as_str());
    }

    #[test]
    fn text_without_urls_is_unchanged(text in filler()) {
        let hidden = hide_url_credentials(&text, MASK);
        prop_assert_eq!(hidden.as_ref(), text.as_str());
    }

    #[test]
    fn listed_secrets_and_url_passwords_never_come_out(
        secret in password(),
        (text, _, urls) in text_with_urls(),
        at in any::<prop::sample::Index>(),
    ) {
        let mut text = text;
        let boundaries: Vec<usize> = text.char_indices().map(|(index, _)| index).chain([text.len()]).collect();
        text.insert_str(boundaries[at.index(boundaries.len())], &secret);
        let redacted = Redactor::new([secret.as_str()]).redact(&text, MASK);
        prop_assert!(!redacted.contains(&secret), "{} leaked in {}", secret, redacted);
        // The secret may have landed inside a URL and broken it; the intact ones stay hidden.
        for url in urls.iter().filter(|url| text.contains(&url.text())) {
            prop_assert!(!redacted.contains(&url.password), "{} leaked in {}", url.password, redacted);
        }
    }

    #[test]
    fn urls_never_show_a_password_whether_or_not_they_parse(
        scheme in prop::sample::select(vec!["http", "https", "HTTPS", "ftp", "socks5h", "postgresql"]),
        user in user(),
        password in password(),
        raw_space in any::<bool>(),
        host_and_path in host_and_path(),
    ) {
        // Sometimes a raw space or tab in the password, as a hand-written value may have.
        let password = if raw_space { format!("{password} \t{password}") } else { password };
        let raw = format!("{scheme}://{user}:{password}@{host_and_path}");
        let shown = match HttpUrl::parse(&raw) {
            Ok(url) => {
                prop_assert_eq!(url.as_str(), raw.as_str());
                format!("{url} {url:?}")
            }
            Err(error) => format!("{error} {error:?}"),
        };
        prop_assert!(!shown.contains(&password), "{} shown in {}", password, shown);
        let shown = match parse_url(&raw) {
            Ok(url) => display_url(&url),
            Err(error) => format!("{error} {error:?}"),
        };
        prop_assert!(!shown.contains(&password), "{} shown in {}", password, shown);
    }
}
