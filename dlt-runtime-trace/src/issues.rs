//! What went wrong while starting, typed so that a program can decide what it means: a
//! configuration the user must fix, a setting ignored as its specification says, or a service
//! that could not start (which never changes a command's outcome).

use std::fmt;

/// The parts of the runtime trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Service {
    /// Anonymous usage telemetry (Segment).
    UsageTelemetry,
    /// Sentry.
    Sentry,
    /// OpenTelemetry export.
    OpenTelemetry,
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UsageTelemetry => "usage telemetry",
            Self::Sentry => "Sentry",
            Self::OpenTelemetry => "OpenTelemetry export",
        })
    }
}

/// One problem met while starting, for the host to show (nothing here is logged).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartIssue {
    /// A setting cannot be used; the user must fix it (the command line exits 2). When the
    /// configuration cannot be read at all, everything is off; otherwise the service named
    /// is off.
    Config {
        /// What is wrong and where, e.g. `RUNTIME__LOG_LEVEL="LOUD" (environment): expected ...`.
        message: String,
    },
    /// A setting was ignored, as its specification says (an invalid `TRACEPARENT`, an
    /// unsupported `OTEL_EXPORTER_OTLP_PROTOCOL`), or a project file that leads out of the
    /// project dir is not used as the project's (see `dlt_config::OutsideProject`).
    Ignored {
        /// What was ignored and why.
        message: String,
    },
    /// A credential is not sent: its endpoint was set in a less trusted place than the
    /// credential itself (a project file naming the endpoint of a key from the user's own
    /// files or environment). The service goes on without it.
    CredentialWithheld(crate::WithheldCredential),
    /// A service could not start (a thread, a runtime): it stays off and the program goes on.
    Unavailable {
        /// Which one.
        service: Service,
        /// Why.
        message: String,
    },
}

impl StartIssue {
    /// True when the user must change a setting.
    pub fn is_config_error(&self) -> bool {
        matches!(self, Self::Config { .. })
    }
}

impl fmt::Display for StartIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config { message } | Self::Ignored { message } => f.write_str(message),
            Self::CredentialWithheld(withheld) => withheld.fmt(f),
            Self::Unavailable { service, message } => write!(f, "{service} is off: {message}"),
        }
    }
}
