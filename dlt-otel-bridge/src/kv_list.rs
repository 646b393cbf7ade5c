//! The `key1=value1,key2=value2` lists of `OTEL_EXPORTER_OTLP_HEADERS` and
//! `OTEL_RESOURCE_ATTRIBUTES`: W3C-baggage-like members, values percent-decoded.

use percent_encoding::percent_decode_str;

/// One member of a list, or the fact that it was malformed (never its text).
pub(crate) type Member = Result<(String, String), Malformed>;

/// A member without `=`, with an empty key, or whose value does not decode to UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// Splits `raw` on `,` into trimmed `key=value` members; empty members are skipped.
/// The value is everything after the first `=`, trimmed and percent-decoded.
pub(crate) fn parse(raw: &str) -> Vec<Member> {
    raw.split(',')
        .map(str::trim)
        .filter(|member| !member.is_empty())
        .map(|member| {
            let (key, value) = member.split_once('=').ok_or(Malformed)?;
            let key = key.trim();
            if key.is_empty() || key.contains(char::is_whitespace) {
                return Err(Malformed);
            }
            let value = percent_decode_str(value.trim()).decode_utf8().map_err(|_| Malformed)?;
            Ok((key.to_owned(), value.into_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn pair(key: &str, value: &str) -> Member {
        Ok((key.to_owned(), value.to_owned()))
    }

    #[test]
    fn members_are_trimmed_and_percent_decoded() {
        assert_eq!(
            parse(" api-key = abc%20def ,, b=x=y,c="),
            vec![pair("api-key", "abc def"), pair("b", "x=y"), pair("c", "")]
        );
    }

    #[test]
    fn malformed_members_are_reported_in_place() {
        assert_eq!(
            parse("novalue,=v,a b=c,ok=1,bad=%FF"),
            vec![Err(Malformed), Err(Malformed), Err(Malformed), pair("ok", "1"), Err(Malformed)]
        );
        assert!(parse("").is_empty());
    }
}
