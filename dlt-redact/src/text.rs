//! Secrets in free text: the URL credential rule ([`hide_url_credentials`]) and the
//! [`Redactor`] that adds a fixed list of secret values to it.

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;

/// Replaces the password of every `scheme://user:password@` in `text` with `mask`.
///
/// The rule: a URL starts at `scheme://`, the scheme being an ASCII letter followed by ASCII
/// letters, digits, `+`, `-` or `.`. Its user:password part runs from after `://` to the
/// **last** `@` before the next whitespace or quote (`"`, `'`, `` ` ``); everything after the
/// first `:` of that part is replaced by `mask`, the user name and the `@` are kept. A URL
/// without `@` before that boundary, or without `:` before its `@`, is left as it is.
///
/// Ending the part at the last `@` (not at the first `/`, `;` or `)`) is what catches passwords
/// that contain `; , ) ] } / # ? @` or `%XX`:
/// `postgresql://loader:Xy;9@db/dlt` becomes `postgresql://loader:***@db/dlt` and
/// `https://u:pa/ss@h/x` becomes `https://u:***@h/x`.
///
/// It over-hides on purpose: a URL without credentials whose path or query holds a `:` before
/// an `@` loses what lies between them (`https://example.com/a:b@c` becomes
/// `https://example.com/a:***@c`), and a port is hidden with the password when a later `@`
/// follows. Showing a little less is the price of never showing a password.
///
/// Returns the text borrowed, without allocating, when there is nothing to hide.
///
/// ```
/// use dlt_redact::{MASK, hide_url_credentials};
///
/// let text = "could not connect to postgresql://loader:Xy;9@db/dlt: refused";
/// assert_eq!(hide_url_credentials(text, MASK), "could not connect to postgresql://loader:***@db/dlt: refused");
/// ```
pub fn hide_url_credentials<'a>(text: &'a str, mask: &str) -> Cow<'a, str> {
    hide_credentials(text, mask, ends_free_text_url)
}

/// Where a URL ends in free text: whitespace or a quote.
fn ends_free_text_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '`')
}

/// The URL credential rule with the end of each URL decided by `ends_url`.
pub(crate) fn hide_credentials<'a>(text: &'a str, mask: &str, ends_url: impl Fn(char) -> bool) -> Cow<'a, str> {
    replace_ranges(text, &credential_ranges(text, ends_url), mask)
}

/// The byte ranges of the passwords the URL rule finds in `text` (from after the first `:` of a
/// user:password part to its last `@`), in order and not overlapping; a range may be empty.
fn credential_ranges(text: &str, ends_url: impl Fn(char) -> bool) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut search = 0;
    while let Some(found) = text.get(search..).and_then(|rest| rest.find("://")) {
        let separator = search + found;
        let authority = separator + 3;
        search = authority;
        if !ends_with_scheme(&text[..separator]) {
            continue;
        }
        let rest = &text[authority..];
        let stretch = &rest[..rest.find(&ends_url).unwrap_or(rest.len())];
        let Some(at) = stretch.rfind('@') else {
            continue;
        };
        let Some(colon) = stretch[..at].find(':') else {
            continue;
        };
        ranges.push(authority + colon + 1..authority + at);
        search = authority + at;
    }
    ranges
}

/// `text` with each range (in order, not overlapping) replaced by `mask`; borrowed when there
/// is no range.
fn replace_ranges<'a>(text: &'a str, ranges: &[Range<usize>], mask: &str) -> Cow<'a, str> {
    if ranges.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for range in ranges {
        out.push_str(&text[copied..range.start]);
        out.push_str(mask);
        copied = range.end;
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Whether `before` ends with a URL scheme: an ASCII letter, then letters, digits, `+-.`.
fn ends_with_scheme(before: &str) -> bool {
    before
        .bytes()
        .rev()
        .take_while(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'-' | b'.'))
        .any(|byte| byte.is_ascii_alphabetic())
}

/// Sorted ranges with the overlapping and touching ones joined.
fn merged(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|range| (range.start, range.end));
    let mut joined: Vec<Range<usize>> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match joined.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => joined.push(range),
        }
    }
    joined
}

/// How often the [`Redactor`] replaces one secret again after masking.
const MAX_PASSES: usize = 8;

/// Hides a fixed list of secret values and every URL password ([`hide_url_credentials`]) in
/// free text.
///
/// Both rules look at the text as given, and every part that either finds is replaced (parts
/// that overlap or touch by one mask), so a DSN is replaced whole, its public key with it, and
/// a secret inside a URL never hides that URL's password from the URL rule. Empty secrets are
/// ignored. `Debug` shows how many secrets it holds, never which.
///
/// ```
/// use dlt_redact::{MASK, Redactor};
///
/// let dsn = "https://publickey@o1.ingest.sentry.io/42";
/// let redactor = Redactor::new([dsn, "publickey", "write-key-123", ""]);
/// assert_eq!(redactor.redact("dsn https://publickey@o1.ingest.sentry.io/42", MASK), "dsn ***");
/// assert_eq!(redactor.redact("key publickey, wk write-key-123", "[Filtered]"), "key [Filtered], wk [Filtered]");
/// assert_eq!(redactor.redact("s3://k:v@bucket", MASK), "s3://k:***@bucket");
/// ```
#[derive(Clone, Default)]
pub struct Redactor {
    /// Longest first (for the passes after masking), without duplicates or empty values.
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for these secret values (plus the URL rule, always on).
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Self {
        let mut secrets: Vec<String> =
            secrets.into_iter().map(|secret| secret.as_ref().to_owned()).filter(|secret| !secret.is_empty()).collect();
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        Self { secrets }
    }

    /// `text` with every secret value and URL password replaced by `mask`; borrowed, without
    /// allocating, when there is nothing to hide.
    pub fn redact<'a>(&self, text: &'a str, mask: &str) -> Cow<'a, str> {
        // Both rules look at the text as given and everything either finds is hidden, so that
        // replacing a secret never takes away the `:` or `@` the URL rule needs (or the
        // other way round).
        let mut ranges = credential_ranges(text, ends_free_text_url);
        for secret in &self.secrets {
            ranges.extend(text.match_indices(secret.as_str()).map(|(start, found)| start..start + found.len()));
        }
        if ranges.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut redacted = replace_ranges(text, &merged(ranges), mask).into_owned();
        for secret in &self.secrets {
            // The text around a mask can spell a secret again with the mask's characters
            // ("xx***" with secret "x***"): replace until it is gone, within a bound (a secret
            // made of the mask's characters could be spelled again forever).
            for _ in 0..MAX_PASSES {
                if !redacted.contains(secret.as_str()) {
                    break;
                }
                redacted = redacted.replace(secret.as_str(), mask);
            }
        }
        Cow::Owned(redacted)
    }

    /// [`redact`](Self::redact) in place; leaves `text` untouched when there is nothing to hide.
    pub fn redact_in_place(&self, text: &mut String, mask: &str) {
        if let Cow::Owned(redacted) = self.redact(text, mask) {
            *text = redacted;
        }
    }

    /// Whether the redactor holds no secret value (the URL rule still applies).
    pub fn has_no_secrets(&self) -> bool {
        self.secrets.is_empty()
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redactor").field("secrets", &self.secrets.len()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MASK;

    fn hidden(text: &str) -> Cow<'_, str> {
        hide_url_credentials(text, MASK)
    }

    #[test]
    fn passwords_with_delimiters_are_hidden_whole() {
        let cases = [
            ("postgresql://loader:Xy;9@db/dlt", "postgresql://loader:***@db/dlt"),
            ("https://u:pa/ss@h/x", "https://u:***@h/x"),
            ("https://u:a,b)c]d}e@h", "https://u:***@h"),
            ("https://u:a#b?c@h/x?q=1", "https://u:***@h/x?q=1"),
            ("https://u:p@ss@h/x", "https://u:***@h/x"),
            ("https://u:p%40ss%2F@h", "https://u:***@h"),
            ("redis://:only-password@cache:6379/0", "redis://:***@cache:6379/0"),
            ("postgresql+psycopg2://loader:pw@db", "postgresql+psycopg2://loader:***@db"),
        ];
        for (text, expected) in cases {
            assert_eq!(hidden(text), expected, "{text}");
        }
    }

    #[test]
    fn urls_end_at_whitespace_and_quotes() {
        assert_eq!(
            hidden("connect postgresql://loader:s3cr3t@db.local:5432/dlt failed"),
            "connect postgresql://loader:***@db.local:5432/dlt failed"
        );
        assert_eq!(
            hidden("a https://u:p@h/x and \"s3://k:v@bucket\""),
            "a https://u:***@h/x and \"s3://k:***@bucket\""
        );
        assert_eq!(hidden("'https://u:p@h'@x"), "'https://u:***@h'@x");
        assert_eq!(hidden("`ftp://u:p@h`\tssh://a:b@c\n"), "`ftp://u:***@h`\tssh://a:***@c\n");
    }

    #[test]
    fn text_without_credentials_is_borrowed_unchanged() {
        for text in [
            "no url here",
            "https://example.com/path?x=1",
            "https://token@github.com/org/repo",
            "mailto:someone@example.com",
            "://u:p@h",
            "9://u:p@h",
            "https://h/x and then u:p@h",
            "",
        ] {
            assert!(matches!(hidden(text), Cow::Borrowed(same) if same == text), "{text}");
        }
    }

    #[test]
    fn over_hiding_is_accepted() {
        assert_eq!(hidden("https://example.com/a:b@c"), "https://example.com/a:***@c");
        assert_eq!(hidden("https://u:p@h:8443/x@y"), "https://u:***@y");
        assert_eq!(hidden("http://x?next=ftp://a:b@c d"), "http://x?next=ftp:***@c d");
    }

    #[test]
    fn every_url_in_the_text_is_handled() {
        assert_eq!(hidden("a://u:1@h b://v:2@i c://w@j"), "a://u:***@h b://v:***@i c://w@j");
        assert_eq!(hidden("x-https://u:p@h"), "x-https://u:***@h");
        assert_eq!(hidden("ünïcödé https://ü:pä$$@hö/ü"), "ünïcödé https://ü:***@hö/ü");
        assert_eq!(hide_url_credentials("https://u:p@h", "[Filtered]"), "https://u:[Filtered]@h");
    }

    #[test]
    fn the_redactor_replaces_long_secrets_first_then_applies_the_url_rule() {
        let dsn = "https://pub:sec@sentry.example.com/7";
        let redactor = Redactor::new([dsn, "pub", "sec", "", "pub"]);
        assert_eq!(format!("{redactor:?}"), "Redactor { secrets: 3 }");
        assert_eq!(redactor.redact(&format!("dsn={dsn}!"), MASK), "dsn=***!");
        assert_eq!(redactor.redact("pub and sec", "[Filtered]"), "[Filtered] and [Filtered]");
        assert_eq!(redactor.redact("db postgres://a:b;c@d", MASK), "db postgres://a:***@d");
        assert!(matches!(redactor.redact("nothing to see", MASK), Cow::Borrowed(_)));
        let mut text = String::from("key sec");
        redactor.redact_in_place(&mut text, MASK);
        assert_eq!(text, "key ***");
        assert!(Redactor::new([""]).has_no_secrets());
        assert_eq!(Redactor::new(["x***"]).redact("xx***", MASK), "***");
        // A secret holding a URL's `:` or `@` does not keep the URL rule from the password.
        let redactor = Redactor::new(["loader:Xy", "9a@db"]);
        assert_eq!(redactor.redact("postgresql://loader:Xy;9a@db/dlt", MASK), "postgresql://***/dlt");
        assert_eq!(
            Redactor::new(["9a@db"]).redact("postgresql://loader:Xy;9a@db/dlt", MASK),
            "postgresql://loader:***/dlt"
        );
        assert_eq!(Redactor::default().redact("https://u:p@h", MASK), "https://u:***@h");
    }
}
