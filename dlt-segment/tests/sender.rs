//! The sender's loop, as a detached sender runs it: what it leaves in the failure log when it
//! cannot start, that the outbox then still holds what waits, and its time bound.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use dlt_http::NetworkEnv;
use dlt_segment::{ManualClock, OutboxOptions, SegmentError, SenderOutcome, StopSignal, inspect_outboxes, run_sender};
use support::{handed_off, message, options};

#[test]
fn a_sender_that_cannot_start_its_transport_says_why_without_the_value() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let outbox = OutboxOptions::new(dir.path());
    let endpoint = "https://127.0.0.1:9/v1/batch";
    handed_off(options(endpoint).with_outbox(outbox.clone()), [message(1)]);

    let mut sender = options(endpoint).with_outbox(outbox);
    // A proxy URL whose password holds a `/`: not a usable URL, and a secret.
    let proxy = |name: &str| (name == "HTTPS_PROXY").then(|| "http://corp:s3cr/et@proxy.example:3128".to_owned());
    sender.http = sender.http.with_network(NetworkEnv::from_lookup(proxy));
    let error = run_sender(sender, Duration::from_secs(5), &StopSignal::new()).unwrap_err();
    assert!(matches!(error, SegmentError::HttpClient(_)), "{error:?}");

    let state = &inspect_outboxes(dir.path()).unwrap()[0];
    let last = state.last_error.as_deref().unwrap();
    assert!(last.ends_with("the sender cannot start: HTTPS_PROXY is not a usable proxy URL"), "{last}");
    assert!(!last.contains("s3cr") && !last.contains("proxy.example"), "no value: {last}");
    assert_eq!(state.waiting, 1, "what waits still waits");
    assert!(!state.sender_running, "the sender's lock was let go");
}

/// The sender's 30 s bound, with the clock moved instead of waiting: against an endpoint that
/// never answers it ends with `BoundSpent`, and what it could not deliver is back in the outbox.
#[test]
fn the_bound_ends_a_sender_whose_endpoint_never_answers() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (url, _hanging) = support::hanging_server();
    let outbox = OutboxOptions::new(dir.path());
    handed_off(options(&url).with_outbox(outbox.clone()), [message(1), message(2)]);

    let clock = ManualClock::new(time::OffsetDateTime::now_utc());
    let mut sender = options(&url).with_outbox(outbox);
    sender.clock = clock.clone();
    let running = std::thread::spawn(move || run_sender(sender, Duration::from_secs(30), &StopSignal::new()));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !inspect_outboxes(dir.path()).unwrap()[0].sender_running && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    clock.advance(time::Duration::seconds(31));
    let outcome = running.join().unwrap().unwrap();
    assert_eq!(outcome, SenderOutcome::BoundSpent);
    let state = &inspect_outboxes(dir.path()).unwrap()[0];
    assert_eq!((state.waiting, state.sender_running), (2, false), "both wait for the next sender");
}
