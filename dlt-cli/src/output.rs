//! What the command line prints: the telemetry status (text and JSON), what waits to be sent,
//! and a pipeline trace. Standard output that its reader closed ends the command quietly.

use std::fmt::{Display, Write as _};
use std::io::{IsTerminal as _, Write as _};

use dlt_config::{Config, Source};
use dlt_runtime_trace::{DecidedBy, LoggedMessage, RecipientState, SentTelemetry, Status, WaitingTelemetry};
use dlt_telemetry_model::{PipelineStepTrace, PipelineTrace};
use time::OffsetDateTime;
use time::macros::format_description;

/// Standard output is closed (its reader went away, or it was never open).
pub(crate) struct Closed;

/// Writes to standard output; any failure means nobody reads it any more.
pub(crate) fn print(text: impl Display) -> Result<(), Closed> {
    let mut stdout = std::io::stdout().lock();
    write!(stdout, "{text}").and_then(|()| stdout.flush()).map_err(|_| Closed)
}

/// Bold on a terminal (unless `NO_COLOR` is set), plain otherwise.
pub(crate) fn bold(text: &str) -> String {
    let styled = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    if styled { format!("\x1b[1m{text}\x1b[22m") } else { text.to_owned() }
}

fn set_or_not(set: bool) -> &'static str {
    if set { "set" } else { "not set" }
}

/// `, from <file or variable>` for a setting someone set; nothing for a built-in default.
fn set_in(source: &Source) -> String {
    match source {
        Source::Default => String::new(),
        source => format!(", from {source}"),
    }
}

/// Every setting that keeps usage telemetry the way it is: the master switch, `DO_NOT_TRACK`,
/// and each source that says `runtime.dlthub_telemetry = false`.
pub(crate) fn deciders(status: &Status, config: &Config) -> Vec<String> {
    let mut deciders = Vec::new();
    if matches!(status.decided_by, DecidedBy::MasterSwitch(_) | DecidedBy::DoNotTrack | DecidedBy::ConfigError(_)) {
        deciders.push(status.decided_by.to_string());
    }
    for source in &config.runtime().dlthub_telemetry_opt_outs {
        deciders.push(source.describe("runtime.dlthub_telemetry", &false));
    }
    if deciders.is_empty() {
        deciders.push(status.decided_by.to_string());
    }
    deciders
}

/// How usage telemetry is delivered.
fn delivery(status: &Status) -> &'static str {
    if status.first_run_notice {
        "none this run (the first-run notice was shown; nothing is sent)"
    } else if status.debug {
        "printed to stderr instead (runtime.dlthub_telemetry_debug)"
    } else if status.detached_sender {
        "by a detached sender after each command"
    } else {
        "from this process, within the exit deadline"
    }
}

/// `dlt telemetry`: dlt's first line, then what decided it, where events go, what waits and
/// what was delivered and dropped.
pub(crate) fn status(status: &Status, waiting: &WaitingTelemetry, sent: &SentTelemetry) -> String {
    let state = if status.telemetry { "ENABLED" } else { "DISABLED" };
    let mut text = format!("Telemetry is {}\n", bold(state));
    let _ = writeln!(text, "  decided by: {}", status.decided_by);
    if let Some(endpoint) = &status.endpoint {
        let _ = writeln!(text, "  endpoint: {endpoint}{}", set_in(&status.endpoint_source));
    }
    let _ = writeln!(text, "  segment write key: {}", set_or_not(status.write_key_set));
    for withheld in &status.credentials_withheld {
        let _ = writeln!(text, "  not sent: {withheld}");
    }
    if status.telemetry {
        let _ = writeln!(text, "  delivery: {}", delivery(status));
    }
    let _ = writeln!(text, "  sentry dsn: {}{}", set_or_not(status.sentry_dsn_set), set_in(&status.sentry_dsn_source));
    match &status.otlp_endpoint {
        Some(endpoint) => _ = writeln!(text, "  opentelemetry: {endpoint}{}", set_in(&status.otlp_endpoint_source)),
        None => _ = writeln!(text, "  opentelemetry: off"),
    }
    if !status.runtime_trace {
        let _ = writeln!(text, "  runtime trace: off (no telemetry, no Sentry, no OpenTelemetry, no trace file)");
    }
    if let Some(at) = waiting.opted_out_at {
        let _ = writeln!(text, "  opted out at: {}", timestamp(at));
    }
    for problem in &waiting.problems {
        let _ = writeln!(text, "  problem: {problem}");
    }
    let recipients: Vec<&RecipientState> = waiting
        .recipients
        .iter()
        .filter(|state| state.waiting > 0 || state.sender_running || !state.problems.is_empty())
        .collect();
    if recipients.is_empty() {
        let _ = writeln!(text, "  waiting to be sent: nothing");
    }
    for state in recipients {
        let endpoint = state.endpoint.as_deref().unwrap_or("an unknown endpoint");
        let key = if state.write_key { " (with a write key)" } else { "" };
        let oldest = state.oldest.map(|at| format!(", oldest {} old", age(at))).unwrap_or_default();
        let sender = match (state.sender_running, state.sender_pid) {
            (true, Some(pid)) => format!(", a sender (pid {pid}) is delivering them"),
            (true, None) => ", a sender is delivering them".to_owned(),
            (false, _) => String::new(),
        };
        let _ = writeln!(text, "  waiting for {endpoint}{key}: {} message(s){oldest}{sender}", state.waiting);
        if let Some(error) = &state.last_error {
            let _ = writeln!(text, "    last delivery error: {error}");
        }
        for problem in &state.problems {
            let _ = writeln!(text, "    problem: {problem}");
        }
    }
    for problem in &sent.problems {
        let _ = writeln!(text, "  problem: {problem}");
    }
    if sent.recipients.is_empty() {
        let _ = writeln!(text, "  delivered: nothing");
    }
    for state in &sent.recipients {
        let endpoint = state.endpoint.as_deref().unwrap_or("an unknown endpoint");
        let key = if state.write_key { " (with a write key)" } else { "" };
        let last = state.last_delivered_at.map(|at| format!(", last at {}", timestamp(at))).unwrap_or_default();
        let dropped: Vec<String> = state
            .dropped
            .by_reason()
            .into_iter()
            .filter(|(_, count)| *count > 0)
            .map(|(reason, count)| format!("{count} {}", reason.replace('_', " ")))
            .collect();
        let dropped = if dropped.is_empty() { String::new() } else { format!("; dropped: {}", dropped.join(", ")) };
        let _ = writeln!(text, "  delivered to {endpoint}{key}: {} message(s){last}{dropped}", state.delivered);
        for problem in &state.problems {
            let _ = writeln!(text, "    problem: {problem}");
        }
    }
    text
}

/// `dlt telemetry --json`: the same as one JSON object (documented in docs/cli.md).
pub(crate) fn status_json(status: &Status, waiting: &WaitingTelemetry, sent: &SentTelemetry) -> String {
    format!("{:#}\n", status.to_json(Some(waiting), Some(sent)))
}

/// `dlt telemetry log`: a line per message (when it was confirmed, the event, the recipient),
/// its properties indented below, newest last.
pub(crate) fn sent_log(entries: &[LoggedMessage<'_>], since: Option<OffsetDateTime>) -> String {
    let mut text = String::new();
    if entries.is_empty() {
        let since = since.map_or("in the last 30 days".to_owned(), |at| format!("since {}", timestamp(at)));
        let _ = writeln!(text, "Nothing was delivered from this machine {since}.");
    }
    for LoggedMessage { recipient, sent, .. } in entries {
        let event = sent.message["event"].as_str().unwrap_or("(no event name)");
        let endpoint = recipient.endpoint.as_deref().unwrap_or("an unknown endpoint");
        let key = if recipient.write_key { " (with a write key)" } else { "" };
        let _ = writeln!(text, "{}  {event}  to {endpoint}{key}", timestamp(sent.sent_at));
        if let Some(properties) = sent.message["properties"].as_object() {
            for (name, value) in properties {
                let _ = writeln!(text, "    {name}: {value}");
            }
        }
    }
    text
}

/// `dlt telemetry log --json`: one array of `{sent_at, endpoint, write_key, message}`.
pub(crate) fn sent_log_json(entries: &[LoggedMessage<'_>]) -> String {
    let entries: Vec<serde_json::Value> = entries.iter().map(LoggedMessage::to_json).collect();
    format!("{:#}\n", serde_json::Value::Array(entries))
}

/// How long ago, roughly: `12 s`, `5 min`, `3 h`, `2 days`.
fn age(at: OffsetDateTime) -> String {
    let seconds = (OffsetDateTime::now_utc() - at).whole_seconds().max(0);
    match seconds {
        0..120 => format!("{seconds} s"),
        120..7_200 => format!("{} min", seconds / 60),
        7_200..172_800 => format!("{} h", seconds / 3_600),
        _ => format!("{} days", seconds / 86_400),
    }
}

/// `dlt pipeline <name> trace`: dlt's summary line, then a line per step.
pub(crate) fn trace(trace: &PipelineTrace) -> String {
    let outcome = |succeeded: bool| if succeeded { "COMPLETED" } else { "FAILED" };
    let mut text = format!(
        "Run started at {} and {} in {} with {} steps.\n",
        timestamp(trace.started_at),
        outcome(trace.succeeded()),
        duration(trace.started_at, trace.finished_at),
        trace.steps.len()
    );
    for step in &trace.steps {
        let _ = writeln!(text, "{}", step_line(step, outcome(step.succeeded())));
        if let Some(error) = &step.step_exception {
            let _ = writeln!(text, "  error: {}", printable(error, "\n    "));
        }
    }
    let _ = writeln!(text, "Pipeline: {}", printable(&trace.pipeline.pipeline_name, "\\n"));
    if let Some(destination) = &trace.pipeline.destination_name {
        let kind = trace.pipeline.destination_type.as_deref().map(|t| format!(" ({t})")).unwrap_or_default();
        let _ = writeln!(text, "Destination: {}", printable(&format!("{destination}{kind}"), "\\n"));
    }
    if let Some(dataset) = &trace.pipeline.dataset_name {
        let _ = writeln!(text, "Dataset: {}", printable(dataset, "\\n"));
    }
    let _ = writeln!(text, "Transaction id: {}", printable(&trace.transaction_id, "\\n"));
    text
}

fn step_line(step: &PipelineStepTrace, outcome: &str) -> String {
    let name = printable(&step.step, "\\n");
    format!("Step {name} {outcome} in {}.", duration(step.started_at, step.finished_at))
}

/// Text of a trace as the terminal may show it: a trace's free text can quote data (a row, a
/// server's message), and its control characters must not drive the terminal or make a line
/// that looks like the command's own. A line break becomes `line_break`; every other control
/// character, and the characters that reorder text (bidirectional overrides), is shown
/// escaped (`\u{1b}`).
fn printable(text: &str, line_break: &str) -> String {
    let reorders = |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    let mut shown = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => shown.push_str(line_break),
            c if c.is_control() || reorders(c) => shown.extend(c.escape_default()),
            c => shown.push(c),
        }
    }
    shown
}

fn timestamp(at: OffsetDateTime) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second].[subsecond digits:3] UTC");
    at.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_else(|_| at.to_string())
}

fn duration(start: OffsetDateTime, end: Option<OffsetDateTime>) -> String {
    match end {
        Some(end) => format!("{:.2} s", (end - start).as_seconds_f64()),
        None => "(unfinished)".into(),
    }
}
