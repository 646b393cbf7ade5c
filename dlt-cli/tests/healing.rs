//! An outbox that heals: whatever a damaged outbox file holds (20 MiB of messages, garbage, a
//! line torn by a crash), `dlt telemetry` shows the damage and exits 0, and the next command
//! delivers the newest messages to the endpoint and leaves the outbox whole.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::PathBuf;

use common::{Machine, stderr, stdout};
use dlt_telemetry_model::TrackMessage;
use dlt_test_support::Answer;

/// The endpoint, as a Segment batch API (a few requests carry a full outbox).
fn batch_endpoint(machine: &Machine) -> String {
    format!("{}/v1/batch", machine.endpoint.url())
}

/// Runs `dlt telemetry` against an endpoint that fails, so that its message waits, and returns
/// the recipient's outbox file and its line.
fn outbox_with_one_message(machine: &Machine) -> (PathBuf, Vec<u8>) {
    machine.endpoint.set_answer(Answer::status(503));
    let endpoint = batch_endpoint(machine);
    let output = machine.dlt(&["telemetry"], &[("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", &endpoint)]);
    assert!(output.status.success(), "{}", stderr(&output));
    let folders: Vec<PathBuf> =
        fs::read_dir(machine.global().join("telemetry/outbox")).unwrap().map(|entry| entry.unwrap().path()).collect();
    assert_eq!(folders.len(), 1);
    let file = folders[0].join("outbox-0.jsonl");
    let line = fs::read(&file).unwrap();
    machine.endpoint.set_answer(Answer::status(200));
    (file, line)
}

/// `count` distinct copies of `line` (a message), each with its own `messageId`.
fn copies(line: &[u8], count: usize) -> Vec<u8> {
    let message: TrackMessage = serde_json::from_slice(line.trim_ascii_end()).unwrap();
    let id = message.message_id.unwrap();
    let text = String::from_utf8(line.to_vec()).unwrap();
    let mut copies = Vec::with_capacity(text.len() * count);
    for index in 0..count {
        copies.extend_from_slice(text.replace(&id, &format!("{index:08}-0000-4000-8000-000000000000")).as_bytes());
    }
    copies
}

fn status(machine: &Machine) -> serde_json::Value {
    let output = machine.dlt(&["telemetry", "--json"], &[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
    assert!(output.status.success(), "an outbox never makes dlt telemetry fail: {}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// What the endpoint received, every batch's messages.
fn received(machine: &Machine) -> Vec<TrackMessage> {
    machine.endpoint.requests().iter().flat_map(|request| request.track_messages().unwrap()).collect()
}

/// Writes `damaged` as the outbox, checks `dlt telemetry` shows `damage`, then delivers with a
/// command: the endpoint gets the message `expected` (a `messageId`) and the command's own.
fn heals(damaged: impl FnOnce(&[u8]) -> (Vec<u8>, String), damage: &str) {
    let machine = Machine::new();
    let (file, line) = outbox_with_one_message(&machine);
    let (content, expected) = damaged(&line);
    fs::write(&file, content).unwrap();

    let before = status(&machine);
    let problems = before["waiting"][0]["problems"].to_string();
    assert!(problems.contains(damage), "{before:#}");
    let text = machine.dlt(&["telemetry"], &[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
    assert!(text.status.success() && stdout(&text).contains("    problem: outbox-0.jsonl"), "{}", stdout(&text));

    let first_request = machine.endpoint.requests().len();
    let endpoint = batch_endpoint(&machine);
    // A full outbox is a few batches: the exit deadline leaves time for them on a busy machine.
    let vars =
        [("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", endpoint.as_str()), ("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "30")];
    let output = machine.dlt(&["telemetry"], &vars);
    assert!(output.status.success(), "{}", stderr(&output));
    let delivered: Vec<TrackMessage> = machine.endpoint.requests()[first_request..]
        .iter()
        .flat_map(|request| request.track_messages().unwrap())
        .collect();
    assert!(delivered.iter().any(|message| message.message_id.as_deref() == Some(expected.as_str())), "{damage}");
    assert!(delivered.iter().any(|message| message.event == "command_telemetry"));
    assert!(received(&machine).len() > delivered.len(), "the 503s were counted too");

    let after = status(&machine);
    let waiting = &after["waiting"][0];
    assert_eq!(waiting["messages"], 0, "{after:#}");
    assert_eq!(waiting["problems"], serde_json::json!([]), "{after:#}");
    assert!(waiting["last_error"].as_str().unwrap().contains("repaired the outbox for"), "{after:#}");
}

#[test]
fn a_20_mib_outbox_is_trimmed_and_its_newest_messages_delivered() {
    heals(
        |line| {
            let count = 20 * 1024 * 1024 / line.len() + 1;
            let content = copies(line, count);
            assert!(content.len() > 20 * 1024 * 1024);
            (content, format!("{:08}-0000-4000-8000-000000000000", count - 1))
        },
        "is larger than its bound",
    );
}

#[test]
fn an_outbox_of_garbage_lines_is_dropped_and_its_messages_delivered() {
    heals(
        |line| {
            let mut content = b"{not json\n\x00\xff\xfe\n[1, 2, 3]\n".repeat(1000);
            content.extend_from_slice(&copies(line, 1));
            (content, "00000000-0000-4000-8000-000000000000".to_owned())
        },
        "3000 lines that are not messages",
    );
}

#[test]
fn a_torn_last_line_is_dropped_and_the_rest_delivered() {
    heals(
        |line| {
            let mut content = copies(line, 2);
            content.truncate(content.len() - line.len() / 2);
            (content, "00000000-0000-4000-8000-000000000000".to_owned())
        },
        "1 line that is not a message",
    );
}

/// Anyone who can write the outbox folder can put a message there: read back, every message
/// passes the privacy gate again. A value no rule allows (a URL with a password) leaves as
/// `<withheld>`, a message whose ids fail is dropped and counted as `invalid`, and the secret
/// reaches no request.
#[test]
fn a_message_planted_in_the_outbox_passes_the_privacy_gate_again() {
    const PASSWORD: &str = "pl4nted-s3cret";
    let machine = Machine::new();
    let (file, line) = outbox_with_one_message(&machine);
    let message: serde_json::Value = serde_json::from_slice(line.trim_ascii_end()).unwrap();
    let mut with_url = message.clone();
    with_url["messageId"] = "00000001-0000-4000-8000-000000000000".into();
    with_url["properties"]["destination_name"] = format!("postgresql://loader:{PASSWORD}@db.example.com/dwh").into();
    let mut bad_id = message.clone();
    bad_id["messageId"] = "00000002-0000-4000-8000-000000000000".into();
    bad_id["anonymousId"] = format!("/home/alice/{PASSWORD}").into();
    fs::write(&file, format!("{with_url}\n{bad_id}\n")).unwrap();

    let first_request = machine.endpoint.requests().len();
    let endpoint = batch_endpoint(&machine);
    let output = machine.dlt(&["telemetry"], &[("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", endpoint.as_str())]);
    assert!(output.status.success(), "{}", stderr(&output));

    let requests = &machine.endpoint.requests()[first_request..];
    assert!(requests.iter().all(|request| !request.body_text().contains(PASSWORD)), "the planted secret left");
    let delivered: Vec<TrackMessage> = requests.iter().flat_map(|request| request.track_messages().unwrap()).collect();
    let screened = delivered
        .iter()
        .find(|message| message.message_id.as_deref() == Some("00000001-0000-4000-8000-000000000000"))
        .expect("the message with a URL is delivered, screened");
    assert_eq!(screened.properties["destination_name"], "<withheld>");
    assert!(
        delivered.iter().all(|message| message.message_id.as_deref() != Some("00000002-0000-4000-8000-000000000000")),
        "a message whose ids fail the gate is never sent"
    );
    let after = status(&machine);
    assert_eq!(after["sent"][0]["dropped"]["invalid"], 1, "{after:#}");
}
