//! End to end: the bridge posts real envelopes to a loopback Sentry, which decodes them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use dlt_sentry_bridge::{EventLevel, PipelineIdentity, PipelineRunSpan, SentryDsn, SentryGuard, SentryOptions, init};
use dlt_test_support::{Answer, RawEnvelope, RecordedRequest, SENTRY_PUBLIC_KEY, SentryReceiver};
use sentry_core::Hub;
use sentry_core::protocol::{Envelope, EnvelopeItem, Event, SpanStatus, Transaction};
use serde_json::Value;
use tracing_subscriber::layer::SubscriberExt;

/// The variable that turns the `panic_child` test into the panicking child process.
const PANIC_CHILD_DSN: &str = "DLT_SENTRY_BRIDGE_PANIC_CHILD_DSN";
const WAIT: Duration = Duration::from_secs(10);

/// A Sentry that holds every request without answering.
fn never_answering() -> SentryReceiver {
    SentryReceiver::with_answer(Answer::ok().with_delay(Duration::from_secs(3600))).unwrap()
}

fn options(server: &SentryReceiver, event_level: EventLevel) -> SentryOptions {
    let mut options = SentryOptions::new("1.31.0");
    options.dsn = Some(SentryDsn::parse(&server.dsn()).unwrap());
    options.event_level = event_level;
    options.capture_panics = false;
    options.shutdown_timeout = Duration::from_secs(5);
    options
}

/// Starts the bridge on a hub of the test's own, runs `emit` under its `tracing` layer,
/// shuts it down, and returns whether the shutdown drained everything.
fn run_bridge(options: SentryOptions, emit: impl FnOnce(&SentryGuard)) -> bool {
    let hub = std::sync::Arc::new(Hub::new_from_top(Hub::current()));
    Hub::run(hub, || {
        let guard = init(options);
        let subscriber = tracing_subscriber::registry().with(guard.tracing_layer());
        tracing::subscriber::with_default(subscriber, || emit(&guard));
        guard.shutdown_by(Instant::now() + Duration::from_secs(5))
    })
}

/// The envelope header and the `type` of each item, decoded from the wire format.
fn raw_envelope(request: &RecordedRequest) -> (Value, Vec<String>) {
    let raw = RawEnvelope::parse(&request.body).unwrap();
    let types = raw.item_types().into_iter().map(str::to_owned).collect();
    (raw.header, types)
}

fn events(requests: &[RecordedRequest]) -> Vec<Event<'static>> {
    items(requests)
        .into_iter()
        .filter_map(|item| match item {
            EnvelopeItem::Event(event) => Some(*event),
            _ => None,
        })
        .collect()
}

fn transactions(requests: &[RecordedRequest]) -> Vec<Transaction<'static>> {
    items(requests)
        .into_iter()
        .filter_map(|item| match item {
            EnvelopeItem::Transaction(transaction) => Some(*transaction),
            _ => None,
        })
        .collect()
}

/// Every item, decoded by sentry-types (`raw_envelope` decodes by the wire format alone).
fn items(requests: &[RecordedRequest]) -> Vec<EnvelopeItem> {
    requests.iter().flat_map(|request| Envelope::from_slice(&request.body).unwrap().into_items()).collect()
}

#[test]
fn a_warning_at_log_level_warning_is_posted_as_one_event_envelope() {
    let server = SentryReceiver::start().unwrap();
    let drained = run_bridge(options(&server, EventLevel::Warning), |_| {
        tracing::warn!(target: "dlt", rows = 3, "schema changed");
    });
    assert!(drained);
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.method, "POST");
    assert_eq!(request.path, "/api/42/envelope/");
    assert_eq!(request.header("content-type"), Some("application/x-sentry-envelope"));
    let auth = request.header("x-sentry-auth").unwrap();
    assert!(auth.starts_with("Sentry "), "{auth}");
    assert!(auth.contains(&format!("sentry_key={SENTRY_PUBLIC_KEY}")), "{auth}");
    assert!(auth.contains("sentry_version=7"), "{auth}");

    let (header, types) = raw_envelope(request);
    assert_eq!(types, ["event"]);
    let event = &events(&requests)[0];
    assert_eq!(header["event_id"], event.event_id.to_string());
    assert_eq!(event.level.to_string(), "warning");
    assert_eq!(event.logger.as_deref(), Some("dlt"));
    assert_eq!(event.logentry.as_ref().unwrap().message, "schema changed");
    assert_eq!(event.release.as_deref(), Some("1.31.0_"));
    assert_eq!(event.tags["dlt_version"], "1.31.0");
    assert_eq!(event.server_name, None);
}

#[test]
fn a_warning_at_log_level_error_sends_nothing() {
    let server = SentryReceiver::start().unwrap();
    let drained = run_bridge(options(&server, EventLevel::Error), |_| {
        tracing::warn!(target: "dlt", "schema changed");
        tracing::info!(target: "dlt", "only a breadcrumb");
    });
    assert!(drained);
    assert!(server.requests().is_empty());
}

#[test]
fn an_error_at_log_level_error_sends_one_event() {
    let server = SentryReceiver::start().unwrap();
    run_bridge(options(&server, EventLevel::Error), |guard| {
        tracing::info!(target: "dlt", "extract started");
        tracing::error!(target: "dlt", "load failed");
        assert!(guard.flush(WAIT));
        assert_eq!(guard.stats().unwrap().sent, 1);
    });
    let requests = server.requests();
    let events = events(&requests);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].level.to_string(), "error");
    let breadcrumbs = &events[0].breadcrumbs.values;
    assert_eq!(breadcrumbs.len(), 1);
    assert_eq!(breadcrumbs[0].message.as_deref(), Some("extract started"));
}

#[test]
fn a_pipeline_run_is_one_transaction_with_tagged_step_spans() {
    let server = SentryReceiver::start().unwrap();
    let pipeline = PipelineIdentity::new("chess_pipeline")
        .with_destination("duckdb", "dlt.destinations.duckdb")
        .with_dataset("games");
    run_bridge(options(&server, EventLevel::Warning), |guard| {
        let run = PipelineRunSpan::start(guard, "run", &pipeline);
        run.start_step("extract").finish();
        run.start_step("normalize").finish();
        run.start_step("load").fail("the destination refused the load");
        run.finish();
    });
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let (header, types) = raw_envelope(&requests[0]);
    assert_eq!(types, ["transaction"]);
    assert_eq!(header["trace"]["public_key"], SENTRY_PUBLIC_KEY);

    let transaction = &transactions(&requests)[0];
    assert_eq!(transaction.name.as_deref(), Some("run"));
    for (tag, value) in [("pipeline_name", "chess_pipeline"), ("destination", "duckdb"), ("dataset_name", "games")] {
        assert_eq!(transaction.tags[tag], value);
        for span in &transaction.spans {
            assert_eq!(span.tags[tag], value, "span {:?}", span.op);
        }
    }
    let spans: Vec<_> = transaction.spans.iter().map(|span| (span.op.clone().unwrap(), span.status.unwrap())).collect();
    assert_eq!(
        spans,
        [
            ("extract".to_owned(), SpanStatus::Ok),
            ("normalize".to_owned(), SpanStatus::Ok),
            ("load".to_owned(), SpanStatus::InternalError),
        ]
    );
    let payload: Value = serde_json::to_value(transaction).unwrap();
    assert_eq!(payload["contexts"]["trace"]["op"], "run");
    assert_eq!(payload["contexts"]["trace"]["status"], "internal_error");
}

#[test]
fn planted_secrets_never_reach_the_server() {
    let server = SentryReceiver::start().unwrap();
    let mut options = options(&server, EventLevel::Warning);
    options.extra_secrets = dlt_sentry_bridge::Redactor::new(["segment-write-key-123"]);
    let dsn = server.dsn();
    run_bridge(options, |guard| {
        tracing::info!(target: "dlt", "connecting to postgresql://loader:hunter2@db:5432/dlt");
        tracing::error!(
            target: "dlt",
            write_key = "segment-write-key-123",
            "failed with dsn {dsn} and https://user:hunter2@api.example.com"
        );
        let pipeline =
            PipelineIdentity::new("p").with_destination("postgres://loader:hunter2@db", "dlt.destinations.postgres");
        let run = PipelineRunSpan::start(guard, "run", &pipeline);
        run.finish();
    });
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        let body = String::from_utf8_lossy(&request.body);
        assert!(!body.contains("hunter2"), "{body}");
        assert!(!body.contains("segment-write-key-123"), "{body}");
        assert!(!body.contains(&dsn), "{body}");
    }
    let event = &events(&requests)[0];
    let message = &event.logentry.as_ref().unwrap().message;
    assert!(message.contains("https://[Filtered]@api.example.com"), "{message}");
}

#[test]
fn a_server_that_never_answers_does_not_hold_shutdown() {
    let server = never_answering();
    let mut options = options(&server, EventLevel::Warning);
    options.request_timeout = Duration::from_secs(60);
    let deadline = Duration::from_millis(500);
    let hub = std::sync::Arc::new(Hub::new_from_top(Hub::current()));
    Hub::run(hub, || {
        let guard = init(options);
        let subscriber = tracing_subscriber::registry().with(guard.tracing_layer());
        tracing::subscriber::with_default(subscriber, || tracing::error!(target: "dlt", "boom"));
        assert!(server.wait_for(1, WAIT), "the post is in flight");

        let started = Instant::now();
        assert!(!guard.flush(deadline));
        assert!(started.elapsed() < deadline + Duration::from_secs(1));

        // The flush gave up on that post; a second one hangs while the guard closes.
        tracing::subscriber::with_default(
            tracing_subscriber::registry().with(guard.tracing_layer()),
            || tracing::error!(target: "dlt", "boom again"),
        );
        assert!(server.wait_for(2, WAIT), "the second post is in flight");
        let started = Instant::now();
        assert!(!guard.shutdown_by(started + deadline));
        assert!(started.elapsed() < deadline + Duration::from_secs(1));
    });
}

#[test]
fn dropping_the_guard_is_bounded_by_the_shutdown_timeout() {
    let server = never_answering();
    let mut options = options(&server, EventLevel::Warning);
    options.shutdown_timeout = Duration::from_millis(300);
    let hub = std::sync::Arc::new(Hub::new_from_top(Hub::current()));
    Hub::run(std::sync::Arc::clone(&hub), || {
        let guard = init(options);
        hub.capture_message("boom", sentry_core::Level::Error);
        assert!(server.wait_for(1, WAIT));
        let started = Instant::now();
        drop(guard);
        assert!(started.elapsed() < Duration::from_millis(300) + Duration::from_secs(1));
    });
}

#[test]
fn a_full_queue_drops_and_counts_without_blocking() {
    let server = never_answering();
    let mut options = options(&server, EventLevel::Warning);
    options.queue_capacity = 1;
    let hub = std::sync::Arc::new(Hub::new_from_top(Hub::current()));
    Hub::run(std::sync::Arc::clone(&hub), || {
        let guard = init(options);
        hub.capture_message("first, in flight", sentry_core::Level::Error);
        assert!(server.wait_for(1, WAIT));
        let started = Instant::now();
        for _ in 0..5 {
            hub.capture_message("more", sentry_core::Level::Error);
        }
        assert!(started.elapsed() < Duration::from_secs(1));
        let stats = guard.stats().unwrap();
        assert_eq!(stats.dropped_queue_full, 4, "{stats:?}");
        assert!(!guard.shutdown_by(Instant::now() + Duration::from_millis(200)));
    });
}

#[test]
fn a_rate_limited_server_makes_the_transport_drop_until_retry_after() {
    let server = SentryReceiver::with_answer(Answer::status(429).with_header("Retry-After", "60")).unwrap();
    run_bridge(options(&server, EventLevel::Warning), |guard| {
        tracing::error!(target: "dlt", "first");
        assert!(guard.flush(WAIT));
        tracing::error!(target: "dlt", "second");
        assert!(guard.flush(WAIT));
        let stats = guard.stats().unwrap();
        assert_eq!(stats.dropped_rate_limited, 2, "{stats:?}");
        assert_eq!(stats.sent, 0);
    });
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn a_panic_in_a_child_process_sends_one_unhandled_event_before_it_dies() {
    let server = SentryReceiver::start().unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "panic_child", "--ignored", "--nocapture", "--test-threads=1"])
        .env(PANIC_CHILD_DSN, server.dsn())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the child must die of its panic: {stderr}");
    assert!(stderr.contains("planned panic"), "the previous panic hook still ran: {stderr}");

    let requests = server.requests();
    assert_eq!(requests.len(), 1, "{stderr}");
    let (_, types) = raw_envelope(&requests[0]);
    assert_eq!(types, ["event"]);
    let event = &events(&requests)[0];
    assert_eq!(event.level.to_string(), "error");
    let exception = &event.exception.values[0];
    assert_eq!(exception.ty, "panic");
    assert_eq!(exception.value.as_deref(), Some("planned panic at postgres://[Filtered]@db"));
    let mechanism = exception.mechanism.as_ref().unwrap();
    assert_eq!(mechanism.ty, "panic");
    assert_eq!(mechanism.handled, Some(false));
    let frame = &exception.stacktrace.as_ref().unwrap().frames[0];
    assert!(frame.filename.as_deref().unwrap().ends_with("loopback.rs"));
}

/// Not a test of its own: the child process of the test above, selected by its variable.
#[test]
#[ignore = "runs only as the child process of a_panic_in_a_child_process_sends_one_unhandled_event_before_it_dies"]
fn panic_child() {
    let Ok(dsn) = std::env::var(PANIC_CHILD_DSN) else {
        return;
    };
    let mut options = SentryOptions::new("1.31.0");
    options.dsn = Some(dsn.parse().unwrap());
    options.shutdown_timeout = Duration::from_secs(5);
    let _guard = init(options);
    panic!("planned panic at postgres://loader:hunter2@db");
}
