//! Developer commands, run as `cargo xtask <command>`:
//!
//! - `check-schemas [--bless] [--against REV] [PATH...]`: the committed JSON Schemas match the
//!   model, every golden message, docs example and given file validates, nothing breaks
//!   compatibility with REV.
//! - `check-workflows`: the GitHub Actions workflow parses and has the jobs and steps relied on.
//! - `package-check [--no-verify]`: every crate meant for crates.io packages (and builds from its
//!   tarball) with its own README.
//! - `outside-crates [CRATE...]`: each published library's README example as a crate outside the
//!   workspace, freshly resolved, built with no warning (and run unless `no_run`).
//! - `newest-deps`: the workspace on the newest compatible dependencies (a scratch copy after
//!   `cargo update`): clippy, build and tests with warnings denied.
//! - `minimal-versions`: the workspace on the lowest versions its manifests allow, checked.
//! - `test`: the whole test suite (nextest when installed, then doctests, then the Python
//!   tests of `dlt-python` against dlt 1.31); `test-python`: only the Python tests.
//! - `sentry-envelopes`: the Sentry bridge's envelopes, read by Sentry's Python SDK.
//! - `otlp-check`: the OpenTelemetry bridge's requests, decoded by OpenTelemetry's Python
//!   `opentelemetry-proto`.
//! - `faults`: the fault matrix (refused, never answers, slow drip, 5xx, 429, 400, reset,
//!   unresolvable) through a userspace fault proxy, as one table.
//! - `bench-vs-dlt [--write] [--runs N]`: this project's `dlt` and dlt 1.31 (Python) measured
//!   side by side (Linux and macOS).
//! - `fuzz [--seconds N] [TARGET...]`: the cargo-fuzz targets of `fuzz/`, N seconds each.

#![allow(clippy::print_stdout, reason = "a command line tool reports on stdout")]

#[cfg(unix)]
mod bench;
mod breaking;
mod check_schemas;
mod check_workflows;
mod faults;
mod fuzz;
mod minimal_versions;
mod newest_deps;
mod otlp_check;
mod outside_crates;
mod package_check;
mod python;
mod python_tests;
mod readme;
mod scratch;
mod sentry_envelopes;
mod validate;
mod versions;

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
  check-workflows
      Fail if .github/workflows/ci.yml does not parse or lacks a job or step relied on (.ci/run
      on Linux and macOS, the tests on Windows, newest-deps and minimal-versions on Linux, the
      weekly schedule, the MSRV toolchain, nightly only to resolve minimal versions, cargo
      caching), or if .ci/run does not run every check.
  package-check [--no-verify]
      Fail if a crate meant for crates.io lacks the metadata it needs or a README of its own
      (with an example run as a doctest), or does not package and build from its tarball
      (cargo package --workspace, offline); --no-verify skips the build.
  outside-crates [CRATE...]
      For each published library crate (or those named), write a crate outside the workspace
      from its README (the [dependencies] block, the example as src/main.rs) that depends on it
      by path, resolve it fresh (network), build it into target/outside-crates/ and fail on any
      warning; run the example unless it is marked no_run.
  newest-deps
      In a scratch copy (target/newest-deps/), `cargo update` to the newest compatible
      versions, then clippy, build and the test suite with warnings denied.
  minimal-versions
      In a scratch copy (target/minimal-versions/), move every direct dependency to the lowest
      version the manifests allow (cargo +nightly update -Z direct-minimal-versions: needs a
      nightly toolchain) and check every target with the default toolchain.
  test
      Run the whole test suite: cargo nextest (or cargo test), the doctests, then the Python
      tests: the dlt-python wheel built into target/python-tests/venv with dlt 1.31 and pytest
      from PyPI (needs python3 with venv and pip; not on Windows).
  test-python
      Run only the Python tests, as `test` does after the Rust suites.
  sentry-envelopes
      Capture the Sentry bridge's envelopes (an error, a panic, a pipeline transaction) and
      parse each with Sentry's official Python SDK, installed into .venv/ (git ignores it).
  otlp-check
      Run the OpenTelemetry bridge's example against a loopback collector (plain, gzip with
      TRACEPARENT, a failed step), decode every request with OpenTelemetry's Python
      opentelemetry-proto (installed into .venv/) and check the span tree.
  faults
      Run the fault matrix: a Segment client against each fault a network can throw (through a
      loopback fault proxy adding 100 ms per request), one table of exit times and where every
      message went.
  bench-vs-dlt [--write] [--runs N]
      Measure the release `dlt` against dlt 1.31 (Python, installed into .venv-bench/ from
      PyPI) against loopback endpoints, side by side, and print one markdown table (N runs per
      row and side, default 7); --write also records it in docs/benchmarks.md.
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
        "check-workflows" => check_workflows::run(&workspace_root()),
        "package-check" => {
            package_check::Options::parse(rest).and_then(|options| package_check::run(&workspace_root(), &options))
        }
        "outside-crates" => {
            outside_crates::Options::parse(rest).and_then(|options| outside_crates::run(&workspace_root(), &options))
        }
        "newest-deps" => no_arguments(command, rest).and_then(|()| newest_deps::run(&workspace_root())),
        "minimal-versions" => no_arguments(command, rest).and_then(|()| minimal_versions::run(&workspace_root())),
        "test" => run_tests(&workspace_root()),
        "test-python" => python_tests::run(&workspace_root()),
        "sentry-envelopes" => sentry_envelopes::run(&workspace_root()),
        "otlp-check" => otlp_check::run(&workspace_root()),
        "faults" => faults::run(&workspace_root()),
        #[cfg(unix)]
        "bench-vs-dlt" => bench::Options::parse(rest).and_then(|options| bench::run(&workspace_root(), &options, rest)),
        #[cfg(not(unix))]
        "bench-vs-dlt" => Err("bench-vs-dlt runs on Linux and macOS".into()),
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

/// An error for a command that takes no arguments but was given some.
fn no_arguments(command: &str, rest: &[String]) -> Result<(), String> {
    if rest.is_empty() { Ok(()) } else { Err(format!("{command} takes no arguments, not: {}", rest.join(" "))) }
}

/// The workspace root: the parent of this crate's directory.
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// The whole test suite, as named cargo commands: every test (each in its own process under
/// nextest), then the doctests, which nextest does not run; without nextest, plain `cargo test`.
fn test_suites() -> Vec<(&'static str, Vec<&'static str>)> {
    let has_nextest =
        Command::new("cargo").args(["nextest", "--version"]).output().is_ok_and(|output| output.status.success());
    if has_nextest {
        vec![
            ("tests", vec!["nextest", "run", "--workspace", "--locked", "--no-fail-fast"]),
            ("doctests", vec!["test", "--workspace", "--locked", "--doc"]),
        ]
    } else {
        vec![("tests", vec!["test", "--workspace", "--locked", "--no-fail-fast"])]
    }
}

/// Runs the test suite in the checkout.
fn run_tests(root: &Path) -> Result<(), String> {
    for (_, suite) in test_suites() {
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
    python_tests::run(root)
}
