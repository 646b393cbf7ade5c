//! Developer commands, run as `cargo xtask <command>`:
//!
//! - `check-schemas [--bless] [--against REV] [PATH...]`: the committed JSON Schemas match the
//!   model, every golden message, docs example and given file validates, nothing breaks
//!   compatibility with REV.
//! - `test`: the whole test suite (nextest when installed, then doctests).
//! - `sentry-envelopes`: the Sentry bridge's envelopes, read by Sentry's Python SDK.
//! - `otlp-check`: the OpenTelemetry bridge's requests, decoded by OpenTelemetry's Python
//!   `opentelemetry-proto`.
//! - `fuzz [--seconds N] [TARGET...]`: the cargo-fuzz targets of `fuzz/`, N seconds each.

#![allow(clippy::print_stdout, reason = "a command line tool reports on stdout")]

mod breaking;
mod check_schemas;
mod fuzz;
mod otlp_check;
mod sentry_envelopes;
mod validate;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  check-schemas [--bless] [--against REV] [PATH...]
      Fail if docs/schemas/ differs from the schemas generated from dlt-telemetry-model
      (--bless rewrites them), if a golden message, a docs example or a JSON file under PATH
      does not validate, or if a schema change breaks compatibility with REV (default: the
      merge base with main).
  test
      Run the whole test suite: cargo nextest (or cargo test) and the doctests.
  sentry-envelopes
      Capture the Sentry bridge's envelopes (an error, a panic, a pipeline transaction) and
      parse each with Sentry's official Python SDK, installed into .venv/ (git ignores it).
  otlp-check
      Run the OpenTelemetry bridge's example against a loopback collector (plain, gzip with
      TRACEPARENT, a failed step), decode every request with OpenTelemetry's Python
      opentelemetry-proto (installed into .venv/) and check the span tree.
  fuzz [--seconds N] [TARGET...]
      Run the cargo-fuzz targets of fuzz/ (all by default) for N seconds each (default 60)
      with nightly and cargo-fuzz, and print executions, corpus size and crashes per target.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let outcome = match command.as_str() {
        "check-schemas" => match check_schemas::Options::parse(rest) {
            Ok(options) => check_schemas::run(&workspace_root(), &options),
            Err(message) => Err(message),
        },
        "test" => run_tests(&workspace_root()),
        "sentry-envelopes" => sentry_envelopes::run(&workspace_root()),
        "otlp-check" => otlp_check::run(&workspace_root()),
        "fuzz" => fuzz::Options::parse(rest).and_then(|options| fuzz::run(&workspace_root(), &options)),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Runs the test suite: every test (each in its own process under nextest), then doctests,
/// which nextest does not run.
fn run_tests(root: &Path) -> Result<(), String> {
    let has_nextest =
        Command::new("cargo").args(["nextest", "--version"]).output().is_ok_and(|output| output.status.success());
    let mut suites = vec![];
    if has_nextest {
        suites.push(vec!["nextest", "run", "--workspace", "--locked", "--no-fail-fast"]);
        suites.push(vec!["test", "--workspace", "--locked", "--doc"]);
    } else {
        // One test at a time: some tests count this process's threads.
        suites.push(vec!["test", "--workspace", "--locked", "--no-fail-fast", "--", "--test-threads=1"]);
    }
    for suite in suites {
        println!("$ cargo {}", suite.join(" "));
        let status = Command::new("cargo")
            .args(&suite)
            .current_dir(root)
            .status()
            .map_err(|e| format!("could not start cargo: {e}"))?;
        if !status.success() {
            return Err(format!("`cargo {}` failed ({status})", suite.join(" ")));
        }
    }
    Ok(())
}
