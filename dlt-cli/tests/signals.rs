//! Signals: `SIGINT` or `SIGTERM` while `dlt` waits for the network at exit leaves what is
//! undelivered in the outbox, and the process gone at once (Kubernetes sends `SIGTERM`, then
//! `SIGKILL` after a grace period).
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Machine;
use dlt_test_support::Answer;

fn signal_and_wait(signal: &str, code: i32) {
    let machine = Machine::new();
    machine.endpoint.set_answer(Answer::ok().with_delay(Duration::from_secs(60)));
    // Inline (as in CI): the command waits for the endpoint at exit, up to its deadline.
    let mut child = machine
        .command(
            &["telemetry"],
            &[("RUNTIME__TELEMETRY_DETACHED_SENDER", "false"), ("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "30")],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    assert!(machine.endpoint.wait_for(1, Duration::from_secs(10)), "the request is in flight");
    let signalled = Instant::now();
    assert!(Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap().success());
    let status = child.wait().unwrap();
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(2), "{signal}: it took {took:?}");
    assert_eq!(status.code(), Some(code), "{signal}");
    assert_eq!(machine.waiting().0, 1, "{signal}: the message is in the outbox");

    // The endpoint is back: the next run delivers it.
    machine.endpoint.set_answer(Answer::ok());
    let before = machine.endpoint.requests().len();
    assert!(machine.dlt(&["telemetry"], &[]).status.success());
    assert_eq!(machine.endpoint.requests().len() - before, 2, "the kept message and the new one");
    assert_eq!(machine.waiting().0, 0);
}

#[test]
fn sigterm_at_exit_keeps_the_message_and_ends_the_process() {
    signal_and_wait("-TERM", 143);
}

#[test]
fn sigint_at_exit_keeps_the_message_and_ends_the_process() {
    signal_and_wait("-INT", 130);
}
