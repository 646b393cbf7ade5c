//! Property tests of the rule: user names, passwords, query values and fragments drawn from all
//! printable ASCII but whitespace (quotes, backticks, `@ / # ? :` included), in URLs of every
//! shape, alone or inside arbitrary text, never come out of `hide_url_credentials`,
//! `Redactor::redact`, `HttpUrl` or `display_url`.
//!
//! Every secret is at least 8 characters long and starts with a marker (`QZ`), so that finding
//! it in the output means it leaked, not that the text around it spelled it by chance; a case
//! whose text holds a secret twice is not counted. Where the output is searched for a secret,
//! the mask is `▒` (not ASCII, so no secret can be spelled across a mask); the masks the
//! crates use (`***`, `[Filtered]`) are checked when the secret holds none of their
//! characters.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dlt_redact::{HttpUrl, MASK, Redactor, display_url, hide_url_credentials, parse_url};
use proptest::prelude::*;

/// The mask searched outputs are made with: no secret (ASCII) can hold it.
const ODD_MASK: &str = "▒";
/// Sentry's mask.
const FILTERED: &str = "[Filtered]";

/// A printable ASCII character but space, with the ones that end URLs in naive rules drawn often.
fn secret_char() -> impl Strategy<Value = char> + Clone {
    prop_oneof![
        3 => (0x21u8..=0x7e).prop_map(char::from),
        2 => prop::sample::select(vec!['\'', '"', '`', '@', '/', '#', '?', ':', '%', ';', '&', '=', ')']),
    ]
}

/// A secret of 8 to 24 characters starting with the marker `QZ`.
fn secret() -> impl Strategy<Value = String> + Clone {
    prop::collection::vec(secret_char(), 6..22).prop_map(|chars| format!("QZ{}", chars.into_iter().collect::<String>()))
}

/// Every byte but the unreserved ones as `%XX`: how a careful user writes any secret in a URL.
fn percent_encoded(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(byte).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// How the user info of a URL is written.
#[derive(Debug, Clone, Copy)]
enum UserInfo {
    /// `secret@`
    UserOnly,
    /// `user:secret@`
    UserAndPassword,
    /// `secret:password@` (the user name is the secret)
    SecretUser,
    /// `:secret@`
    PasswordOnly,
}

/// One URL with a secret in its user info, in a query value and in its fragment.
#[derive(Debug, Clone)]
struct SecretUrl {
    scheme: &'static str,
    user_info: UserInfo,
    encoded: bool,
    user_secret: String,
    host: String,
    path: String,
    query: Vec<(String, String)>,
    fragment: Option<String>,
}

impl SecretUrl {
    /// The user info as written, without its `@`.
    fn user_info(&self) -> String {
        let secret = if self.encoded { percent_encoded(&self.user_secret) } else { self.user_secret.clone() };
        match self.user_info {
            UserInfo::UserOnly => secret,
            UserInfo::UserAndPassword => format!("loader:{secret}"),
            UserInfo::SecretUser => format!("{secret}:pw"),
            UserInfo::PasswordOnly => format!(":{secret}"),
        }
    }

    fn value(&self, value: &str) -> String {
        if self.encoded { percent_encoded(value) } else { value.to_owned() }
    }

    /// The URL after its scheme and user info: host, port, path, query and fragment.
    fn rest(&self, mask: Option<&str>) -> String {
        let mut rest = format!("{}{}", self.host, self.path);
        if !self.query.is_empty() {
            let pairs: Vec<String> = self
                .query
                .iter()
                .map(|(key, value)| format!("{key}={}", mask.map_or_else(|| self.value(value), str::to_owned)))
                .collect();
            rest.push('?');
            rest.push_str(&pairs.join("&"));
        }
        if let Some(fragment) = &self.fragment {
            rest.push('#');
            rest.push_str(&mask.map_or_else(|| self.value(fragment), str::to_owned));
        }
        rest
    }

    fn text(&self) -> String {
        format!("{}://{}@{}", self.scheme, self.user_info(), self.rest(None))
    }

    /// The text the rule makes of it, for a URL whose secrets hold no `@`, `?`, `#`, `&` or `=`
    /// (or are percent-encoded): the user info, every query value and the fragment masked.
    fn masked(&self, mask: &str) -> String {
        format!("{}://{mask}@{}", self.scheme, self.rest(Some(mask)))
    }

    /// Every secret of the URL as drawn.
    fn drawn_secrets(&self) -> Vec<String> {
        let mut secrets = vec![self.user_secret.clone()];
        secrets.extend(self.query.iter().map(|(_, value)| value.clone()));
        secrets.extend(self.fragment.clone());
        secrets
    }

    /// Every secret of the URL as written in it (percent-encoded or not), and the user info.
    fn secrets(&self) -> Vec<String> {
        let mut secrets: Vec<String> = self.drawn_secrets().iter().map(|secret| self.value(secret)).collect();
        secrets.push(self.user_info());
        secrets
    }
}

fn user_info() -> impl Strategy<Value = UserInfo> {
    prop::sample::select(vec![
        UserInfo::UserOnly,
        UserInfo::UserAndPassword,
        UserInfo::SecretUser,
        UserInfo::PasswordOnly,
    ])
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof!["[a-z0-9][a-z0-9.-]{0,15}(:[0-9]{1,5})?", Just("[::1]:8443".to_owned()), Just("127.0.0.1".to_owned()),]
}

/// A path; no `Q`, so that no kept part of a URL holds a secret's marker.
fn path() -> impl Strategy<Value = String> {
    "(/[A-PR-Za-z0-9._~%:=-]{0,8}){0,3}"
}

/// A URL whose secrets are drawn from `secret` (each of them made unique by its position).
fn secret_url(
    schemes: Vec<&'static str>,
    secret: impl Strategy<Value = String> + Clone,
) -> impl Strategy<Value = SecretUrl> {
    (
        prop::sample::select(schemes),
        user_info(),
        any::<bool>(),
        secret.clone(),
        host(),
        path(),
        prop::collection::vec(("[a-z_]{1,6}", secret.clone()), 0..3),
        prop::option::of(secret),
    )
        .prop_map(|(scheme, user_info, encoded, user_secret, host, path, query, fragment)| SecretUrl {
            scheme,
            user_info,
            encoded,
            user_secret,
            host,
            path,
            query,
            fragment,
        })
}

/// Schemes as people write them.
fn free_text_schemes() -> Vec<&'static str> {
    vec!["https", "HTTP", "postgresql+psycopg2", "s3", "redis", "x-y.z1"]
}

/// Arbitrary text: any Unicode, with URL characters drawn often.
fn any_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => any::<char>().prop_map(String::from),
        1 => prop::sample::select(vec!["://", "@", ":", "?", "#", "&", "=", "s3://a:b@c", " ", "\n", "\"", "'", "`", "\u{a0}", "%40"])
            .prop_map(str::to_owned),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

/// Whether `secret` occurs in `text` exactly once.
fn once(text: &str, secret: &str) -> bool {
    text.matches(secret).count() == 1
}

/// Checks that no secret of the URL comes out of the free-text rule and a `Redactor`, with the
/// odd mask always and with the crates' masks when the secret cannot be spelled across them.
fn check_free_text(text: &str, secrets: &[String]) -> Result<(), TestCaseError> {
    let redactor = Redactor::new(["an-unrelated-secret"]);
    for mask in [ODD_MASK, MASK, FILTERED] {
        let hidden = hide_url_credentials(text, mask);
        let redacted = redactor.redact(text, mask);
        for secret in secrets {
            // Kept text never holds the marker, so only a secret holding the mask's first
            // character could be spelled across a mask.
            if mask != ODD_MASK && secret.chars().any(|c| mask.starts_with(c)) {
                continue;
            }
            prop_assert!(!hidden.contains(secret), "{:?} shown by the URL rule: {:?}", secret, hidden);
            prop_assert!(!redacted.contains(secret), "{:?} shown by a Redactor: {:?}", secret, redacted);
        }
    }
    Ok(())
}

/// Text without `://` (any Unicode).
fn filler() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|mut text| {
        while text.contains("://") {
            text = text.replace("://", ":/");
        }
        text
    })
}

/// What ends a URL in free text: whitespace.
fn whitespace() -> impl Strategy<Value = char> {
    prop::sample::select(vec![' ', '\t', '\n', '\r', '\u{a0}', '\u{2003}'])
}

/// A secret that holds none of `@ ? # & =` and no whitespace: a URL made of it has exactly the
/// parts it was drawn with, so the rule's output can be written down.
fn plain_secret() -> impl Strategy<Value = String> + Clone {
    secret().prop_filter("no URL delimiters", |secret| !secret.contains(['@', '?', '#', '&', '=']))
}

/// Text made of fillers and URLs, each URL between two whitespace characters; and the same
/// text with every URL masked.
fn text_with_urls() -> impl Strategy<Value = (String, String, Vec<SecretUrl>)> {
    (
        prop::collection::vec(
            (filler(), whitespace(), secret_url(free_text_schemes(), plain_secret()), whitespace()),
            1..4,
        ),
        filler(),
    )
        .prop_map(|(segments, last)| {
            let (mut text, mut expected) = (String::new(), String::new());
            let mut urls = Vec::new();
            for (filler, before, url, after) in segments {
                text.extend([filler.clone(), before.to_string(), url.text(), after.to_string()]);
                expected.extend([filler, before.to_string(), url.masked(ODD_MASK), after.to_string()]);
                urls.push(url);
            }
            text.push_str(&last);
            expected.push_str(&last);
            (text, expected, urls)
        })
}

/// A small alphabet (one character of two bytes, one of three), so that secrets overlap each
/// other and the text often.
fn overlap_text(length: std::ops::Range<usize>) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!['a', 'b', 'c', 'ü', '€', ' ']), length)
        .prop_map(|chars| chars.into_iter().collect())
}

/// `text` with every byte covered by some occurrence of some secret (overlapping ones too)
/// replaced, each run of covered bytes by one `mask`: the set's rule, written the slow way.
fn masked_by_hand(text: &str, secrets: &[String], mask: &str) -> String {
    let mut covered = vec![false; text.len()];
    for secret in secrets.iter().filter(|secret| !secret.is_empty()) {
        for start in
            (0..text.len()).filter(|&start| text.get(start..).is_some_and(|rest| rest.starts_with(secret.as_str())))
        {
            covered[start..start + secret.len()].iter_mut().for_each(|byte| *byte = true);
        }
    }
    let mut out = String::new();
    for (at, c) in text.char_indices() {
        if !covered[at] {
            out.push(c);
        } else if at == 0 || !covered[at - 1] {
            out.push_str(mask);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// A URL with secrets anywhere in arbitrary text: before and after it anything at all,
    /// `://`, `@`, `?` and quotes included, running into the URL without whitespace.
    #[test]
    fn secrets_in_urls_never_come_out_of_free_text(
        before in any_text(),
        url in secret_url(free_text_schemes(), secret()),
        after in any_text(),
    ) {
        let text = format!("{before}{}{after}", url.text());
        let secrets = url.secrets();
        prop_assume!(secrets.iter().all(|secret| once(&text, secret)));
        check_free_text(&text, &secrets)?;
    }

    /// Between whitespace, each URL comes out exactly masked and the text around it untouched.
    #[test]
    fn free_text_comes_out_exactly_masked((text, expected, urls) in text_with_urls()) {
        let hidden = hide_url_credentials(&text, ODD_MASK);
        prop_assert_eq!(hidden.as_ref(), expected.as_str());
        let filtered = Redactor::new(["an-unrelated-secret"]).redact(&text, FILTERED);
        let expected_filtered =
            urls.iter().fold(text.clone(), |text, url| text.replacen(&url.text(), &url.masked(FILTERED), 1));
        prop_assert_eq!(filtered.as_ref(), expected_filtered.as_str());
    }

    #[test]
    fn text_without_urls_is_unchanged(text in filler()) {
        let hidden = hide_url_credentials(&text, MASK);
        prop_assert_eq!(hidden.as_ref(), text.as_str());
    }

    /// A listed secret put anywhere, even inside a URL, never comes out, nor do the secrets of
    /// the URLs it leaves intact.
    #[test]
    fn listed_secrets_and_url_secrets_never_come_out(
        listed in secret(),
        (text, _, urls) in text_with_urls(),
        at in any::<prop::sample::Index>(),
    ) {
        let mut text = text;
        let boundaries: Vec<usize> = text.char_indices().map(|(index, _)| index).chain([text.len()]).collect();
        text.insert_str(boundaries[at.index(boundaries.len())], &listed);
        let redacted = Redactor::new([listed.as_str()]).redact(&text, ODD_MASK);
        prop_assert!(!redacted.contains(&listed), "{} leaked in {}", listed, redacted);
        for url in urls.iter().filter(|url| text.contains(&url.text())) {
            for secret in url.secrets() {
                prop_assert!(!redacted.contains(&secret), "{} leaked in {}", secret, redacted);
            }
        }
    }

    /// Secrets that overlap each other and themselves, in text without URLs: every byte of
    /// every occurrence is hidden, and nothing else.
    #[test]
    fn every_occurrence_of_overlapping_secrets_is_hidden_and_nothing_else(
        secrets in prop::collection::vec(overlap_text(1..5), 0..6),
        text in overlap_text(0..40),
    ) {
        let redacted = Redactor::new(&secrets).redact(&text, ODD_MASK);
        let expected = masked_by_hand(&text, &secrets, ODD_MASK);
        prop_assert_eq!(redacted.as_ref(), expected.as_str());
    }

    /// A URL value, parsed or refused: what is shown (the URL, its `Debug`, or the error) never
    /// holds the user info, a query value or the fragment, as written or decoded.
    #[test]
    fn urls_never_show_user_info_or_query_values_whether_or_not_they_parse(
        url in secret_url(vec!["http", "https", "HTTPS", "ftp", "socks5h", "postgresql"], secret()),
        raw_space in any::<bool>(),
    ) {
        let mut url = url;
        // Sometimes a raw space in the user info, as a hand-written value may have.
        if raw_space {
            url.user_secret.push(' ');
        }
        let raw = url.text();
        let mut hidden = url.secrets();
        hidden.extend(url.drawn_secrets());
        let mut shown = match HttpUrl::parse(&raw) {
            Ok(parsed) => {
                prop_assert_eq!(parsed.as_str(), raw.as_str());
                format!("{parsed} {parsed:?}")
            }
            Err(error) => format!("{error} {error:?}"),
        };
        match parse_url(&raw) {
            Ok(parsed) => {
                let display = display_url(&parsed);
                if url.encoded && !raw_space {
                    // Written carefully, the URL is read as meant and shown with exactly its
                    // credentials masked.
                    let scheme = url.scheme.to_ascii_lowercase();
                    let rest = parsed[url::Position::BeforeHost..url::Position::AfterPath].to_owned();
                    let mut expected = format!("{scheme}://{MASK}@{rest}");
                    if !url.query.is_empty() {
                        let keys: Vec<String> = url.query.iter().map(|(key, _)| format!("{key}={MASK}")).collect();
                        expected.push_str(&format!("?{}", keys.join("&")));
                    }
                    if url.fragment.is_some() {
                        expected.push_str(&format!("#{MASK}"));
                    }
                    prop_assert_eq!(&display, &expected);
                }
                shown.push_str(&display);
            }
            Err(error) => shown.push_str(&format!("{error} {error:?}")),
        }
        for secret in &hidden {
            prop_assert!(!shown.contains(secret.as_str()), "{:?} shown in {:?}", secret, shown);
        }
    }
}
