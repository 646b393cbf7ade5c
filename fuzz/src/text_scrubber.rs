//! The text scrubber: any text with `scheme://user:PASSWORD@` put in it, the password drawn from
//! the input. Neither `hide_url_credentials` nor a `Redactor` (with secrets also drawn from the
//! input) lets the password out.
//!
//! The embedding makes this true by the rule (`dlt-redact`'s docs): a URL that starts earlier in
//! the text without whitespace in between runs over this one, so its user info ends at this
//! URL's `@` or later; the password holds no whitespace, so the URL's user info runs at least to
//! the password's `@`; and the password shares no character with the mask, so it cannot be
//! spelled across a mask. What the text says elsewhere is its own: when the password also
//! occurs apart from the URL, the check is skipped.
//!
//! Input: two control bytes, then the text (UTF-8, invalid bytes replaced). Control byte 0
//! picks the password's length (bits 0-4) and the scheme, user and boundary (bits 5-7); byte 1
//! where in the rest of the text the URL goes, and (its low bit) whether the first word of the
//! text is a listed secret.

use crate::embedded_password::{BOUNDARIES, SCHEMES, check_never_comes_out, embed, password_of};

const USERS: [&str; 4] = ["", "loader", "u.ser_1~", "x"];

/// Builds the text and checks that the password never comes out.
pub fn check(data: &[u8]) {
    let [first, second, rest @ ..] = data else { return };
    let text = String::from_utf8_lossy(rest);
    let length = usize::from(first & 0b1_1111) + 1;
    let password = password_of(text.chars().take(length));
    if password.is_empty() {
        return;
    }
    let rest: String = text.chars().skip(length).collect();
    let boundaries: Vec<usize> = rest.char_indices().map(|(at, _)| at).chain([rest.len()]).collect();
    let at = boundaries[usize::from(second >> 1) * (boundaries.len() - 1) / 127];
    let (before, after) = rest.split_at(at);
    let pick = usize::from(first >> 5);
    let (boundary, scheme, user) = (BOUNDARIES[pick % BOUNDARIES.len()], SCHEMES[pick % 4], USERS[pick / 2]);
    let Some(text) = embed(before, boundary, scheme, user, &password, after) else { return };
    if let Err(failure) = check_never_comes_out(&text, &password, second & 1 == 1) {
        panic!("{failure}");
    }
}
