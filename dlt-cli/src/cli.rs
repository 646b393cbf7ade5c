//! The command line's grammar.

#![allow(missing_docs, reason = "clap's doc comments document the commands for --help")]

use std::time::Duration;

use clap::{Parser, Subcommand};

/// dlt: telemetry status, the opt-out switches, project init and trace viewing.
#[derive(Debug, Parser)]
#[command(name = "dlt", version, about, long_about = None)]
pub struct Cli {
    /// Turn anonymous telemetry off, globally and in this project, before the command runs.
    /// Nothing is sent, by any route, from then on.
    #[arg(long, conflicts_with = "enable_telemetry")]
    pub disable_telemetry: bool,
    /// Turn anonymous telemetry on, globally and in this project, before the command runs.
    #[arg(long)]
    pub enable_telemetry: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Whether the command prints JSON to standard output.
    pub fn prints_json(&self) -> bool {
        match &self.command {
            Some(Command::Telemetry { action: Some(TelemetryAction::Log { json, .. }), .. }) => *json,
            Some(Command::Telemetry { json, .. }) => *json,
            Some(Command::Pipeline { operation: PipelineOperation::Trace { json }, .. }) => *json,
            Some(Command::Init { .. }) | None => false,
        }
    }

    /// The switch asked for: `Some(true)` to enable, `Some(false)` to disable.
    pub fn switch(&self) -> Option<bool> {
        match (self.enable_telemetry, self.disable_telemetry) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show whether anonymous telemetry is on, which setting decided it, what waits to be sent,
    /// and how many messages were delivered and dropped.
    Telemetry {
        /// Print the same as one JSON object.
        #[arg(long)]
        json: bool,
        #[command(subcommand)]
        action: Option<TelemetryAction>,
    },
    /// Create the project's .dlt/config.toml and .dlt/secrets.toml (existing files are kept).
    Init {
        /// The source, e.g. chess.
        source: String,
        /// The destination, e.g. duckdb.
        destination: String,
    },
    /// Inspect a pipeline's local state.
    Pipeline {
        /// The pipeline's name.
        name: String,
        #[command(subcommand)]
        operation: PipelineOperation,
    },
}

#[derive(Debug, Subcommand)]
pub enum TelemetryAction {
    /// Show every usage message this machine delivered (the last 30 days), exactly as it was
    /// sent, newest last: when the endpoint confirmed it, and to whom. Sends nothing.
    Log {
        /// Print one JSON array of {sent_at, endpoint, write_key, message}.
        #[arg(long)]
        json: bool,
        /// Only messages confirmed within this long: a number and a unit, e.g. 30m, 2h, 7d.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        since: Option<Duration>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PipelineOperation {
    /// Show the trace of the pipeline's last run: steps, times, success and errors.
    Trace {
        /// Print the trace as JSON instead.
        #[arg(long)]
        json: bool,
    },
}

impl PipelineOperation {
    /// The `operation` sent with `command_pipeline`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Trace { .. } => "trace",
        }
    }
}

/// A duration as `--since` takes it: a whole number and a unit, `s`, `m`, `h` or `d`
/// (`90s`, `30m`, `2h`, `7d`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let unit_at = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(unit_at);
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        _ => 0,
    };
    match number.parse::<u64>().ok().and_then(|number| number.checked_mul(seconds)) {
        Some(total) if seconds > 0 => Ok(Duration::from_secs(total)),
        _ => Err(format!(
            "{text:?} is not a duration: expected a whole number and a unit, s, m, h or d (e.g. 30m, 2h, 7d)"
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_duration_is_a_number_and_a_unit() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("30m"), Ok(Duration::from_secs(1_800)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7_200)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
        for bad in ["", "7", "d", "1.5h", "-1h", "2 h", "3y", "99999999999999999999d"] {
            let error = parse_duration(bad).unwrap_err();
            assert!(error.contains("is not a duration"), "{bad}: {error}");
        }
    }
}
