//! The fault matrix behind `cargo xtask faults`: a Segment client tracks ten messages and shuts
//! down (1 s deadline) against each fault a network can throw, every request passing a
//! userspace fault proxy that adds 100 ms; one markdown row per fault: how long exit took and
//! where each message went. Loopback only; the unresolvable name goes through an injected
//! resolver, so no DNS query is sent.
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::expect_used, reason = "a developer command's driver")]

use std::time::{Duration, Instant};

use dlt_http::test_util::FailingResolver;
use dlt_redact::HttpUrl;
use dlt_segment::{OutboxOptions, SegmentClient, SegmentOptions, ShutdownReport, Transport};
use dlt_telemetry_model::AnonymousMessage;
use dlt_telemetry_model::events::{CommandEvent, TelemetryStatus};
use dlt_test_support::{Answer, Fault, FaultProxy, Recorder, refusing_url};

const MESSAGES: usize = 10;
const DEADLINE: Duration = Duration::from_secs(1);
const ADDED_DELAY: Duration = Duration::from_millis(100);

/// One fault: how the endpoint behaves behind the proxy, and how the proxy treats connections.
struct Row {
    name: &'static str,
    answer: Option<Answer>,
    fault: Fault,
    endpoint: Endpoint,
}

enum Endpoint {
    /// Through the fault proxy to the recorder.
    Proxied,
    /// A port nothing listens on.
    Refusing,
    /// A name no resolver knows.
    Unresolvable,
}

fn rows() -> Vec<Row> {
    let proxied = |name, answer: Answer, fault| Row { name, answer: Some(answer), fault, endpoint: Endpoint::Proxied };
    vec![
        proxied("answers (100 ms added)", Answer::ok(), Fault::Delay(ADDED_DELAY)),
        proxied("500 (100 ms added)", Answer::status(500), Fault::Delay(ADDED_DELAY)),
        proxied(
            "429, Retry-After: 1 (100 ms added)",
            Answer::status(429).with_header("Retry-After", "1"),
            Fault::Delay(ADDED_DELAY),
        ),
        proxied("400 (100 ms added)", Answer::status(400), Fault::Delay(ADDED_DELAY)),
        proxied("accepts, never reads", Answer::ok(), Fault::AcceptNeverRead),
        proxied("slow drip (a byte a second)", Answer::ok(), Fault::SlowDrip(Duration::from_secs(1))),
        proxied("reset", Answer::ok(), Fault::Reset),
        Row { name: "refuses connections", answer: None, fault: Fault::None, endpoint: Endpoint::Refusing },
        Row { name: "name does not resolve", answer: None, fault: Fault::None, endpoint: Endpoint::Unresolvable },
    ]
}

fn message() -> AnonymousMessage {
    dlt_test_support::message_of(CommandEvent { arguments: TelemetryStatus {}, elapsed: 0.01, success: true })
}

/// Runs one row: the report, how long the shutdown took, and what the endpoint got.
fn run(row: &Row) -> (ShutdownReport, Duration, usize) {
    let recorder = Recorder::with_answer(row.answer.clone().unwrap_or_default()).unwrap();
    let proxy = FaultProxy::start(recorder.addr(), row.fault).unwrap();
    let endpoint = match row.endpoint {
        Endpoint::Proxied => format!("{}/track", proxy.url()),
        Endpoint::Refusing => format!("{}/track", refusing_url().unwrap()),
        Endpoint::Unresolvable => "http://telemetry.invalid/track".to_owned(),
    };
    let dir = tempfile::tempdir().unwrap();
    let mut options = SegmentOptions::new(HttpUrl::parse(&endpoint).unwrap(), "dlt/0.1.0")
        .with_outbox(OutboxOptions::new(dir.path().join("telemetry")));
    if matches!(row.endpoint, Endpoint::Unresolvable) {
        options.http = options.http.with_resolver(FailingResolver::shared());
    }
    let client = SegmentClient::start(options).unwrap();
    for _ in 0..MESSAGES {
        client.track(message());
    }
    let started = Instant::now();
    let report = client.shutdown(started + DEADLINE);
    (report, started.elapsed(), recorder.requests().len())
}

fn main() {
    println!("| fault | exit | delivered | kept in the outbox | refused for good | lost | requests seen |");
    println!("|---|---|---|---|---|---|---|");
    for row in rows() {
        let (report, took, requests) = run(&row);
        let stats = report.stats;
        println!(
            "| {} | {:.0} ms | {} | {} | {} | {} | {requests} |",
            row.name,
            took.as_secs_f64() * 1000.0,
            stats.sent,
            report.saved_to_outbox,
            stats.dropped_rejected,
            report.lost,
        );
    }
    println!(
        "\n{MESSAGES} messages each, one per request (4 at once), shutdown deadline {} s; every message is delivered, kept, or refused for good by the endpoint.",
        DEADLINE.as_secs()
    );
}
