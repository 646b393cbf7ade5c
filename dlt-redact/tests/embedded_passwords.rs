//! The `text_scrubber` fuzz target's property in seconds: any text with
//! `scheme://user:PASSWORD@` put anywhere in it, user name and password any characters but
//! whitespace (quotes, `@`, `/`, `#`, `?` and `:` included). Neither `hide_url_credentials` nor a
//! `Redactor` (holding a word of the text as a secret, or nothing) lets the password out.
//!
//! Unlike `properties.rs`, the text around the URL is anything: it may hold `://`, `@` and `:`
//! right up to the URL, and the URL runs into the text after it. The embedding makes the
//! property true by the rule (see `support/embedded_password.rs`). A password the text also
//! holds apart from the URL is the text's own: such cases are not counted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "support/embedded_password.rs"]
mod embedded_password;

use embedded_password::{BOUNDARIES, SCHEMES, check_never_comes_out, embed, password_of};
use proptest::prelude::*;

/// Text that makes the rule work: URLs, `@`, `:`, boundaries, and any characters.
fn text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => any::<char>().prop_map(String::from),
        1 => prop::sample::select(vec!["://", "@", ":", "s3://a:b@c", " ", "\"", "'", "`", "\u{a0}", "***", "%40"])
            .prop_map(str::to_owned),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|pieces| pieces.concat())
}

fn password() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => any::<char>(),
            2 => prop::sample::select(vec![':', '@', '/', ';', '#', '?', '%', ']', ')', '\'', '"', '`', '&', '=']),
        ],
        1..16,
    )
    .prop_map(password_of)
    .prop_filter("a password", |password: &String| !password.is_empty())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_password_embedded_anywhere_never_comes_out(
        before in text(),
        after in text(),
        password in password(),
        boundary in prop::sample::select(BOUNDARIES.to_vec()),
        scheme in prop::sample::select(SCHEMES.to_vec()),
        user in prop::collection::vec(any::<char>(), 0..8).prop_map(password_of),
        first_word_is_secret in any::<bool>(),
    ) {
        let text = embed(&before, boundary, scheme, &user, &password, &after);
        prop_assume!(text.is_some());
        check_never_comes_out(&text.unwrap(), &password, first_word_is_secret).map_err(TestCaseError::fail)?;
    }
}
