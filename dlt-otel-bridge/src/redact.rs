//! Text that leaves the process as a span name, attribute, event or status: secrets hidden by
//! dlt-redact's one rule (the header values and the endpoint's password as known secrets, and
//! every `scheme://user:password@` in the text), then cut to a bounded length so that one log
//! line cannot bloat a request.

use dlt_redact::{MASK, Redactor};

/// The longest text exported, in bytes; longer text is cut and ends with `...`.
const MAX_TEXT_BYTES: usize = 4096;

/// Hides secrets in text before it is exported, and bounds its length.
#[derive(Debug, Clone, Default)]
pub(crate) struct ExportRedactor {
    redactor: Redactor,
}

impl ExportRedactor {
    /// A redactor for these secret values (empty ones are ignored); the URL rule always applies.
    pub(crate) fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        Self { redactor: Redactor::new(secrets) }
    }

    /// `text` with every known secret and URL password replaced by [`MASK`], cut to
    /// [`MAX_TEXT_BYTES`] (after redaction, so that no cut leaves part of a secret behind).
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut text = self.redactor.redact(text, MASK).into_owned();
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn url_user_info_is_hidden() {
        let redactor = ExportRedactor::default();
        assert_eq!(
            redactor.redact("connect postgresql://loader:s3;cr3t@db.local:5432/dlt failed"),
            "connect postgresql://***@db.local:5432/dlt failed"
        );
        assert_eq!(redactor.redact("no url"), "no url");
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let text = "é".repeat(3000);
        let cut = ExportRedactor::default().redact(&text);
        assert_eq!(cut.len(), 4095);
        assert!(cut.ends_with("é..."));
        assert_eq!(ExportRedactor::default().redact("short"), "short");
    }

    #[test]
    fn known_secrets_are_hidden_before_the_cut() {
        let redactor = ExportRedactor::new(["Bearer tok3n".to_owned(), "tok3n".to_owned(), String::new()]);
        assert_eq!(redactor.redact("sent Bearer tok3n and tok3n"), "sent *** and ***");
        // Cut first, this text would keep "tok" of the secret at its end.
        let long = format!("{}tok3nyy", "x".repeat(MAX_TEXT_BYTES - 6));
        let redacted = redactor.redact(&long);
        assert!(redacted.ends_with("x***yy"), "{redacted}");
        assert_eq!(format!("{redactor:?}"), "ExportRedactor { redactor: Redactor { secrets: 2 } }");
    }
}
