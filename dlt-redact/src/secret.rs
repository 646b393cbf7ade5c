//! [`Secret`]: a string that never prints.

use std::fmt;

use crate::MASK;

/// A secret string (a write key, a DSN, a token). `Debug` prints `Secret(***)` and `Display`
/// prints `***`; [`Secret::expose`] hands the value to the code that really needs it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself, for sending it or for a [`crate::Redactor`]; never for showing.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({MASK})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(MASK)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_its_value() {
        let secret = Secret::new("write-key-123");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{secret:?}"), "Secret(***)");
        assert_eq!(format!("{:?}", Some(secret.clone())), "Some(Secret(***))");
        assert_eq!(format!("{secret:#?}"), "Secret(***)");
    }

    #[test]
    fn exposes_and_compares_its_value() {
        let secret = Secret::from("write-key-123");
        assert_eq!(secret.expose(), "write-key-123");
        assert_eq!(secret, Secret::new(String::from("write-key-123")));
        assert_ne!(secret, Secret::new("other"));
        assert!(Secret::default().is_empty());
        assert!(!secret.is_empty());
    }
}
