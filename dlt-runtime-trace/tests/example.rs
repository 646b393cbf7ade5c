//! The `traced_pipeline` example, run as a real process with temporary dirs and loopback
//! servers, as a user would run it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use common::{Dirs, golden, keys, parse_lines, schema_failures};
use dlt_runtime_trace::load_trace;
use dlt_telemetry_model::TrackMessage;
use dlt_test_support::{HangingServer, RawEnvelope, Recorder, SentryReceiver};

/// The example binary, built beside this test binary by `cargo test`.
fn example_binary() -> PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    let binary =
        deps.parent().unwrap().join("examples").join(format!("traced_pipeline{}", std::env::consts::EXE_SUFFIX));
    assert!(binary.exists(), "build the example first: cargo build --example traced_pipeline ({})", binary.display());
    binary
}

/// The example opts in to a detached sender; these tests have it send inline, so that what a
/// run sent has arrived when it exits (`tests/host_sender.rs` tests the detached sender).
const INLINE: (&str, &str) = ("RUNTIME__TELEMETRY_DETACHED_SENDER", "false");

/// Runs the example with only the test's dirs and `vars` in its environment, sending inline.
fn run_example(dirs: &Dirs, vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(example_binary());
    command.env_clear().envs(dirs.vars()).env(INLINE.0, INLINE.1);
    command.envs(vars.iter().copied()).args(args).current_dir(dirs.project());
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn outcomes(messages: &[TrackMessage]) -> Vec<(String, bool)> {
    messages.iter().map(|m| (m.event.clone(), m.properties["success"].as_bool().unwrap())).collect()
}

fn expected(outcomes: &[(&str, bool)]) -> Vec<(String, bool)> {
    outcomes.iter().map(|(event, success)| ((*event).to_owned(), *success)).collect()
}

#[test]
fn out_of_the_box_it_prints_four_events_to_stderr_and_a_summary() {
    let dirs = Dirs::new();
    let tripwire = HangingServer::start().unwrap();
    let output = run_example(&dirs, &[("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", &tripwire.url())], &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let messages = parse_lines(&stderr(&output));
    assert_eq!(
        outcomes(&messages),
        expected(&[
            ("pipeline_extract", true),
            ("pipeline_normalize", true),
            ("pipeline_load", true),
            ("pipeline_run", true)
        ])
    );
    for message in &messages {
        assert_eq!(schema_failures(message), Vec::<String>::new());
        let step = message.event.trim_start_matches("pipeline_");
        let dlt = golden(&format!("A07_pipeline_run.pipeline_{step}.json"));
        assert_eq!(keys(&message.properties), keys(&dlt.properties), "{step}: dlt's property names and order");
    }
    assert_eq!(tripwire.connections(), 0, "the debug sink sends nothing");
    let summary = stdout(&output);
    assert!(summary.contains("Pipeline chess_pipeline run COMPLETED"), "{summary}");
    assert!(summary.contains("extract    ok"), "{summary}");
    let trace = load_trace(&dirs.global().join("pipelines"), "chess_pipeline").unwrap().unwrap();
    let steps: Vec<&str> = trace.steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(steps, ["extract", "normalize", "load", "run"]);
    assert_eq!(trace.pipeline.dataset_name.as_deref(), Some("chess_data"));
    let loaded =
        std::fs::read_to_string(dirs.global().join("pipelines/chess_pipeline/load/chess_data/players.jsonl")).unwrap();
    assert_eq!(loaded.lines().count(), 5);
    assert!(loaded.contains(r#""ratings__blitz":3291"#), "nested objects are flattened: {loaded}");
}

#[test]
fn configured_to_send_it_posts_to_segment_and_sentry_and_reports_the_failed_step() {
    let dirs = Dirs::new();
    let segment = Recorder::start().unwrap();
    let sentry = SentryReceiver::start().unwrap();
    let endpoint = format!("{}/v1/track", segment.url());
    let vars = [
        ("RUNTIME__DLTHUB_TELEMETRY_DEBUG", "false"),
        ("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", endpoint.as_str()),
        ("RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY", "test_write_key_123"),
        ("RUNTIME__SENTRY_DSN", &sentry.dsn()),
    ];
    let output =
        run_example(&dirs, &vars, &["--pipeline-name", "tiny", "--dataset-name", "tiny_data", "--fail-at", "load"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(parse_lines(&stderr(&output)).is_empty(), "nothing printed when sending");

    assert!(segment.wait_for(4, Duration::from_secs(5)));
    let requests = segment.requests();
    let mut messages: Vec<TrackMessage> = requests.iter().map(|r| serde_json::from_slice(&r.body).unwrap()).collect();
    // A few requests go at once: the order on the wire is free, each message carries its time.
    let order = ["pipeline_extract", "pipeline_normalize", "pipeline_load", "pipeline_run"];
    messages.sort_by_key(|message| order.iter().position(|event| *event == message.event));
    assert_eq!(
        outcomes(&messages),
        expected(&[
            ("pipeline_extract", true),
            ("pipeline_normalize", true),
            ("pipeline_load", false),
            ("pipeline_run", false)
        ])
    );
    let dlt = golden("A07_pipeline_run.pipeline_load.json");
    for request in &requests {
        assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/v1/track"));
        assert_eq!(request.header("content-type"), Some("application/json"));
        assert_eq!(request.header("authorization"), Some("Basic dGVzdF93cml0ZV9rZXlfMTIzOg=="));
        assert!(request.header("user-agent").unwrap().starts_with("traced_pipeline/"));
    }
    assert_eq!(messages[2].properties["pipeline_name_hash"], dlt.properties["pipeline_name_hash"]);
    assert_eq!(messages[2].properties["dataset_name_hash"], dlt.properties["dataset_name_hash"]);

    assert!(sentry.wait_for(1, Duration::from_secs(5)));
    let transaction = sentry
        .requests()
        .iter()
        .flat_map(|r| RawEnvelope::parse(&r.body).unwrap().items)
        .find(|item| item.item_type == "transaction")
        .expect("a transaction")
        .payload;
    assert_eq!(transaction["transaction"], "run");
    assert_eq!(transaction["contexts"]["trace"]["op"], "run");
    assert_eq!(transaction["contexts"]["trace"]["status"], "internal_error");
    let spans: Vec<(&str, &str)> = transaction["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|span| (span["op"].as_str().unwrap(), span["status"].as_str().unwrap()))
        .collect();
    assert_eq!(spans, [("extract", "ok"), ("normalize", "ok"), ("load", "internal_error")]);
    for span in transaction["spans"].as_array().unwrap() {
        assert_eq!(span["tags"]["pipeline_name"], "tiny");
        assert_eq!(span["tags"]["destination"], "filesystem");
        assert_eq!(span["tags"]["dataset_name"], "tiny_data");
    }
    let body = String::from_utf8_lossy(&sentry.requests()[0].body).into_owned();
    assert!(!body.contains("test_write_key_123"), "the write key never reaches Sentry");
}

#[test]
fn a_failed_extract_sends_extract_and_run_only_and_exits_1() {
    let dirs = Dirs::new();
    let output = run_example(&dirs, &[], &["--fail-at", "extract"]);
    assert_eq!(output.status.code(), Some(1));
    let messages = parse_lines(&stderr(&output));
    assert_eq!(outcomes(&messages), expected(&[("pipeline_extract", false), ("pipeline_run", false)]));
    assert!(stdout(&output).contains("FAILED"));
}

#[test]
fn with_the_master_switch_off_nothing_is_traced_or_sent() {
    let dirs = Dirs::new();
    let tripwire = HangingServer::start().unwrap();
    let sentry = SentryReceiver::start().unwrap();
    let vars = [
        ("ENABLE_RUNTIME_TRACE", "false"),
        ("RUNTIME__DLTHUB_TELEMETRY_DEBUG", "false"),
        ("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", &tripwire.url()),
        ("RUNTIME__SENTRY_DSN", &sentry.dsn()),
    ];
    let output = run_example(&dirs, &vars, &[]);
    assert!(output.status.success());
    assert!(parse_lines(&stderr(&output)).is_empty());
    assert!(
        stdout(&output).contains("Tracing is off (ENABLE_RUNTIME_TRACE=false (environment))"),
        "{}",
        stdout(&output)
    );
    assert!(!dirs.global().join("pipelines/chess_pipeline/trace.json").exists());
    assert_eq!(tripwire.connections(), 0);
    assert!(sentry.requests().is_empty());
}

#[test]
fn a_bad_config_value_gives_one_warning_and_no_telemetry() {
    let dirs = Dirs::new();
    let tripwire = HangingServer::start().unwrap();
    let url = tripwire.url();
    let vars = [("RUNTIME__DLTHUB_TELEMETRY", "off"), ("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", url.as_str())];
    let output = run_example(&dirs, &vars, &[]);
    assert!(output.status.success(), "the host goes on");
    let errors = stderr(&output);
    let warnings: Vec<&str> = errors.lines().filter(|line| line.to_lowercase().contains("warn")).collect();
    assert_eq!(warnings.len(), 1, "{errors}");
    assert!(warnings[0].contains(r#"RUNTIME__DLTHUB_TELEMETRY="off" (environment)"#), "{errors}");
    assert!(parse_lines(&errors).is_empty());
    assert_eq!(tripwire.connections(), 0);
}

/// Kubernetes sends `SIGTERM`, then `SIGKILL`: a host killed while it shuts down (the example
/// installs no handler, as a library host may not) leaves what it had not delivered in the
/// outbox, written ahead before its last attempts, and the next run for the same endpoint
/// delivers it.
#[cfg(unix)]
#[test]
fn a_host_killed_while_it_shuts_down_leaves_its_messages_for_the_next_run() {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;

    use dlt_test_support::Answer;

    let dirs = Dirs::new();
    let endpoint = Recorder::with_answer(Answer::ok().with_delay(Duration::from_secs(60))).unwrap();
    let url = format!("{}/v1/track", endpoint.url());
    let vars = [
        ("RUNTIME__DLTHUB_TELEMETRY_DEBUG", "false"),
        ("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", url.as_str()),
        ("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "60"),
    ];
    let mut child = Command::new(example_binary())
        .env_clear()
        .envs(dirs.vars())
        .env(INLINE.0, INLINE.1)
        .envs(vars)
        .current_dir(dirs.project())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let lines = BufReader::new(child.stdout.take().unwrap());
    for line in lines.lines() {
        if line.unwrap().starts_with("Telemetry: ") {
            break; // printed just before the runtime shuts down
        }
    }
    let written_ahead = || common::outbox_messages(&dirs.global()).len() >= 4;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !written_ahead() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(written_ahead(), "the shutdown writes ahead first");
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed by the signal");

    // The next run for this endpoint, which answers now, delivers them with its own.
    endpoint.set_answer(Answer::ok());
    let since = std::time::SystemTime::now();
    let output = run_example(&dirs, &vars, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let events: Vec<String> = endpoint
        .requests_sent_since(since)
        .iter()
        .flat_map(|request| request.track_messages().unwrap())
        .map(|message| message.event)
        .collect();
    assert_eq!(events.len(), 8, "the four kept and the four new: {events:?}");
    assert!(common::outbox_messages(&dirs.global()).is_empty());
}

/// An endpoint answering 200 with a 512 MiB body: the host reads at most a small part of it,
/// and its memory stays small (peak RSS sampled from `/proc`, a Linux fact).
#[cfg(target_os = "linux")]
#[test]
fn a_huge_answer_is_not_read_and_the_host_stays_small() {
    use std::process::Stdio;

    let dirs = Dirs::new();
    let huge = dlt_test_support::HugeBodyServer::start(512 * 1024 * 1024).unwrap();
    let url = format!("{}/v1/track", huge.url());
    let vars = [("RUNTIME__DLTHUB_TELEMETRY_DEBUG", "false"), ("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", url.as_str())];
    let mut child = Command::new(example_binary())
        .env_clear()
        .envs(dirs.vars())
        .env(INLINE.0, INLINE.1)
        .envs(vars)
        .current_dir(dirs.project())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0_u64;
    let status = loop {
        if let Ok(status) = std::fs::read_to_string(&status_file) {
            let hwm = status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|kib| kib.trim().trim_end_matches("kB").trim().parse::<u64>().ok());
            peak_kib = peak_kib.max(hwm.unwrap_or(0));
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(status.success());
    assert!(peak_kib > 0 && peak_kib < 64 * 1024, "peak RSS {peak_kib} KiB");
    assert!(huge.bytes_sent() < 64 * 1024 * 1024, "the server wrote {} bytes", huge.bytes_sent());
}
