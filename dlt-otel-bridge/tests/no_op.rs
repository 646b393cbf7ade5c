//! Export off means no thread and no socket. Alone in its test binary, so that no other test
//! starts threads or opens sockets meanwhile.
#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(target_os = "linux")]

mod support;

use std::time::{Duration, Instant};

use dlt_otel_bridge::{CommandSpan, OtelOptions, PipelineIdentity, PipelineRunSpan, init};
use dlt_test_support::OtlpReceiver;
use support::lookup;
use tracing_subscriber::layer::SubscriberExt;

/// Threads of this process, and its open sockets.
fn threads_and_sockets() -> (usize, usize) {
    let threads = std::fs::read_dir("/proc/self/task").unwrap().count();
    let sockets = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count();
    (threads, sockets)
}

fn exercise(pairs: &[(&str, &str)]) -> bool {
    let (options, _) = OtelOptions::from_lookup(lookup(pairs), None);
    let guard = init(options.with_library("dlt", "1.31.0"));
    let enabled = guard.is_enabled();
    let subscriber = tracing_subscriber::registry().with(guard.tracing_layer());
    tracing::subscriber::with_default(subscriber, || {
        let run = PipelineRunSpan::start(&guard, "run", &PipelineIdentity::new("chess"));
        let step = run.start_step("extract");
        tracing::warn!("inside the run");
        step.finish();
        run.finish();
        CommandSpan::start(&guard, "telemetry").finish();
    });
    assert!(guard.shutdown_by(Instant::now() + Duration::from_secs(5)));
    enabled
}

#[test]
fn export_off_starts_no_thread_and_opens_no_socket() {
    let receiver = OtlpReceiver::start().unwrap();
    let url = receiver.url();
    // The measure works: with export on, the batch thread shows up while the guard lives.
    let before = threads_and_sockets();
    let (options, _) = OtelOptions::from_lookup(lookup(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &url)]), None);
    let guard = init(options);
    assert_eq!(threads_and_sockets().0, before.0 + 1);
    drop(guard);

    let before = threads_and_sockets();
    assert!(!exercise(&[("OTEL_SDK_DISABLED", "true"), ("OTEL_EXPORTER_OTLP_ENDPOINT", &url)]));
    assert!(!exercise(&[("TRACEPARENT", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")]));
    assert_eq!(threads_and_sockets(), before);
    assert!(receiver.requests().is_empty());
}
