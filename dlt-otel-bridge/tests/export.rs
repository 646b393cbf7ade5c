//! End to end: the bridge posts real OTLP/HTTP requests to a loopback receiver, which decodes
//! them with the `opentelemetry-proto` crate. No test reads the process environment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use dlt_otel_bridge::attributes::{
    COMMAND_NAME, DATASET_NAME, DESTINATION_NAME, EXCEPTION_EVENT, EXCEPTION_MESSAGE, LOG_LEVEL, PIPELINE_NAME,
    STEP_ELAPSED, STEP_NAME, STEP_ROWS,
};
use dlt_otel_bridge::{
    CommandSpan, OffReason, OtelGuard, OtelOptions, OtelStatus, OtelWarning, PipelineIdentity, PipelineRunSpan,
    Redactor, init,
};
use dlt_test_support::{
    Answer, ExportedSpan, ForwardProxy, HugeBodyServer, OtlpReceiver, RecordedRequest, STATUS_ERROR, STATUS_UNSET,
    attribute, refusing_url, spans_of,
};
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use support::lookup;
use tracing_subscriber::layer::SubscriberExt;

/// A body far larger than anything the exporter may read.
const HUGE: u64 = 512 * 1024 * 1024;
/// What may have left the huge-body server: the 64 KiB cap plus what the kernel's socket
/// buffers took before the connection closed.
const SENT_AT_MOST: u64 = 64 * 1024 * 1024;
const CALLER_TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN_ID: &str = "00f067aa0ba902b7";

/// Options read from `pairs` as if they were the environment; no warning expected.
fn options(pairs: &[(&str, &str)]) -> OtelOptions {
    let (options, warnings) = OtelOptions::from_lookup(lookup(pairs), None);
    assert!(warnings.is_empty(), "{warnings:?}");
    options.with_library("dlt", "1.31.0")
}

fn chess() -> PipelineIdentity {
    PipelineIdentity::new("chess").with_destination("duckdb", "dlt.destinations.duckdb").with_dataset("games")
}

/// A run of extract, normalize and load, failing at `fail_at` (and skipping what follows).
fn run_pipeline(guard: &OtelGuard, fail_at: Option<&str>) {
    let run = PipelineRunSpan::start(guard, "run", &chess());
    for step in ["extract", "normalize", "load"] {
        let span = run.start_step(step);
        if fail_at == Some(step) {
            span.fail("column `id` changed type from bigint to text");
            break;
        }
        span.set_rows(10);
        span.finish();
    }
    run.finish();
}

/// A collector that holds every request without answering.
fn never_answering() -> OtlpReceiver {
    OtlpReceiver::with_answer(Answer::ok().with_delay(Duration::from_secs(3600))).unwrap()
}

/// Shuts down with a generous deadline, asserting it drained, and returns the requests.
fn shut_down(guard: &OtelGuard, receiver: &OtlpReceiver) -> Vec<RecordedRequest> {
    assert!(guard.shutdown_by(Instant::now() + Duration::from_secs(5)));
    receiver.requests()
}

/// Every span of `requests`.
fn spans(requests: &[RecordedRequest]) -> Vec<ExportedSpan> {
    spans_of(requests).unwrap()
}

fn named<'a>(spans: &'a [ExportedSpan], name: &str) -> &'a ExportedSpan {
    spans.iter().find(|span| span.name() == name).unwrap_or_else(|| panic!("no span {name} in {spans:#?}"))
}

#[test]
fn a_run_is_one_trace_with_one_root_and_a_child_per_step() {
    let receiver = OtlpReceiver::start().unwrap();
    let guard = init(options(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url())]));
    assert!(matches!(guard.status(), OtelStatus::Exporting { .. }));
    run_pipeline(&guard, None);
    let requests = shut_down(&guard, &receiver);

    assert!(!requests.is_empty());
    for request in &requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/v1/traces");
        assert_eq!(request.header("content-type"), Some("application/x-protobuf"));
        assert!(request.header("user-agent").unwrap().starts_with("dlt/1.31.0 OTel-OTLP-Exporter-Rust/"));
    }
    let spans = spans(&requests);
    assert_eq!(spans.len(), 4, "{spans:#?}");
    let roots: Vec<_> = spans.iter().filter(|span| span.span.parent_span_id.is_empty()).collect();
    assert_eq!(roots.len(), 1);
    let root = roots[0];
    assert_eq!(root.name(), "run chess");
    assert_eq!(root.string(PIPELINE_NAME), Some("chess"));
    assert_eq!(root.string(DESTINATION_NAME), Some("duckdb"));
    assert_eq!(root.string(DATASET_NAME), Some("games"));
    assert_eq!(root.string(STEP_NAME), Some("run"));
    assert_eq!(root.status_code(), STATUS_UNSET);
    for span in &spans {
        assert_eq!(span.trace_id(), root.trace_id());
        assert_eq!(span.resource_string("service.name"), Some("dlt"));
        assert_eq!(span.resource_string("service.version"), Some("1.31.0"));
    }
    for step in ["extract", "normalize", "load"] {
        let span = named(&spans, step);
        assert_eq!(span.parent_span_id(), root.span_id());
        assert_eq!(span.string(STEP_NAME), Some(step));
        assert_eq!(span.string(PIPELINE_NAME), Some("chess"));
        assert_eq!(span.int(STEP_ROWS), Some(10));
        assert!(matches!(span.attribute(STEP_ELAPSED), Some(Value::DoubleValue(seconds)) if *seconds > 0.0));
        assert_eq!(span.status_code(), STATUS_UNSET);
        assert!(span.span.start_time_unix_nano >= root.span.start_time_unix_nano);
        assert!(span.span.end_time_unix_nano <= root.span.end_time_unix_nano);
    }
}

#[test]
fn traceparent_makes_the_run_a_child_of_the_callers_span() {
    let receiver = OtlpReceiver::start().unwrap();
    let traceparent = format!("00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-01");
    let guard = init(options(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url()),
        ("TRACEPARENT", &traceparent),
        ("TRACESTATE", "congo=t61rcWkgMzE"),
    ]));
    let run = PipelineRunSpan::start(&guard, "run", &chess());
    assert_eq!(run.trace_id().as_deref(), Some(CALLER_TRACE_ID));
    let child_parent = run.traceparent().unwrap();
    assert!(child_parent.starts_with(&format!("00-{CALLER_TRACE_ID}-")) && child_parent.ends_with("-01"));
    run.start_step("extract").finish();
    run.finish();
    let spans = spans(&shut_down(&guard, &receiver));

    assert_eq!(spans.len(), 2);
    let root = named(&spans, "run chess");
    assert_eq!(root.trace_id(), CALLER_TRACE_ID);
    assert_eq!(root.parent_span_id(), CALLER_SPAN_ID);
    assert_eq!(root.span.trace_state, "congo=t61rcWkgMzE");
    assert_eq!(child_parent, format!("00-{CALLER_TRACE_ID}-{}-01", root.span_id()));
    let extract = named(&spans, "extract");
    assert_eq!(extract.trace_id(), CALLER_TRACE_ID);
    assert_eq!(extract.parent_span_id(), root.span_id());
}

#[test]
fn a_caller_that_did_not_sample_its_trace_gets_no_spans() {
    let receiver = OtlpReceiver::start().unwrap();
    let traceparent = format!("00-{CALLER_TRACE_ID}-{CALLER_SPAN_ID}-00");
    let guard = init(options(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url()), ("TRACEPARENT", &traceparent)]));
    let run = PipelineRunSpan::start(&guard, "run", &chess());
    assert!(!run.is_recording());
    run.start_step("extract").finish();
    run.finish();
    assert!(shut_down(&guard, &receiver).is_empty());
}

#[test]
fn a_failed_normalize_is_an_error_span_under_an_error_root() {
    let receiver = OtlpReceiver::start().unwrap();
    let guard = init(options(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url())]));
    run_pipeline(&guard, Some("normalize"));
    let spans = spans(&shut_down(&guard, &receiver));

    let names: Vec<_> = spans.iter().map(ExportedSpan::name).collect();
    assert_eq!(names.len(), 3, "{names:?}");
    let root = named(&spans, "run chess");
    let normalize = named(&spans, "normalize");
    assert_eq!(normalize.parent_span_id(), root.span_id());
    assert_eq!(normalize.status_code(), STATUS_ERROR);
    assert_eq!(normalize.status_message(), "column `id` changed type from bigint to text");
    let exception = normalize.span.events.iter().find(|event| event.name == EXCEPTION_EVENT).unwrap();
    assert_eq!(
        attribute(&exception.attributes, EXCEPTION_MESSAGE),
        Some(&Value::StringValue("column `id` changed type from bigint to text".into()))
    );
    assert_eq!(named(&spans, "extract").status_code(), STATUS_UNSET);
    assert_eq!(root.status_code(), STATUS_ERROR);
    assert_eq!(root.status_message(), "step normalize failed");
}

#[test]
fn the_root_names_the_first_step_that_failed() {
    let receiver = OtlpReceiver::start().unwrap();
    let guard = init(options(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url())]));
    let run = PipelineRunSpan::start(&guard, "run", &chess());
    run.start_step("extract").fail("source unreachable");
    run.start_step("normalize").finish();
    // Dropped unfinished: fails too, after extract.
    drop(run.start_step("load"));
    run.finish();
    let spans = spans(&shut_down(&guard, &receiver));

    assert_eq!(named(&spans, "load").status_code(), STATUS_ERROR);
    assert_eq!(named(&spans, "load").status_message(), "the step ended without finishing");
    let root = named(&spans, "run chess");
    assert_eq!(root.status_code(), STATUS_ERROR);
    assert_eq!(root.status_message(), "step extract failed");
}

#[test]
fn a_run_and_a_step_dropped_unfinished_fail_with_what_the_sentry_bridge_records() {
    let receiver = OtlpReceiver::start().unwrap();
    let guard = init(options(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url())]));
    let run = PipelineRunSpan::start(&guard, "run", &chess());
    let step = run.start_step("extract");
    drop(step);
    drop(run);
    let spans = spans(&shut_down(&guard, &receiver));

    let extract = named(&spans, "extract");
    assert_eq!(extract.status_code(), STATUS_ERROR);
    assert_eq!(extract.status_message(), "the step ended without finishing");
    let root = named(&spans, "run chess");
    assert_eq!(root.status_code(), STATUS_ERROR);
    assert_eq!(root.status_message(), "the pipeline run ended without finishing");
}

#[test]
fn sdk_disabled_or_no_endpoint_sends_nothing() {
    let receiver = OtlpReceiver::start().unwrap();
    let url = receiver.url();
    let cases: [&[(&str, &str)]; 2] =
        [&[("OTEL_SDK_DISABLED", "true"), ("OTEL_EXPORTER_OTLP_ENDPOINT", &url)], &[("OTEL_SERVICE_NAME", "svc")]];
    for pairs in cases {
        let guard = init(options(pairs));
        assert!(!guard.is_enabled());
        assert!(matches!(guard.status(), OtelStatus::Off(OffReason::SdkDisabled | OffReason::NoEndpoint)));
        run_pipeline(&guard, Some("load"));
        CommandSpan::start(&guard, "telemetry").finish();
        assert!(guard.shutdown_by(Instant::now()));
    }
    assert!(receiver.requests().is_empty());
}

#[test]
fn another_protocol_is_one_warning_and_no_request() {
    let receiver = OtlpReceiver::start().unwrap();
    let url = receiver.url();
    let (options, warnings) = OtelOptions::from_lookup(
        lookup(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &url), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")]),
        None,
    );
    assert_eq!(warnings, [OtelWarning::UnsupportedProtocol { setting: "OTEL_EXPORTER_OTLP_PROTOCOL" }]);
    let guard = init(options);
    assert!(matches!(guard.status(), OtelStatus::Off(OffReason::UnsupportedProtocol)));
    run_pipeline(&guard, None);
    assert!(shut_down(&guard, &receiver).is_empty());
}

#[test]
fn a_collector_that_never_answers_holds_shutdown_no_longer_than_the_deadline() {
    let receiver = never_answering();
    let guard = init(options(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url())]));
    run_pipeline(&guard, None);
    let started = Instant::now();
    let drained = guard.shutdown_by(started + Duration::from_secs(1));
    let took = started.elapsed();
    assert!(!drained);
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    assert!(receiver.wait_for(1, Duration::from_secs(5)));
}

#[test]
fn a_request_in_flight_at_exit_is_cut_at_the_deadline() {
    let receiver = never_answering();
    // Exports every 10 ms with the default 10 s export timeout: the request hangs before exit.
    let guard = init(options(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url()), ("OTEL_BSP_SCHEDULE_DELAY", "10")]));
    run_pipeline(&guard, None);
    assert!(receiver.wait_for(1, Duration::from_secs(5)));
    let started = Instant::now();
    assert!(!guard.shutdown_by(started + Duration::from_secs(1)));
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
}

#[test]
fn a_refused_connection_is_not_retried_at_exit() {
    let guard = init(options(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &refusing_url().unwrap())]));
    run_pipeline(&guard, None);
    assert_eq!(guard.stats().unwrap().requests, 0, "nothing is sent before exit on the default 5 s schedule");
    let started = Instant::now();
    assert!(!guard.shutdown_by(started + Duration::from_secs(5)));
    let stats = guard.stats().unwrap();
    assert_eq!((stats.requests, stats.batches_sent, stats.batches_failed), (1, 0, 1));
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
}

#[test]
fn retryable_statuses_are_retried_within_the_deadline_and_others_are_not() {
    for (status, attempts) in [(503, 4), (400, 1)] {
        let receiver = OtlpReceiver::with_answer(Answer::status(status)).unwrap();
        let guard = init(options(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url())]));
        run_pipeline(&guard, None);
        let started = Instant::now();
        assert!(!guard.shutdown_by(started + Duration::from_secs(5)));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(receiver.requests().len(), attempts, "status {status}");
        assert_eq!(guard.stats().unwrap().requests, u64::try_from(attempts).unwrap());
    }
}

#[test]
fn the_two_endpoint_variables_follow_the_path_rules_on_the_wire() {
    let receiver = OtlpReceiver::start().unwrap();
    let cases = [
        ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", format!("{}/custom/ingest", receiver.url()), "/custom/ingest"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("{}/otlp/", receiver.url()), "/otlp/v1/traces"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("{}/otlp", receiver.url()), "/otlp/v1/traces"),
    ];
    for (variable, endpoint, path) in cases {
        let before = receiver.requests().len();
        let guard = init(options(&[(variable, &endpoint)]));
        CommandSpan::start(&guard, "telemetry").finish();
        let requests = shut_down(&guard, &receiver);
        assert_eq!(requests.len(), before + 1);
        assert_eq!(requests[before].path, path, "{variable}={endpoint}");
    }
}

#[test]
fn headers_are_sent_but_never_shown_or_exported() {
    let receiver = OtlpReceiver::start().unwrap();
    let options = options(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url()),
        ("OTEL_EXPORTER_OTLP_HEADERS", "Authorization=Bearer%20s3cr3t-t0ken,x-team=data"),
    ]);
    let shown = format!("{options:?}");
    assert!(!shown.contains("s3cr3t-t0ken"), "{shown}");
    assert!(shown.contains("authorization"), "{shown}");
    let guard = init(options);
    let shown = format!("{guard:?} {}", guard.status());
    assert!(!shown.contains("s3cr3t-t0ken"), "{shown}");
    let command = CommandSpan::start(&guard, "init");
    command
        .fail("the collector said: Bearer s3cr3t-t0ken is invalid for postgres://loader:hunter2@db/x (s3cr3t-t0ken)");
    let requests = shut_down(&guard, &receiver);

    assert_eq!(requests[0].header("authorization"), Some("Bearer s3cr3t-t0ken"));
    assert_eq!(requests[0].header("x-team"), Some("data"));
    let spans = spans(&requests);
    let message = spans[0].status_message();
    assert_eq!(message, "the collector said: *** is invalid for postgres://***@db/x (***)");
}

#[test]
fn endpoint_credentials_become_basic_auth_and_are_never_exported() {
    let receiver = OtlpReceiver::start().unwrap();
    let endpoint = receiver.url().replace("http://", "http://loader:pa55w0rd@");
    let guard = init(options(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)]));
    let shown = guard.status().to_string();
    assert!(!shown.contains("pa55w0rd") && !shown.contains("loader"), "{shown}");
    assert!(shown.contains(&receiver.url().replace("http://", "http://***@")), "{shown}");
    let run = PipelineRunSpan::start(&guard, "run", &chess());
    run.fail("could not reach the collector with pa55w0rd");
    let requests = shut_down(&guard, &receiver);

    // base64("loader:pa55w0rd")
    assert_eq!(requests[0].header("authorization"), Some("Basic bG9hZGVyOnBhNTV3MHJk"));
    let spans = spans(&requests);
    assert_eq!(spans[0].status_message(), "could not reach the collector with ***");
}

/// Every span passes one gate on its way out: names, attributes, events and status messages of
/// runs, steps and commands, whatever the host passed in, lose the extra secrets and every URL's
/// user info and query values. The request bodies (protobuf, uncompressed) are searched as bytes.
#[test]
fn extra_secrets_and_url_credentials_never_leave_in_any_text() {
    const DSN_KEY: &str = "dsn-public-key-0123";
    const WRITE_KEY: &str = "segment-write-key-4567";
    let receiver = OtlpReceiver::start().unwrap();
    let mut options = options(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url())]);
    options.extra_secrets = Redactor::new([DSN_KEY, WRITE_KEY]);
    assert_eq!(format!("{options:?}").matches(DSN_KEY).count(), 0);
    let guard = init(options);
    let subscriber = tracing_subscriber::registry().with(guard.tracing_layer());
    tracing::subscriber::with_default(subscriber, || {
        let pipeline = PipelineIdentity::new(format!("chess {WRITE_KEY}"))
            .with_destination("postgresql://loader:it's9@db", "dlt.destinations.postgres")
            .with_dataset(format!("https://{DSN_KEY}@o1.ingest.example/42"));
        // Step and command names are constants of a program; these carry secrets to prove
        // they are redacted anyway (leaked once, in a test).
        let run = PipelineRunSpan::start(&guard, format!("run {DSN_KEY}").leak(), &pipeline);
        let extract = run.start_step(format!("extract {WRITE_KEY}").leak());
        tracing::warn!(token = WRITE_KEY, "slow: {DSN_KEY} http://tok_SECRET@host/v1/track?api_key=k3y-s3cret");
        extract.fail(format!("cannot load into postgresql://loader:it's9@db: {WRITE_KEY}"));
        run.finish();
        let command = CommandSpan::start(&guard, format!("pipeline {DSN_KEY}").leak());
        command.set_argument("name", WRITE_KEY);
        command.finish();
    });
    let requests = shut_down(&guard, &receiver);

    for request in &requests {
        let body = String::from_utf8_lossy(&request.body);
        for secret in [DSN_KEY, WRITE_KEY, "it's9", "loader", "tok_SECRET", "k3y-s3cret"] {
            assert!(!body.contains(secret), "{secret} sent in {body:?}");
        }
    }
    let spans = spans(&requests);
    let root = named(&spans, "run *** chess ***");
    assert_eq!(root.string(DESTINATION_NAME), Some("postgresql://***@db"));
    assert_eq!(root.string(DATASET_NAME), Some("https://***@o1.ingest.example/42"));
    assert_eq!(root.status_message(), "step extract *** failed");
    let extract = named(&spans, "extract ***");
    assert_eq!(extract.string(STEP_NAME), Some("extract ***"));
    assert_eq!(extract.status_message(), "cannot load into postgresql://***@db: ***");
    assert!(extract.span.events.iter().any(|event| event.name == "slow: *** http://***@host/v1/track?api_key=***"));
    let command = named(&spans, "dlt pipeline ***");
    assert_eq!(command.string(COMMAND_NAME), Some("pipeline ***"));
    assert_eq!(command.string("dlt.command.argument.name"), Some("***"));
}

/// The resource passes the same gate: `OTEL_RESOURCE_ATTRIBUTES` and `OTEL_SERVICE_NAME` come
/// from the user's environment, where a connection string or a secret of another service may
/// be pasted; neither leaves with its credentials.
#[test]
fn the_resource_loses_the_extra_secrets_and_url_credentials_too() {
    const WRITE_KEY: &str = "segment-write-key-4567";
    let receiver = OtlpReceiver::start().unwrap();
    let attributes = format!("db.url=postgresql://loader:it's9@db/x,team={WRITE_KEY}");
    let service = format!("svc-{WRITE_KEY}");
    let mut options = options(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url()),
        ("OTEL_RESOURCE_ATTRIBUTES", &attributes),
        ("OTEL_SERVICE_NAME", &service),
    ]);
    options.extra_secrets = Redactor::new([WRITE_KEY]);
    let guard = init(options);
    run_pipeline(&guard, None);
    let requests = shut_down(&guard, &receiver);
    assert!(!requests.is_empty());
    for request in &requests {
        let body = String::from_utf8_lossy(&request.body);
        for secret in [WRITE_KEY, "it's9", "loader"] {
            assert!(!body.contains(secret), "{secret} sent in {body:?}");
        }
        assert!(body.contains("postgresql://***@db/x") && body.contains("svc-***"), "{body:?}");
    }
}

#[test]
fn gzip_is_used_when_asked() {
    let receiver = OtlpReceiver::start().unwrap();
    let guard =
        init(options(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url()), ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")]));
    run_pipeline(&guard, None);
    let requests = shut_down(&guard, &receiver);
    assert_eq!(requests[0].header("content-encoding"), Some("gzip"));
    assert_eq!(requests[0].body[..2], [0x1f, 0x8b]);
    assert_eq!(spans(&requests).len(), 4);
}

#[test]
fn a_512_mib_answer_is_not_read() {
    for server in [HugeBodyServer::start(HUGE).unwrap(), HugeBodyServer::start_chunked(HUGE).unwrap()] {
        let guard = init(options(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &server.url())]));
        run_pipeline(&guard, None);
        let started = Instant::now();
        assert!(guard.shutdown_by(started + Duration::from_secs(5)));
        assert!(started.elapsed() < Duration::from_secs(2), "took {:?}", started.elapsed());
        let stats = guard.stats().unwrap();
        assert_eq!((stats.requests, stats.batches_sent), (1, 1), "{stats:?}");
        let sent = server.bytes_sent();
        assert!(sent < SENT_AT_MOST, "the server wrote {sent} bytes of its answer");
    }
}

#[test]
fn export_goes_through_the_forward_proxy_of_the_same_lookup() {
    let receiver = OtlpReceiver::start().unwrap();
    let proxy = ForwardProxy::start().unwrap();
    let proxy_url = proxy.url_with_credentials("loader", "pr0xy-pa55");
    let guard = init(options(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url()), ("http_proxy", &proxy_url)]));
    let shown = format!("{guard:?} {}", guard.status());
    assert!(!shown.contains("pr0xy-pa55"), "{shown}");
    run_pipeline(&guard, None);
    let requests = shut_down(&guard, &receiver);

    let passed = proxy.requests();
    assert_eq!(passed.len(), 1);
    assert!(passed[0].passed);
    assert_eq!((passed[0].method.as_str(), passed[0].target.clone()), ("POST", receiver.traces_url()));
    // base64("loader:pr0xy-pa55")
    assert_eq!(passed[0].proxy_authorization.as_deref(), Some("Basic bG9hZGVyOnByMHh5LXBhNTU="));
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("proxy-authorization"), None);
    assert_eq!(spans(&requests).len(), 4);
}

#[test]
fn no_proxy_bypasses_the_proxy() {
    let receiver = OtlpReceiver::start().unwrap();
    let proxy = ForwardProxy::start().unwrap();
    let guard = init(options(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url()),
        ("HTTP_PROXY", &proxy.url()),
        ("NO_PROXY", "127.0.0.1"),
    ]));
    run_pipeline(&guard, None);
    let requests = shut_down(&guard, &receiver);
    assert!(proxy.requests().is_empty());
    assert_eq!(spans(&requests).len(), 4);
}

#[test]
fn a_refusing_proxy_is_not_retried_at_exit() {
    let receiver = OtlpReceiver::start().unwrap();
    let guard =
        init(options(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url()), ("HTTP_PROXY", &refusing_url().unwrap())]));
    run_pipeline(&guard, None);
    let started = Instant::now();
    assert!(!guard.shutdown_by(started + Duration::from_secs(5)));
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    let stats = guard.stats().unwrap();
    assert_eq!((stats.requests, stats.batches_failed), (1, 1), "{stats:?}");
    assert!(receiver.requests().is_empty());
}

#[test]
fn an_unusable_proxy_variable_keeps_export_off_and_says_which() {
    let receiver = OtlpReceiver::start().unwrap();
    let guard = init(options(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url()),
        ("HTTPS_PROXY", "socks5://loader:pr0xy-pa55@127.0.0.1:1080"),
    ]));
    assert!(!guard.is_enabled());
    let shown = guard.status().to_string();
    assert!(matches!(guard.status(), OtelStatus::StartFailed(_)), "{shown}");
    assert!(shown.contains("HTTPS_PROXY"), "{shown}");
    assert!(!shown.contains("pr0xy-pa55"), "{shown}");
    run_pipeline(&guard, None);
    assert!(guard.shutdown_by(Instant::now()));
    assert!(receiver.requests().is_empty());
}

#[test]
fn warnings_inside_a_run_become_events_of_its_current_span() {
    let receiver = OtlpReceiver::start().unwrap();
    let guard = init(options(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url())]));
    let subscriber = tracing_subscriber::registry().with(guard.tracing_layer());
    tracing::subscriber::with_default(subscriber, || {
        tracing::warn!("before any run");
        let run = PipelineRunSpan::start(&guard, "run", &chess());
        let extract = run.start_step("extract");
        tracing::info!("too chatty");
        tracing::warn!(table = "users", rows = 3, "schema changed");
        extract.finish();
        tracing::error!("between steps");
        run.finish();
        tracing::error!("after the run");
    });
    let spans = spans(&shut_down(&guard, &receiver));

    let events = |name: &str| -> Vec<String> {
        named(&spans, name).span.events.iter().map(|event| event.name.clone()).collect()
    };
    assert_eq!(events("extract"), ["schema changed"]);
    assert_eq!(events("run chess"), ["between steps"]);
    let extract = named(&spans, "extract");
    let event = &extract.span.events[0];
    assert_eq!(attribute(&event.attributes, LOG_LEVEL), Some(&Value::StringValue("WARN".into())));
    assert_eq!(attribute(&event.attributes, "dlt.log.field.table"), Some(&Value::StringValue("users".into())));
    assert_eq!(attribute(&event.attributes, "dlt.log.field.rows"), Some(&Value::IntValue(3)));
}

#[test]
fn a_command_is_one_span() {
    let receiver = OtlpReceiver::start().unwrap();
    let guard = init(options(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url()), ("OTEL_SERVICE_NAME", "etl-box")]));
    let command = CommandSpan::start(&guard, "pipeline");
    command.set_argument("operation", "trace");
    command.finish();
    let spans = spans(&shut_down(&guard, &receiver));

    assert_eq!(spans.len(), 1);
    let span = &spans[0];
    assert_eq!(span.name(), "dlt pipeline");
    assert_eq!(span.string(COMMAND_NAME), Some("pipeline"));
    assert_eq!(span.string("dlt.command.argument.operation"), Some("trace"));
    assert_eq!(span.status_code(), STATUS_UNSET);
    assert!(span.span.parent_span_id.is_empty());
    assert_eq!(span.resource_string("service.name"), Some("etl-box"));
}

#[tokio::test]
async fn works_inside_a_tokio_runtime() {
    let receiver = OtlpReceiver::start().unwrap();
    let guard = init(options(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url())]));
    run_pipeline(&guard, None);
    let spans = spans(&shut_down(&guard, &receiver));
    assert_eq!(spans.len(), 4);
}
