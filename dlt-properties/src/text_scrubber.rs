//! The text scrubber: any text with `scheme://user:PASSWORD@` put in it. Neither
//! `hide_url_credentials` nor a `Redactor` (holding the text's first word as a secret, or
//! nothing), with either mask, lets the password out.
//!
//! The embedding makes this true by the rule (`dlt-redact`'s docs): whatever the text before
//! the URL holds, a URL started there without whitespace runs over this one, so its user info
//! ends at this URL's `@` or later; the password holds no whitespace, so this URL's user info
//! runs at least to the password's `@`; and the password shares no character with the mask, so
//! it cannot be spelled across a mask. What the text says elsewhere is its own: when the
//! password also occurs apart from the URL, the case does not apply.
//!
//! Fuzz input: two control bytes, then the text (UTF-8, invalid bytes replaced), whose first
//! characters give the password. Control byte 0 picks the password's length (bits 0-4) and the
//! scheme, user and boundary (bits 5-7); byte 1 where in the rest of the text the URL goes, and
//! (its low bit) whether the first word of the text is a listed secret.

use std::path::Path;

use dlt_redact::{MASK, Redactor, hide_url_credentials};

/// The characters put before a URL: whitespace ends whatever came before, a quote does not.
pub const BOUNDARIES: [char; 6] = [' ', '\n', '"', '\'', '`', '\u{a0}'];
/// Schemes of the kinds users write.
pub const SCHEMES: [&str; 4] = ["https", "postgresql+psycopg2", "s3", "Redis"];
/// The user names the fuzz input picks from.
const USERS: [&str; 4] = ["", "loader", "u.ser_1~", "x"];
/// Sentry's mask: another mask a password may meet.
const FILTERED: &str = "[Filtered]";

/// One case: `{before}{boundary}{scheme}://{user}:{password}@{after}`.
#[derive(Clone, Debug)]
pub struct Embedding {
    /// The text before the URL.
    pub before: String,
    /// The character right before the URL.
    pub boundary: char,
    /// The URL's scheme.
    pub scheme: &'static str,
    /// The URL's user name.
    pub user: String,
    /// The password: made with [`password_of`], and not empty.
    pub password: String,
    /// The text after the `@`.
    pub after: String,
    /// Whether the redactor holds the text's first word as a secret.
    pub first_word_is_secret: bool,
}

impl Embedding {
    /// The text, or `None` when it also holds the password apart from the URL (then the case
    /// does not apply).
    pub fn text(&self) -> Option<String> {
        let url_start = format!("{}{}{}://{}:", self.before, self.boundary, self.scheme, self.user);
        let password_range = url_start.len()..url_start.len() + self.password.len();
        let text = format!("{url_start}{}@{}", self.password, self.after);
        let elsewhere = text
            .match_indices(self.password.as_str())
            .any(|(start, found)| start + found.len() <= password_range.start || start >= password_range.end);
        (!elsewhere).then_some(text)
    }
}

/// The characters of `candidate` a password may hold: no whitespace, no character of the mask.
pub fn password_of(candidate: impl IntoIterator<Item = char>) -> String {
    candidate.into_iter().filter(|&c| !c.is_whitespace() && !MASK.contains(c)).collect()
}

/// Checks that the password never comes out of the case's text (a case that does not apply
/// holds).
pub fn check(case: &Embedding) -> Result<(), String> {
    let Some(text) = case.text() else { return Ok(()) };
    let password = case.password.as_str();
    let leaked = |what: &str, out: &str| Err(format!("{password:?} leaked from {text:?} by {what}: {out:?}"));
    let hidden = hide_url_credentials(&text, MASK);
    if hidden.contains(password) {
        return leaked("hide_url_credentials", &hidden);
    }
    let secrets: Vec<&str> =
        if case.first_word_is_secret { text.split_whitespace().next().into_iter().collect() } else { Vec::new() };
    let redactor = Redactor::new(secrets);
    let redacted = redactor.redact(&text, MASK);
    if redacted.contains(password) {
        return leaked("a Redactor", &redacted);
    }
    if !password.chars().any(|c| FILTERED.contains(c)) {
        let filtered = redactor.redact(&text, FILTERED);
        if filtered.contains(password) {
            return leaked("a Redactor with Sentry's mask", &filtered);
        }
    }
    Ok(())
}

/// The fuzz target's entry point: see the module's docs for the input.
pub fn check_input(_scratch: &Path, data: &[u8]) -> Result<(), String> {
    let [first, second, rest @ ..] = data else { return Ok(()) };
    let text = String::from_utf8_lossy(rest);
    let length = usize::from(first & 0b1_1111) + 1;
    let password = password_of(text.chars().take(length));
    if password.is_empty() {
        return Ok(());
    }
    let rest: String = text.chars().skip(length).collect();
    let boundaries: Vec<usize> = rest.char_indices().map(|(at, _)| at).chain([rest.len()]).collect();
    let at = boundaries[usize::from(second >> 1) * (boundaries.len() - 1) / 127];
    let (before, after) = rest.split_at(at);
    let pick = usize::from(first >> 5);
    check(&Embedding {
        before: before.to_owned(),
        boundary: BOUNDARIES[pick % BOUNDARIES.len()],
        scheme: SCHEMES[pick % SCHEMES.len()],
        user: USERS[pick / 2].to_owned(),
        password,
        after: after.to_owned(),
        first_word_is_secret: second & 1 == 1,
    })
}
