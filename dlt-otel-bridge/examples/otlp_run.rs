//! The bridge alone in a tool of your own: one command and one pipeline run exported as
//! traces to the collector the standard OpenTelemetry variables name.
//!
//! ```text
//! OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 \
//!     cargo run -p dlt-otel-bridge --example otlp_run [-- --fail-at normalize]
//! ```
//!
//! `TRACEPARENT=00-<trace id>-<span id>-01` joins the caller's trace; `OTEL_SDK_DISABLED=true`
//! or no endpoint runs the same code with export off (nothing sent, no thread started).
//! Prints the run's trace id on stdout and what happened on stderr; exits with 1 when export
//! was on and not everything was accepted within the deadline.

use std::io::Write as _;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use dlt_otel_bridge::{CommandSpan, OtelOptions, PipelineIdentity, PipelineRunSpan};
use tracing_subscriber::layer::SubscriberExt;

const STEPS: [&str; 3] = ["extract", "normalize", "load"];

fn main() -> ExitCode {
    let fail_at = match parse_fail_at(std::env::args().skip(1)) {
        Ok(fail_at) => fail_at,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let (options, warnings) = OtelOptions::from_lookup(|name| std::env::var(name).ok(), None);
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    let guard = dlt_otel_bridge::init(options.with_library("dlt", env!("CARGO_PKG_VERSION")));
    eprintln!("OpenTelemetry export: {}", guard.status());
    let subscriber = tracing_subscriber::registry().with(guard.tracing_layer());
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        eprintln!("warning: a tracing subscriber is already set; log events are not exported");
    }

    let command = CommandSpan::start(&guard, "pipeline");
    command.set_argument("operation", "run");
    let pipeline =
        PipelineIdentity::new("chess").with_destination("duckdb", "dlt.destinations.duckdb").with_dataset("games");
    let run = PipelineRunSpan::start(&guard, "run", &pipeline);
    if let Some(trace_id) = run.trace_id() {
        // The trace id is the one output a checker reads; stdout may be closed, which changes nothing.
        let _ = writeln!(std::io::stdout(), "{trace_id}");
    }
    let mut failed = false;
    for (rows, step) in (1_000..).step_by(500).zip(STEPS) {
        let span = run.start_step(step);
        if step == "normalize" {
            tracing::warn!(table = "games", "schema changed: new column `opening`");
        }
        if fail_at.as_deref() == Some(step) {
            tracing::error!(step, "step failed");
            span.fail(format!("{step} failed: column `id` changed type from bigint to text"));
            failed = true;
            break;
        }
        span.set_rows(rows);
        span.finish();
    }
    run.finish();
    if failed {
        command.fail("the pipeline run failed");
    } else {
        command.finish();
    }

    let delivered = guard.shutdown_by(Instant::now() + Duration::from_secs(2));
    if let Some(stats) = guard.stats() {
        eprintln!(
            "requests: {}, batches accepted: {}, batches failed: {}",
            stats.requests, stats.batches_sent, stats.batches_failed
        );
    }
    if guard.is_enabled() && !delivered { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// `--fail-at <step>`: the step that fails.
fn parse_fail_at(mut args: impl Iterator<Item = String>) -> Result<Option<String>, String> {
    let mut fail_at = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--fail-at" => match args.next() {
                Some(step) if STEPS.contains(&step.as_str()) => fail_at = Some(step),
                _ => return Err(format!("--fail-at takes one of {}", STEPS.join(", "))),
            },
            _ => return Err("usage: otlp_run [--fail-at extract|normalize|load]".into()),
        }
    }
    Ok(fail_at)
}
