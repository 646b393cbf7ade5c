//! OpenTelemetry, as a user meets it: the example host, run as a real process with the standard
//! `OTEL_*` variables, exports each pipeline run as one trace to a loopback OTLP/HTTP receiver
//! that decodes it with OpenTelemetry's own protobuf types.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::Dirs;
use dlt_test_support::{Answer, ExportedSpan, OtlpReceiver, STATUS_ERROR, refusing_url};

fn example_binary() -> PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    deps.parent().unwrap().join("examples").join(format!("traced_pipeline{}", std::env::consts::EXE_SUFFIX))
}

/// Runs the example with only the test's dirs and `vars`; its usage telemetry (printed by
/// default) would go inline to a loopback port nothing listens on, never further.
fn run_example(dirs: &Dirs, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(example_binary());
    command.env_clear().envs(dirs.vars());
    command.env("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", refusing_url().unwrap());
    command.env("RUNTIME__TELEMETRY_DETACHED_SENDER", "false");
    command.envs(vars.iter().copied()).args(args).current_dir(dirs.project());
    command.output().unwrap()
}

fn by_name<'a>(spans: &'a [ExportedSpan], name: &str) -> &'a ExportedSpan {
    spans.iter().find(|span| span.name() == name).unwrap_or_else(|| panic!("no span {name}"))
}

#[test]
fn each_run_is_one_trace_with_a_span_per_step() {
    let dirs = Dirs::new();
    let collector = OtlpReceiver::start().unwrap();
    let output = run_example(&dirs, &[("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url())], &[]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let spans = collector.wait_for_spans(4, Duration::from_secs(10)).unwrap();
    assert!(collector.requests().iter().all(|request| request.path == "/v1/traces"));
    let roots: Vec<&ExportedSpan> = spans.iter().filter(|span| span.is_root()).collect();
    assert_eq!(roots.len(), 1, "{spans:?}");
    let root = roots[0];
    assert_eq!(root.string("dlt.pipeline.name"), Some("chess_pipeline"));
    assert_eq!(root.string("dlt.destination.name"), Some("filesystem"));
    assert_eq!(root.string("dlt.dataset.name"), Some("chess_data"));
    assert_eq!(root.resource_string("service.name"), Some("traced_pipeline"));
    for step in ["extract", "normalize", "load"] {
        let span = by_name(&spans, step);
        assert_eq!(span.parent_span_id(), root.span_id(), "{step}");
        assert_eq!(span.trace_id(), root.trace_id(), "{step}");
    }
    assert_eq!(by_name(&spans, "extract").int("dlt.step.rows"), Some(5));
}

#[test]
fn traceparent_joins_the_callers_trace() {
    let dirs = Dirs::new();
    let collector = OtlpReceiver::start().unwrap();
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent = "00f067aa0ba902b7";
    let traceparent = format!("00-{trace_id}-{parent}-01");
    let vars = [("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()), ("TRACEPARENT", traceparent)];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert!(run_example(&dirs, &vars, &[]).status.success());
    let spans = collector.wait_for_spans(4, Duration::from_secs(10)).unwrap();
    assert!(spans.iter().all(|span| span.trace_id() == trace_id));
    let run =
        spans.iter().find(|span| span.string("dlt.pipeline.name").is_some() && span.name().starts_with("run")).unwrap();
    assert_eq!(run.parent_span_id(), parent, "the run is a child of the caller's span");
}

#[test]
fn a_failed_normalize_is_an_error_span_under_an_error_root() {
    let dirs = Dirs::new();
    let collector = OtlpReceiver::start().unwrap();
    let output = run_example(&dirs, &[("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url())], &["--fail-at", "normalize"]);
    assert_eq!(output.status.code(), Some(1));
    let spans = collector.wait_for_spans(3, Duration::from_secs(10)).unwrap();
    let normalize = by_name(&spans, "normalize");
    assert_eq!(normalize.status_code(), STATUS_ERROR);
    assert!(normalize.status_message().contains("failure requested by --fail-at normalize"));
    let root = spans.iter().find(|span| span.is_root()).unwrap();
    assert_eq!(root.status_code(), STATUS_ERROR);
    assert!(spans.iter().all(|span| span.name() != "load"), "load never ran");
}

#[test]
fn the_master_switch_or_otel_sdk_disabled_means_no_request() {
    let collector = OtlpReceiver::start().unwrap();
    for off in [("ENABLE_RUNTIME_TRACE", "false"), ("OTEL_SDK_DISABLED", "true")] {
        let dirs = Dirs::new();
        let output = run_example(&dirs, &[("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url()), off], &[]);
        assert!(output.status.success(), "{off:?}");
    }
    // Both processes have exited: whatever they would have sent has been sent.
    assert!(collector.requests().is_empty());
}

#[test]
fn a_collector_that_never_answers_holds_exit_no_longer_than_the_deadline() {
    let dirs = Dirs::new();
    let collector = OtlpReceiver::with_answer(Answer::ok().with_delay(Duration::from_secs(3600))).unwrap();
    let vars = [("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url()), ("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "1".into())];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let started = Instant::now();
    assert!(run_example(&dirs, &vars, &[]).status.success());
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "exit took {took:?}");
    assert!(collector.wait_for(1, Duration::from_secs(1)), "it did try");
}

#[test]
fn a_refused_collector_is_not_waited_for() {
    let dirs = Dirs::new();
    let url = refusing_url().unwrap();
    let vars = [("OTEL_EXPORTER_OTLP_ENDPOINT", url.as_str()), ("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "5")];
    let started = Instant::now();
    assert!(run_example(&dirs, &vars, &[]).status.success());
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
}
