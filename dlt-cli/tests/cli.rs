//! The real `dlt` binary, spawned with temporary global, project and home dirs and a loopback
//! endpoint: never the real home or the network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use dlt_telemetry_model::TrackMessage;
use dlt_test_support::{ConnectProxy, SentryReceiver};

mod common;

use common::{Machine, stderr, stdout};

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_seeds_disable_then_init_switches_first_and_sends_nothing() {
    let machine = Machine::new();
    let output = machine.dlt(&["--disable-telemetry", "init", "chess", "duckdb"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = stdout(&output);
    assert!(printed.starts_with("Telemetry switched OFF\n"), "{printed}");
    assert!(printed.contains("Created "), "{printed}");
    assert_eq!(read(&machine.global().join("config.toml")), "[runtime]\ndlthub_telemetry = false\n");
    let project_config = read(&machine.project().join(".dlt/config.toml"));
    assert!(project_config.contains("dlthub_telemetry = false\n"), "{project_config}");
    assert!(machine.project().join(".dlt/secrets.toml").exists());
    assert!(machine.received().is_empty(), "opting out sends nothing, not even the switch");
}

#[test]
fn bare_disable_exits_0_sends_nothing_and_writes_only_the_global_file() {
    let machine = Machine::new();
    let output = machine.dlt(&["--disable-telemetry"], &[]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "Telemetry switched OFF\n");
    assert!(!machine.project().join(".dlt").exists(), "the project dir is never created by the switch");
    let mut files: Vec<_> = fs::read_dir(machine.global()).unwrap().map(|e| e.unwrap().file_name()).collect();
    files.sort();
    assert_eq!(files, ["config.toml", "telemetry"], "no id file");
    let telemetry: Vec<_> =
        fs::read_dir(machine.global().join("telemetry")).unwrap().map(|e| e.unwrap().file_name()).collect();
    let mut telemetry = telemetry;
    telemetry.sort();
    assert_eq!(telemetry, ["opt-out", "switch.lock"], "the opt-out mark, and no outbox");
    assert!(machine.received().is_empty());

    let status = machine.dlt(&["telemetry"], &[]);
    assert!(status.status.success(), "{}", stderr(&status));
    let printed = stdout(&status);
    assert!(printed.starts_with("Telemetry is DISABLED\n"), "{printed}");
    assert!(
        printed
            .contains(&format!("runtime.dlthub_telemetry=false ({})", machine.global().join("config.toml").display()))
    );
    assert!(machine.received().is_empty());
}

#[test]
fn telemetry_status_prints_plainly_and_sends_command_telemetry() {
    let machine = Machine::new();
    let output = machine.dlt(&["telemetry"], &[("RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY", "test_write_key_123")]);
    assert!(output.status.success());
    let printed = stdout(&output);
    assert!(
        printed.starts_with("Telemetry is ENABLED\n  decided by: runtime.dlthub_telemetry=true (default)\n"),
        "{printed}"
    );
    assert!(printed.contains(&format!("endpoint: {}", machine.endpoint_url())), "{printed}");
    assert!(printed.contains("segment write key: set\n") && printed.contains("sentry dsn: not set\n"), "{printed}");
    assert!(!printed.contains("test_write_key_123"), "a secret is never printed");
    assert!(!printed.contains('\x1b'), "no ANSI codes when stdout is not a terminal");
    assert_eq!(stderr(&output), "");

    assert!(machine.endpoint.wait_for(1, Duration::from_secs(5)));
    let requests = machine.endpoint.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("user-agent"), Some(concat!("dlt/", env!("CARGO_PKG_VERSION"))));
    assert_eq!(requests[0].header("authorization"), Some("Basic dGVzdF93cml0ZV9rZXlfMTIzOg=="));
    let messages = machine.received();
    assert_eq!(messages[0].event, "command_telemetry");
    assert_eq!(messages[0].properties["success"], true);
    assert_eq!(messages[0].context.library.name, "dlt");
    assert_eq!(messages[0].context.python, None, "there is no Python");
    assert_eq!(messages[0].message_type.as_deref(), Some("track"));
    assert!(messages[0].message_id.is_some() && messages[0].timestamp.is_some() && messages[0].sent_at.is_some());
}

/// With a write key and no endpoint, events would go to Segment's real API: this test must not
/// reach it even if telemetry stopped being off here. Usage telemetry is off (`DO_NOT_TRACK`)
/// and sent inline (no sender outlives the test), and every HTTPS request would go through a
/// loopback proxy that tunnels to loopback only: it must see none, and nothing may be queued.
#[test]
fn a_write_key_without_an_endpoint_targets_segments_batch_api() {
    let machine = Machine::new();
    let proxy = ConnectProxy::start().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_dlt"))
        .env_clear()
        .env("DLT_GLOBAL_DIR", machine.global())
        .env("DLT_PROJECT_DIR", machine.project())
        .env("HOME", machine.root.path().join("home"))
        .env("RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY", "my_key")
        .env("DO_NOT_TRACK", "1")
        .env("RUNTIME__TELEMETRY_DETACHED_SENDER", "false")
        .env("HTTPS_PROXY", proxy.url())
        .env("HTTP_PROXY", proxy.url())
        .arg("telemetry")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = stdout(&output);
    assert!(printed.contains("endpoint: https://api.segment.io/v1/batch\n"), "{printed}");
    assert!(printed.contains("segment write key: set\n"), "{printed}");
    assert!(proxy.requests().is_empty(), "nothing went out: {:?}", proxy.requests());
    assert!(!machine.global().join("telemetry").exists(), "nothing was queued: {:?}", machine.global_files());
}

#[test]
fn enable_sends_the_switch_event_after_switching_on() {
    let machine = Machine::new();
    assert!(machine.dlt(&["--disable-telemetry"], &[]).status.success());
    let output = machine.dlt(&["--enable-telemetry"], &[]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "Telemetry switched ON\n");
    assert_eq!(read(&machine.global().join("config.toml")), "[runtime]\ndlthub_telemetry = true\n");
    let messages = machine.received();
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].event, "command_telemetry.switch");
    assert_eq!(messages[0].properties["enabled"], true);
    assert_eq!(messages[0].properties["success"], true);
}

#[test]
fn an_opt_out_anywhere_beats_every_true() {
    let machine = Machine::new();
    assert!(machine.dlt(&["--disable-telemetry"], &[]).status.success());
    fs::create_dir_all(machine.project().join(".dlt")).unwrap();
    fs::write(machine.project().join(".dlt/config.toml"), "[runtime]\ndlthub_telemetry = true\n").unwrap();
    let global_config = machine.global().join("config.toml");
    let off = machine.dlt(&["telemetry"], &[("RUNTIME__DLTHUB_TELEMETRY", "true")]);
    assert!(off.status.success(), "{}", stderr(&off));
    assert_eq!(
        stdout(&off).lines().take(2).collect::<Vec<_>>(),
        [
            "Telemetry is DISABLED",
            &format!("  decided by: runtime.dlthub_telemetry=false ({})", global_config.display())
        ]
    );
    assert!(machine.received().is_empty(), "no true anywhere turns it back on");

    let switched = machine.dlt(&["--enable-telemetry"], &[("RUNTIME__DLTHUB_TELEMETRY", "n")]);
    assert!(switched.status.success());
    assert!(
        stderr(&switched).contains("telemetry stays off: RUNTIME__DLTHUB_TELEMETRY=false (environment) keeps it off"),
        "{}",
        stderr(&switched)
    );
    let off = machine.dlt(&["telemetry"], &[("RUNTIME__DLTHUB_TELEMETRY", "n")]);
    assert!(off.status.success(), "{}", stderr(&off));
    assert!(
        stdout(&off)
            .starts_with("Telemetry is DISABLED\n  decided by: RUNTIME__DLTHUB_TELEMETRY=false (environment)\n")
    );
    assert!(machine.received().is_empty(), "nothing was sent");
}

#[test]
fn a_bad_value_is_one_clear_line_and_exit_2() {
    let machine = Machine::new();
    for args in [&["telemetry"][..], &["init", "chess", "duckdb"], &["--enable-telemetry"]] {
        let output = machine.dlt(args, &[("RUNTIME__DLTHUB_TELEMETRY", "off")]);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(
            stderr(&output),
            "error: RUNTIME__DLTHUB_TELEMETRY=\"off\" (environment): expected one of true/false/yes/no/1/0\n"
        );
    }
    let sentry = SentryReceiver::start().unwrap();
    let dsn = sentry.dsn();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("RUNTIME__SENTRY_DSN", "not-a-dsn")],
            "error: RUNTIME__SENTRY_DSN=*** (environment): the Sentry DSN is invalid",
        ),
        (&[("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "1e19")], "error: RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT=\"1e19\""),
        (
            &[("RUNTIME__LOG_LEVEL", "LOUD"), ("RUNTIME__SENTRY_DSN", &dsn)],
            "error: RUNTIME__LOG_LEVEL=\"LOUD\" (environment): expected one of CRITICAL",
        ),
        (
            &[("RUNTIME__LOG_LEVEL", "LOUD")],
            "error: RUNTIME__LOG_LEVEL=\"LOUD\" (environment): expected one of CRITICAL",
        ),
    ];
    for (vars, expected) in cases {
        let output = machine.dlt(&["telemetry"], vars);
        assert_eq!(output.status.code(), Some(2), "{vars:?}");
        let error = stderr(&output);
        assert_eq!(error.lines().count(), 1, "{error}");
        assert!(error.starts_with(expected), "{error}");
        assert!(stdout(&output).is_empty());
    }
    assert!(sentry.requests().is_empty());
    fs::write(machine.global().join("config.toml"), "[runtime\n").unwrap();
    let output = machine.dlt(&["--disable-telemetry"], &[]);
    assert_eq!(output.status.code(), Some(2));
    let error = stderr(&output);
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(error.contains("config.toml:1:"), "{error}");
    assert_eq!(read(&machine.global().join("config.toml")), "[runtime\n", "an invalid file is left untouched");
    assert!(machine.received().is_empty());
}

#[test]
fn do_not_track_and_the_master_switch_send_nothing() {
    let machine = Machine::new();
    let cases = [
        (("DO_NOT_TRACK", "1"), "decided by: DO_NOT_TRACK (environment)"),
        (("ENABLE_RUNTIME_TRACE", "false"), "decided by: ENABLE_RUNTIME_TRACE=false (environment)"),
    ];
    for (var, decided) in cases {
        let output = machine.dlt(&["telemetry"], &[var]);
        assert!(output.status.success(), "{}", stderr(&output));
        let printed = stdout(&output);
        assert!(printed.starts_with("Telemetry is DISABLED\n"), "{printed}");
        assert!(printed.contains(decided), "{printed}");
        assert!(machine.dlt(&["--enable-telemetry", "init", "chess", "duckdb"], &[var]).status.success());
    }
    assert!(machine.received().is_empty());
}

#[test]
fn the_switch_edits_every_golden_case_as_dlt_did() {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/golden/config-toml");
    let mut checked = 0;
    for case in fs::read_dir(&cases).unwrap() {
        let case = case.unwrap().path();
        let machine = Machine::new();
        fs::create_dir_all(machine.project().join(".dlt")).unwrap();
        if case.join("project.before.toml").exists() {
            fs::write(machine.project().join(".dlt/config.toml"), read(&case.join("project.before.toml"))).unwrap();
        }
        if case.join("global.before.toml").exists() {
            fs::write(machine.global().join("config.toml"), read(&case.join("global.before.toml"))).unwrap();
        }
        let output = machine.dlt(&["--disable-telemetry"], &[]);
        assert!(output.status.success(), "{}: {}", case.display(), stderr(&output));
        assert_eq!(
            read(&machine.project().join(".dlt/config.toml")),
            read(&case.join("project.after.toml")),
            "{}",
            case.display()
        );
        assert_eq!(
            read(&machine.global().join("config.toml")),
            read(&case.join("global.after.toml")),
            "{}",
            case.display()
        );
        checked += 1;
    }
    assert!(checked >= 2);
}

#[test]
fn init_never_overwrites() {
    let machine = Machine::new();
    fs::create_dir_all(machine.project().join(".dlt")).unwrap();
    fs::write(machine.project().join(".dlt/secrets.toml"), "token = \"mine\"\n").unwrap();
    let output = machine.dlt(&["init", "chess", "duckdb"], &[("RUNTIME__DLTHUB_TELEMETRY_DEBUG", "true")]);
    assert!(output.status.success());
    assert_eq!(read(&machine.project().join(".dlt/secrets.toml")), "token = \"mine\"\n");
    assert!(stdout(&output).contains("Kept "));
    let project_config = read(&machine.project().join(".dlt/config.toml"));
    assert!(
        project_config.contains("[runtime]\nlog_level=\"WARNING\"")
            && project_config.ends_with("dlthub_telemetry = true\n")
    );
    let events: Vec<TrackMessage> =
        stderr(&output).lines().filter(|l| l.starts_with('{')).map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event, "command_init");
    assert_eq!(events[0].properties["pipeline_name"], "chess");
    assert_eq!(events[0].properties["destination_name"], "duckdb");
}

#[test]
fn pipeline_trace_shows_a_saved_dlt_trace_and_is_tracked_before() {
    let machine = Machine::new();
    let golden =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/golden/trace/dlt-1.31-pipeline-trace-asdict.json");
    fs::create_dir_all(machine.global().join("pipelines/tiny")).unwrap();
    fs::write(machine.global().join("pipelines/tiny/trace.json"), read(&golden)).unwrap();

    let output = machine.dlt(&["pipeline", "tiny", "trace"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = stdout(&output);
    assert!(
        printed.starts_with("Run started at 2026-11-25 14:11:27.305 UTC and COMPLETED in 0.91 s with 3 steps.\n"),
        "{printed}"
    );
    assert!(printed.contains("Step extract COMPLETED in 0.11 s.\n"), "{printed}");
    assert!(printed.contains("Transaction id: 7a2854ba5e862d2a319cfca0a5d578b1"), "{printed}");

    let json = machine.dlt(&["pipeline", "tiny", "trace", "--json"], &[]);
    assert!(json.status.success(), "{}", stderr(&json));
    let trace: dlt_telemetry_model::PipelineTrace = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(trace.steps.len(), 3);

    let failed = machine.dlt(&["pipeline", "nothing_here", "trace"], &[]);
    assert_eq!(failed.status.code(), Some(1));

    let messages = machine.received();
    assert_eq!(messages.len(), 3);
    for message in &messages {
        assert_eq!(message.event, "command_pipeline");
        assert_eq!(message.properties["operation"], "trace");
        assert_eq!(message.properties["success"], true, "tracked before it runs, so a failure does not show");
    }
}

/// A step error can quote data (a row, a server's message): its control characters must not
/// drive the terminal (clear it, set its title, move the cursor) or print a line of their own
/// that looks like the command's.
#[test]
fn pipeline_trace_shows_control_characters_escaped_and_a_multi_line_error_indented() {
    let machine = Machine::new();
    let golden =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/golden/trace/dlt-1.31-pipeline-trace-asdict.json");
    let mut trace: serde_json::Value = serde_json::from_str(&read(&golden)).unwrap();
    let last = trace["steps"].as_array().unwrap().len() - 1;
    trace["steps"][last]["step_exception"] =
        "boom \u{1b}[2J\u{1b}]0;title\u{7}\r\nStep load COMPLETED in 0.00 s.\u{202e}".into();
    trace["dataset_name"] = "data\u{1b}[31m".into();
    fs::create_dir_all(machine.global().join("pipelines/tiny")).unwrap();
    fs::write(machine.global().join("pipelines/tiny/trace.json"), trace.to_string()).unwrap();

    let output = machine.dlt(&["pipeline", "tiny", "trace"], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = stdout(&output);
    assert!(!printed.chars().any(|c| c.is_control() && c != '\n' || c == '\u{202e}'), "{printed:?}");
    assert!(printed.contains("  error: boom \\u{1b}[2J\\u{1b}]0;title\\u{7}\\r\n    Step load COMPLETED"), "{printed}");
    assert!(!printed.lines().any(|line| line.starts_with("Step load COMPLETED")), "{printed}");
    assert!(printed.contains("Dataset: data\\u{1b}[31m\n"), "{printed}");
}

#[test]
fn pipeline_trace_without_a_trace_or_with_a_bad_name_fails_clearly() {
    let machine = Machine::new();
    let missing = machine.dlt(&["pipeline", "nothing_here", "trace"], &[]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).starts_with("error: pipeline \"nothing_here\" has no saved trace"),
        "{}",
        stderr(&missing)
    );
    let bad = machine.dlt(&["pipeline", "../etc", "trace"], &[]);
    assert_eq!(bad.status.code(), Some(2));
    fs::create_dir_all(machine.global().join("pipelines/broken")).unwrap();
    fs::write(machine.global().join("pipelines/broken/trace.json"), "{").unwrap();
    let broken = machine.dlt(&["pipeline", "broken", "trace"], &[]);
    assert_eq!(broken.status.code(), Some(1));
    assert!(stderr(&broken).contains("not a pipeline trace"), "{}", stderr(&broken));
}

#[test]
fn help_version_and_usage_errors() {
    let machine = Machine::new();
    let version = machine.dlt(&["--version"], &[]);
    assert_eq!((version.status.code(), stdout(&version)), (Some(0), format!("dlt {}\n", env!("CARGO_PKG_VERSION"))));
    for args in [&["--help"][..], &["telemetry", "--help"], &["init", "--help"], &["pipeline", "--help"]] {
        let output = machine.dlt(args, &[]);
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        assert!(stdout(&output).contains("Usage: dlt"), "{args:?}");
    }
    for args in [&[][..], &["bogus"], &["init", "chess"], &["--enable-telemetry", "--disable-telemetry"]] {
        assert_eq!(machine.dlt(args, &[]).status.code(), Some(2), "{args:?}");
    }
    assert!(machine.received().is_empty(), "help, version and usage errors send nothing");
}

#[test]
fn every_message_has_a_fresh_anonymous_id_and_no_id_file_is_written() {
    let machine = Machine::new();
    for _ in 0..2 {
        let output = machine.dlt(&["telemetry"], &[]);
        assert!(output.status.success(), "{}", stderr(&output));
    }
    let ids: Vec<String> = machine.received().into_iter().map(|m| m.anonymous_id).collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    // Only the recipient's outbox folder (its description), no message left, and the record of
    // what was sent (its description, counts and messages, the two sent above). Lock files are
    // left out: whether the second run's look at the outbox took its lock before it exited is
    // a matter of timing.
    let mut files: Vec<String> = machine
        .global_files()
        .iter()
        .filter_map(|path| Path::new(path).file_name().map(|name| name.to_string_lossy().into_owned()))
        .collect();
    files.retain(|name| name != ".lock");
    files.sort();
    assert_eq!(files, ["counts.json", "recipient.json", "recipient.json", "sent.jsonl"], "no id file, nothing waiting");
    let record = fs::read_to_string(
        machine.global().join("telemetry/sent").read_dir().unwrap().next().unwrap().unwrap().path().join("sent.jsonl"),
    )
    .unwrap();
    for id in &ids {
        assert_eq!(record.matches(id.as_str()).count(), 1, "each message once, with its own id: {record}");
    }
}

#[test]
fn opentelemetry_is_shown_without_secrets_and_each_command_is_one_span() {
    let machine = Machine::new();
    let collector = dlt_test_support::OtlpReceiver::start().unwrap();
    let endpoint = collector.url().replace("http://", "http://collector:hunter2@");
    let vars =
        [("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()), ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cr3t-key")];
    let output = machine.dlt(&["telemetry"], &vars);
    assert!(output.status.success(), "{}", stderr(&output));
    let printed = stdout(&output);
    let shown = format!("opentelemetry: {}/v1/traces", collector.url().replace("http://", "http://***@"));
    assert!(printed.contains(&shown), "{printed}");
    assert!(!printed.contains("hunter2") && !printed.contains("s3cr3t-key"), "{printed}");
    let spans = collector.wait_for_spans(1, Duration::from_secs(10)).unwrap();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].name(), "dlt telemetry");
    assert_eq!(spans[0].resource_string("service.name"), Some("dlt"));
    let request = &collector.requests()[0];
    assert_eq!(request.header("x-api-key"), Some("s3cr3t-key"));

    let off = machine.dlt(&["telemetry"], &[]);
    assert!(off.status.success(), "{}", stderr(&off));
    assert!(stdout(&off).contains("opentelemetry: off\n"), "{}", stdout(&off));
}
