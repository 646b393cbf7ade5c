//! Credentials inside one secret value (a setting, an entry of a secrets file, not free text),
//! taken out so that a [`crate::Redactor`] hides them also where they appear apart from it: the
//! user info of a URL ([`url_credentials`]) and the password of a `key=value` connection
//! string ([`connection_string_passwords`]). The value is read whole, whitespace included: a
//! passphrase may hold spaces.

use std::collections::HashSet;

/// The credentials of a URL given as one value, whether or not it parses: its user info as the
/// URL rule reads it (before the last `@` after `scheme://`, or from the start of the value
/// when it has no `://`, as a proxy may be written), its password (after the first `:`), or
/// its user name when it has no password (a user name alone is a token, as in a Sentry DSN).
/// Which `@` ends the user info is not always clear: in `s3://u:p#w@h/d?mail=a@b` a password
/// holds a `#` and a query value an `@`, and in `https://u:pw@h/x?mail=a@b` a parser reads the
/// first. So each `@` gives one reading, and each reading's credentials count (of a value
/// holding more than eight `@`, the readings of the first four and the last four). The whole
/// value is read, whitespace included (`postgresql://loader:correct horse@db` has the password
/// `correct horse`); free text goes to the URL rule instead ([`crate::hide_url_credentials`]).
/// Each as written and percent-decoded, without empty or repeated values; nothing when there
/// is no `@`.
///
/// ```
/// assert_eq!(dlt_redact::url_credentials("http://loader:p%40ss@proxy:3128"), ["loader:p%40ss", "p%40ss", "loader:p@ss", "p@ss"]);
/// assert_eq!(dlt_redact::url_credentials("https://tok_SECRET@host/v1/track"), ["tok_SECRET"]);
/// assert!(dlt_redact::url_credentials("https://host/x?a=b").is_empty());
/// assert_eq!(dlt_redact::url_credentials("https://u:pw@h/x?mail=a@b"), ["u:pw", "pw", "u:pw@h/x?mail=a", "pw@h/x?mail=a"]);
/// assert_eq!(dlt_redact::url_credentials("postgresql://loader:correct horse@db"), ["loader:correct horse", "correct horse"]);
/// ```
pub fn url_credentials(raw: &str) -> Vec<String> {
    let start = raw.find("://").map_or(0, |separator| separator + 3);
    let stretch = &raw[start..];
    let ats: Vec<usize> = stretch.match_indices('@').map(|(at, _)| at).collect();
    // Each reading copies the value up to its `@`: of a value of many, only the first and the
    // last few, or a value of `@`s would cost as the square of its length.
    let (first, last) = ats.split_at(ats.len().saturating_sub(READINGS_FROM_EACH_END));
    let written: Vec<&str> = first
        .iter()
        .take(READINGS_FROM_EACH_END)
        .chain(last)
        .map(|&at| &stretch[..at])
        .flat_map(|user_info| [user_info, user_info.split_once(':').map_or(user_info, |(_, password)| password)])
        .collect();
    as_written_and_decoded(&written)
}

/// How many readings of a URL's user info [`url_credentials`] takes from each end of a value
/// holding many `@`.
const READINGS_FROM_EACH_END: usize = 4;

/// The passwords of a connection string given as one value, written as `key=value` pairs:
/// libpq's (`host=db user=loader password='correct horse'`: pairs apart at whitespace, a value
/// in `'` may hold spaces, `\` escapes the next character), ODBC's and JDBC's
/// (`Server=db;Uid=loader;Pwd={s3;cret};`: pairs apart at `;`, a value in braces may hold `;`,
/// `}}` stands for `}`), a URL query's (`?user=loader&password=s3cret`) and a Python call's
/// (`password="s3cret"`). The value of each key `password`, `passwd` or `pwd`, or ending in
/// `password` (`sslpassword`), case ignored, spaces around the `=` allowed. An unquoted value
/// runs to the next whitespace, `;` or `&` (libpq, a query); in a string that holds a `;` it
/// has a second reading, both taken: to the next `;` (ODBC, whose values may hold spaces).
/// Each as written (between its quotes or braces) and unquoted, and percent-decoded; without
/// empty or repeated values.
///
/// ```
/// use dlt_redact::connection_string_passwords;
///
/// assert_eq!(connection_string_passwords("host=db user=loader password=s3cret-pass dbname=dlt"), ["s3cret-pass"]);
/// assert_eq!(connection_string_passwords("Server=db;Uid=loader;Pwd={s3;cr}}et};"), ["s3;cr}}et", "s3;cr}et"]);
/// assert_eq!(connection_string_passwords("Driver=x;PWD=two words ;Database=dlt"), ["two", "two words"]);
/// assert!(connection_string_passwords("host=db user=loader").is_empty());
/// ```
pub fn connection_string_passwords(value: &str) -> Vec<String> {
    let odbc = value.contains(';');
    let mut written: Vec<&str> = Vec::new();
    let mut unquoted: Vec<String> = Vec::new();
    // A key inside a value read already is part of it, not a key: reading on after it keeps
    // the readings apart, so they cost about the value's length.
    let mut read_to = 0;
    for (equals, _) in value.match_indices('=') {
        if equals < read_to {
            continue;
        }
        let before = value[..equals].trim_end_matches([' ', '\t']);
        let key = &before[before.trim_end_matches(|c: char| c.is_ascii_alphanumeric() || c == '_').len()..];
        if !is_password_key(key) {
            continue;
        }
        let rest = value[equals + 1..].trim_start_matches([' ', '\t']);
        let rest_start = value.len() - rest.len();
        match rest.chars().next() {
            Some(quote @ ('\'' | '"')) => {
                let (as_written, value) = enclosed(&rest[1..], |c, _| (c == quote).then_some(Close::Here), Some('\\'));
                read_to = rest_start + 1 + as_written.len();
                written.push(as_written);
                unquoted.push(value);
            }
            Some('{') => {
                let closing = |c, next| match (c, next) {
                    ('}', Some('}')) => Some(Close::Escaped),
                    ('}', _) => Some(Close::Here),
                    _ => None,
                };
                let (as_written, value) = enclosed(&rest[1..], closing, None);
                read_to = rest_start + 1 + as_written.len();
                written.push(as_written);
                unquoted.push(value);
            }
            _ => {
                let to_whitespace = rest.find(|c: char| c.is_whitespace() || matches!(c, ';' | '&'));
                let to_whitespace = &rest[..to_whitespace.unwrap_or(rest.len())];
                written.push(to_whitespace);
                read_to = rest_start + to_whitespace.len();
                if odbc {
                    let to_semicolon = &rest[..rest.find(';').unwrap_or(rest.len())];
                    written.push(to_semicolon.trim_end());
                    read_to = rest_start + to_semicolon.len();
                }
            }
        }
    }
    written.extend(unquoted.iter().map(String::as_str));
    as_written_and_decoded(&written)
}

/// Whether a connection string's key names a password.
fn is_password_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key.ends_with("password") || key == "passwd" || key == "pwd"
}

/// What a character means inside quotes or braces.
enum Close {
    /// It ends the value.
    Here,
    /// It and the next one stand for it alone (`}}`).
    Escaped,
}

/// A quoted or braced value from after its opening to its closing (or the end of `text`): as
/// written, and with its escapes resolved. `closing` tells, from a character and the next, what
/// the character means; `escape`, if any, makes the next character stand for itself.
fn enclosed(text: &str, closing: impl Fn(char, Option<char>) -> Option<Close>, escape: Option<char>) -> (&str, String) {
    let mut value = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        let next = chars.peek().map(|&(_, next)| next);
        match closing(c, next) {
            Some(Close::Here) => return (&text[..at], value),
            Some(Close::Escaped) => {
                chars.next();
                value.push(c);
            }
            None if Some(c) == escape => value.extend(chars.next().map(|(_, escaped)| escaped)),
            None => value.push(c),
        }
    }
    (text, value)
}

/// Each text as written, then each percent-decoded, without empty or repeated values.
fn as_written_and_decoded(written: &[&str]) -> Vec<String> {
    let decoded =
        written.iter().map(|text| percent_encoding::percent_decode_str(text).decode_utf8_lossy().into_owned());
    let mut seen: HashSet<String> = HashSet::new();
    let mut credentials: Vec<String> = Vec::new();
    for credential in written.iter().map(|text| (*text).to_owned()).chain(decoded) {
        if !credential.is_empty() && seen.insert(credential.clone()) {
            credentials.push(credential);
        }
    }
    credentials
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MASK, Redactor};

    #[test]
    fn url_credentials_are_read_by_the_url_rule_over_the_whole_value() {
        assert_eq!(url_credentials("user:pw@proxy:3128"), ["user:pw", "pw"]);
        assert_eq!(url_credentials("socks5h://:only-pw@proxy"), [":only-pw", "only-pw"]);
        assert_eq!(url_credentials("https://u:@h"), ["u:"]);
        assert_eq!(url_credentials("https://tok%2Fen@h"), ["tok%2Fen", "tok/en"]);
        assert!(url_credentials("").is_empty());
        assert!(url_credentials("https://@h").is_empty());
        let redactor = Redactor::new(url_credentials("http://loader:pr0xy-pa55@proxy:3128"));
        assert_eq!(redactor.redact("auth failed for pr0xy-pa55", MASK), "auth failed for ***");
    }

    #[test]
    fn a_password_holding_whitespace_is_taken_out_whole() {
        let raw = "postgresql://loader:correct horse\tbattery@db/dlt";
        assert_eq!(url_credentials(raw), ["loader:correct horse\tbattery", "correct horse\tbattery"]);
        assert_eq!(url_credentials(" https://u:two words@h \n"), ["u:two words", "two words"]);
        assert_eq!(url_credentials("https://u:123/s e c@h/x and more@x")[..2], ["u:123/s e c", "123/s e c"]);
        let redactor = Redactor::new(url_credentials(raw));
        let error =
            "connect to postgresql://loader:correct horse\tbattery@db:5432/dlt (password \"correct horse\tbattery\")";
        assert_eq!(redactor.redact(error, MASK), "connect to postgresql://***@db:5432/dlt (password \"***\")");
    }

    #[test]
    fn libpq_connection_strings_give_their_password() {
        assert_eq!(connection_string_passwords("host=db user=loader password=s3cret-pass dbname=dlt"), ["s3cret-pass"]);
        assert_eq!(connection_string_passwords("password = 'correct horse' host=db"), ["correct horse"]);
        assert_eq!(connection_string_passwords(r"password='it\'s \\ ok' host=db"), [r"it\'s \\ ok", r"it's \ ok"]);
        assert_eq!(connection_string_passwords("sslpassword=key-pass PASSWORD=pw-upper"), ["key-pass", "pw-upper"]);
        assert_eq!(connection_string_passwords("password='unterminated value"), ["unterminated value"]);
        assert_eq!(connection_string_passwords("password= host=db"), ["host=db"]);
        assert!(connection_string_passwords("password=").is_empty());
        assert!(connection_string_passwords("user=loader passwords=x-not-a-key-x").is_empty());
    }

    #[test]
    fn a_value_built_to_be_read_many_times_costs_about_its_length() {
        let at_signs = format!("https://{}", "@".repeat(1_000_000));
        let readings = url_credentials(&at_signs);
        assert!(readings.iter().map(String::len).sum::<usize>() <= 16 * at_signs.len(), "{}", readings.len());
        // The readings of the first and the last `@`s are kept.
        let many = format!("https://u:p@{}h", "x@".repeat(20));
        let readings = url_credentials(&many);
        assert_eq!(readings[..2], ["u:p", "p"]);
        assert!(readings.contains(&format!("u:p@{}x", "x@".repeat(19))));
        for keys in ["pwd=".repeat(250_000), "password=x ".repeat(100_000), "pwd='a' ".repeat(125_000)] {
            let readings = connection_string_passwords(&keys);
            assert!(readings.iter().map(String::len).sum::<usize>() <= 4 * keys.len(), "{}", readings.len());
        }
    }

    #[test]
    fn odbc_and_query_connection_strings_give_their_password() {
        assert_eq!(connection_string_passwords("Server=db;Uid=loader;Pwd=s3cret;"), ["s3cret"]);
        assert_eq!(connection_string_passwords("Server=db;PWD={a;b}}c} ;x=y"), ["a;b}}c", "a;b}c"]);
        assert_eq!(connection_string_passwords("jdbc:sqlserver://db;user=u;password=j-pass"), ["j-pass"]);
        assert_eq!(connection_string_passwords("postgresql://db/dlt?user=u&password=p%40ss&x=1"), ["p%40ss", "p@ss"]);
        assert_eq!(connection_string_passwords("Passwd=\"py thon\", user='u'"), ["py thon"]);
        assert_eq!(connection_string_passwords("pwd=ünï cödé;"), ["ünï", "ünï cödé"]);
        // Every password of a string counts.
        assert_eq!(connection_string_passwords("password=first-pw;Pwd=second-pw"), ["first-pw", "second-pw"]);
    }
}
