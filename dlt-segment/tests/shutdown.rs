//! Shutdown stays within its deadline whatever the network does, and what is left is kept in
//! the outbox and sent by the next transport.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime};

use dlt_segment::{OutboxOptions, SegmentClient, Transport};
use dlt_test_support::{Answer, Recorder};
use support::{
    closed_port_url, handed_off, hanging_server, indexes, message, message_indexes, messages, one_at_a_time, options,
    read_outbox,
};

const DEADLINE: Duration = Duration::from_secs(1);
const GRACE: Duration = Duration::from_secs(1);

#[test]
fn a_server_that_never_answers_cannot_hold_up_shutdown() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (url, connections) = hanging_server();
    let client = SegmentClient::start(options(url).with_outbox(OutboxOptions::new(dir.path()))).unwrap();
    for index in 0..3 {
        client.track(message(index));
    }
    assert!(connections.wait_for_connections(1, Duration::from_secs(10)), "a request in flight");

    let started = Instant::now();
    let report = client.shutdown(started + DEADLINE);
    assert!(started.elapsed() <= DEADLINE + GRACE, "shutdown took {:?}", started.elapsed());
    assert!(report.confirmed && !report.drained);
    assert_eq!((report.saved_to_outbox, report.lost), (3, 0));
    assert_eq!(report.stats.written_to_outbox, 3);
    assert_eq!(message_indexes(&read_outbox(dir.path()).unwrap()), [0, 1, 2]);
}

#[test]
fn dropping_the_client_is_a_bounded_shutdown() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (url, connections) = hanging_server();
    let mut options = options(url).with_outbox(OutboxOptions::new(dir.path()));
    options.shutdown_timeout = Duration::from_millis(300);
    let client = SegmentClient::start(options).unwrap();
    client.track(message(7));
    assert!(connections.wait_for_connections(1, Duration::from_secs(10)), "a request in flight");

    let started = Instant::now();
    drop(client);
    assert!(started.elapsed() <= Duration::from_millis(300) + GRACE, "drop took {:?}", started.elapsed());
    assert_eq!(message_indexes(&read_outbox(dir.path()).unwrap()), [7]);
}

#[test]
fn a_closed_port_is_not_tried_again_at_exit_and_the_messages_are_kept() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let mut options = options(closed_port_url()).with_outbox(OutboxOptions::new(dir.path()));
    options.retry.max_attempts = 100;
    options.retry.backoff_base = Duration::from_millis(20);
    let client = SegmentClient::start(options).unwrap();
    client.track(message(1));
    client.track(message(2));

    let deadline = Duration::from_secs(5);
    let started = Instant::now();
    let report = client.shutdown(started + deadline);
    // Generous ceiling: what matters is that it does not wait for the deadline.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "shutdown waited {:?} for a refusing endpoint",
        started.elapsed()
    );
    assert_eq!(report.saved_to_outbox, 2);
    assert_eq!(message_indexes(&read_outbox(dir.path()).unwrap()), [1, 2]);
    assert!(report.sender_needed, "the messages wait and no sender delivers them");
}

#[test]
fn without_an_outbox_what_is_left_is_counted_as_lost() {
    let client = SegmentClient::start(options(closed_port_url())).unwrap();
    client.track(message(1));
    let report = client.shutdown(Instant::now() + DEADLINE);
    assert_eq!(report.stats.dropped_undelivered, 1);
    assert_eq!(report.stats.written_to_outbox, 0);
}

#[test]
fn the_next_transport_for_the_same_recipient_sends_the_outbox_first_then_removes_it() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let server = Recorder::with_answer(Answer::status(503)).unwrap();
    let outbox = || one_at_a_time(options(server.url() + "/v1/batch")).with_outbox(OutboxOptions::new(dir.path()));
    let first = SegmentClient::start(outbox()).unwrap();
    first.track(message(1));
    first.track(message(2));
    first.shutdown(Instant::now() + DEADLINE);
    let kept: HashSet<String> = read_outbox(dir.path()).unwrap().into_iter().filter_map(|m| m.message_id).collect();
    assert_eq!(kept.len(), 2);

    // The endpoint is back; what the first transport sent does not count.
    server.set_answer(Answer::ok());
    let since = SystemTime::now();
    let second = SegmentClient::start(outbox()).unwrap();
    second.track(message(3));
    let report = second.shutdown(Instant::now() + Duration::from_secs(5));

    assert!(report.drained);
    assert_eq!((report.stats.read_from_outbox, report.stats.sent, report.stats.queued), (2, 3, 1));
    let requests = server.requests_sent_since(since);
    let received: Vec<_> = requests.iter().flat_map(|request| request.message_values().unwrap()).collect();
    assert_eq!(indexes(&received), [1, 2, 3]);
    let first_request: HashSet<String> =
        requests[0].message_values().unwrap().iter().map(|m| m["messageId"].as_str().unwrap().to_owned()).collect();
    assert!(kept.is_subset(&first_request), "the outbox goes out before or with the new messages");
    assert!(read_outbox(dir.path()).unwrap().is_empty());
}

#[test]
fn another_recipient_never_gets_the_outbox() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let a = Recorder::start().unwrap();
    let b = Recorder::start().unwrap();
    handed_off(options(a.url() + "/v1/batch").with_outbox(OutboxOptions::new(dir.path())), [message(1)]);
    let keyed = options(a.url() + "/v1/batch").with_write_key(dlt_segment::WriteKey::new("wk"));
    handed_off(keyed.clone().with_outbox(OutboxOptions::new(dir.path())), [message(2)]);

    let to_b =
        SegmentClient::start(options(b.url() + "/v1/batch").with_outbox(OutboxOptions::new(dir.path()))).unwrap();
    to_b.track(message(3));
    assert!(to_b.shutdown(Instant::now() + Duration::from_secs(5)).drained);
    assert_eq!(indexes(&messages(&b)), [3], "B gets exactly its own message");

    let to_a_with_key = SegmentClient::start(keyed.with_outbox(OutboxOptions::new(dir.path()))).unwrap();
    assert!(to_a_with_key.shutdown(Instant::now() + Duration::from_secs(5)).drained);
    assert_eq!(indexes(&messages(&a)), [2], "only the message recorded for A with the key");
    let authorization = a.requests()[0].header("authorization").unwrap().to_owned();
    assert_eq!(authorization, "Basic d2s6");
    assert_eq!(message_indexes(&read_outbox(dir.path()).unwrap()), [1], "A without a key still has its own");
}

/// An outbox holding message 1, and a client that has claimed it and is sending it to a server
/// that never answers.
fn a_client_sending_the_outbox_to_a_hanging_server() -> (tempfile::TempDir, SegmentClient) {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (url, connections) = hanging_server();
    handed_off(options(&url).with_outbox(OutboxOptions::new(dir.path())), [message(1)]);
    let second = SegmentClient::start(options(url).with_outbox(OutboxOptions::new(dir.path()))).unwrap();
    assert!(connections.wait_for_connections(1, Duration::from_secs(10)), "the outbox is being sent");
    (dir, second)
}

#[test]
fn what_the_next_transport_cannot_send_goes_back_to_the_outbox() {
    let (dir, second) = a_client_sending_the_outbox_to_a_hanging_server();
    second.track(message(2));
    let started = Instant::now();
    let report = second.shutdown(started + DEADLINE);
    assert!(started.elapsed() <= DEADLINE + GRACE);
    assert_eq!(report.saved_to_outbox, 2);
    let kept = read_outbox(dir.path()).unwrap();
    assert_eq!(message_indexes(&kept), [1, 2]);
    assert_eq!(kept.len(), 2, "one line per message, no duplicates");
}

#[test]
fn claimed_messages_survive_a_shutdown_that_cannot_write_the_outbox() {
    let (dir, second) = a_client_sending_the_outbox_to_a_hanging_server();
    // Another process holds the outbox for the whole shutdown: nothing can be appended.
    let folder = std::fs::read_dir(dir.path().join("outbox")).unwrap().next().unwrap().unwrap().path();
    let lock = std::fs::File::options().write(true).open(folder.join(".lock")).unwrap();
    lock.lock().unwrap();
    let report = second.shutdown(Instant::now() + DEADLINE);
    assert_eq!(report.saved_to_outbox, 0);
    drop(lock);
    drop(second);

    let kept: HashSet<String> = read_outbox(dir.path()).unwrap().into_iter().filter_map(|m| m.message_id).collect();
    assert_eq!(kept.len(), 1, "the claim stays for the next run: {report:?}");
}

#[test]
fn two_transports_on_one_outbox_do_not_tear_or_lose_lines() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let url = closed_port_url();
    let clients: Vec<SegmentClient> = (0..2)
        .map(|_| SegmentClient::start(options(&url).with_outbox(OutboxOptions::new(dir.path()))).unwrap())
        .collect();
    for (number, client) in clients.iter().enumerate() {
        for index in 0..50 {
            client.track(message(number * 100 + index));
        }
    }
    let deadline = Instant::now() + DEADLINE;
    std::thread::scope(|scope| {
        for client in &clients {
            scope.spawn(move || client.shutdown(deadline));
        }
    });
    let folder = std::fs::read_dir(dir.path().join("outbox")).unwrap().next().unwrap().unwrap().path();
    let content = std::fs::read_to_string(folder.join("outbox-0.jsonl")).unwrap();
    assert_eq!(content.lines().count(), 100);
    let expected: Vec<u64> = (0..50).chain(100..150).collect();
    assert_eq!(message_indexes(&read_outbox(dir.path()).unwrap()), expected);
}

#[test]
fn shutdown_twice_returns_the_first_report_and_later_messages_are_counted() {
    let server = Recorder::start().unwrap();
    let client = SegmentClient::start(options(server.url() + "/v1/batch")).unwrap();
    client.track(message(1));
    let first = client.shutdown(Instant::now() + DEADLINE);
    let second = client.shutdown(Instant::now());
    assert_eq!(first, second);
    assert_eq!(first.stats.sent, 1);
    client.track(message(2));
    assert_eq!(client.stats().dropped_after_shutdown, 1);
    assert!(!client.flush(Duration::from_millis(100)));
    assert_eq!(messages(&server).len(), 1);
}

#[test]
fn a_shutdown_now_overtakes_a_shutdown_with_a_long_deadline() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let (url, connections) = hanging_server();
    let client = SegmentClient::start(options(url).with_outbox(OutboxOptions::new(dir.path()))).unwrap();
    client.track(message(1));
    assert!(connections.wait_for_connections(1, Duration::from_secs(10)), "a request in flight");
    let started = Instant::now();
    let (patient, hasty) = std::thread::scope(|scope| {
        let patient = scope.spawn(|| client.shutdown(Instant::now() + Duration::from_secs(30)));
        // As a signal handler would: the program is being killed, keep everything now.
        let hasty = client.shutdown(Instant::now());
        (patient.join().unwrap(), hasty)
    });
    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(patient, hasty);
    assert_eq!(hasty.saved_to_outbox, 1);
    assert_eq!(message_indexes(&read_outbox(dir.path()).unwrap()), [1]);
}

#[test]
fn flushing_in_a_loop_with_a_short_timeout_keeps_waiting_each_time() {
    let (url, connections) = hanging_server();
    let client = SegmentClient::start(options(url)).unwrap();
    client.track(message(1));
    assert!(connections.wait_for_connections(1, Duration::from_secs(10)), "a request in flight");
    // Each of these gives up; none may keep a place among the waiters.
    for _ in 0..100 {
        assert!(!client.flush(Duration::from_millis(1)));
    }
    let patience = Duration::from_millis(200);
    let started = Instant::now();
    assert!(!client.flush(patience));
    assert!(started.elapsed() >= patience, "answered after {:?} instead of waiting", started.elapsed());
}
