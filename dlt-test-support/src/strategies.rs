//! Proptest strategies more than one crate's property tests draw from (feature `strategies`).

use proptest::prelude::*;

/// A printable ASCII character as it appears in a URL's password: space and quotes
/// percent-encoded (as a real URL has them), everything else literal, with the characters that
/// people really write in passwords (and that end URLs in naive rules) drawn often.
pub fn url_password_char() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (0x20u8..=0x7e).prop_map(|byte| match byte {
            b' ' => "%20".to_owned(),
            b'"' => "%22".to_owned(),
            b'\'' => "%27".to_owned(),
            b'`' => "%60".to_owned(),
            other => char::from(other).to_string(),
        }),
        2 => prop::sample::select(vec![";", ",", ")", "]", "}", "/", "#", "?", "@", "%", ":", "%2F", "%40"])
            .prop_map(str::to_owned),
    ]
}
