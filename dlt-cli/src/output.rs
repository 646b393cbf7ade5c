//! What the command line prints: the telemetry status and a pipeline trace.

use std::fmt::Write as _;
use std::io::IsTerminal as _;

use dlt_runtime_trace::Status;
use dlt_telemetry_model::{PipelineStepTrace, PipelineTrace};
use time::OffsetDateTime;
use time::macros::format_description;

/// Bold on a terminal (unless `NO_COLOR` is set), plain otherwise.
pub(crate) fn bold(text: &str) -> String {
    let styled = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    if styled { format!("\x1b[1m{text}\x1b[22m") } else { text.to_owned() }
}

fn set_or_not(set: bool) -> &'static str {
    if set { "set" } else { "not set" }
}

/// `dlt telemetry`: dlt's first line, then what decided it and where events go.
pub(crate) fn status(status: &Status) -> String {
    let state = if status.telemetry { "ENABLED" } else { "DISABLED" };
    let mut text = format!("Telemetry is {}\n", bold(state));
    let _ = writeln!(text, "  decided by: {}", status.decided_by);
    if let Some(endpoint) = &status.endpoint {
        let sink = if status.debug { " (printed to stderr instead: runtime.dlthub_telemetry_debug)" } else { "" };
        let _ = writeln!(text, "  endpoint: {endpoint}{sink}");
    }
    let _ = writeln!(text, "  segment write key: {}", set_or_not(status.write_key_set));
    let _ = writeln!(text, "  sentry dsn: {}", set_or_not(status.sentry_dsn_set));
    if !status.runtime_trace {
        let _ = writeln!(text, "  runtime trace: off (no telemetry, no Sentry, no trace file)");
    }
    text
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
            let _ = writeln!(text, "  error: {error}");
        }
    }
    let _ = writeln!(text, "Pipeline: {}", trace.pipeline_name);
    if let Some(destination) = &trace.destination_name {
        let kind = trace.destination_type.as_deref().map(|t| format!(" ({t})")).unwrap_or_default();
        let _ = writeln!(text, "Destination: {destination}{kind}");
    }
    if let Some(dataset) = &trace.dataset_name {
        let _ = writeln!(text, "Dataset: {dataset}");
    }
    let _ = writeln!(text, "Transaction id: {}", trace.transaction_id);
    text
}

fn step_line(step: &PipelineStepTrace, outcome: &str) -> String {
    format!("Step {} {outcome} in {}.", step.step, duration(step.started_at, step.finished_at))
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
