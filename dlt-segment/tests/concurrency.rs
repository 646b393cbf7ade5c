//! Many threads tracking at once: nothing lost below the queue bound, and above it every
//! message is either taken or counted as dropped.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::thread;
use std::time::{Duration, Instant};

use dlt_segment::{OutboxOptions, SegmentClient, Transport};
use dlt_test_support::Recorder;
use support::read_outbox;
use support::{hanging_server, message, messages, options};

#[test]
fn eight_threads_lose_nothing_below_the_queue_bound() {
    const THREADS: usize = 8;
    const PER_THREAD: usize = 1_000;
    let server = Recorder::start().unwrap();
    let mut options = options(server.url() + "/v1/batch");
    options.queue_capacity = THREADS * PER_THREAD;
    let client = SegmentClient::start(options).unwrap();
    thread::scope(|scope| {
        for thread in 0..THREADS {
            let client = &client;
            scope.spawn(move || {
                for index in 0..PER_THREAD {
                    client.track(message(thread * PER_THREAD + index));
                }
            });
        }
    });
    assert!(client.flush(Duration::from_secs(30)));

    let stats = client.stats();
    assert_eq!((stats.queued, stats.sent, stats.dropped_queue_full), (8_000, 8_000, 0));
    let received = support::indexes(&messages(&server));
    assert_eq!(received.len(), 8_000);
    assert!(received.into_iter().eq(0..8_000), "each message exactly once");
}

#[test]
fn a_full_queue_drops_and_counts_and_keeps_what_it_took() {
    const OFFERED: usize = 10_000;
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (url, _connections) = hanging_server();
    let mut options = options(url).with_outbox(OutboxOptions::new(dir.path()));
    options.queue_capacity = 4;
    options.limits.max_batch_messages = 10;
    let client = SegmentClient::start(options).unwrap();
    let started = Instant::now();
    for index in 0..OFFERED {
        client.track(message(index));
    }
    let offering = started.elapsed();

    let stats = client.stats();
    assert_eq!(stats.queued + stats.dropped_queue_full, OFFERED as u64);
    assert!(stats.queued <= 4 + 10, "the queue plus one batch, took {}", stats.queued);
    assert!(offering < Duration::from_secs(5), "track never waits for the worker ({offering:?})");
    let report = client.shutdown(Instant::now() + Duration::from_secs(1));
    assert_eq!(report.saved_to_outbox, stats.queued, "everything taken is kept");
    assert_eq!(read_outbox(dir.path()).unwrap().len() as u64, stats.queued);
}

#[test]
fn degenerate_limits_do_not_panic() {
    let server = Recorder::start().unwrap();
    let mut options = options(server.url() + "/v1/batch");
    options.queue_capacity = usize::MAX;
    options.limits.max_batch_messages = 0;
    let client = SegmentClient::start(options).unwrap();
    client.track(message(1));
    client.track(message(2));
    assert!(client.flush(Duration::from_secs(10)));
    assert_eq!(support::indexes(&messages(&server)), [1, 2]);
}

/// One message per request, four at most in flight: a request that hangs holds only its own
/// slot; the next request starts as soon as any other one ends.
#[test]
fn a_hanging_request_never_holds_the_others() {
    let recorder = dlt_test_support::Recorder::start().unwrap();
    recorder.push_answers([dlt_test_support::Answer::ok().with_delay(Duration::from_secs(60))]);
    let mut options = options(format!("{}/track", recorder.url()));
    options.http = options.http.with_request_timeout(Duration::from_secs(60));
    let client = SegmentClient::start(options).unwrap();
    for index in 0..12 {
        client.track(message(index));
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.stats().sent < 11 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(client.stats().sent, 11, "every request but the hanging one is answered well before it times out");
    assert_eq!(recorder.requests().len(), 12);
    let report = client.shutdown(Instant::now());
    assert_eq!(report.stats.sent, 11);
}
