//! Provenance: which file or variable decided a value, or that nobody did.

use std::fmt;
use std::path::PathBuf;

/// A value and the source that decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct Sourced<T> {
    /// The value in force.
    pub value: T,
    /// Who decided it.
    pub source: Source,
}

impl<T> Sourced<T> {
    /// A value nobody configured.
    pub fn default_value(value: T) -> Self {
        Self { value, source: Source::Default }
    }

    /// True when no file or variable set this value.
    pub fn is_default(&self) -> bool {
        self.source == Source::Default
    }
}

/// Where a configured value came from.
///
/// `Display` is what a user reads, e.g. in `dlt telemetry`: `default`, the file's path, or
/// `RUNTIME__DLTHUB_TELEMETRY (environment)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Nobody set it: the built-in default applies.
    Default,
    /// A TOML file.
    File {
        /// The file, as found from the [`Locations`](crate::Locations).
        path: PathBuf,
        /// Project or global.
        scope: Scope,
        /// `config.toml` or `secrets.toml`.
        kind: FileKind,
    },
    /// An environment variable.
    Environment {
        /// Its exact name, e.g. `RUNTIME__DLTHUB_TELEMETRY`.
        variable: String,
    },
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Default => f.write_str("default"),
            Self::File { path, .. } => write!(f, "{}", path.display()),
            Self::Environment { variable } => write!(f, "{variable} (environment)"),
        }
    }
}

/// How far a source is trusted to say where the user's credentials go, least first: a project
/// file (it may come with a cloned repository), a file of the user's own global dir, the
/// environment the user started the program in, and the built-in default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Trust {
    /// `<project>/.dlt/config.toml` or `secrets.toml`.
    ProjectFile,
    /// The global dir's `config.toml` or `secrets.toml`.
    GlobalFile,
    /// An environment variable.
    Environment,
    /// Nobody set it: the built-in default.
    BuiltIn,
}

impl Source {
    /// How far this source is trusted (see [`Trust`]).
    pub fn trust(&self) -> Trust {
        match self {
            Self::Default => Trust::BuiltIn,
            Self::Environment { .. } => Trust::Environment,
            Self::File { scope: Scope::Global, .. } => Trust::GlobalFile,
            Self::File { scope: Scope::Project, .. } => Trust::ProjectFile,
        }
    }

    /// A setting as a user would look for it: `RUNTIME__X=value (environment)` for a variable,
    /// `key=value (<file>)` or `key=value (default)` otherwise.
    pub fn describe(&self, key: &str, value: &dyn fmt::Display) -> String {
        match self {
            Self::Environment { variable } => format!("{variable}={value} (environment)"),
            other => format!("{key}={value} ({other})"),
        }
    }
}

/// Whether a file belongs to the project or to the user (the global dir).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `<project>/.dlt/`
    Project,
    /// The global dir, e.g. `~/.dlt/`.
    Global,
}

/// Which of the two files of a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// `config.toml`
    Config,
    /// `secrets.toml`
    Secrets,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_what_a_user_reads() {
        assert_eq!(Source::Default.to_string(), "default");
        let file = Source::File {
            path: PathBuf::from("/home/me/.dlt/config.toml"),
            scope: Scope::Global,
            kind: FileKind::Config,
        };
        assert_eq!(file.to_string(), "/home/me/.dlt/config.toml");
        let variable = Source::Environment { variable: "RUNTIME__DLTHUB_TELEMETRY".to_owned() };
        assert_eq!(variable.to_string(), "RUNTIME__DLTHUB_TELEMETRY (environment)");
    }

    #[test]
    fn project_files_are_trusted_least_the_built_in_default_most() {
        let file = |scope| Source::File { path: PathBuf::from("config.toml"), scope, kind: FileKind::Secrets };
        let variable = Source::Environment { variable: "X".to_owned() };
        let trust =
            [file(Scope::Project).trust(), file(Scope::Global).trust(), variable.trust(), Source::Default.trust()];
        assert_eq!(trust, [Trust::ProjectFile, Trust::GlobalFile, Trust::Environment, Trust::BuiltIn]);
        assert!(trust.is_sorted());
    }
}
