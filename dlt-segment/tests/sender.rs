//! The sender's loop, as a detached sender runs it: what it leaves in the failure log when it
//! cannot start, that the outbox then still holds what waits, and its time bound; and that a
//! host taking over the outbox at its start is never taken for a sender.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fs::File;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use dlt_http::NetworkEnv;
use dlt_segment::{
    ManualClock, OutboxOptions, SegmentClient, SegmentError, SenderOutcome, StopSignal, Transport, inspect_outboxes,
    run_sender,
};
use dlt_test_support::Recorder;
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

/// The only recipient folder under `telemetry_dir`'s outboxes.
fn recipient_folder(telemetry_dir: &std::path::Path) -> PathBuf {
    let mut folders: Vec<PathBuf> =
        std::fs::read_dir(telemetry_dir.join("outbox")).unwrap().map(|entry| entry.unwrap().path()).collect();
    assert_eq!(folders.len(), 1, "{folders:?}");
    folders.remove(0)
}

/// A host that starts while messages wait takes them over without taking the sender's lock:
/// held while its claim waits for the folder (here for as long as the folder's lock is held
/// elsewhere), it showed the host as a sender running, to its own `status` too, and turned
/// away a sender starting meanwhile.
#[test]
fn a_host_taking_over_the_outbox_is_never_shown_as_a_sender() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let server = Recorder::start().unwrap();
    let endpoint = server.url() + "/v1/batch";
    let outbox = OutboxOptions::new(dir.path());
    handed_off(options(&endpoint).with_outbox(outbox.clone()), [message(1)]);
    let folder_lock = File::open(recipient_folder(dir.path()).join(".lock")).unwrap();
    folder_lock.lock().unwrap();

    let host = SegmentClient::start(options(&endpoint).with_outbox(outbox)).unwrap();
    // The host's claim waits for the folder's lock, then gives up and says so in the log.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let state = &inspect_outboxes(dir.path()).unwrap()[0];
        assert!(!state.sender_running, "a host's claim is no sender: {state:?}");
        if state.last_error.as_deref().is_some_and(|line| line.contains("could not claim")) {
            break;
        }
        assert!(Instant::now() < deadline, "the host's claim never gave up: {state:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
    folder_lock.unlock().unwrap();
    assert!(host.flush(Duration::from_secs(5)));
    host.shutdown(Instant::now() + Duration::from_secs(5));
    assert_eq!(server.request_count(), 0, "what waits stays for a sender");
    assert_eq!(inspect_outboxes(dir.path()).unwrap()[0].waiting, 1);
}
