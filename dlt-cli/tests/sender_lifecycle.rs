//! The detached sender's whole life, black-box: the real `dlt` starting its real sender against
//! loopback endpoints, and `dlt` started as the sender the way it starts itself (the marker,
//! null standard streams). A user's opt-out reaches a sender at work; a second sender for the
//! same recipient leaves at once; a sender gives up at its 30 s bound; telemetry off in the
//! sender's own environment means it looks at nothing.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Child;
use std::time::{Duration, Instant, SystemTime};

use common::{Machine, alive, eventually, stderr, terminate};
use dlt_test_support::{Answer, HangingServer, snapshot};

/// Runs `dlt` as a user does and checks that it succeeded.
fn dlt_detached(machine: &Machine, args: &[&str], vars: &[(&str, &str)]) {
    let output = machine.dlt_detached(args, vars);
    assert!(output.status.success(), "dlt {args:?}: {}", stderr(&output));
}

/// Leaves `count` messages in the outbox: each a `dlt telemetry` sending inline to an endpoint
/// that closes the connection, with a short exit deadline.
fn leave_in_outbox(machine: &Machine, count: usize) {
    machine.endpoint.set_answer(Answer::disconnect());
    for _ in 0..count {
        let output = machine.dlt(&["telemetry"], &[("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "0.2")]);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    assert_eq!(machine.waiting(), (count, false));
}

/// Whether `child` exited within `timeout`; it is killed if not.
fn exits_within(child: &mut Child, timeout: Duration) -> bool {
    let exited = eventually(timeout, || child.try_wait().unwrap().is_some());
    if !exited {
        let _ = child.kill();
    }
    let _ = child.wait();
    exited
}

/// `dlt --disable-telemetry` while the sender has four requests in flight (held ten seconds)
/// and three more messages to send: the sender stops within seconds, not when its requests come
/// back, sends nothing after the opt-out and keeps nothing of what it held.
#[test]
fn an_opt_out_while_the_sender_delivers_stops_it_at_once_and_nothing_more_is_sent_or_kept() {
    let machine = Machine::new();
    leave_in_outbox(&machine, 6);
    let earlier = machine.endpoint.requests().len();
    machine.endpoint.push_answers(std::iter::repeat_n(Answer::ok().with_delay(Duration::from_secs(10)), 4));
    machine.endpoint.set_answer(Answer::ok());
    dlt_detached(&machine, &["telemetry"], &[]);
    assert!(machine.endpoint.wait_for(earlier + 4, Duration::from_secs(10)), "four requests in flight");
    let pid = machine.sender_pid().expect("a sender runs");

    let opting_out = SystemTime::now();
    dlt_detached(&machine, &["--disable-telemetry"], &[]);
    assert!(eventually(Duration::from_secs(5), || !alive(pid)), "the sender stops at the opt-out");
    assert!(machine.endpoint.requests_sent_since(opting_out).is_empty(), "nothing is sent after the opt-out");
    assert_eq!(machine.waiting(), (0, false), "nothing it held is kept, no sender runs");
}

/// While a sender delivers, a second one started for the same recipient (as `dlt` would start
/// it) finds the first at work and exits at once without sending the message that waits.
#[test]
fn a_second_sender_for_the_same_recipient_exits_at_once_and_sends_nothing() {
    let machine = Machine::new();
    machine.endpoint.set_answer(Answer::ok().with_delay(Duration::from_secs(60)));
    dlt_detached(&machine, &["telemetry"], &[]);
    assert!(machine.endpoint.wait_for(1, Duration::from_secs(10)), "the first sender is delivering");
    let first = machine.sender_pid().expect("a sender runs");
    // A second command appends while the first sender's request is in flight.
    dlt_detached(&machine, &["init", "chess", "duckdb"], &[]);
    assert_eq!(machine.waiting(), (2, true));

    let mut second = machine.sender(&[]).spawn().unwrap();
    assert!(exits_within(&mut second, Duration::from_secs(5)), "the second sender leaves at once");
    assert_eq!(machine.endpoint.requests().len(), 1, "the second sender sent nothing");
    assert_eq!(machine.sender_pid(), Some(first), "the first sender still holds the outbox");
    assert_eq!(machine.waiting(), (2, true));
    terminate(first);
    assert!(eventually(Duration::from_secs(5), || !alive(first)));
}

/// Against an endpoint that accepts and never answers, the sender keeps trying for its 30 s
/// bound, then exits with the message back in the outbox.
#[test]
fn against_an_endpoint_that_never_answers_the_sender_gives_up_at_its_30_s_bound_and_keeps_the_message() {
    let machine = Machine::new();
    let hanging = HangingServer::start().unwrap();
    let endpoint = [("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", format!("{}/v1/track", hanging.url()))];
    let endpoint: Vec<(&str, &str)> = endpoint.iter().map(|(name, value)| (*name, value.as_str())).collect();
    dlt_detached(&machine, &["telemetry"], &endpoint);
    let handed_off = Instant::now();
    assert!(hanging.wait_for_connections(1, Duration::from_secs(10)), "the sender is at work");
    let pid = machine.sender_pid().expect("a sender runs");

    assert!(eventually(Duration::from_secs(45), || !alive(pid)), "the sender exits at its bound");
    let ran = handed_off.elapsed();
    assert!(ran >= Duration::from_secs(29), "it kept trying until its 30 s bound, not {ran:?}");
    assert_eq!(machine.waiting(), (1, false), "the message waits for the next sender");
}

/// `dlt` started as the sender where usage telemetry is off (its own environment says so)
/// sends nothing and leaves every file of the outbox as it was; with telemetry on, the same
/// start delivers the message.
#[test]
fn a_sender_started_where_telemetry_is_off_sends_nothing_and_touches_no_file() {
    let machine = Machine::new();
    leave_in_outbox(&machine, 1);
    machine.endpoint.set_answer(Answer::ok());
    let since = SystemTime::now();
    let before = snapshot(&machine.global()).unwrap();
    for off in [("DO_NOT_TRACK", "1"), ("RUNTIME__DLTHUB_TELEMETRY", "false"), ("ENABLE_RUNTIME_TRACE", "false")] {
        assert!(machine.sender(&[off]).status().unwrap().success(), "{off:?}");
        assert_eq!(snapshot(&machine.global()).unwrap(), before, "{off:?}: no lock taken, no file claimed or written");
    }
    assert!(machine.endpoint.requests_sent_since(since).is_empty());

    assert!(machine.sender(&[]).status().unwrap().success());
    assert_eq!(machine.endpoint.requests_sent_since(since).len(), 1, "with telemetry on it delivers");
    assert_eq!(machine.waiting(), (0, false));
}
