//! The hand-off transport (what the command line uses) when its hand-off fails: a full hold,
//! an outbox that cannot be written, a folder another process holds. Each loses only what it
//! must, counts it, asks for no sender, and costs the exit no more than it says: nothing, or the
//! outbox's 200 ms lock wait.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::{Duration, Instant};

use dlt_segment::{HandoffTransport, OutboxOptions, Recipient, Transport, inspect_outboxes};
use support::{handed_off, message, message_indexes, options, read_outbox};

/// Never contacted: the hand-off transport opens no socket.
const ENDPOINT: &str = "http://127.0.0.1:9/v1/batch";

/// How long an append waits for a folder another process holds (the outbox's lock wait).
const LOCK_WAIT: Duration = Duration::from_millis(200);

#[test]
fn a_full_hold_drops_and_counts_what_does_not_fit_and_hands_off_the_rest_at_once() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let mut options = options(ENDPOINT).with_outbox(OutboxOptions::new(dir.path()));
    options.queue_capacity = 2;
    let handoff = HandoffTransport::new(options).unwrap();
    for index in 0..5 {
        handoff.track(message(index));
    }
    let exiting = Instant::now();
    let report = handoff.shutdown(Instant::now());
    let took = exiting.elapsed();
    assert!(took < Duration::from_millis(500), "the hand-off took {took:?}");
    assert_eq!((report.saved_to_outbox, report.lost, report.stats.dropped_queue_full), (2, 0, 3), "{report:?}");
    assert!(report.sender_needed);
    assert_eq!(message_indexes(&read_outbox(dir.path()).unwrap()), [0, 1], "the first two are kept");
}

#[cfg(unix)]
#[test]
fn an_outbox_that_cannot_be_written_loses_the_messages_counted_and_costs_no_exit_time() {
    use std::os::unix::fs::PermissionsExt as _;

    let dir = dlt_test_support::private_tempdir().unwrap();
    let outbox = OutboxOptions::new(dir.path());
    handed_off(options(ENDPOINT).with_outbox(outbox.clone()), [message(0)]);
    // A recipient folder others may write to: the file gate refuses it, even to root.
    let folder =
        dir.path().join("outbox").join(Recipient::new(&dlt_redact::HttpUrl::parse(ENDPOINT).unwrap(), None).id());
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o777)).unwrap();

    let handoff = HandoffTransport::new(options(ENDPOINT).with_outbox(outbox)).unwrap();
    handoff.track(message(1));
    handoff.track(message(2));
    let exiting = Instant::now();
    let report = handoff.shutdown(Instant::now());
    let took = exiting.elapsed();
    assert!(took < Duration::from_millis(500), "the hand-off took {took:?}");
    assert_eq!((report.saved_to_outbox, report.lost), (0, 2), "{report:?}");
    assert_eq!(report.stats.outbox_errors, 1, "{report:?}");
    assert!(!report.sender_needed, "no sender for messages that were not kept");
    assert_eq!(message_indexes(&read_outbox(dir.path()).unwrap()), [0], "the folder was not written");
}

#[test]
fn a_folder_another_process_holds_costs_the_lock_wait_and_the_messages_are_lost_counted() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let outbox = OutboxOptions::new(dir.path());
    handed_off(options(ENDPOINT).with_outbox(outbox.clone()), [message(0)]);
    let recipient = Recipient::new(&dlt_redact::HttpUrl::parse(ENDPOINT).unwrap(), None);
    let folder = dlt_fs::PrivateDir::open(&dir.path().join("outbox").join(recipient.id())).unwrap().unwrap();
    let _held = folder.lock(".lock", Instant::now()).unwrap();

    let handoff = HandoffTransport::new(options(ENDPOINT).with_outbox(outbox)).unwrap();
    handoff.track(message(1));
    let exiting = Instant::now();
    let report = handoff.shutdown(Instant::now());
    let took = exiting.elapsed();
    assert!(took >= LOCK_WAIT, "it waited for the folder: {took:?}");
    assert!(took < Duration::from_secs(1), "for the lock wait only: {took:?}");
    assert_eq!((report.saved_to_outbox, report.lost), (0, 1), "{report:?}");
    assert!(!report.sender_needed);
    assert_eq!(message_indexes(&read_outbox(dir.path()).unwrap()), [0]);
    let state = &inspect_outboxes(dir.path()).unwrap()[0];
    let last_error = state.last_error.as_deref().unwrap_or_default();
    assert!(last_error.ends_with("could not append to the outbox: timed out"), "{last_error}");
}
