//! Secrets in free text: the URL rule ([`hide_url_credentials`]) and the [`Redactor`] that adds
//! a set of secret values to it.
//!
//! Glossary of the URL rule:
//! - *stretch*: from after `scheme://` to the next whitespace or the end of the text;
//! - *user info*: the start of the stretch up to its **last** `@`;
//! - *query*: from the first `?` of the stretch to the next `#`, as `key=value` parts split at
//!   `&` (a part without `=` is all value);
//! - *fragment*: from the first `#` of the stretch (that is not inside the query) to its end.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::nfa::contiguous::NFA;
use aho_corasick::{Anchored, MatchKind, Span};

/// Hides the credentials of every URL in `text`: its user info, its query values and its
/// fragment, each replaced by `mask`.
///
/// The rule: a URL starts at `scheme://`, the scheme being an ASCII letter followed by ASCII
/// letters, digits, `+`, `-` or `.`. Every character up to the next whitespace belongs to it
/// (quotes and backticks too: RFC 3986 allows `'` in a password, and people put `"` and `` ` ``
/// in theirs). If that stretch holds an `@`, everything before its **last** `@` is the user
/// info, user name included (a user name alone, as in a Sentry DSN, is often a token): it is
/// replaced by `mask`, the `@` and what follows are kept. After the user info, the value of
/// every `key=value` of the query is replaced (a part without `=` is replaced whole), keys are
/// kept, and so is everything after a `#` (the fragment).
///
/// Ending the user info at the last `@` (not at the first `/`, `;`, quote or `)`) is what
/// catches passwords that hold `; , ) ] } / # ? @ ' "` or `%XX`:
/// `postgresql://loader:it's9@db/dlt` becomes `postgresql://***@db/dlt`.
///
/// It over-hides on purpose; showing a little less is the price of never showing a secret:
/// - a URL without credentials whose path holds an `@` loses what lies before it
///   (`https://example.com/@team/x` becomes `https://***@team/x`);
/// - text glued to a URL without whitespace belongs to it: `"https://u:p@h/x","v@w"` loses
///   everything up to the `@` of `v@w`, and a `?` or `#` in such text starts a query or a
///   fragment;
/// - a `?` or `#` before the last `@` starts the query or fragment there: what follows that
///   `@` is then hidden as the rest of it (`https://h/x?mail=a@b.com&t=1` becomes
///   `https://***@***&t=***`).
///
/// Returns the text borrowed, without allocating, when there is nothing to hide.
///
/// ```
/// use dlt_redact::{MASK, hide_url_credentials};
///
/// let text = "could not connect to postgresql://loader:it's9@db/dlt: refused";
/// assert_eq!(hide_url_credentials(text, MASK), "could not connect to postgresql://***@db/dlt: refused");
/// let text = "POST http://tok_SECRET@host/v1/track?api_key=k3y&debug failed";
/// assert_eq!(hide_url_credentials(text, MASK), "POST http://***@host/v1/track?api_key=***&*** failed");
/// ```
pub fn hide_url_credentials<'a>(text: &'a str, mask: &str) -> Cow<'a, str> {
    replace_ranges(text, &url_ranges(text), mask)
}

/// The byte ranges the URL rule hides in `text`: in order, not overlapping, none empty.
fn url_ranges(text: &str) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut search = 0;
    while let Some(found) = text.get(search..).and_then(|rest| rest.find("://")) {
        let separator = search + found;
        let stretch_start = separator + 3;
        if !ends_with_scheme(&text[..separator]) {
            search = stretch_start;
            continue;
        }
        let stretch_end = text[stretch_start..].find(char::is_whitespace).map_or(text.len(), |end| stretch_start + end);
        push_url_ranges(text, stretch_start..stretch_end, &mut ranges);
        // Every URL that starts inside the stretch is hidden by its ranges: its user info lies
        // before the stretch's last `@`, its query and fragment after the stretch's first `?`/`#`.
        search = stretch_end;
    }
    ranges
}

/// Adds the ranges of one URL's stretch: its user info, then its query values and fragment,
/// the latter clipped to after the user info.
fn push_url_ranges(text: &str, stretch: Range<usize>, ranges: &mut Vec<Range<usize>>) {
    let part = &text[stretch.clone()];
    let after_user_info = match user_info_end(part) {
        Some(at) => {
            push_non_empty(ranges, stretch.start..stretch.start + at);
            stretch.start + at + 1
        }
        None => stretch.start,
    };
    let mut clipped = |range: Range<usize>| push_non_empty(ranges, range.start.max(after_user_info)..range.end);
    let Some(first) = part.find(['?', '#']) else { return };
    let mut fragment = None;
    if part[first..].starts_with('?') {
        let query_start = stretch.start + first + 1;
        let query_end = text[query_start..stretch.end].find('#').map_or(stretch.end, |hash| query_start + hash);
        query_value_ranges(text, query_start..query_end).for_each(&mut clipped);
        if query_end < stretch.end {
            fragment = Some(query_end + 1);
        }
    } else {
        fragment = Some(stretch.start + first + 1);
    }
    if let Some(fragment_start) = fragment {
        clipped(fragment_start..stretch.end);
    }
}

/// Where the user info of a URL's stretch ends: at its last `@`.
fn user_info_end(stretch: &str) -> Option<usize> {
    stretch.rfind('@')
}

/// The ranges of the values in the query `text[query]`: after the first `=` of each part split
/// at `&`, or the whole part when it has no `=`. Some may be empty.
pub(crate) fn query_value_ranges(text: &str, query: Range<usize>) -> impl Iterator<Item = Range<usize>> + '_ {
    let mut start = query.start;
    text[query].split('&').map(move |part| {
        let end = start + part.len();
        let value = match part.find('=') {
            Some(equals) => start + equals + 1..end,
            None => start..end,
        };
        start = end + 1;
        value
    })
}

fn push_non_empty(ranges: &mut Vec<Range<usize>>, range: Range<usize>) {
    if !range.is_empty() {
        ranges.push(range);
    }
}

/// `text` with each range (in order, not overlapping) replaced by `mask`; borrowed when there
/// is no range.
pub(crate) fn replace_ranges<'a>(text: &'a str, ranges: &[Range<usize>], mask: &str) -> Cow<'a, str> {
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

/// How often the [`Redactor`] searches the text again after masking.
const MAX_PASSES: usize = 8;

/// A set of secret values, hidden in free text together with every URL's credentials
/// ([`hide_url_credentials`]): the one shape in which secrets travel from the configuration
/// to every place that shows or sends text.
///
/// Both rules look at the text as given, and every part that either finds is replaced (parts
/// that overlap or touch by one mask): every occurrence of every secret, so a DSN is replaced
/// whole, its public key with it, a longer secret holding a shorter one is hidden whole, and a
/// secret inside a URL never hides that URL's user info from the URL rule. A secret holding
/// `"` or `\` is also hidden as a quoted string spells it (`\"`, `\\`: Rust's `Debug`, JSON).
/// Empty secrets are ignored. More secrets can be added ([`Extend`]); a set is built from any
/// strings ([`FromIterator`], [`Redactor::new`]). `Debug` shows how many spellings it looks
/// for, never which.
///
/// All secrets are searched in one pass (an Aho-Corasick automaton, built when the set is
/// built or extended), one step per byte of the text, so hiding costs about as much for
/// 20,000 secrets as for ten, and as much for secrets that overlap everywhere as for others.
///
/// ```
/// use dlt_redact::{MASK, Redactor};
///
/// let dsn = "https://publickey@o1.ingest.sentry.io/42";
/// let mut redactor = Redactor::new([dsn, "publickey", ""]);
/// redactor.extend(["write-key-123"]);
/// assert_eq!(redactor.redact("dsn https://publickey@o1.ingest.sentry.io/42", MASK), "dsn ***");
/// assert_eq!(redactor.redact("key publickey, wk write-key-123", "[Filtered]"), "key [Filtered], wk [Filtered]");
/// assert_eq!(redactor.redact("s3://k:v@bucket", MASK), "s3://***@bucket");
/// assert_eq!(format!("{redactor:?}"), "Redactor { secrets: 3 }");
/// ```
#[derive(Clone, Default)]
pub struct Redactor {
    /// Sorted, without duplicates or empty values.
    secrets: Vec<String>,
    /// Finds every occurrence of every secret.
    search: SecretSearch,
}

/// How a [`Redactor`] finds its secrets in a text.
#[derive(Clone, Default)]
enum SecretSearch {
    /// The set is empty.
    #[default]
    Nothing,
    /// One Aho-Corasick automaton for the whole set, and the state it starts in.
    Automaton { automaton: Arc<NFA>, start: StateID },
    /// The set is beyond what an automaton can hold (billions of states): every text is
    /// hidden whole rather than searched some other way.
    EverythingHidden,
}

impl SecretSearch {
    fn build(secrets: &[String]) -> Self {
        if secrets.is_empty() {
            return Self::Nothing;
        }
        // The standard match kind: each state knows every secret that ends where it is reached.
        let built = NFA::builder().match_kind(MatchKind::Standard).build(secrets);
        let Ok(automaton) = built else { return Self::EverythingHidden };
        match automaton.start_state(Anchored::No) {
            Ok(start) => Self::Automaton { automaton: Arc::new(automaton), start },
            Err(_) => Self::EverythingHidden,
        }
    }

    /// The byte ranges of every occurrence of every secret in `text`, in order, those that
    /// overlap or touch joined.
    ///
    /// One step of the automaton per byte: where secrets end, only the longest counts (the
    /// others lie inside it), so the cost does not grow with how many secrets end at one
    /// place (`aaaaaa`, `aaaaaaa`, ... in a text of `a`s).
    fn ranges(&self, text: &str) -> Vec<Range<usize>> {
        let (automaton, start) = match self {
            Self::Nothing => return Vec::new(),
            Self::EverythingHidden if text.is_empty() => return Vec::new(),
            Self::EverythingHidden => return std::iter::once(0..text.len()).collect(),
            Self::Automaton { automaton, start } => (automaton, *start),
        };
        let mut longest_by_state: HashMap<StateID, usize> = HashMap::new();
        let mut joined: Vec<Range<usize>> = Vec::new();
        let bytes = text.as_bytes();
        let mut state = start;
        let mut at = 0;
        loop {
            // From the start state, the prefilter (when the set has one) skips to where a
            // secret may start, as the crate's own searches do.
            if let Some(prefilter) = automaton.prefilter().filter(|_| automaton.is_start(state)) {
                match prefilter.find_in(bytes, Span::from(at..bytes.len())).into_option() {
                    Some(candidate) => at = at.max(candidate),
                    None => break,
                }
            }
            let Some(&byte) = bytes.get(at) else { break };
            state = automaton.next_state(Anchored::No, state, byte);
            at += 1;
            if !automaton.is_match(state) {
                continue;
            }
            let longest = *longest_by_state.entry(state).or_insert_with(|| {
                let ending_here = 0..automaton.match_len(state);
                ending_here.map(|index| automaton.pattern_len(automaton.match_pattern(state, index))).max().unwrap_or(0)
            });
            // A secret is valid UTF-8, so each occurrence starts and ends at a char boundary.
            // Occurrences come in the order of their ends: one can only join the last ranges.
            let mut range = at.saturating_sub(longest)..at;
            while let Some(last) = joined.last() {
                if last.end < range.start {
                    break;
                }
                range = last.start.min(range.start)..range.end;
                joined.pop();
            }
            joined.push(range);
        }
        joined
    }
}

impl Redactor {
    /// A redactor for these secret values (plus the URL rule, always on).
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>) -> Self {
        secrets.into_iter().collect()
    }

    /// `text` with every secret value and every URL's credentials replaced by `mask`;
    /// borrowed, without allocating, when there is nothing to hide.
    pub fn redact<'a>(&self, text: &'a str, mask: &str) -> Cow<'a, str> {
        // Both rules look at the text as given and everything either finds is hidden, so that
        // replacing a secret never takes away the `@` or `?` the URL rule needs (or the other
        // way round).
        let mut ranges = url_ranges(text);
        ranges.extend(self.search.ranges(text));
        if ranges.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut redacted = replace_ranges(text, &merged(ranges), mask).into_owned();
        // The text around a mask can spell a secret again with the mask's characters ("xx***"
        // with secret "x***"): search again until none is left, within a bound (a secret made
        // of the mask's characters could be spelled again forever). A mask that holds a secret
        // shows it whatever is done: masking again would only nest masks.
        if !self.search.ranges(mask).is_empty() {
            return Cow::Owned(redacted);
        }
        for _ in 0..MAX_PASSES {
            let again = self.search.ranges(&redacted);
            if again.is_empty() {
                break;
            }
            redacted = replace_ranges(&redacted, &again, mask).into_owned();
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

impl<S: AsRef<str>> Extend<S> for Redactor {
    /// Adds secret values, each also as a quoted string spells it (see `quoted_spelling`);
    /// empty ones are ignored, duplicates kept once. Each call builds the search for the whole
    /// set again: add many secrets in one call, not one at a time.
    fn extend<I: IntoIterator<Item = S>>(&mut self, secrets: I) {
        for secret in secrets.into_iter().map(|secret| secret.as_ref().to_owned()).filter(|secret| !secret.is_empty()) {
            if let Some(quoted) = quoted_spelling(&secret) {
                self.secrets.push(quoted);
            }
            self.secrets.push(secret);
        }
        self.secrets.sort_unstable();
        self.secrets.dedup();
        self.search = SecretSearch::build(&self.secrets);
    }
}

/// How `secret` is spelled inside a quoted string, as Rust's `Debug` writes one (`"` as `\"`,
/// `\` as `\\`; JSON and TOML write printable text the same way), when that differs from the
/// secret: a message that quotes a value (`pipeline name "p\"w" ...`) must not show it.
fn quoted_spelling(secret: &str) -> Option<String> {
    let debug = format!("{secret:?}");
    let inner = debug.strip_prefix('"').and_then(|quoted| quoted.strip_suffix('"'))?;
    (inner != secret).then(|| inner.to_owned())
}

impl<S: AsRef<str>> FromIterator<S> for Redactor {
    fn from_iter<I: IntoIterator<Item = S>>(secrets: I) -> Self {
        let mut redactor = Self::default();
        redactor.extend(secrets);
        redactor
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
    fn a_secret_is_hidden_also_as_a_quoted_string_spells_it() {
        let secret = r#"p"w\1x"#;
        let redactor = Redactor::new([secret]);
        let message = format!("pipeline name {secret:?} cannot name a directory");
        assert_eq!(redactor.redact(&message, MASK), r#"pipeline name "***" cannot name a directory"#);
        assert_eq!(redactor.redact(r#"{"password":"p\"w\\1x"}"#, MASK), r#"{"password":"***"}"#);
        assert_eq!(redactor.redact(&format!("raw {secret}"), MASK), "raw ***");
        assert_eq!(format!("{:?}", Redactor::new(["plain"])), "Redactor { secrets: 1 }");
    }

    #[test]
    fn user_info_with_any_character_is_hidden_whole() {
        let cases = [
            ("postgresql://loader:Xy;9@db/dlt", "postgresql://***@db/dlt"),
            ("postgresql://loader:it's9@db", "postgresql://***@db"),
            ("https://u:pa/ss@h/x", "https://***@h/x"),
            ("https://u:a,b)c]d}e@h", "https://***@h"),
            ("https://u:p@ss@h/x", "https://***@h/x"),
            ("https://u:p%40ss%2F@h", "https://***@h"),
            ("https://u:q\"u`o'te@h", "https://***@h"),
            ("redis://:only-password@cache:6379/0", "redis://***@cache:6379/0"),
            ("postgresql+psycopg2://loader:pw@db", "postgresql+psycopg2://***@db"),
            ("http://tok_SECRET@host/v1/track", "http://***@host/v1/track"),
            ("https://publickey@o1.ingest.sentry.io/42", "https://***@o1.ingest.sentry.io/42"),
        ];
        for (text, expected) in cases {
            assert_eq!(hidden(text), expected, "{text}");
        }
    }

    #[test]
    fn query_values_and_fragments_are_hidden_and_keys_kept() {
        let cases = [
            ("https://h/x?api_key=k3y&token=t0k", "https://h/x?api_key=***&token=***"),
            ("https://h/x?token=a=b&empty=&flag", "https://h/x?token=***&empty=&***"),
            ("https://h/x?a=1#access_token=xyz", "https://h/x?a=***#***"),
            ("https://h/x#frag?a=1", "https://h/x#***"),
            ("https://u:p@h/x?q=1&r=2", "https://***@h/x?q=***&r=***"),
            ("https://h/?", "https://h/?"),
            ("https://h/#", "https://h/#"),
        ];
        for (text, expected) in cases {
            assert_eq!(hidden(text), expected, "{text}");
        }
    }

    #[test]
    fn urls_end_at_whitespace_only() {
        assert_eq!(
            hidden("connect postgresql://loader:s3cr3t@db.local:5432/dlt failed"),
            "connect postgresql://***@db.local:5432/dlt failed"
        );
        assert_eq!(hidden("a https://u:p@h/x and \"s3://k:v@bucket\""), "a https://***@h/x and \"s3://***@bucket\"");
        assert_eq!(hidden("'https://u:p@h'@x"), "'https://***@x");
        assert_eq!(hidden("`ftp://u:p@h`\tssh://a:b@c\n"), "`ftp://***@h`\tssh://***@c\n");
        assert_eq!(hidden("x\u{a0}https://u:p@h\u{2003}y@z"), "x\u{a0}https://***@h\u{2003}y@z");
    }

    #[test]
    fn text_without_credentials_is_borrowed_unchanged() {
        for text in [
            "no url here",
            "https://example.com/path",
            "https://example.com/path?",
            "mailto:someone@example.com",
            "://u:p@h",
            "9://u:p@h",
            "https://h/x and then u:p@h?a=1",
            "",
        ] {
            assert!(matches!(hidden(text), Cow::Borrowed(same) if same == text), "{text}");
        }
    }

    #[test]
    fn over_hiding_is_accepted() {
        assert_eq!(hidden("https://example.com/a:b@c"), "https://***@c");
        assert_eq!(hidden("https://example.com/@team/x"), "https://***@team/x");
        assert_eq!(hidden("https://u:p@h:8443/x@y"), "https://***@y");
        assert_eq!(hidden("http://x?next=ftp://a:b@c d"), "http://***@*** d");
        assert_eq!(hidden("https://h/x?mail=a@b.com&t=1"), "https://***@***&t=***");
        assert_eq!(hidden("https://u:pa#ss@h/x"), "https://***@***");
        assert_eq!(hidden(r#"{"url":"https://u:p@h/x","v":"w@z"}"#), r#"{"url":"https://***@z"}"#);
    }

    #[test]
    fn every_url_in_the_text_is_handled() {
        assert_eq!(hidden("a://u:1@h b://v:2@i c://w@j"), "a://***@h b://***@i c://***@j");
        assert_eq!(hidden("x-https://u:p@h"), "x-https://***@h");
        assert_eq!(hidden("ünïcödé https://ü:pä$$@hö/ü?ö=ü"), "ünïcödé https://***@hö/ü?ö=***");
        assert_eq!(hide_url_credentials("https://u:p@h", "[Filtered]"), "https://[Filtered]@h");
        assert_eq!(hidden("9://u:p@h https://v@i"), "9://u:p@h https://***@i");
    }

    #[test]
    fn the_redactor_replaces_secrets_and_applies_the_url_rule() {
        let dsn = "https://pub:sec@sentry.example.com/7";
        let redactor = Redactor::new([dsn, "pub", "sec", "", "pub"]);
        assert_eq!(format!("{redactor:?}"), "Redactor { secrets: 3 }");
        assert_eq!(redactor.redact(&format!("dsn={dsn}!"), MASK), "dsn=***!");
        assert_eq!(redactor.redact("pub and sec", "[Filtered]"), "[Filtered] and [Filtered]");
        assert_eq!(redactor.redact("db postgres://a:b;c@d?x=1", MASK), "db postgres://***@d?x=***");
        assert!(matches!(redactor.redact("nothing to see", MASK), Cow::Borrowed(_)));
        let mut text = String::from("key sec");
        redactor.redact_in_place(&mut text, MASK);
        assert_eq!(text, "key ***");
        assert!(Redactor::new([""]).has_no_secrets());
        assert_eq!(Redactor::new(["x***"]).redact("xx***", MASK), "***");
        // A secret holding a URL's `@` does not keep the URL rule from the user info.
        let redactor = Redactor::new(["9a@db"]);
        assert_eq!(redactor.redact("postgresql://loader:Xy;9a@db/dlt", MASK), "postgresql://***/dlt");
        assert_eq!(Redactor::default().redact("https://u@h", MASK), "https://***@h");
    }

    #[test]
    fn secrets_can_be_added_to_a_set() {
        let mut redactor: Redactor = ["short", "a-longer-secret"].into_iter().collect();
        redactor.extend([String::from("third-one"), String::new(), String::from("short")]);
        assert_eq!(format!("{redactor:?}"), "Redactor { secrets: 3 }");
        assert_eq!(redactor.redact("short a-longer-secret third-one", MASK), "*** *** ***");
        // A secret that contains another is replaced whole.
        assert_eq!(Redactor::new(["ab", "xaby"]).redact("xaby", "#"), "#");
    }

    #[test]
    fn every_occurrence_of_every_secret_is_hidden_also_where_they_overlap() {
        let redactor = Redactor::new(["abc", "cde", "aa", "xaby", "ab"]);
        // Overlapping secrets are hidden together, whichever starts first.
        assert_eq!(redactor.redact("<abcde>", "#"), "<#>");
        assert_eq!(redactor.redact("<cdeabc>", "#"), "<#>");
        // A secret overlapping itself, and one inside another, at either end.
        assert_eq!(redactor.redact("<aaa> <xaby> <abc>", "#"), "<#> <#> <#>");
        // Touching occurrences are one mask; a near miss stays.
        assert_eq!(redactor.redact("abcab cd", "#"), "# cd");
        // Multi-byte characters around and inside secrets are cut at their boundaries.
        let redactor = Redactor::new(["pä55wörd", "wörd-ü"]);
        assert_eq!(redactor.redact("ü pä55wörd-ü ö", MASK), "ü *** ö");
        assert_eq!(redactor.redact("päpä55wörd", MASK), "pä***");
    }

    #[test]
    fn twenty_thousand_secrets_are_searched_as_one_set() {
        let redactor = Redactor::new((0..20_000).map(|index| format!("tok-{index:07}")));
        assert_eq!(format!("{redactor:?}"), "Redactor { secrets: 20000 }");
        assert_eq!(
            redactor.redact("a tok-0000000, tok-0019999 and tok-0020000 at https://u:p@h", MASK),
            "a ***, *** and tok-0020000 at https://***@h"
        );
        let mut more = redactor.clone();
        more.extend(["tok-0020000"]);
        assert_eq!(more.redact("tok-0020000", MASK), "***");
        assert_eq!(redactor.redact("tok-0020000", MASK), "tok-0020000");
    }

    #[test]
    fn a_mask_holding_a_secret_is_not_masked_again() {
        let redactor = Redactor::new(["Filtered"]);
        assert_eq!(redactor.redact("x Filtered y", "[Filtered]"), "x [Filtered] y");
        assert_eq!(redactor.redact("x Filtered y", MASK), "x *** y");
        // With another mask, a secret spelled again across it is still hidden.
        assert_eq!(Redactor::new(["Filtered", "x***"]).redact("xx***", MASK), "***");
    }

    #[test]
    fn secrets_nested_in_each_other_cost_one_step_per_byte() {
        // Every secret of 6 to 1,000 `a`s: up to 995 occurrences end at each place of the text.
        let redactor = Redactor::new((6..=1_000).map(|length| "a".repeat(length)));
        let text = format!("b{}b{}", "a".repeat(100_000), "a".repeat(5));
        let ranges = redactor.search.ranges(&text);
        assert_eq!((ranges.len(), ranges.first()), (1, Some(&(1..100_001))));
        assert_eq!(redactor.redact(&text, MASK), "b***baaaaa");
    }

    #[test]
    fn a_set_too_large_to_search_hides_everything() {
        let redactor = Redactor { secrets: vec!["x".to_owned()], search: SecretSearch::EverythingHidden };
        assert_eq!(redactor.redact("nothing secret here", MASK), "***");
        assert!(matches!(redactor.redact("", MASK), Cow::Borrowed("")));
    }
}
