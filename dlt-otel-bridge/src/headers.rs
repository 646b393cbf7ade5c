//! The headers sent with every export (`OTEL_EXPORTER_OTLP_HEADERS`): their values are
//! secrets (API keys, bearer tokens) and never reach `Debug`, `Display` or an error.

use std::fmt;

use dlt_redact::Secret;
use reqwest::header::{HeaderName, HeaderValue};

use crate::kv_list;

/// Why a header was rejected. Never carries its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// The name is not a valid HTTP header name.
    #[error("not a valid HTTP header name")]
    InvalidName,
    /// The value holds characters an HTTP header cannot carry.
    #[error("not a valid HTTP header value")]
    InvalidValue,
}

/// Headers for the collector, values kept secret.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct OtlpHeaders {
    entries: Vec<(HeaderName, HeaderValue)>,
}

impl OtlpHeaders {
    /// Parses a `name=value,name2=value2` list with percent-encoded values, as the
    /// specification defines `OTEL_EXPORTER_OTLP_HEADERS`. Malformed members are skipped;
    /// the second value says how many were.
    pub fn parse(raw: &str) -> (Self, usize) {
        let mut headers = Self::default();
        let mut skipped = 0;
        for member in kv_list::parse(raw) {
            let added = member.ok().and_then(|(name, value)| headers.insert(&name, &value).ok());
            if added.is_none() {
                skipped += 1;
            }
        }
        (headers, skipped)
    }

    /// Adds a header, replacing one of the same name.
    pub fn insert(&mut self, name: &str, value: &str) -> Result<(), HeaderError> {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| HeaderError::InvalidName)?;
        let mut value = HeaderValue::from_str(value).map_err(|_| HeaderError::InvalidValue)?;
        value.set_sensitive(true);
        self.entries.retain(|(existing, _)| *existing != name);
        self.entries.push((name, value));
        Ok(())
    }

    /// Whether there is no header.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The header names (lower case), in order; values are not given out.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(name, _)| name.as_str())
    }

    /// The headers to send.
    pub(crate) fn entries(&self) -> &[(HeaderName, HeaderValue)] {
        &self.entries
    }

    /// Every value, and of a value of two words (`Bearer <token>`) the second word too: the
    /// secrets to hide wherever text is exported, here or by another service.
    pub fn secret_values(&self) -> impl Iterator<Item = Secret> + '_ {
        self.entries.iter().filter_map(|(_, value)| value.to_str().ok()).flat_map(|value| {
            let credentials = value.split_once(' ').map(|(_, credentials)| credentials.trim());
            std::iter::once(value).chain(credentials.filter(|credentials| !credentials.is_empty())).map(Secret::new)
        })
    }
}

impl fmt::Debug for OtlpHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.names().map(|name| (name, dlt_redact::MASK))).finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn parses_the_specification_format() {
        let (headers, skipped) = OtlpHeaders::parse("Authorization=Bearer%20t0ken, x-team = data ,broken");
        assert_eq!(skipped, 1);
        assert_eq!(headers.names().collect::<Vec<_>>(), ["authorization", "x-team"]);
        assert_eq!(headers.entries()[0].1.to_str().unwrap(), "Bearer t0ken");
        assert_eq!(headers.entries()[1].1.to_str().unwrap(), "data");
    }

    #[test]
    fn invalid_names_and_values_are_skipped() {
        let (headers, skipped) = OtlpHeaders::parse("bad(name)=x,ok=1,newline=a%0Ab");
        assert_eq!(skipped, 2);
        assert_eq!(headers.names().collect::<Vec<_>>(), ["ok"]);
    }

    #[test]
    fn a_later_header_replaces_an_earlier_one() {
        let (headers, _) = OtlpHeaders::parse("api-key=one,API-KEY=two");
        assert_eq!(headers.entries().len(), 1);
        assert_eq!(headers.entries()[0].1.to_str().unwrap(), "two");
    }

    #[test]
    fn debug_shows_names_only() {
        let (headers, _) = OtlpHeaders::parse("authorization=Bearer%20s3cr3t");
        let shown = format!("{headers:?}");
        assert_eq!(shown, r#"{"authorization": "***"}"#);
        let values: Vec<Secret> = headers.secret_values().collect();
        assert_eq!(values, [Secret::new("Bearer s3cr3t"), Secret::new("s3cr3t")]);
    }
}
