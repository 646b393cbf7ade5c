//! The `dlt` command line: telemetry status, the opt-out switches, `init` and trace viewing.
//! Parsing and printing only; the work is done by `dlt-config` and `dlt-runtime-trace`.
//!
//! Exit codes: 0 success, 1 the command failed, 2 a usage or configuration error.
#![allow(clippy::print_stdout, clippy::print_stderr, reason = "a command line program talks on stdout and stderr")]

mod cli;
mod output;

use std::fmt::Display;
use std::process::ExitCode;
use std::time::Instant;

use clap::{CommandFactory as _, Parser as _};
use cli::{Cli, Command, PipelineOperation};
use dlt_config::{Config, Environment, Locations, SwitchLock, init_project, set_telemetry};
use dlt_runtime_trace::{InitOptions, RuntimeTrace, TraceFileError, Track, load_trace, trace_path};
use dlt_telemetry_model::events::{CommandEvent, Init, PipelineCommand, TelemetryStatus, TelemetrySwitch};
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The command failed.
const FAILED: u8 = 1;
/// The command line or the configuration is wrong.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    ExitCode::from(run(Cli::parse()))
}

/// Prints one error line and gives the exit code.
fn error(code: u8, message: impl Display) -> u8 {
    eprintln!("error: {message}");
    code
}

fn run(cli: Cli) -> u8 {
    let env = Environment::from_process();
    let locations = match Locations::resolve(&env) {
        Ok(locations) => locations,
        Err(message) => return error(USAGE, message),
    };
    let switch_started = Instant::now();
    if let Some(enabled) = cli.switch() {
        let switched = SwitchLock::acquire(&locations).and_then(|lock| set_telemetry(&lock, &locations, enabled));
        if let Err(failure) = switched {
            let code = if failure.is_config_error() { USAGE } else { FAILED };
            return error(code, failure);
        }
        println!("Telemetry switched {}", output::bold(if enabled { "ON" } else { "OFF" }));
    }
    let config = match Config::load_at(locations.clone(), env.clone()) {
        Ok(config) => config,
        Err(message) => return error(USAGE, message),
    };
    if let Err(message) = config.enable_runtime_trace(None) {
        return error(USAGE, message);
    }
    let telemetry_setting = config.runtime().dlthub_telemetry.value;
    let options = InitOptions::new("dlt", env!("CARGO_PKG_VERSION")).with_env(env);
    let runtime = RuntimeTrace::start(options, config);
    if !runtime.warnings().is_empty() {
        for warning in runtime.warnings() {
            eprintln!("error: {warning}");
        }
        return USAGE;
    }
    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .without_time()
        .with_target(false)
        .with_filter(tracing_subscriber::filter::LevelFilter::WARN);
    tracing_subscriber::registry().with(log).with(runtime.sentry_layer()).init();

    if let Some(enabled) = cli.switch() {
        report_switch(&runtime, enabled, switch_started);
    }
    let code = match cli.command {
        None if cli.switch().is_some() => 0,
        None => {
            let _ = Cli::command().print_help();
            USAGE
        }
        Some(Command::Telemetry) => runtime.track_command(TelemetryStatus {}, Track::After, || {
            print!("{}", output::status(runtime.status()));
            0
        }),
        Some(Command::Init { source, destination }) => {
            runtime.track_command(Init::new(source.as_str(), destination.as_str()), Track::After, || {
                init(&locations, telemetry_setting, &source, &destination)
            })
        }
        Some(Command::Pipeline { name, operation }) => {
            let arguments = PipelineCommand { operation: operation.name().into() };
            runtime.track_command(arguments, Track::Before, || pipeline(&locations, &name, &operation))
        }
    };
    drop(runtime);
    code
}

/// After a switch: the `--enable-telemetry` event, or a note when a stronger setting (an
/// environment variable, `secrets.toml`, `DO_NOT_TRACK`) keeps telemetry the other way.
fn report_switch(runtime: &RuntimeTrace, enabled: bool, started: Instant) {
    let status = runtime.status();
    if status.telemetry != enabled {
        let state = if status.telemetry { "on" } else { "off" };
        eprintln!("note: telemetry stays {state}: {} decides", status.decided_by);
    } else if enabled {
        let elapsed = started.elapsed().as_secs_f64();
        runtime.track(CommandEvent { arguments: TelemetrySwitch { enabled }, elapsed, success: true });
    }
}

/// `dlt init`: the project's config files, with telemetry as it is configured now.
fn init(locations: &Locations, telemetry: bool, source: &str, destination: &str) -> u8 {
    match init_project(locations, telemetry) {
        Ok(report) => {
            for path in &report.created {
                println!("Created {}", path.display());
            }
            for path in &report.kept {
                println!("Kept {} (it exists)", path.display());
            }
            println!("Project ready for source {source} and destination {destination}.");
            0
        }
        Err(message) => error(FAILED, message),
    }
}

/// `dlt pipeline <name> <operation>`.
fn pipeline(locations: &Locations, name: &str, operation: &PipelineOperation) -> u8 {
    let PipelineOperation::Trace { json } = operation;
    let pipelines = locations.pipelines_dir();
    match load_trace(&pipelines, name) {
        Ok(Some(trace)) if *json => match serde_json::to_string_pretty(&trace) {
            Ok(text) => {
                println!("{text}");
                0
            }
            Err(message) => error(FAILED, message),
        },
        Ok(Some(trace)) => {
            print!("{}", output::trace(&trace));
            0
        }
        Ok(None) => {
            let path = trace_path(&pipelines, name).map(|p| p.display().to_string()).unwrap_or_default();
            error(
                FAILED,
                format!("pipeline {name:?} has no saved trace ({path} does not exist); run it with tracing on first"),
            )
        }
        Err(message @ TraceFileError::InvalidPipelineName { .. }) => error(USAGE, message),
        Err(message) => error(FAILED, message),
    }
}
