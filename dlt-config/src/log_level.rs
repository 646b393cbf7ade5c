//! `runtime.log_level`: dlt's (Python's) level names, checked when the configuration is read.

use std::fmt;

/// A log level as dlt names it. The default is [`LogLevel::Warning`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// `DEBUG` (and `NOTSET`, which logs everything).
    Debug,
    /// `INFO`.
    Info,
    /// `WARNING` (or `WARN`).
    #[default]
    Warning,
    /// `ERROR`.
    Error,
    /// `CRITICAL` (or `FATAL`).
    Critical,
}

impl LogLevel {
    /// What a valid value looks like, for error messages.
    pub(crate) const EXPECTED: &'static str = "one of CRITICAL, ERROR, WARNING, INFO, DEBUG (or FATAL, WARN, NOTSET)";

    /// Parses a level name in any case; `None` for anything else.
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_uppercase().as_str() {
            "DEBUG" | "NOTSET" => Some(Self::Debug),
            "INFO" => Some(Self::Info),
            "WARNING" | "WARN" => Some(Self::Warning),
            "ERROR" => Some(Self::Error),
            "CRITICAL" | "FATAL" => Some(Self::Critical),
            _ => None,
        }
    }

    /// The canonical name, as Python's logging prints it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Debug => "DEBUG",
            Self::Info => "INFO",
            Self::Warning => "WARNING",
            Self::Error => "ERROR",
            Self::Critical => "CRITICAL",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
