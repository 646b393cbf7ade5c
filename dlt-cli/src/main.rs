//! The `dlt` command line: telemetry status, the opt-out switches, `init` and trace viewing.
//! Parsing and printing only; the work is done by `dlt-config` and `dlt-runtime-trace`.
//!
//! Exit codes: 0 success, 1 the command failed, 2 a usage or configuration error. A closed
//! standard output (`dlt ... | head -c1`) ends the command quietly with 0. Usage telemetry
//! never changes a command's outcome and never makes it wait: what is undelivered at exit goes
//! to this binary started again, detached, as the sender (inline, within the exit deadline, in
//! CI and as PID 1).

mod names;
mod output;
mod redacted;
mod signals;

use std::fmt::Display;
use std::io::{IsTerminal as _, Write as _};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{CommandFactory as _, Parser as _};
use dlt_cli::cli::{Cli, Command, PipelineOperation, TelemetryAction};
use dlt_config::{Config, Environment, Locations, init_project};
use dlt_runtime_trace::{
    Delivery, InitOptions, RuntimeTrace, SenderCommand, TraceFileError, Track, load_trace, sent_telemetry,
    serve_detached_sender, switch_telemetry, time_ago, trace_path, waiting_telemetry,
};
use dlt_telemetry_model::anonymous::WITHHELD;
use dlt_telemetry_model::events::{CommandEvent, Init, PipelineCommand, TelemetryStatus, TelemetrySwitch};
use names::{check_destination, check_source};
use output::Closed;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How a command ended; [`CommandEnd::exit_code`] is the one place exit codes are decided.
enum CommandEnd {
    /// It did what was asked.
    Done,
    /// It could not do it (exit 1): a missing trace, a file that could not be written.
    Failed(String),
    /// The command line or the configuration is wrong (exit 2).
    Usage(String),
    /// Standard output was closed by its reader: nothing more to say (exit 0).
    OutputClosed,
}

impl CommandEnd {
    fn exit_code(self) -> u8 {
        match self {
            Self::Done | Self::OutputClosed => 0,
            Self::Failed(message) => report_error(1, message),
            Self::Usage(message) => report_error(2, message),
        }
    }
}

impl From<Closed> for CommandEnd {
    fn from(_: Closed) -> Self {
        Self::OutputClosed
    }
}

impl From<CommandEnd> for u8 {
    fn from(outcome: CommandEnd) -> Self {
        outcome.exit_code()
    }
}

/// Whether a tracked command succeeded: `dlt`'s success is exit code 0.
impl dlt_runtime_trace::CommandOutcome for CommandEnd {
    fn succeeded(&self) -> bool {
        matches!(self, Self::Done | Self::OutputClosed)
    }
}

fn main() -> ExitCode {
    // Started as the detached sender by an earlier command: deliver what waits, nothing else.
    if let Some(code) = serve_detached_sender() {
        return code;
    }
    match Cli::try_parse() {
        Ok(cli) => ExitCode::from(run(cli).exit_code()),
        Err(error) => ExitCode::from(redacted::usage_error(&error)),
    }
}

/// Writes one error line to stderr, secrets hidden (quietly nothing if stderr is closed), and
/// gives the code.
fn report_error(code: u8, message: impl Display) -> u8 {
    redacted::eprint_line("error", message);
    code
}

fn run(cli: Cli) -> CommandEnd {
    let env = Environment::from_process();
    let locations = match Locations::resolve(&env) {
        Ok(locations) => locations,
        Err(error) => return CommandEnd::Usage(error.to_string()),
    };
    let switch_started = Instant::now();
    if let Some(enabled) = cli.switch() {
        match switch_telemetry(&locations, enabled) {
            Ok(report) => {
                if let Some(not_switched) = report.not_switched {
                    redacted::eprint_line(
                        "warning",
                        format_args!(
                            "{}; that file was left as it is, and telemetry is off all the same (the global config.toml says so)",
                            not_switched.reason
                        ),
                    );
                }
            }
            Err(error) if error.is_config_error() => return CommandEnd::Usage(error.to_string()),
            Err(error) => return CommandEnd::Failed(error.to_string()),
        }
    }
    // Said once the first-run notice, if due, is out: the notice comes before anything else.
    let announce_switch = || match cli.switch() {
        Some(enabled) => {
            output::print(format_args!("Telemetry switched {}\n", output::bold(if enabled { "ON" } else { "OFF" })))
        }
        None => Ok(()),
    };
    let config = match Config::load_at(locations, env) {
        Ok(config) => config,
        Err(error) => {
            return match announce_switch() {
                Ok(()) => CommandEnd::Usage(error.to_string()),
                Err(closed) => closed.into(),
            };
        }
    };
    let mut options = InitOptions::new("dlt", VERSION).with_delivery(delivery(SenderCommand::this_program()));
    // The first-run notice is shown where someone sees it: on a terminal, and not in front of
    // JSON meant for a program. Elsewhere (scripts, pipes, CI) nothing changes.
    if std::io::stderr().is_terminal() && !cli.prints_json() {
        options = options.with_first_run_notice();
    }
    let runtime = RuntimeTrace::start(options, config.clone());
    redacted::install(&runtime);
    let notice = runtime.notice();
    if notice.due {
        let _ = std::io::stderr().write_all(notice.text.as_bytes());
    }
    if announce_switch().is_err() {
        return CommandEnd::OutputClosed;
    }
    if let Some(issue) = runtime.issues().iter().find(|issue| issue.is_config_error()) {
        return CommandEnd::Usage(issue.to_string());
    }
    for issue in runtime.issues() {
        redacted::eprint_line("warning", issue);
    }
    let log = tracing_subscriber::fmt::layer()
        .with_writer(redacted::Stderr)
        .without_time()
        .with_target(false)
        .with_filter(tracing_subscriber::filter::LevelFilter::WARN);
    tracing_subscriber::registry().with(log).with(runtime.sentry_layer()).with(runtime.otel_layer()).init();

    signals::keeping_telemetry_on_signal(runtime.keeper(), move || {
        if let Some(enabled) = cli.switch() {
            report_switch(&runtime, &config, enabled, switch_started);
        }
        let outcome = dispatch(&runtime, &config, cli);
        drop(runtime);
        outcome
    })
}

/// How a command delivers usage telemetry. A command is over in milliseconds: it never opens a
/// socket for telemetry, and this very binary (`this_program`), started again as the sender,
/// delivers at exit. Where the binary cannot be found, telemetry is sent inline within the exit
/// deadline instead.
fn delivery(this_program: std::io::Result<SenderCommand>) -> Delivery {
    this_program.map_or(Delivery::Inline, Delivery::HandOffOnly)
}

/// Runs the command of the command line.
fn dispatch(runtime: &RuntimeTrace, config: &Config, cli: Cli) -> CommandEnd {
    match cli.command {
        None if cli.switch().is_some() => CommandEnd::Done,
        None => {
            let _ = Cli::command().print_help();
            CommandEnd::Usage("a command or a switch is required".into())
        }
        // Looking at what was sent sends nothing.
        Some(Command::Telemetry { action: Some(TelemetryAction::Log { json, since }), .. }) => {
            telemetry_log(config, json, since)
        }
        Some(Command::Telemetry { json, action: None }) => {
            runtime.track_command(TelemetryStatus {}, Track::After, || telemetry(runtime, config, json))
        }
        Some(Command::Init { source, destination }) => {
            let names = check_source(&source).and_then(|source| Ok((source, check_destination(&destination)?)));
            // Only names that pass dlt's rules go into the event; otherwise neither does.
            let (event_source, event_destination) = names.as_ref().map_or((WITHHELD, WITHHELD), |names| *names);
            runtime.track_command(Init::new(event_source, event_destination), Track::After, || match names {
                Ok((source, destination)) => init(config, source, destination),
                Err(error) => CommandEnd::Usage(error.to_string()),
            })
        }
        Some(Command::Pipeline { name, operation }) => {
            let arguments = PipelineCommand { operation: operation.name().into() };
            runtime.track_command(arguments, Track::Before, || pipeline(config, &name, &operation))
        }
    }
}

/// After a switch: the `--enable-telemetry` event, or a note naming every setting that keeps
/// telemetry the other way.
fn report_switch(runtime: &RuntimeTrace, config: &Config, enabled: bool, started: Instant) {
    let status = runtime.status();
    if status.telemetry == enabled {
        if enabled {
            let elapsed = started.elapsed().as_secs_f64();
            runtime.track(CommandEvent { arguments: TelemetrySwitch { enabled }, elapsed, success: true });
        }
        return;
    }
    let state = if status.telemetry { "on" } else { "off" };
    let deciders = output::deciders(runtime.status(), config);
    let verb = if deciders.len() > 1 { "keep" } else { "keeps" };
    redacted::eprint_line("note", format_args!("telemetry stays {state}: {} {verb} it {state}", deciders.join(", ")));
}

/// `dlt telemetry`: the status, what waits to be sent, and what was delivered and dropped. An
/// outbox or a record never makes it fail: what is wrong with one is shown.
fn telemetry(runtime: &RuntimeTrace, config: &Config, json: bool) -> CommandEnd {
    let waiting = waiting_telemetry(config);
    let sent = sent_telemetry(config);
    let text = if json {
        output::status_json(runtime.status(), &waiting, &sent)
    } else {
        output::status(runtime.status(), &waiting, &sent)
    };
    match output::print(text) {
        Ok(()) => CommandEnd::Done,
        Err(closed) => closed.into(),
    }
}

/// `dlt telemetry log`: every message delivered from this machine (the last 30 days, or
/// `since`), newest last. A record that cannot be read never makes it fail: each problem is a
/// `warning:` line on stderr, and the rest is shown.
fn telemetry_log(config: &Config, json: bool, since: Option<Duration>) -> CommandEnd {
    let sent = sent_telemetry(config);
    let problems = sent.problems.iter().map(String::as_str);
    for problem in problems.chain(sent.recipients.iter().flat_map(|state| state.problems.iter().map(String::as_str))) {
        redacted::eprint_line("warning", problem);
    }
    let since = since.map(time_ago);
    let entries = sent.log(since);
    let text = if json { output::sent_log_json(&entries) } else { output::sent_log(&entries, since) };
    match output::print(text) {
        Ok(()) => CommandEnd::Done,
        Err(closed) => closed.into(),
    }
}

/// `dlt init`: the project's config files, with telemetry as it is configured now.
fn init(config: &Config, source: &str, destination: &str) -> CommandEnd {
    let telemetry = config.runtime().dlthub_telemetry.value;
    let report = match init_project(config.locations(), telemetry) {
        Ok(report) => report,
        Err(error) => return CommandEnd::Failed(error.to_string()),
    };
    let mut text = String::new();
    for path in &report.created {
        text.push_str(&format!("Created {}\n", path.display()));
    }
    for path in &report.kept {
        text.push_str(&format!("Kept {} (it exists)\n", path.display()));
    }
    for outside in &report.outside_project {
        text.push_str(&format!(
            "Not written {} (it leads to {}, outside the project dir)\n",
            outside.path.display(),
            outside.target.display()
        ));
    }
    text.push_str(&format!("Project ready for source {source} and destination {destination}.\n"));
    match output::print(text) {
        Ok(()) => CommandEnd::Done,
        Err(closed) => closed.into(),
    }
}

/// `dlt pipeline <name> <operation>`.
fn pipeline(config: &Config, name: &str, operation: &PipelineOperation) -> CommandEnd {
    let PipelineOperation::Trace { json } = operation;
    let pipelines = config.locations().pipelines_dir();
    let trace = match load_trace(&pipelines, name) {
        Ok(Some(trace)) => redacted::trace(trace),
        Ok(None) => {
            let path = trace_path(&pipelines, name).map(|path| path.display().to_string()).unwrap_or_default();
            return CommandEnd::Failed(format!(
                "pipeline {name:?} has no saved trace ({path} does not exist); run it with tracing on first"
            ));
        }
        Err(error @ TraceFileError::InvalidPipelineName { .. }) => return CommandEnd::Usage(error.to_string()),
        Err(error) => return CommandEnd::Failed(error.to_string()),
    };
    let text = if *json {
        match serde_json::to_string_pretty(&trace) {
            Ok(text) => text + "\n",
            Err(error) => return CommandEnd::Failed(error.to_string()),
        }
    } else {
        output::trace(&trace)
    };
    match output::print(text) {
        Ok(()) => CommandEnd::Done,
        Err(closed) => closed.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_hands_off_to_this_binary_or_sends_inline_when_it_cannot_be_found() {
        let this = SenderCommand::new("/usr/local/bin/dlt", Vec::<String>::new());
        assert_eq!(delivery(Ok(this.clone())), Delivery::HandOffOnly(this));
        let unknown = std::io::Error::new(std::io::ErrorKind::NotFound, "no /proc/self/exe available");
        assert_eq!(delivery(Err(unknown)), Delivery::Inline);
    }
}
