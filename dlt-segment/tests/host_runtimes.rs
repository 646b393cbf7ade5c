//! No tokio runtime is needed from the host, and being used (and dropped) inside one neither
//! panics nor deadlocks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use dlt_segment::{OutboxOptions, SegmentClient, Transport};
use dlt_test_support::Recorder;
use support::read_outbox;
use support::{hanging_server, indexes, message, message_indexes, messages, options};

#[test]
fn no_runtime_is_needed() {
    let server = Recorder::start().unwrap();
    assert!(tokio::runtime::Handle::try_current().is_err());
    let client = SegmentClient::start(options(server.url() + "/v1/batch")).unwrap();
    client.track(message(1));
    assert!(client.flush(Duration::from_secs(10)));
    drop(client);
    assert_eq!(indexes(&messages(&server)), [1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_a_multi_thread_runtime() {
    let server = Recorder::start().unwrap();
    let client = SegmentClient::start(options(server.url() + "/v1/batch")).unwrap();
    client.track(message(1));
    assert!(client.flush(Duration::from_secs(10)));
    drop(client);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn inside_a_current_thread_runtime() {
    let server = Recorder::start().unwrap();
    let client = SegmentClient::start(options(server.url() + "/v1/batch")).unwrap();
    client.track(message(1));
    assert!(client.flush(Duration::from_secs(10)));
    let report = client.shutdown(Instant::now() + Duration::from_secs(1));
    assert!(report.drained);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn started_used_and_dropped_on_a_runtime_worker_thread() {
    let server = Recorder::start().unwrap();
    let url = server.url() + "/v1/batch";
    let stats = tokio::spawn(async move {
        let client = SegmentClient::start(options(url)).unwrap();
        client.track(message(1));
        client.track(message(2));
        assert!(client.flush(Duration::from_secs(10)));
        let stats = client.stats();
        drop(client);
        stats
    })
    .await
    .unwrap();
    assert_eq!(stats.sent, 2);
    // One batch or two, depending on when the worker woke up: both messages arrived once.
    let delivered: usize = server
        .requests()
        .iter()
        .map(|request| {
            serde_json::from_slice::<serde_json::Value>(&request.body).unwrap()["batch"].as_array().unwrap().len()
        })
        .sum();
    assert_eq!(delivered, 2);
}

#[tokio::test]
async fn dropped_inside_a_current_thread_runtime_against_a_hanging_server_within_its_deadline() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (url, connections) = hanging_server();
    let mut options = options(url).with_outbox(OutboxOptions::new(dir.path()));
    options.shutdown_timeout = Duration::from_millis(500);
    let client = SegmentClient::start(options).unwrap();
    client.track(message(1));
    assert!(connections.wait_for_connections(1, Duration::from_secs(10)), "a request in flight");
    let started = Instant::now();
    drop(client);
    assert!(started.elapsed() < Duration::from_millis(500) + Duration::from_secs(1));
    assert_eq!(message_indexes(&read_outbox(dir.path()).unwrap()), [1]);
}
