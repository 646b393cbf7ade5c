//! The DSN, parsed and redacting its keys: they never reach `Debug`, `Display`, logs or error
//! messages. Other secrets are [`dlt_redact::Secret`]s.

use std::fmt;
use std::str::FromStr;

use dlt_redact::MASK;
use sentry_core::types::Dsn;

/// Why a DSN was rejected. Never carries the DSN itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DsnError {
    /// The value was empty or only whitespace; callers usually treat this as "Sentry off".
    #[error("the Sentry DSN is empty")]
    Empty,
    /// The value is not a DSN of the form `https://<public key>@<host>/<project id>`.
    #[error("the Sentry DSN is invalid ({reason}); expected https://<public key>@<host>/<project id>")]
    Invalid {
        /// What the parser objected to, e.g. "username is empty".
        reason: String,
    },
}

/// A parsed Sentry DSN that redacts its keys in `Debug` and `Display`.
#[derive(Clone, PartialEq)]
pub struct SentryDsn {
    dsn: Dsn,
    raw: String,
}

impl SentryDsn {
    /// Parses a DSN such as `https://<public key>@o1.ingest.sentry.io/42`.
    pub fn parse(raw: &str) -> Result<Self, DsnError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(DsnError::Empty);
        }
        let dsn = Dsn::from_str(raw).map_err(|error| DsnError::Invalid { reason: error.to_string() })?;
        Ok(Self { dsn, raw: raw.to_owned() })
    }

    /// The parsed DSN, for handing to sentry-core.
    pub(crate) fn dsn(&self) -> &Dsn {
        &self.dsn
    }

    /// Every spelling of this DSN's secrets that could leak into an event: the DSN as given,
    /// as sentry-core prints it, its public key and its secret key when there is one.
    pub(crate) fn secret_spellings(&self) -> Vec<String> {
        let mut spellings = vec![self.raw.clone(), self.dsn.to_string(), self.dsn.public_key().to_owned()];
        spellings.extend(self.dsn.secret_key().map(str::to_owned));
        spellings
    }
}

impl FromStr for SentryDsn {
    type Err = DsnError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        Self::parse(raw)
    }
}

impl fmt::Debug for SentryDsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentryDsn")
            .field("host", &self.dsn.host())
            .field("project_id", &self.dsn.project_id().to_string())
            .field("public_key", &MASK)
            .finish()
    }
}

impl fmt::Display for SentryDsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{MASK}@{}/{}", self.dsn.scheme(), self.dsn.host(), self.dsn.project_id())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const DSN: &str = "https://5ecre7publickey@o1061158.ingest.sentry.io/4504819859914752";

    #[test]
    fn parses_a_dsn_and_keeps_its_parts() {
        let dsn = SentryDsn::parse(DSN).unwrap();
        assert_eq!(dsn.dsn().public_key(), "5ecre7publickey");
        assert_eq!(
            dsn.dsn().envelope_api_url().as_str(),
            "https://o1061158.ingest.sentry.io/api/4504819859914752/envelope/"
        );
    }

    #[test]
    fn debug_and_display_hide_the_key() {
        let dsn = SentryDsn::parse(DSN).unwrap();
        let shown = format!("{dsn:?} {dsn}");
        assert!(!shown.contains("5ecre7publickey"), "{shown}");
        assert!(shown.contains("o1061158.ingest.sentry.io"), "{shown}");
        assert_eq!(
            shown,
            "SentryDsn { host: \"o1061158.ingest.sentry.io\", project_id: \"4504819859914752\", public_key: \"***\" } https://***@o1061158.ingest.sentry.io/4504819859914752"
        );
        assert_eq!(format!("{:?}", crate::Secret::new("write-key")), "Secret(***)");
    }

    #[test]
    fn empty_and_invalid_dsns_are_rejected_without_echoing_the_value() {
        assert_eq!(SentryDsn::parse("  "), Err(DsnError::Empty));
        let error = SentryDsn::parse("https://o1.ingest.sentry.io/notanumber-secretish").unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, DsnError::Invalid { .. }));
        assert!(!message.contains("secretish"), "{message}");
    }

    #[test]
    fn secret_spellings_include_the_dsn_and_its_keys() {
        let dsn = SentryDsn::parse("https://pub:sec@sentry.example.com/7").unwrap();
        let spellings = dsn.secret_spellings();
        assert!(spellings.contains(&"https://pub:sec@sentry.example.com/7".to_owned()));
        assert!(spellings.contains(&"pub".to_owned()));
        assert!(spellings.contains(&"sec".to_owned()));
    }
}
