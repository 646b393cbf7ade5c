//! What is retried, how long it waits, and what is not retried.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use dlt_segment::{OutboxOptions, SegmentClient, Transport};
use dlt_test_support::{Answer, Recorder};
use serde_json::Value;
use support::read_outbox;
use support::{message, messages, options};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

fn sent_at(message: &Value) -> OffsetDateTime {
    OffsetDateTime::parse(message["sentAt"].as_str().unwrap(), &Rfc3339).unwrap()
}

/// Answers the first request with `first`, every later one with 200.
fn server_failing_once(first: Answer) -> Recorder {
    let server = Recorder::start().unwrap();
    server.push_answers([first]);
    server
}

#[test]
fn a_server_error_is_retried_with_the_same_message_id_and_a_fresh_sent_at() {
    for (endpoint, status) in [("/v1/batch", 500), ("/", 503), ("/v1/batch", 408), ("/", 502)] {
        let server = server_failing_once(Answer::status(status));
        let client = SegmentClient::start(options(server.url() + endpoint)).unwrap();
        client.track(message(1));
        assert!(client.flush(Duration::from_secs(10)), "{status}");

        let attempts = messages(&server);
        assert_eq!(attempts.len(), 2, "{status}: one failure, one success");
        assert_eq!(attempts[0]["messageId"], attempts[1]["messageId"]);
        assert_eq!(attempts[0]["timestamp"], attempts[1]["timestamp"]);
        assert!(sent_at(&attempts[1]) > sent_at(&attempts[0]), "{status}: sentAt refreshed");
        let stats = client.stats();
        assert_eq!((stats.sent, stats.retried, stats.dropped_rejected), (1, 1, 0), "{status}");
    }
}

#[test]
fn a_batch_retry_refreshes_the_envelope_sent_at_too() {
    let server = server_failing_once(Answer::status(500));
    let client = SegmentClient::start(options(server.url() + "/v1/batch")).unwrap();
    client.track(message(1));
    assert!(client.flush(Duration::from_secs(10)));
    let bodies: Vec<Value> = server.requests().iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    assert_eq!(bodies.len(), 2);
    assert!(sent_at(&bodies[1]) > sent_at(&bodies[0]));
    assert_eq!(bodies[1]["sentAt"], bodies[1]["batch"][0]["sentAt"]);
}

#[test]
fn too_many_requests_waits_for_retry_after() {
    let server = server_failing_once(Answer::status(429).with_header("Retry-After", "1"));
    let client = SegmentClient::start(options(server.url() + "/v1/batch")).unwrap();
    client.track(message(1));
    assert!(client.flush(Duration::from_secs(10)));

    let attempts = messages(&server);
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0]["messageId"], attempts[1]["messageId"]);
    // Backoff alone would have waited at most 10 ms; the server asked for a second.
    let waited = sent_at(&attempts[1]) - sent_at(&attempts[0]);
    assert!(waited >= time::Duration::milliseconds(999), "retried after {waited}");
}

#[test]
fn a_long_retry_after_is_capped() {
    let server = server_failing_once(Answer::status(503).with_header("Retry-After", "3600"));
    let mut options = options(server.url() + "/v1/batch");
    options.retry.max_retry_after = Duration::from_millis(50);
    let client = SegmentClient::start(options).unwrap();
    let started = Instant::now();
    client.track(message(1));
    assert!(client.flush(Duration::from_secs(10)));
    assert!(started.elapsed() < Duration::from_secs(5), "waited {:?}", started.elapsed());
    assert_eq!(messages(&server).len(), 2);
}

#[test]
fn a_client_error_is_not_retried_nor_kept() {
    for status in [400, 401, 404, 413, 501, 505] {
        let dir = dlt_test_support::private_tempdir().unwrap();
        let server = Recorder::with_answer(Answer::status(status)).unwrap();
        let client =
            SegmentClient::start(options(server.url() + "/v1/batch").with_outbox(OutboxOptions::new(dir.path())))
                .unwrap();
        client.track(message(1));
        assert!(client.flush(Duration::from_secs(10)), "{status}");
        let report = client.shutdown(Instant::now() + Duration::from_secs(1));

        assert_eq!(server.requests().len(), 1, "{status}: exactly one attempt");
        let stats = report.stats;
        assert_eq!((stats.dropped_rejected, stats.retried, stats.sent), (1, 0, 0), "{status}");
        assert!(report.drained);
        assert!(read_outbox(dir.path()).unwrap().is_empty(), "{status}: a rejected message is not kept");
    }
}

#[test]
fn out_of_attempts_the_messages_go_to_the_outbox_while_running() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let server = Recorder::with_answer(Answer::status(500)).unwrap();
    let mut options = options(server.url() + "/v1/batch").with_outbox(OutboxOptions::new(dir.path()));
    options.retry.max_attempts = 3;
    let client = SegmentClient::start(options).unwrap();
    client.track(message(1));
    assert!(client.flush(Duration::from_secs(10)));

    assert_eq!(server.requests().len(), 3);
    let kept = read_outbox(dir.path()).unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].message_id.as_deref(), messages(&server)[0]["messageId"].as_str());
    let stats = client.stats();
    assert_eq!((stats.retried, stats.written_to_outbox, stats.sent), (2, 1, 0));
}
