//! The sender's loop, as a detached sender runs it: what it leaves in the failure log when it
//! cannot start, and that the outbox then still holds what waits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use dlt_http::NetworkEnv;
use dlt_segment::{OutboxOptions, SegmentError, StopSignal, inspect_outboxes, run_sender};
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
