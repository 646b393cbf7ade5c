//! `cargo xtask otlp-check`: the OpenTelemetry bridge's real requests, decoded by
//! OpenTelemetry's Python `opentelemetry-proto` package (installed into `.venv/` in the
//! checkout, which git ignores), an implementation independent of the Rust crates that encode
//! them.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use dlt_test_support::Recorder;

use crate::python::{clear_dir, run_step, venv};

/// The checker script, run with the package installed.
const CHECKER: &str = "xtask/python/check_otlp.py";
/// The module of `opentelemetry-proto` the checker imports.
const OTLP_MODULE: &str = "opentelemetry.proto.collector.trace.v1.trace_service_pb2";
/// The caller's span of the run that joins a trace (`TRACEPARENT`).
const CALLER_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";

/// One run of the example and what the checker expects of it.
struct Run {
    name: &'static str,
    env: Vec<(&'static str, String)>,
    args: &'static [&'static str],
    parent: bool,
    fail_at: Option<&'static str>,
}

fn runs() -> Vec<Run> {
    let traceparent = format!("00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01");
    vec![
        Run { name: "plain", env: Vec::new(), args: &[], parent: false, fail_at: None },
        Run {
            name: "gzip-traceparent",
            env: vec![
                ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip".to_owned()),
                ("TRACEPARENT", traceparent),
                ("TRACESTATE", "congo=t61rcWkgMzE".to_owned()),
            ],
            args: &[],
            parent: true,
            fail_at: None,
        },
        Run {
            name: "fail-at-normalize",
            env: Vec::new(),
            args: &["--fail-at", "normalize"],
            parent: false,
            fail_at: Some("normalize"),
        },
    ]
}

/// Runs the example against a loopback collector for each run and has Python decode and check
/// every request body.
pub(crate) fn run(root: &Path) -> Result<(), String> {
    let python = venv(root, ".venv", OTLP_MODULE, "opentelemetry-proto")?;
    let dir = root.join("target/otlp-check");
    clear_dir(&dir)?;
    run_step(
        Command::new("cargo")
            .args(["build", "--quiet", "-p", "dlt-otel-bridge", "--example", "otlp_run"])
            .current_dir(root),
        "building the otlp_run example",
    )?;
    let mut failed = Vec::new();
    for run in runs() {
        println!("== {}", run.name);
        let (trace_id, files) = capture(root, &dir.join(run.name), &run)?;
        let mut checker = Command::new(&python);
        checker.arg(root.join(CHECKER)).args(["--trace-id", &trace_id]);
        if run.parent {
            checker.args(["--parent", &format!("{CALLER_TRACE_ID}-{CALLER_SPAN_ID}")]);
        }
        if let Some(step) = run.fail_at {
            checker.args(["--fail-at", step]);
        }
        let status = checker.args(&files).status().map_err(|e| format!("could not start {}: {e}", python.display()))?;
        if !status.success() {
            failed.push(run.name);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("opentelemetry-proto (Python) did not accept the runs {failed:?}"))
    }
}

/// Runs the example once against a fresh collector; returns the trace id it printed and the
/// request bodies, saved as `NN.pb` (or `NN.pb.gz` when sent gzipped).
fn capture(root: &Path, dir: &Path, run: &Run) -> Result<(String, Vec<PathBuf>), String> {
    let collector = Recorder::start().map_err(|e| format!("could not start the collector: {e}"))?;
    let mut example = Command::new("cargo");
    example.args(["run", "--quiet", "-p", "dlt-otel-bridge", "--example", "otlp_run", "--"]).args(run.args);
    // Only what this run sets: none of the developer's OpenTelemetry, trace or proxy variables.
    for (name, _) in std::env::vars_os() {
        let upper = name.to_string_lossy().to_ascii_uppercase();
        if upper.starts_with("OTEL_") || upper.starts_with("TRACE") || upper.ends_with("_PROXY") {
            example.env_remove(&name);
        }
    }
    example.env("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()).envs(run.env.iter().map(|(k, v)| (*k, v)));
    let output = example.current_dir(root).output().map_err(|e| format!("could not start cargo: {e}"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprint!("{stderr}");
    if !output.status.success() {
        return Err(format!("the example failed ({})", output.status));
    }
    let trace_id = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let requests = collector.requests();
    if requests.is_empty() {
        return Err("the example sent nothing".into());
    }
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for (index, request) in requests.iter().enumerate() {
        if (request.method.as_str(), request.path.as_str()) != ("POST", "/v1/traces") {
            return Err(format!("request {index} is {} {}, not POST /v1/traces", request.method, request.path));
        }
        if request.header("content-type") != Some("application/x-protobuf") {
            return Err(format!("request {index} is not application/x-protobuf"));
        }
        let gzipped = request.header("content-encoding") == Some("gzip");
        let path = dir.join(format!("{index:02}.pb{}", if gzipped { ".gz" } else { "" }));
        fs::write(&path, &request.body).map_err(|e| format!("{}: {e}", path.display()))?;
        files.push(path);
    }
    Ok((trace_id, files))
}
