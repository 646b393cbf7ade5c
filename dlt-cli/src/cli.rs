//! The command line's grammar.

#![allow(missing_docs, reason = "clap's doc comments document the commands for --help")]

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
    /// Show whether anonymous telemetry is on, which setting decided it, and what waits to be
    /// sent.
    Telemetry {
        /// Print the same as one JSON object.
        #[arg(long)]
        json: bool,
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
