//! Consent, as a user meets it on the command line: a message goes only to the recipient it
//! was recorded for, `--disable-telemetry` sends nothing, and no secret is ever printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::SystemTime;

use common::{Machine, stderr, stdout};
use dlt_test_support::{Answer, Recorder};

#[test]
fn a_kept_message_goes_only_to_its_own_recipient_with_its_own_key() {
    let machine = Machine::new();
    let a = machine.endpoint_url();
    let key = [("RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY", "K_write_key")];
    // A is down: the message recorded for A with K is kept.
    machine.endpoint.set_answer(Answer::disconnect());
    assert!(machine.dlt(&["telemetry"], &key).status.success());
    assert_eq!(machine.waiting().0, 1);

    // A run for B (no key) gets exactly its own message.
    let b = Recorder::start().unwrap();
    let b_url = format!("{}/v1/track", b.url());
    assert!(
        machine.dlt(&["init", "chess", "duckdb"], &[("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", &b_url)]).status.success()
    );
    let events: Vec<String> = b.requests().iter().flat_map(|r| r.track_messages().unwrap()).map(|m| m.event).collect();
    assert_eq!(events, ["command_init"], "B gets its own message, never A's");

    // A is back: a run for A with K delivers the kept message, with K's header.
    machine.endpoint.set_answer(Answer::ok());
    let since = SystemTime::now();
    assert!(machine.dlt(&["telemetry"], &key).status.success());
    let delivered = machine.endpoint.requests_sent_since(since);
    assert_eq!(delivered.len(), 2, "the kept message and the new one");
    for request in &delivered {
        assert_eq!(request.path, "/v1/track");
        assert_eq!(request.header("authorization"), Some("Basic S193cml0ZV9rZXk6"));
    }
    assert_eq!(machine.waiting().0, 0);
    assert!(delivered.iter().all(|request| format!("{}{}", machine.endpoint.url(), request.path) == a));
}

#[test]
fn disable_telemetry_sends_nothing_whatever_else_is_configured() {
    let machine = Machine::new();
    let on = [("RUNTIME__DLTHUB_TELEMETRY", "true")];
    for run in [Machine::dlt, Machine::dlt_detached] {
        let output = run(&machine, &["--disable-telemetry", "telemetry"], &on);
        assert!(output.status.success(), "{}", stderr(&output));
        assert!(stdout(&output).contains("Telemetry is DISABLED"), "{}", stdout(&output));
        assert_eq!(machine.waiting(), (0, false), "nothing kept, no sender started");
    }
    // Every other command of an opted-out user, too.
    let init = machine.dlt(&["init", "chess", "duckdb"], &on);
    assert!(init.status.success(), "{}", stderr(&init));
    let enable = machine.dlt(&["--enable-telemetry"], &[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
    assert!(enable.status.success(), "{}", stderr(&enable));
    assert!(stderr(&enable).contains("telemetry stays off"), "{}", stderr(&enable));
    assert!(machine.endpoint.requests().is_empty(), "zero requests");
}

#[test]
fn a_switch_that_cannot_be_written_sends_nothing_either() {
    let machine = Machine::new();
    // A file where the global dir should be: nothing can be written there (even as root).
    let blocked = machine.root.path().join("blocked");
    std::fs::write(&blocked, "not a folder").unwrap();
    let output = machine.dlt(&["--disable-telemetry", "telemetry"], &[("DLT_GLOBAL_DIR", blocked.to_str().unwrap())]);
    assert_ne!(output.status.code(), Some(0));
    assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
    assert!(machine.endpoint.requests().is_empty());
}

#[test]
fn passwords_in_endpoints_are_never_printed() {
    let machine = Machine::new();
    for password in ["Xy;9", "p,w", "p)w", "p]w", "p}w", "pa/ss", "p@ss", "p%40w", "p#w", "p?w"] {
        let endpoint = format!("http://collector:{password}@127.0.0.1:9/v1/track");
        for args in [&["telemetry"][..], &["telemetry", "--json"]] {
            let output = machine.dlt(args, &[("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", &endpoint)]);
            let printed = format!("{}{}", stdout(&output), stderr(&output));
            assert!(!printed.contains(password), "{password}: {printed}");
            let secret_part = &password[1..password.len() - 1];
            assert!(!printed.contains(&format!(":{secret_part}")), "{password}: {printed}");
            assert!(!printed.contains("collector"), "the user name is hidden too: {printed}");
        }
    }
    for unparseable in
        ["https://u:pa/ss@h/x", "http://u:s3cr3t@host:99999/x", "u:s3cr3t@host/x", "http://u:s3cr3t@h/\n"]
    {
        let output = machine.dlt(&["telemetry"], &[("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", unparseable)]);
        assert_eq!(output.status.code(), Some(2), "{unparseable:?}");
        let error = stderr(&output);
        assert_eq!(error.lines().count(), 1, "{error}");
        assert!(error.starts_with("error: RUNTIME__DLTHUB_TELEMETRY_ENDPOINT=*** (environment): expected"), "{error}");
        assert!(!error.contains("s3cr3t") && !error.contains("pa/ss"), "{error}");
    }
}

#[test]
fn the_opt_out_mark_is_shown_and_nothing_recorded_before_it_waits() {
    let machine = Machine::new();
    machine.endpoint.set_answer(Answer::disconnect());
    assert!(machine.dlt(&["telemetry"], &[]).status.success());
    assert_eq!(machine.waiting().0, 1);
    assert!(machine.dlt(&["--disable-telemetry"], &[]).status.success());
    assert_eq!(machine.waiting().0, 0, "switching off deletes what waits");
    let json = machine.dlt(&["telemetry", "--json"], &[]);
    assert!(json.status.success(), "{}", stderr(&json));
    let status: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(status["opted_out_at"].is_string(), "{status}");
    assert_eq!(status["telemetry"]["enabled"], false);

    machine.endpoint.set_answer(Answer::ok());
    let since = SystemTime::now();
    assert!(machine.dlt(&["--enable-telemetry"], &[]).status.success());
    let after: Vec<String> = machine
        .endpoint
        .requests_sent_since(since)
        .iter()
        .flat_map(|request| request.track_messages().unwrap())
        .map(|message| message.event)
        .collect();
    assert_eq!(after, ["command_telemetry.switch"], "nothing from before the opt-out");
}

/// 24 switches at once, as separate `dlt` processes: each takes the switch lock, so the project
/// file stays valid TOML with every comment, no temporary file is left, and the value is the one
/// a last switch writes.
#[test]
fn twenty_four_concurrent_switches_leave_a_valid_file_with_its_comments() {
    let machine = Machine::new();
    let dir = machine.project().join(".dlt");
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("config.toml");
    let original =
        "# top\n[runtime]\nlog_level = \"INFO\" # keep\ndlthub_telemetry = true\n\n[sources.x]\n# inner\nkey = 1\n";
    std::fs::write(&config, original).unwrap();
    let switches: Vec<_> = (0..24)
        .map(|index| {
            let switch = if index % 2 == 0 { "--disable-telemetry" } else { "--enable-telemetry" };
            machine.command(&[switch], &[]).stdout(std::process::Stdio::null()).spawn().unwrap()
        })
        .collect();
    for mut switch in switches {
        assert!(switch.wait().unwrap().success());
    }
    // Whichever switch came last, the file is the original with that value: nothing lost,
    // nothing torn.
    let text = std::fs::read_to_string(&config).unwrap();
    let switched_off = original.replace("dlthub_telemetry = true", "dlthub_telemetry = false");
    assert!(text == original || text == switched_off, "{text}");
    assert!(machine.dlt(&["--disable-telemetry"], &[]).status.success());
    assert_eq!(std::fs::read_to_string(&config).unwrap(), switched_off);
    let left: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert_eq!(left, ["config.toml"]);
}
