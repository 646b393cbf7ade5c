//! Transparency: `dlt telemetry log` shows exactly what left this machine, `dlt telemetry` counts
//! what was delivered and dropped, and the first interactive run says what is collected before
//! anything is sent.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::process::Stdio;
use std::time::Duration;

use common::{Machine, eventually, stderr, stdout};
use dlt_test_support::Answer;
use serde_json::Value;

/// The bodies of the endpoint's requests from `from` on, as JSON.
fn bodies(machine: &Machine, from: usize) -> Vec<Value> {
    machine.endpoint.requests()[from..].iter().map(|request| request.json().unwrap()).collect()
}

fn status_json(machine: &Machine) -> Value {
    let output = machine.dlt(&["telemetry", "--json"], &[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Messages confirmed (200), answered 500 until the deadline, refused for good (400), sent to a
/// port nothing listens on, and confirmed again: the log holds exactly the confirmed ones, each
/// equal to what the endpoint received; the counts say what was delivered and dropped.
#[test]
fn the_log_lists_exactly_the_messages_the_endpoint_confirmed_as_it_received_them() {
    let machine = Machine::new();
    let quick_exit = ("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "0.3");
    for _ in 0..2 {
        assert!(machine.dlt(&["telemetry"], &[]).status.success());
    }
    let mut confirmed = bodies(&machine, 0);
    assert_eq!(confirmed.len(), 2);

    machine.endpoint.set_answer(Answer::status(500));
    assert!(machine.dlt(&["telemetry"], &[quick_exit]).status.success());
    assert_eq!(machine.waiting().0, 1, "the unconfirmed message waits");
    machine.endpoint.set_answer(Answer::status(400));
    let before_rejected = machine.endpoint.requests().len();
    assert!(machine.dlt(&["init", "chess", "duckdb"], &[quick_exit]).status.success());
    assert_eq!(machine.endpoint.requests().len() - before_rejected, 2, "the waiting message and init's, refused");
    assert_eq!(machine.waiting().0, 0, "refused for good: dropped");
    let refusing = dlt_test_support::refusing_url().unwrap();
    let elsewhere = [("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", refusing.as_str()), quick_exit];
    assert!(machine.dlt(&["telemetry"], &elsewhere).status.success());
    assert_eq!(machine.waiting().0, 1, "kept for the endpoint that refused the connection");

    machine.endpoint.set_answer(Answer::ok());
    let before_ok = machine.endpoint.requests().len();
    assert!(machine.dlt(&["telemetry"], &[]).status.success());
    confirmed.extend(bodies(&machine, before_ok));
    assert_eq!(confirmed.len(), 3);

    let log = machine.sent_log();
    let logged: Vec<&Value> = log.iter().map(|entry| &entry["message"]).collect();
    assert_eq!(logged, confirmed.iter().collect::<Vec<_>>(), "exactly the confirmed messages, as received");
    for entry in &log {
        assert_eq!(entry["endpoint"], machine.endpoint_url());
        assert_eq!(entry["write_key"], false);
        let sent_at = time::OffsetDateTime::parse(
            entry["sent_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let message_sent_at = time::OffsetDateTime::parse(
            entry["message"]["sentAt"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        assert!(sent_at >= message_sent_at, "confirmed after it was sent: {entry:#}");
    }

    let status = status_json(&machine);
    let sent = status["sent"].as_array().unwrap();
    assert_eq!(sent.len(), 1, "nothing recorded for the endpoint that confirmed nothing: {status:#}");
    assert_eq!(sent[0]["endpoint"], machine.endpoint_url());
    assert_eq!(sent[0]["delivered"]["count"], 3);
    assert_eq!(sent[0]["delivered"]["last_at"], log[2]["sent_at"]);
    assert_eq!(sent[0]["dropped"]["rejected"], 2);
    assert_eq!(sent[0]["dropped"]["opted_out"], 0);
    let text = machine.dlt(&["telemetry"], &[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
    let printed = stdout(&text);
    let line = format!("delivered to {}: 3 message(s), last at ", machine.endpoint_url());
    assert!(printed.contains(&line) && printed.contains("; dropped: 2 rejected\n"), "{printed}");
}

#[test]
fn the_text_log_is_a_line_per_message_with_its_properties_below_and_looking_sends_nothing() {
    let machine = Machine::new();
    assert!(machine.dlt(&["init", "chess", "duckdb"], &[]).status.success());
    assert_eq!(machine.endpoint.requests().len(), 1);
    let output = machine.dlt(&["telemetry", "log"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = stdout(&output);
    let lines: Vec<&str> = printed.lines().collect();
    let heading = format!("  command_init  to {}", machine.endpoint_url());
    assert!(lines[0].ends_with(&heading) && lines[0].contains(" UTC"), "{printed}");
    for property in [
        "    pipeline_name: \"chess\"",
        "    destination_name: \"duckdb\"",
        "    success: true",
        "    event_category: \"command\"",
        "    event_name: \"init\"",
    ] {
        assert!(lines.contains(&property), "{property} in {printed}");
    }
    assert_eq!(machine.endpoint.requests().len(), 1, "dlt telemetry log sends nothing");

    let output = machine.dlt(&["telemetry", "log", "--since", "1h"], &[]);
    assert!(stdout(&output).contains("command_init"));
    let empty = Machine::new();
    let output = empty.dlt(&["telemetry", "log"], &[]);
    assert_eq!(stdout(&output), "Nothing was delivered from this machine in the last 30 days.\n");
    let output = empty.dlt(&["telemetry", "log", "--since", "soon"], &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("\"soon\" is not a duration"), "{}", stderr(&output));
}

#[test]
fn the_detached_sender_records_what_it_delivered() {
    let machine = Machine::new();
    assert!(machine.dlt_detached(&["telemetry"], &[]).status.success());
    assert!(machine.endpoint.wait_for(1, Duration::from_secs(10)));
    assert!(eventually(Duration::from_secs(10), || machine.sent_log().len() == 1), "the sender recorded it");
    assert_eq!(machine.sent_log()[0]["message"], bodies(&machine, 0)[0]);
}

#[test]
fn switching_off_deletes_the_record_and_being_off_in_the_environment_does_not() {
    let machine = Machine::new();
    assert!(machine.dlt(&["telemetry"], &[]).status.success());
    let refusing = dlt_test_support::refusing_url().unwrap();
    let elsewhere = [("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", refusing.as_str())];
    assert!(machine.dlt(&["telemetry"], &elsewhere).status.success());
    for off in [("DO_NOT_TRACK", "1"), ("RUNTIME__DLTHUB_TELEMETRY", "false")] {
        assert!(machine.dlt(&["telemetry"], &[off]).status.success());
        assert_eq!(machine.sent_log().len(), 1, "{off:?}: off in one environment deletes nothing");
    }
    let record = machine.global().join("telemetry/sent");
    let files = machine.global_files();
    assert!(files.iter().any(|file| file.ends_with("sent.jsonl")), "{files:?}");

    assert!(machine.dlt(&["--disable-telemetry"], &[]).status.success());
    assert!(machine.sent_log().is_empty());
    let files = machine.global_files();
    assert!(!files.iter().any(|file| file.ends_with("sent.jsonl")), "{files:?}");
    // What the opt-out dropped is counted: the message waiting for the endpoint that refused.
    let status = status_json(&machine);
    let sent = status["sent"].as_array().unwrap();
    let counts: Vec<(u64, u64)> = sent
        .iter()
        .map(|state| (state["delivered"]["count"].as_u64().unwrap(), state["dropped"]["opted_out"].as_u64().unwrap()))
        .collect();
    assert_eq!(counts.iter().map(|(delivered, _)| delivered).sum::<u64>(), 0, "{status:#}");
    assert_eq!(counts.iter().map(|(_, opted_out)| opted_out).sum::<u64>(), 1, "{status:#}");
    assert!(record.exists());
}

#[cfg(unix)]
#[test]
fn the_record_is_private_and_a_broken_one_is_shown_never_fatal() {
    use std::os::unix::fs::PermissionsExt as _;
    let machine = Machine::new();
    assert!(machine.dlt(&["telemetry"], &[]).status.success());
    assert!(machine.dlt(&["telemetry"], &[]).status.success());
    let sent = machine.global().join("telemetry/sent");
    let folder = fs::read_dir(&sent).unwrap().next().unwrap().unwrap().path();
    let mode = |path: &std::path::Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(&sent), mode(&folder)), (0o700, 0o700));
    for file in ["sent.jsonl", "counts.json", "recipient.json"] {
        assert_eq!(mode(&folder.join(file)), 0o600, "{file}");
    }

    // A line that is not a record, and counts that are not counts: shown, the rest listed.
    let record = folder.join("sent.jsonl");
    let text = fs::read_to_string(&record).unwrap();
    fs::write(&record, format!("not json\n{text}")).unwrap();
    fs::write(folder.join("counts.json"), "[]").unwrap();
    let output = machine.dlt(&["telemetry", "log", "--json"], &[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
    assert!(output.status.success());
    assert_eq!(serde_json::from_slice::<Vec<Value>>(&output.stdout).unwrap().len(), 2);
    let warnings = stderr(&output);
    assert!(warnings.contains("warning: sent.jsonl has 1 line that is not a record"), "{warnings}");
    assert!(warnings.contains("counts.json: is not the counts of a record"), "{warnings}");

    // A record folder open to everyone is refused whole, and said so.
    fs::set_permissions(&sent, fs::Permissions::from_mode(0o777)).unwrap();
    let output = machine.dlt(&["telemetry", "log"], &[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
    assert!(output.status.success());
    assert!(stdout(&output).starts_with("Nothing was delivered"), "{}", stdout(&output));
    assert!(stderr(&output).contains("lets group or others in"), "{}", stderr(&output));
    let status = status_json(&machine);
    let problems = status["problems"].to_string();
    assert!(problems.contains("the record of what was sent cannot be read"), "{status:#}");
}

/// `script` runs the command in a pseudo-terminal: stderr is a terminal there.
fn on_a_terminal(machine: &Machine, command: &str, vars: &[(&str, &str)]) -> String {
    let mut script = machine.shell(&format!("script -qec \"$DLT {command}\" /dev/null"));
    script.env("RUNTIME__TELEMETRY_DETACHED_SENDER", "false").envs(vars.iter().copied());
    let output = script.stdin(Stdio::null()).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

fn script_available() -> bool {
    std::process::Command::new("script").arg("--version").output().is_ok()
}

const NOTICE_LINE: &str = "dlt collects anonymous usage telemetry";

#[cfg(target_os = "linux")]
#[test]
fn the_first_run_on_a_terminal_shows_the_notice_once_and_sends_nothing_then() {
    if !script_available() {
        eprintln!("skipped: util-linux's script is not installed");
        return;
    }
    let machine = Machine::new();
    let first = on_a_terminal(&machine, "telemetry", &[]);
    assert!(first.starts_with(NOTICE_LINE), "before anything else: {first}");
    for needed in ["dlt telemetry log", "dlt --disable-telemetry", "docs/privacy.md"] {
        assert!(first.contains(needed), "{needed}: {first}");
    }
    assert!(first.contains("delivery: none this run (the first-run notice was shown"), "{first}");
    assert!(machine.endpoint.requests().is_empty(), "that run sends nothing");
    assert_eq!(machine.waiting(), (0, false), "its messages are dropped, not kept");
    assert!(machine.global().join("telemetry/notice-shown").exists());

    let second = on_a_terminal(&machine, "telemetry", &[]);
    assert!(!second.contains(NOTICE_LINE), "shown once: {second}");
    assert_eq!(machine.endpoint.requests().len(), 1, "the next run sends");
    assert_eq!(machine.sent_log().len(), 1);
}

#[cfg(target_os = "linux")]
#[test]
fn no_notice_without_a_terminal_for_json_or_when_any_opt_out_applies() {
    if !script_available() {
        eprintln!("skipped: util-linux's script is not installed");
        return;
    }
    let machine = Machine::new();
    let shown = machine.global().join("telemetry/notice-shown");
    for off in [("RUNTIME__DLTHUB_TELEMETRY", "false"), ("DO_NOT_TRACK", "1"), ("ENABLE_RUNTIME_TRACE", "false")] {
        let printed = on_a_terminal(&machine, "telemetry", &[off]);
        assert!(!printed.contains(NOTICE_LINE), "{off:?}: {printed}");
    }
    let printed = on_a_terminal(&machine, "telemetry --json", &[]);
    assert!(!printed.contains(NOTICE_LINE), "{printed}");
    assert!(!shown.exists(), "nothing recorded");
    assert_eq!(machine.endpoint.requests().len(), 1, "--json on a terminal sends as always");

    let output = machine.dlt(&["telemetry"], &[]);
    assert!(!stderr(&output).contains(NOTICE_LINE) && !stdout(&output).contains(NOTICE_LINE));
    assert_eq!(machine.endpoint.requests().len(), 2, "without a terminal: sent as always");
    assert!(!shown.exists(), "nothing recorded");
}
