//! The `text_scrubber` property in seconds: any text with `scheme://user:PASSWORD@` put
//! anywhere in it, user name and password any characters but whitespace (quotes, `@`, `/`, `#`,
//! `?` and `:` included). Neither `hide_url_credentials` nor a `Redactor` (holding a word of
//! the text as a secret, or nothing) lets the password out.
//!
//! Unlike `dlt-redact`'s own property tests, the text around the URL is anything: it may hold
//! `://`, `@` and `:` right up to the URL, and the URL runs into the text after it. A password
//! the text also holds apart from the URL is the text's own: such cases are not counted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dlt_properties::text_scrubber::{BOUNDARIES, Embedding, SCHEMES, check, password_of};
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

fn embedding() -> impl Strategy<Value = Embedding> {
    (
        text(),
        prop::sample::select(BOUNDARIES.to_vec()),
        prop::sample::select(SCHEMES.to_vec()),
        prop::collection::vec(any::<char>(), 0..8).prop_map(password_of),
        password(),
        text(),
        any::<bool>(),
    )
        .prop_map(|(before, boundary, scheme, user, password, after, first_word_is_secret)| Embedding {
            before,
            boundary,
            scheme,
            user,
            password,
            after,
            first_word_is_secret,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_password_embedded_anywhere_never_comes_out(case in embedding()) {
        prop_assume!(case.text().is_some());
        check(&case).map_err(TestCaseError::fail)?;
    }
}
