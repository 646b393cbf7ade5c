//! A host that opted in to the detached sender (the example, `traced_pipeline`, does: one line
//! at the top of `main`): exit never waits for the endpoint, the program started again as the
//! sender delivers, a program started as the sender does nothing else, an opt-out stops the
//! sender, and in CI the host sends inline.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashSet;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::Dirs;
use dlt_config::{Config, Locations};
use dlt_runtime_trace::{SENDER_MARKER, switch_telemetry, waiting_telemetry};
use dlt_test_support::{Answer, Recorder};

fn example_binary() -> PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    deps.parent().unwrap().join("examples").join(format!("traced_pipeline{}", std::env::consts::EXE_SUFFIX))
}

/// The example with the test's dirs, sending to `endpoint` for real.
fn example(dirs: &Dirs, endpoint: &Recorder, vars: &[(&str, &str)]) -> Command {
    let url = format!("{}/v1/track", endpoint.url());
    let mut command = Command::new(example_binary());
    command
        .env_clear()
        .envs(dirs.vars())
        .env("RUNTIME__DLTHUB_TELEMETRY_DEBUG", "false")
        .env("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", url)
        .envs(vars.iter().copied())
        .current_dir(dirs.project());
    command
}

fn run(mut command: Command) -> Output {
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output
}

/// The distinct `messageId`s the endpoint received.
fn delivered(endpoint: &Recorder) -> HashSet<String> {
    endpoint
        .requests()
        .iter()
        .flat_map(|request| request.track_messages().unwrap())
        .filter_map(|message| message.message_id)
        .collect()
}

/// Waits until a sender holds an outbox (`true`) or none does (`false`); whether it came.
fn wait_for_sender(dirs: &Dirs, running: bool, timeout: Duration) -> bool {
    let config = Config::load(dirs.env(&[])).unwrap();
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if waiting_telemetry(&config).recipients.iter().any(|recipient| recipient.sender_running) == running {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

#[test]
fn a_host_that_opted_in_exits_at_once_and_its_sender_delivers_once_the_endpoint_answers() {
    let dirs = Dirs::new();
    // The host's four requests are never answered; later ones are.
    let endpoint = Recorder::start().unwrap();
    endpoint.push_answers(std::iter::repeat_n(Answer::ok().with_delay(Duration::from_secs(3600)), 4));
    let started = Instant::now();
    // Inline, the exit would wait the whole 30 s deadline for an endpoint that never answers.
    run(example(&dirs, &endpoint, &[("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "30")]));
    let exit = started.elapsed();
    assert!(exit < Duration::from_secs(10), "the host exits without waiting for the endpoint ({exit:?})");
    let exited = SystemTime::now();

    let deadline = Instant::now() + Duration::from_secs(40);
    while !common::outbox_messages(&dirs.global()).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(common::outbox_messages(&dirs.global()).is_empty(), "the sender confirmed everything");
    assert!(wait_for_sender(&dirs, false, Duration::from_secs(10)), "and exited");
    let resent: HashSet<String> = endpoint
        .requests_sent_since(exited)
        .iter()
        .flat_map(|request| request.track_messages().unwrap())
        .filter_map(|message| message.message_id)
        .collect();
    assert_eq!(resent.len(), 4, "the four pipeline events, sent again by the sender");
    assert_eq!(delivered(&endpoint), resent, "with the messageIds the host gave them");
    for request in endpoint.requests() {
        assert_eq!(request.header("user-agent").map(|agent| agent.starts_with("traced_pipeline/")), Some(true));
    }
}

#[test]
fn a_program_started_as_the_sender_delivers_and_does_nothing_else() {
    let dirs = Dirs::new();
    let endpoint = Recorder::with_answer(Answer::status(503)).unwrap();
    let inline = [("RUNTIME__TELEMETRY_DETACHED_SENDER", "false"), ("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "0.3")];
    run(example(&dirs, &endpoint, &inline));
    assert_eq!(common::outbox_messages(&dirs.global()).len(), 4, "the events wait in the outbox");
    let trace = dirs.global().join("pipelines/chess_pipeline/trace.json");
    let trace_before = std::fs::read(&trace).unwrap();
    std::fs::remove_dir_all(dirs.global().join("pipelines/chess_pipeline/load")).unwrap();

    endpoint.set_answer(Answer::ok());
    let since = SystemTime::now();
    let mut sender = example(&dirs, &endpoint, &[(SENDER_MARKER, "traced_pipeline/0.1.0")]);
    sender.arg("--fail-at").arg("extract").stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
    assert!(sender.status().unwrap().success());
    let events: Vec<String> = endpoint
        .requests_sent_since(since)
        .iter()
        .flat_map(|request| request.track_messages().unwrap())
        .map(|message| message.event)
        .collect();
    assert_eq!(events.len(), 4, "what waited is delivered: {events:?}");
    assert!(common::outbox_messages(&dirs.global()).is_empty());
    assert_eq!(std::fs::read(&trace).unwrap(), trace_before, "no pipeline ran: the trace is the same");
    assert!(!dirs.global().join("pipelines/chess_pipeline/load").exists(), "nothing was loaded");

    // With its standard streams open, a program that finds the marker is not a sender.
    let mut host = example(&dirs, &endpoint, &[(SENDER_MARKER, "traced_pipeline/0.1.0")]);
    host.env("RUNTIME__TELEMETRY_DETACHED_SENDER", "false");
    let output = run(host);
    assert!(String::from_utf8_lossy(&output.stdout).contains("Trace saved to"), "it ran its pipeline");
}

#[test]
fn after_an_opt_out_the_sender_sends_nothing_more() {
    let dirs = Dirs::new();
    let endpoint = Recorder::with_answer(Answer::ok().with_delay(Duration::from_secs(3600))).unwrap();
    run(example(&dirs, &endpoint, &[]));
    let exited = SystemTime::now();
    assert!(wait_for_sender(&dirs, true, Duration::from_secs(20)), "the sender is at work");
    // Its requests are out (and never answered) before the opt-out: what is checked is that it
    // sends nothing more, not a race with its first requests.
    let deadline = Instant::now() + Duration::from_secs(20);
    let sent_by_sender = || {
        endpoint
            .requests_sent_since(exited)
            .iter()
            .map(|request| request.track_messages().unwrap().len())
            .sum::<usize>()
    };
    while sent_by_sender() < 4 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(sent_by_sender(), 4, "the sender sent the four waiting messages");

    switch_telemetry(&Locations::resolve(&dirs.env(&[])).unwrap(), false).unwrap();
    let opted_out = SystemTime::now();
    endpoint.set_answer(Answer::ok());
    assert!(wait_for_sender(&dirs, false, Duration::from_secs(10)), "the sender stops at the opt-out");
    assert!(endpoint.requests_sent_since(opted_out).is_empty(), "nothing is sent after the opt-out");
    assert!(common::outbox_messages(&dirs.global()).is_empty(), "and nothing is kept");
}

/// Each answer takes a moment: a host that handed off would exit before it and leave the
/// messages in the outbox for a sender; in CI the host waits for the answers instead.
#[test]
fn in_ci_a_host_that_opted_in_delivers_inline() {
    let dirs = Dirs::new();
    let endpoint = Recorder::with_answer(Answer::ok().with_delay(Duration::from_millis(300))).unwrap();
    run(example(&dirs, &endpoint, &[("CI", "true")]));
    assert!(common::outbox_messages(&dirs.global()).is_empty(), "nothing was left for a sender");
    let config = Config::load(dirs.env(&[])).unwrap();
    assert!(waiting_telemetry(&config).recipients.iter().all(|recipient| !recipient.sender_running));
    assert_eq!(delivered(&endpoint).len(), 4, "delivered before the host exited");
}
