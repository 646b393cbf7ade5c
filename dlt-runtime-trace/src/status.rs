//! What is on, what is off, and which setting decided it (DESIGN.md §5's order: the master
//! switch, then `DO_NOT_TRACK`, then `runtime.dlthub_telemetry`, where any `false` wins), and
//! what waits to be sent, and what was sent.

use std::fmt;
use std::time::Duration;

use dlt_config::{Config, DO_NOT_TRACK_VARIABLE, Source, Sourced};
use dlt_redact::{MASK, Redactor};
use dlt_segment::{OptOutMark, RecipientState, SentMessage, SentState};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::credentials::WithheldCredential;
use crate::usage::effective_endpoint;

/// The setting that decided whether usage telemetry is on.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum DecidedBy {
    /// `enable_runtime_trace = false`: everything is off.
    MasterSwitch(Source),
    /// `DO_NOT_TRACK` is set in the environment.
    DoNotTrack,
    /// `runtime.dlthub_telemetry`: the first `false` in precedence order, else the first
    /// `true`, else its default.
    TelemetrySetting {
        /// The value it has.
        enabled: bool,
        /// Where it came from.
        source: Source,
    },
    /// The configuration could not be read: when unsure, do not track.
    ConfigError(String),
}

impl fmt::Display for DecidedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MasterSwitch(source) => f.write_str(&source.describe("enable_runtime_trace", &false)),
            Self::DoNotTrack => write!(f, "{DO_NOT_TRACK_VARIABLE} (environment)"),
            Self::TelemetrySetting { enabled, source } => {
                f.write_str(&source.describe("runtime.dlthub_telemetry", enabled))
            }
            Self::ConfigError(error) => write!(f, "a configuration error: {error}"),
        }
    }
}

/// The state of telemetry and tracing for this process, as `dlt telemetry` shows it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Status {
    /// `enable_runtime_trace`: false when the master switch turned everything off (or the
    /// configuration could not be read).
    pub runtime_trace: bool,
    /// Whether anonymous usage telemetry is on.
    pub telemetry: bool,
    /// The setting that decided `telemetry`.
    pub decided_by: DecidedBy,
    /// Where usage events go, when the configuration could be read; the URL's user info, query
    /// values and fragment are shown as `***`.
    pub endpoint: Option<String>,
    /// Where the endpoint was set ([`Source::Default`] for the built-in one).
    pub endpoint_source: Source,
    /// Whether a Segment write key is configured (its value is never shown).
    pub write_key_set: bool,
    /// Credentials configured but not sent, because their endpoint was set in a less trusted
    /// place (see [`WithheldCredential`]); known once the services started.
    pub credentials_withheld: Vec<WithheldCredential>,
    /// Whether a Sentry DSN is configured (its value is never shown).
    pub sentry_dsn_set: bool,
    /// Where the Sentry DSN was set ([`Source::Default`] when it is not).
    pub sentry_dsn_source: Source,
    /// Where OpenTelemetry traces go, when export is on (credentials hidden).
    pub otlp_endpoint: Option<String>,
    /// Where that endpoint was set: `runtime.otlp_endpoint`'s file or variable, or an
    /// `OTEL_EXPORTER_OTLP_*` variable.
    pub otlp_endpoint_source: Source,
    /// Whether events are printed to stderr instead of sent (`runtime.dlthub_telemetry_debug`).
    pub debug: bool,
    /// Whether what is undelivered at exit is handed to a detached sender.
    pub detached_sender: bool,
    /// This run shows the first-run notice ([`crate::FirstRunNotice`]): usage telemetry is on,
    /// but this run's messages are dropped, and nothing is sent.
    pub first_run_notice: bool,
}

impl Status {
    /// Decides from a loaded configuration and the master switch's value; `debug` is whether
    /// the debug sink replaces the network.
    pub(crate) fn decide(config: &Config, master_switch: &Sourced<bool>, debug: bool) -> Self {
        let runtime = config.runtime();
        let decided_by = if !master_switch.value {
            DecidedBy::MasterSwitch(master_switch.source.clone())
        } else if runtime.do_not_track.value {
            DecidedBy::DoNotTrack
        } else {
            DecidedBy::TelemetrySetting {
                enabled: runtime.dlthub_telemetry.value,
                source: runtime.dlthub_telemetry.source.clone(),
            }
        };
        Self {
            runtime_trace: master_switch.value,
            telemetry: matches!(decided_by, DecidedBy::TelemetrySetting { enabled: true, .. }),
            decided_by,
            endpoint: Some(effective_endpoint(runtime).to_string()),
            endpoint_source: runtime.dlthub_telemetry_endpoint.source.clone(),
            write_key_set: runtime.dlthub_telemetry_segment_write_key.value.is_some(),
            credentials_withheld: Vec::new(),
            sentry_dsn_set: runtime.sentry_dsn.value.is_some(),
            sentry_dsn_source: runtime.sentry_dsn.source.clone(),
            otlp_endpoint: None,
            otlp_endpoint_source: Source::Default,
            debug,
            detached_sender: false,
            first_run_notice: false,
        }
    }

    /// The facts of `dlt telemetry --json` as one JSON object: this status and, when known,
    /// what waits to be sent. Secrets appear only as `true`/`false` (set or not).
    pub fn to_json(&self, waiting: Option<&WaitingTelemetry>, sent: Option<&SentTelemetry>) -> Value {
        let recipients: Vec<Value> =
            waiting.map(|waiting| waiting.recipients.iter().map(recipient_json).collect()).unwrap_or_default();
        let delivered: Vec<Value> =
            sent.map(|sent| sent.recipients.iter().map(sent_json).collect()).unwrap_or_default();
        let problems: Vec<&String> = waiting
            .map(|waiting| waiting.problems.as_slice())
            .unwrap_or_default()
            .iter()
            .chain(sent.map(|sent| sent.problems.as_slice()).unwrap_or_default())
            .collect();
        let withheld: Vec<Value> = self
            .credentials_withheld
            .iter()
            .map(|withheld| {
                json!({
                    "credential": withheld.credential,
                    "credential_source": withheld.credential_source.to_string(),
                    "endpoint": withheld.endpoint,
                    "endpoint_source": withheld.endpoint_source.to_string(),
                })
            })
            .collect();
        json!({
            "telemetry": {
                "enabled": self.telemetry,
                "decided_by": self.decided_by.to_string(),
                "endpoint": self.endpoint,
                "endpoint_source": set_in(&self.endpoint_source),
                "write_key": self.write_key_set,
                "debug": self.debug,
                "detached_sender": self.detached_sender,
                "first_run_notice": self.first_run_notice,
            },
            "runtime_trace": self.runtime_trace,
            "sentry": { "dsn": self.sentry_dsn_set, "dsn_source": set_in(&self.sentry_dsn_source) },
            "opentelemetry": {
                "endpoint": self.otlp_endpoint,
                "endpoint_source": set_in(&self.otlp_endpoint_source),
            },
            "credentials_withheld": withheld,
            "opted_out_at": waiting.and_then(|waiting| waiting.opted_out_at).and_then(|at| at.format(&Rfc3339).ok()),
            "problems": problems,
            "waiting": recipients,
            "sent": delivered,
        })
    }

    /// Everything off because the configuration could not be read.
    pub(crate) fn unreadable(error: String) -> Self {
        Self {
            runtime_trace: false,
            telemetry: false,
            decided_by: DecidedBy::ConfigError(error),
            endpoint: None,
            endpoint_source: Source::Default,
            write_key_set: false,
            credentials_withheld: Vec::new(),
            sentry_dsn_set: false,
            sentry_dsn_source: Source::Default,
            otlp_endpoint: None,
            otlp_endpoint_source: Source::Default,
            debug: false,
            detached_sender: false,
            first_run_notice: false,
        }
    }
}

/// Where a setting was set, for [`Status::to_json`]: the file or variable, `null` for the
/// built-in default.
fn set_in(source: &Source) -> Value {
    match source {
        Source::Default => Value::Null,
        source => source.to_string().into(),
    }
}

/// One recipient's outbox in [`Status::to_json`].
fn recipient_json(state: &RecipientState) -> Value {
    json!({
        "endpoint": state.endpoint,
        "write_key": state.write_key,
        "messages": state.waiting,
        "oldest": state.oldest.and_then(|at| at.format(&Rfc3339).ok()),
        "oldest_age_seconds": state.oldest.map(|at| (OffsetDateTime::now_utc() - at).as_seconds_f64().max(0.0)),
        "sender_running": state.sender_running,
        "sender_pid": state.sender_pid,
        "last_error": state.last_error,
        "problems": state.problems,
    })
}

/// One recipient's record of what left in [`Status::to_json`]: counts, never the messages.
fn sent_json(state: &SentState) -> Value {
    let dropped: serde_json::Map<String, Value> =
        state.dropped.by_reason().into_iter().map(|(reason, count)| (reason.to_owned(), count.into())).collect();
    json!({
        "endpoint": state.endpoint,
        "write_key": state.write_key,
        "delivered": {
            "count": state.delivered,
            "last_at": state.last_delivered_at.and_then(|at| at.format(&Rfc3339).ok()),
        },
        "dropped": dropped,
        "problems": state.problems,
    })
}

/// What waits to be sent, for `dlt telemetry`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitingTelemetry {
    /// When the user last switched telemetry off, if ever: nothing recorded before is sent.
    pub opted_out_at: Option<OffsetDateTime>,
    /// Each recipient's outbox: messages waiting, the oldest, whether a sender runs, the last
    /// delivery error, and what is wrong with its files.
    pub recipients: Vec<RecipientState>,
    /// What keeps the telemetry dir from being looked at, or the opt-out mark from being read
    /// (then nothing is sent or kept): the file or folder and why.
    pub problems: Vec<String>,
}

/// Looks at the outboxes and the opt-out mark under the configuration's global dir, through
/// the file gate, taking, creating and repairing nothing. Never fails: what cannot be looked at
/// is one of the problems it reports. Each recipient's endpoint and last delivery error are
/// shown by the URL rule (credentials hidden), also when an older version kept them in clear.
pub fn waiting_telemetry(config: &Config) -> WaitingTelemetry {
    let telemetry_dir = config.locations().telemetry_dir();
    let mark = dlt_segment::read_opt_out(&telemetry_dir);
    let mut problems = Vec::new();
    if let OptOutMark::Unreadable { reason } = &mark {
        problems.push(format!("the opt-out mark cannot be read, so nothing is sent or kept: {reason}"));
    }
    let mut recipients = dlt_segment::inspect_outboxes(&telemetry_dir).unwrap_or_else(|error| {
        let shown = error.to_string();
        if !problems.iter().any(|problem| problem.ends_with(&shown)) {
            problems.push(format!("the outboxes cannot be looked at: {shown}"));
        }
        Vec::new()
    });
    for recipient in &mut recipients {
        for text in recipient.endpoint.iter_mut().chain(recipient.last_error.iter_mut()) {
            Redactor::default().redact_in_place(text, MASK);
        }
    }
    WaitingTelemetry { opted_out_at: mark.opted_out_at(), recipients, problems }
}

/// What this machine delivered, per recipient, for `dlt telemetry log` and the counts of
/// `dlt telemetry`.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct SentTelemetry {
    /// Each recipient's record: the messages of the last 30 days exactly as they were sent,
    /// how many were delivered in all and when last, what was dropped and why, and what is
    /// wrong with its files.
    pub recipients: Vec<SentState>,
    /// What keeps the record from being looked at at all: the folder and why.
    pub problems: Vec<String>,
}

impl SentTelemetry {
    /// Every message on record, of every recipient, confirmed at or after `since` (all of them
    /// without it), oldest first: what `dlt telemetry log` lists.
    pub fn log(&self, since: Option<OffsetDateTime>) -> Vec<LoggedMessage<'_>> {
        let mut log: Vec<LoggedMessage<'_>> = self
            .recipients
            .iter()
            .flat_map(|recipient| recipient.messages.iter().map(move |sent| LoggedMessage { recipient, sent }))
            .filter(|logged| since.is_none_or(|since| logged.sent.sent_at >= since))
            .collect();
        log.sort_by_key(|logged| logged.sent.sent_at);
        log
    }
}

/// The time `back` before now, for [`SentTelemetry::log`]; the earliest time there is when
/// `back` reaches further than the calendar.
pub fn time_ago(back: Duration) -> OffsetDateTime {
    time::Duration::try_from(back)
        .ok()
        .and_then(|back| OffsetDateTime::now_utc().checked_sub(back))
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// One delivered message and its recipient.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct LoggedMessage<'a> {
    /// Whom it went to.
    pub recipient: &'a SentState,
    /// When it was confirmed, and the message exactly as sent.
    pub sent: &'a SentMessage,
}

impl LoggedMessage<'_> {
    /// `{sent_at, endpoint, write_key, message}`: an entry of `dlt telemetry log --json`.
    pub fn to_json(&self) -> Value {
        json!({
            "sent_at": self.sent.sent_at.format(&Rfc3339).ok(),
            "endpoint": self.recipient.endpoint,
            "write_key": self.recipient.write_key,
            "message": self.sent.message,
        })
    }
}

/// Reads the record of what was sent under the configuration's global dir, through the file
/// gate, creating, repairing and deleting nothing. Never fails: what cannot be read is one of
/// the problems it reports. Endpoints are shown by the URL rule (credentials hidden).
pub fn sent_telemetry(config: &Config) -> SentTelemetry {
    match dlt_segment::inspect_sent(&config.locations().telemetry_dir()) {
        Ok(mut recipients) => {
            for recipient in &mut recipients {
                if let Some(endpoint) = &mut recipient.endpoint {
                    Redactor::default().redact_in_place(endpoint, MASK);
                }
            }
            SentTelemetry { recipients, problems: Vec::new() }
        }
        Err(error) => SentTelemetry {
            recipients: Vec::new(),
            problems: vec![format!("the record of what was sent cannot be read: {error}")],
        },
    }
}
