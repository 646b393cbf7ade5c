//! Every fault a network or a disk can throw at exit, one test each: the shutdown returns
//! within its deadline (a generous ceiling: the deadline plus a second; the tight figures are
//! `cargo xtask faults`), and every message is delivered, kept in the outbox within its bounds,
//! or refused for good by the endpoint, never silently lost.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use dlt_http::test_util::FailingResolver;
use dlt_segment::{OutboxOptions, SegmentClient, SegmentOptions, ShutdownReport, Transport};
use dlt_test_support::{Answer, Fault, FaultProxy, HangingServer, Recorder, refusing_url};
use support::{message, options, read_outbox};

const DEADLINE: Duration = Duration::from_secs(1);
const CEILING: Duration = Duration::from_secs(2);
const MESSAGES: usize = 3;

/// Tracks three messages to `endpoint`, shuts down with a 1 s deadline, and checks the bound.
fn shut_down_against(options: SegmentOptions, dir: &std::path::Path) -> ShutdownReport {
    let client = SegmentClient::start(options.with_outbox(OutboxOptions::new(dir))).unwrap();
    for index in 0..MESSAGES {
        client.track(message(index));
    }
    let started = Instant::now();
    let report = client.shutdown(started + DEADLINE);
    let took = started.elapsed();
    assert!(took <= CEILING, "shutdown took {took:?}");
    assert!(report.confirmed);
    report
}

/// The ids of the messages the recorder received.
fn received_ids(recorder: &Recorder) -> HashSet<String> {
    recorder.requests().iter().flat_map(|r| r.track_messages().unwrap()).filter_map(|m| m.message_id).collect()
}

fn kept_ids(dir: &std::path::Path) -> HashSet<String> {
    read_outbox(dir).unwrap().into_iter().filter_map(|m| m.message_id).collect()
}

#[test]
fn refused() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let started = Instant::now();
    let report = shut_down_against(options(refusing_url().unwrap() + "/v1/batch"), dir.path());
    assert!(started.elapsed() < DEADLINE, "a refused connection is not waited for");
    assert_eq!(report.saved_to_outbox, MESSAGES as u64);
    assert_eq!(kept_ids(dir.path()).len(), MESSAGES);
}

#[test]
fn accepts_and_never_answers() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let server = HangingServer::start().unwrap();
    let report = shut_down_against(options(server.url() + "/v1/batch"), dir.path());
    assert_eq!(report.saved_to_outbox, MESSAGES as u64);
    assert_eq!(kept_ids(dir.path()).len(), MESSAGES);
}

#[test]
fn slow_drip() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let recorder = Recorder::start().unwrap();
    let proxy = FaultProxy::start(recorder.addr(), Fault::SlowDrip(Duration::from_secs(1))).unwrap();
    let report = shut_down_against(options(proxy.url() + "/v1/batch"), dir.path());
    // The endpoint got the request, but its answer never came in time: kept, to be sent again
    // with the same messageId (which Segment deduplicates).
    assert_eq!(report.saved_to_outbox, MESSAGES as u64);
    assert_eq!(kept_ids(dir.path()).len(), MESSAGES);
    assert!(received_ids(&recorder).is_subset(&kept_ids(dir.path())));
}

#[test]
fn server_error() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let recorder = Recorder::with_answer(Answer::status(500)).unwrap();
    let report = shut_down_against(options(recorder.url() + "/v1/batch"), dir.path());
    assert!(recorder.requests().len() > 1, "retried");
    assert_eq!(report.saved_to_outbox, MESSAGES as u64);
    assert_eq!(kept_ids(dir.path()), received_ids(&recorder));
}

#[test]
fn too_many_requests_with_retry_after() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let recorder = Recorder::start().unwrap();
    recorder.push_answers([Answer::status(429).with_header("Retry-After", "1")]);
    let client =
        SegmentClient::start(options(recorder.url() + "/v1/batch").with_outbox(OutboxOptions::new(dir.path())))
            .unwrap();
    client.track(message(1));
    let started = Instant::now();
    let report = client.shutdown(started + Duration::from_secs(3));
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(900) && took <= Duration::from_secs(4), "{took:?}");
    assert!(report.drained, "delivered once the server allowed it: {report:?}");
    assert_eq!(recorder.requests().len(), 2);
}

#[test]
fn bad_request_is_refused_for_good() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let recorder = Recorder::with_answer(Answer::status(400)).unwrap();
    let report = shut_down_against(options(recorder.url() + "/v1/batch"), dir.path());
    assert_eq!(recorder.requests().len(), 1, "not retried");
    assert_eq!(report.stats.dropped_rejected, MESSAGES as u64, "counted, not silently lost");
    assert!(kept_ids(dir.path()).is_empty(), "sending it again would be refused again");
}

#[test]
fn a_name_that_does_not_resolve() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let mut options = options("http://telemetry.invalid/v1/batch");
    // An injected resolver: the test never sends a DNS query.
    options.http = options.http.with_resolver(FailingResolver::shared());
    let started = Instant::now();
    let report = shut_down_against(options, dir.path());
    assert!(started.elapsed() < DEADLINE, "an unresolvable name is not waited for");
    assert_eq!(report.saved_to_outbox, MESSAGES as u64);
}

#[test]
fn an_outbox_that_cannot_be_written() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    // A file where the outboxes' folder should be: even root cannot write below it.
    let telemetry = dir.path().join("telemetry");
    dlt_fs::PrivateDir::create(&telemetry).unwrap();
    std::fs::write(telemetry.join("outbox"), "a file").unwrap();
    let report = shut_down_against(options(refusing_url().unwrap() + "/v1/batch"), &telemetry);
    assert_eq!((report.saved_to_outbox, report.lost), (0, MESSAGES as u64), "counted as lost, never a panic");
    assert!(report.stats.outbox_errors > 0);
}

#[test]
fn an_outbox_at_its_byte_limit() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let endpoint = refusing_url().unwrap() + "/v1/batch";
    let one = serde_json::to_vec(&message(0)).unwrap().len() as u64 + 200;
    let mut bounded = OutboxOptions::new(dir.path());
    bounded.max_bytes = 2 * one;
    let client = SegmentClient::start(options(&endpoint).with_outbox(bounded)).unwrap();
    for index in 0..MESSAGES {
        client.track(message(index));
    }
    let report = client.shutdown(Instant::now() + DEADLINE);
    assert_eq!(report.stats.dropped_outbox_full, 1, "the oldest goes: {report:?}");
    let kept = read_outbox(dir.path()).unwrap();
    assert_eq!(support::message_indexes(&kept), [1, 2]);
}
