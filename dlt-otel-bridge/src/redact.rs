//! Hides secrets in text before it becomes a span attribute, event or status: the values of
//! the OTLP headers, and the password of every `scheme://user:password@host` URL. Also cuts
//! the text to a bounded length, so that one log line cannot bloat a request.
//!
//! The bridge depends on no crate of this workspace, so it keeps this small rule of its own
//! (the Sentry bridge has the same one); both give way to the shared redaction crate once
//! hosts compose them through it.

/// What replaces a secret.
pub(crate) const REDACTED: &str = "[redacted]";
/// The longest text exported, in bytes; longer text is cut and ends with `...`.
const MAX_TEXT_BYTES: usize = 4096;

/// Characters that end the authority part of a URL inside free text.
const AUTHORITY_END: &[char] = &['/', '?', '#', '"', '\'', '<', '>', '`', ',', ';', ')', ']', '}'];

/// Replaces known secret values and URL passwords in text.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    /// Longest first, so that a secret is replaced whole before any part of it is looked for.
    secrets: Vec<String>,
}

impl Redactor {
    /// A redactor for the given secret values; empty values are ignored.
    pub(crate) fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|secret| !secret.is_empty()).collect();
        secrets.sort_by_key(|secret| std::cmp::Reverse(secret.len()));
        secrets.dedup();
        Self { secrets }
    }

    /// `text` with every known secret and URL password replaced by [`REDACTED`], cut to
    /// [`MAX_TEXT_BYTES`] (after redaction, so that no cut leaves part of a secret behind).
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for secret in &self.secrets {
            if text.contains(secret.as_str()) {
                text = text.replace(secret.as_str(), REDACTED);
            }
        }
        let mut text = if text.contains("://") { hide_url_passwords(&text) } else { text };
        if text.len() > MAX_TEXT_BYTES {
            let mut cut = MAX_TEXT_BYTES - 3;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str("...");
        }
        text
    }
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor").field("secrets", &self.secrets.len()).finish()
    }
}

/// Replaces the password of every `scheme://user:password@host` in `text` with [`REDACTED`].
fn hide_url_passwords(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("://") {
        let authority_start = start + 3;
        out.push_str(&rest[..authority_start]);
        let after = &rest[authority_start..];
        let authority_len =
            after.find(|c: char| c.is_whitespace() || AUTHORITY_END.contains(&c)).unwrap_or(after.len());
        let authority = &after[..authority_len];
        match authority.rfind('@').and_then(|at| authority[..at].find(':').map(|colon| (colon, at))) {
            Some((colon, at)) => {
                out.push_str(&authority[..=colon]);
                out.push_str(REDACTED);
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &after[authority_len..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn url_passwords_are_hidden_and_users_kept() {
        let redactor = Redactor::default();
        assert_eq!(
            redactor.redact("connect postgresql://loader:s3cr3t@db.local:5432/dlt failed"),
            "connect postgresql://loader:[redacted]@db.local:5432/dlt failed"
        );
        assert_eq!(redactor.redact("https://example.com/a:b@c"), "https://example.com/a:b@c");
        assert_eq!(redactor.redact("no url"), "no url");
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let text = "é".repeat(3000);
        let cut = Redactor::default().redact(&text);
        assert_eq!(cut.len(), 4095);
        assert!(cut.ends_with("é..."));
        assert_eq!(Redactor::default().redact("short"), "short");
    }

    #[test]
    fn known_secrets_are_hidden_longest_first() {
        let redactor = Redactor::new(["Bearer tok3n".to_owned(), "tok3n".to_owned(), String::new()]);
        assert_eq!(redactor.redact("sent Bearer tok3n and tok3n"), "sent [redacted] and [redacted]");
        assert_eq!(format!("{redactor:?}"), "Redactor { secrets: 2 }");
    }
}
