//! The command line never waits for usage telemetry: what it has to send goes to the outbox
//! and `dlt`, started again as the detached sender, delivers it. These tests run `dlt` as a user does (no
//! CI variable), against loopback endpoints.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Machine, alive, eventually, stdout, terminate};
use dlt_test_support::Answer;

#[test]
fn a_detached_sender_delivers_after_the_command_has_exited() {
    let machine = Machine::new();
    let output = machine.dlt_detached(&["telemetry"], &[]);
    assert!(output.status.success());
    assert!(stdout(&output).contains("delivery: by a detached sender after each command"), "{}", stdout(&output));
    assert!(machine.endpoint.wait_for(1, Duration::from_secs(10)), "the sender delivered");
    assert_eq!(machine.received()[0].event, "command_telemetry");
    assert!(eventually(Duration::from_secs(10), || machine.waiting() == (0, false)), "the sender is done and gone");
    assert_eq!(machine.endpoint.requests().len(), 1);
}

#[test]
fn with_the_endpoint_down_messages_wait_and_are_delivered_exactly_once_when_it_is_back() {
    let machine = Machine::new();
    machine.endpoint.set_answer(Answer::status(503));
    assert!(machine.dlt_detached(&["telemetry"], &[]).status.success());
    assert!(machine.endpoint.wait_for(2, Duration::from_secs(10)), "the sender tries, and tries again");

    // What waits, as a user sees it: the message, the sender, the last error.
    let shown = machine.dlt(&["telemetry"], &[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
    assert!(shown.status.success());
    let printed = stdout(&shown);
    assert!(printed.contains(&format!("waiting for {}: 1 message(s)", machine.endpoint_url())), "{printed}");
    assert!(printed.contains("is delivering them"), "{printed}");
    assert!(printed.contains("last delivery error: ") && printed.contains("HTTP 503"), "{printed}");
    let json = machine.dlt(&["telemetry", "--json"], &[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
    assert!(json.status.success());
    let status: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let waiting = &status["waiting"][0];
    assert_eq!(waiting["messages"], 1);
    assert_eq!(waiting["sender_running"], true);
    assert!(waiting["oldest_age_seconds"].as_f64().unwrap() >= 0.0);
    assert!(waiting["last_error"].as_str().unwrap().contains("HTTP 503"));

    // A second command while the sender runs: it only appends, and the sender takes it too.
    assert!(machine.dlt_detached(&["init", "chess", "duckdb"], &[]).status.success());
    machine.endpoint.set_answer(Answer::ok());
    // Every request recorded from here on is accepted (one recorded just before may be too).
    let back = machine.endpoint.requests().len();
    assert!(eventually(Duration::from_secs(15), || machine.waiting() == (0, false)), "{:?}", machine.waiting());
    let ids: Vec<String> = machine.received().into_iter().map(|m| m.message_id.unwrap()).collect();
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 2, "both messages, each with its own id");
    for id in distinct {
        // Accepted once (the sender emptied the outbox, and a 503 is never dropped), and never
        // sent again once accepted: every attempt but the last came while the endpoint was down.
        let attempts: Vec<usize> = (0..ids.len()).filter(|&at| ids[at] == *id).collect();
        let (_accepted, refused) = attempts.split_last().unwrap();
        assert!(refused.iter().all(|&at| at < back), "{id} was sent again after it was accepted: {attempts:?}");
    }
}

#[test]
fn command_substitution_returns_at_once_while_its_sender_works() {
    let machine = Machine::new();
    machine.endpoint.set_answer(Answer::ok().with_delay(Duration::from_secs(60)));
    let started = Instant::now();
    let output = machine.shell("out=$(\"$DLT\" telemetry) && echo \"$out\" | head -n 1").output().unwrap();
    let took = started.elapsed();
    assert!(output.status.success());
    assert_eq!(stdout(&output), "Telemetry is ENABLED\n");
    assert!(took < Duration::from_secs(5), "the shell waited {took:?} for the sender");
    assert!(machine.endpoint.wait_for(1, Duration::from_secs(10)), "the sender is at work meanwhile");
    let pid = machine.sender_pid().expect("a sender runs");
    terminate(pid);
    assert!(eventually(Duration::from_secs(5), || !alive(pid)));
}

/// The nice value of a process, from `/proc/<pid>/stat` (field 19).
#[cfg(target_os = "linux")]
fn nice(pid: &str) -> i64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let (_, fields) = stat.rsplit_once(") ").unwrap();
    fields.split(' ').nth(16).unwrap().parse().unwrap()
}

#[cfg(target_os = "linux")]
#[test]
fn the_sender_runs_ten_steps_nicer_than_the_command() {
    let machine = Machine::new();
    machine.endpoint.set_answer(Answer::ok().with_delay(Duration::from_secs(60)));
    assert!(machine.dlt_detached(&["telemetry"], &[]).status.success());
    assert!(machine.endpoint.wait_for(1, Duration::from_secs(10)), "a request is in flight");
    let pid = machine.sender_pid().expect("a sender runs");
    // The command ran at this test's priority.
    assert_eq!(nice(&pid.to_string()), (nice("self") + 10).min(19));
    terminate(pid);
    assert!(eventually(Duration::from_secs(5), || !alive(pid)));
}

#[test]
fn on_sigterm_the_sender_writes_back_and_exits_within_two_seconds() {
    let machine = Machine::new();
    machine.endpoint.set_answer(Answer::ok().with_delay(Duration::from_secs(60)));
    assert!(machine.dlt_detached(&["telemetry"], &[]).status.success());
    assert!(machine.endpoint.wait_for(1, Duration::from_secs(10)), "a request is in flight");
    let pid = machine.sender_pid().expect("a sender runs");
    let signalled = Instant::now();
    terminate(pid);
    assert!(eventually(Duration::from_secs(3), || !alive(pid)), "the sender is gone");
    let took = signalled.elapsed();
    assert!(took < Duration::from_secs(2), "it took {took:?}");
    assert_eq!(machine.waiting(), (1, false), "the message is back in the outbox");
}

#[test]
fn no_sender_is_started_when_there_is_nothing_to_send_or_telemetry_is_off() {
    let machine = Machine::new();
    for vars in [&[("RUNTIME__DLTHUB_TELEMETRY", "false")][..], &[("DO_NOT_TRACK", "1")]] {
        assert!(machine.dlt_detached(&["telemetry"], vars).status.success());
        assert_eq!(machine.waiting(), (0, false));
    }
    assert!(
        machine
            .dlt_detached(&["--disable-telemetry", "telemetry"], &[("RUNTIME__DLTHUB_TELEMETRY", "true")])
            .status
            .success()
    );
    assert_eq!(machine.waiting(), (0, false), "no message kept, no sender started");
    assert!(machine.endpoint.requests().is_empty());
}

/// A detached sender has no terminal to complain to: when it cannot start its transport (here
/// a proxy URL it cannot use), it says why in the recipient's failure log, as a class of
/// failure without the value, and `dlt telemetry` shows it as the last error. The message
/// still waits.
#[test]
fn a_detached_sender_that_cannot_use_its_proxy_says_why_in_dlt_telemetry() {
    let machine = Machine::new();
    // The password holds a `/`: not a usable URL, and a secret.
    let proxy = [("HTTPS_PROXY", "http://corp:s3cr/et@proxy.example:3128")];
    let output = machine.dlt_detached(&["telemetry"], &proxy);
    assert!(output.status.success(), "the command hands off and is done: {}", common::stderr(&output));

    let last_error = |status: &serde_json::Value| status["waiting"][0]["last_error"].as_str().map(str::to_owned);
    let mut status = serde_json::Value::Null;
    let shown = eventually(Duration::from_secs(10), || {
        let json = machine.dlt(&["telemetry", "--json"], &[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
        assert!(json.status.success());
        status = serde_json::from_slice(&json.stdout).unwrap();
        last_error(&status).is_some()
    });
    assert!(shown, "the sender left no line: {status:#}");
    let error = last_error(&status).unwrap();
    assert!(error.ends_with("the sender cannot start: HTTPS_PROXY is not a usable proxy URL"), "{error}");
    assert_eq!(status["waiting"][0]["messages"], 1, "the message waits: {status:#}");

    let text = machine.dlt(&["telemetry"], &[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
    assert!(text.status.success());
    let printed = stdout(&text);
    assert!(printed.contains("last delivery error: ") && printed.contains("HTTPS_PROXY is not a usable"), "{printed}");
    for shown in [printed, status.to_string()] {
        assert!(!shown.contains("s3cr") && !shown.contains("proxy.example"), "no value: {shown}");
    }
    assert!(machine.endpoint.requests().is_empty());
}

/// A terminal that closes as soon as the command exits (an `ssh host 'dlt ...'`, an IDE run, a
/// tab closed at once) hangs up everything in the terminal's foreground: the sender, in a
/// process group of its own from the moment it is started, is not among them and delivers
/// every time. `script` runs each command in a pseudo-terminal it closes when the command ends.
#[cfg(target_os = "linux")]
#[test]
fn a_terminal_that_closes_as_the_command_ends_never_takes_the_sender_with_it() {
    if Command::new("script").arg("--version").output().is_err() {
        eprintln!("skipped: util-linux's script is not installed");
        return;
    }
    const COMMANDS: usize = 5;
    let machine = Machine::new();
    // The first interactive run would show the first-run notice and send nothing.
    machine.notice_already_shown();
    // Each answer takes a while, so that every sender is still at work when its terminal closes.
    machine.endpoint.set_answer(Answer::ok().with_delay(Duration::from_millis(300)));
    for _ in 0..COMMANDS {
        let mut script = machine.shell("script -qec \"$DLT telemetry\" /dev/null");
        let output = script.stdin(Stdio::null()).output().unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    }
    assert!(
        eventually(Duration::from_secs(20), || machine.waiting() == (0, false)),
        "every sender delivered and exited: {:?}",
        machine.waiting()
    );
    let ids: HashSet<String> = machine.received().into_iter().filter_map(|m| m.message_id).collect();
    assert_eq!(ids.len(), COMMANDS, "one command_telemetry per command, none lost");
}
