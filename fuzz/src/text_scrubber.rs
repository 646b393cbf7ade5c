//! The text scrubber: any text with `scheme://user:PASSWORD@` put in it, the password drawn from
//! the input. Neither `hide_url_credentials` nor a `Redactor` (with secrets also drawn from the
//! input) lets the password out.
//!
//! The embedding makes this true by the rule (`dlt-redact`'s docs): a whitespace or a quote
//! before the scheme ends any URL that starts earlier in the text; the user name holds no `:`;
//! the password holds no whitespace or quote, so the URL's user:password part runs at least to
//! the password's `@`; and the password shares no character with the mask, so it cannot be
//! spelled across a mask. What the text says elsewhere is its own: when the password also
//! occurs apart from the URL, the check is skipped.
//!
//! Input: two control bytes, then the text (UTF-8, invalid bytes replaced). Control byte 0
//! picks the password's length (bits 0-4) and the scheme, user and boundary (bits 5-7); byte 1
//! where in the rest of the text the URL goes, and (its low bit) whether the first word of the
//! text is a listed secret.

use dlt_redact::{MASK, Redactor, hide_url_credentials};

const SCHEMES: [&str; 4] = ["https", "postgresql+psycopg2", "s3", "Redis"];
const USERS: [&str; 4] = ["", "loader", "u.ser_1~", "x"];
const BOUNDARIES: [char; 6] = [' ', '\n', '"', '\'', '`', '\u{a0}'];
const FILTERED: &str = "[Filtered]";

/// Ends a URL in free text (the rule's boundary).
fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '`')
}

/// Builds the text and checks that the password never comes out.
pub fn check(data: &[u8]) {
    let [first, second, rest @ ..] = data else { return };
    let text = String::from_utf8_lossy(rest);
    let length = usize::from(first & 0b1_1111) + 1;
    let password: String = text.chars().take(length).filter(|&c| !ends_url(c) && !MASK.contains(c)).collect();
    if password.is_empty() {
        return;
    }
    let rest: String = text.chars().skip(length).collect();
    let boundaries: Vec<usize> = rest.char_indices().map(|(at, _)| at).chain([rest.len()]).collect();
    let at = boundaries[usize::from(second >> 1) * (boundaries.len() - 1) / 127];
    let (before, after) = rest.split_at(at);
    let pick = usize::from(first >> 5);
    let (boundary, scheme, user) = (BOUNDARIES[pick % BOUNDARIES.len()], SCHEMES[pick % 4], USERS[pick / 2]);
    let url_start = format!("{before}{boundary}{scheme}://{user}:");
    let password_range = url_start.len()..url_start.len() + password.len();
    let text = format!("{url_start}{password}@{after}");

    // The password written apart from the URL, in the text around it, is the text's own.
    let elsewhere = text
        .match_indices(password.as_str())
        .any(|(start, found)| start + found.len() <= password_range.start || start >= password_range.end);
    if elsewhere {
        return;
    }

    let hidden = hide_url_credentials(&text, MASK);
    assert!(!hidden.contains(&password), "{password:?} leaked from {text:?}: {hidden:?}");

    let secrets: Vec<&str> =
        if second & 1 == 1 { text.split_whitespace().next().into_iter().collect() } else { Vec::new() };
    let redactor = Redactor::new(secrets);
    let redacted = redactor.redact(&text, MASK);
    assert!(!redacted.contains(&password), "{password:?} leaked from {text:?}: {redacted:?}");
    if !password.chars().any(|c| FILTERED.contains(c)) {
        let filtered = redactor.redact(&text, FILTERED);
        assert!(!filtered.contains(&password), "{password:?} leaked from {text:?}: {filtered:?}");
    }
}
