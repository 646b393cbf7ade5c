//! A snapshot of environment variables, so that everything reading the environment is testable
//! without touching the process environment.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};

/// A snapshot of environment variables. All reading of the environment in this crate goes
/// through it: take [`Environment::from_process`] in a program and [`Environment::from_pairs`]
/// in tests or in a host that keeps its own settings.
///
/// Names are exact and case-sensitive, as on Unix: `RUNTIME__LOG_LEVEL` and
/// `runtime__log_level` are different variables, and only the upper-case form is ever read.
#[derive(Clone, Default)]
pub struct Environment {
    variables: HashMap<String, OsString>,
}

impl Environment {
    /// Snapshot of the current process environment. Variables whose name is not valid UTF-8
    /// cannot be any of ours and are left out; values are kept as they are.
    pub fn from_process() -> Self {
        let variables =
            std::env::vars_os().filter_map(|(name, value)| name.into_string().ok().map(|name| (name, value))).collect();
        Self { variables }
    }

    /// An environment made of the given pairs, and nothing else.
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<OsString>,
    {
        let variables = pairs.into_iter().map(|(name, value)| (name.into(), value.into())).collect();
        Self { variables }
    }

    /// The value of the variable with exactly this name, if it is set and valid UTF-8.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.get_os(name).and_then(OsStr::to_str)
    }

    /// The value of the variable with exactly this name, as the OS gave it (paths need not be UTF-8).
    pub fn get_os(&self, name: &str) -> Option<&OsStr> {
        self.variables.get(name).map(OsString::as_os_str)
    }

    /// Every variable, in no particular order: what a child process started for this
    /// environment inherits.
    pub fn vars(&self) -> impl Iterator<Item = (&str, &OsStr)> {
        self.variables.iter().map(|(name, value)| (name.as_str(), value.as_os_str()))
    }

    /// The value of the variable when it is set to something other than the empty string.
    pub(crate) fn get_non_empty_os(&self, name: &str) -> Option<&OsStr> {
        self.get_os(name).filter(|value| !value.is_empty())
    }
}

/// Values may be secrets (a DSN, a write key): Debug lists the names only.
impl std::fmt::Debug for Environment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut names: Vec<&str> = self.variables.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("Environment").field("variables", &names).finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn names_are_case_sensitive() {
        let env = Environment::from_pairs([("RUNTIME__LOG_LEVEL", "INFO")]);
        assert_eq!(env.get("RUNTIME__LOG_LEVEL"), Some("INFO"));
        assert_eq!(env.get("runtime__log_level"), None);
    }

    #[test]
    fn debug_shows_names_but_never_values() {
        let env = Environment::from_pairs([("RUNTIME__SENTRY_DSN", "https://key@sentry.example/1")]);
        let debug = format!("{env:?}");
        assert!(debug.contains("RUNTIME__SENTRY_DSN"));
        assert!(!debug.contains("sentry.example"));
    }

    #[test]
    fn empty_values_are_set_but_not_non_empty() {
        let env = Environment::from_pairs([("XDG_DATA_HOME", "")]);
        assert_eq!(env.get("XDG_DATA_HOME"), Some(""));
        assert_eq!(env.get_non_empty_os("XDG_DATA_HOME"), None);
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_values_are_kept_for_paths() {
        use std::os::unix::ffi::OsStrExt;
        let raw = OsStr::from_bytes(b"/tmp/\xff");
        let env = Environment::from_pairs([("DLT_DATA_DIR", raw)]);
        assert_eq!(env.get("DLT_DATA_DIR"), None);
        assert_eq!(env.get_os("DLT_DATA_DIR"), Some(raw));
    }
}
