//! A URL password put anywhere in any text, and the property that it never comes out: shared
//! by the property test `embedded_passwords.rs` and the `text_scrubber` fuzz target (which
//! includes this file).
//!
//! The embedding makes the property true by the rule (see the crate's docs): whatever the text
//! before the URL holds, a URL started there without whitespace runs over this one, so its
//! user info ends at this URL's `@` or later; the password holds no whitespace, so this URL's
//! user info runs at least to the password's `@`; and the password holds no mask character
//! (so it cannot be spelled across a mask). A password the text also holds apart from the URL
//! is the text's own.

use dlt_redact::{MASK, Redactor, hide_url_credentials};

/// The characters put before a URL: whitespace ends whatever came before, a quote does not.
pub(crate) const BOUNDARIES: [char; 6] = [' ', '\n', '"', '\'', '`', '\u{a0}'];
/// Schemes of the kinds users write.
pub(crate) const SCHEMES: [&str; 4] = ["https", "postgresql+psycopg2", "s3", "Redis"];
/// Sentry's mask: another mask a password may meet.
const FILTERED: &str = "[Filtered]";

/// Whether a character ends a URL in free text (whitespace), so may not be in the password.
pub(crate) fn ends_url(c: char) -> bool {
    c.is_whitespace()
}

/// The characters of `candidate` a password may hold.
pub(crate) fn password_of(candidate: impl IntoIterator<Item = char>) -> String {
    candidate.into_iter().filter(|&c| !ends_url(c) && !MASK.contains(c)).collect()
}

/// `{before}{boundary}{scheme}://{user}:{password}@{after}`, or `None` when the text also
/// holds the password apart from the URL.
pub(crate) fn embed(
    before: &str,
    boundary: char,
    scheme: &str,
    user: &str,
    password: &str,
    after: &str,
) -> Option<String> {
    let url_start = format!("{before}{boundary}{scheme}://{user}:");
    let password_range = url_start.len()..url_start.len() + password.len();
    let text = format!("{url_start}{password}@{after}");
    let elsewhere = text
        .match_indices(password)
        .any(|(start, found)| start + found.len() <= password_range.start || start >= password_range.end);
    (!elsewhere).then_some(text)
}

/// Neither `hide_url_credentials` nor a `Redactor` (holding the text's first word as a secret,
/// or nothing), with either mask, lets the password out of the text.
pub(crate) fn check_never_comes_out(text: &str, password: &str, first_word_is_secret: bool) -> Result<(), String> {
    let leaked = |what: &str, out: &str| Err(format!("{password:?} leaked from {text:?} by {what}: {out:?}"));
    let hidden = hide_url_credentials(text, MASK);
    if hidden.contains(password) {
        return leaked("hide_url_credentials", &hidden);
    }
    let secrets: Vec<&str> =
        if first_word_is_secret { text.split_whitespace().next().into_iter().collect() } else { Vec::new() };
    let redactor = Redactor::new(secrets);
    let redacted = redactor.redact(text, MASK);
    if redacted.contains(password) {
        return leaked("a Redactor", &redacted);
    }
    if !password.chars().any(|c| FILTERED.contains(c)) {
        let filtered = redactor.redact(text, FILTERED);
        if filtered.contains(password) {
            return leaked("a Redactor with Sentry's mask", &filtered);
        }
    }
    Ok(())
}
