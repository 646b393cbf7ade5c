//! Hostile input, one test a row: what is put in place of a config file or a variable, and
//! what `dlt telemetry` must do with it. A bad input is one line naming the file or variable,
//! exit 2, within a second; a few odd but valid inputs work. Never a panic, never a hang.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{Machine, stderr, stdout};

/// What a row expects.
enum Expect {
    /// Exit 2 with one error line that contains this text (a file name or a variable).
    Refused(&'static str),
    /// Exit 0: the input is read as dlt reads it.
    Works,
}

/// Runs `dlt telemetry` on a machine prepared by `prepare`, with `vars`, and checks `expect`.
fn row(prepare: impl FnOnce(&Machine), vars: &[(&str, &str)], expect: Expect) {
    let machine = Machine::new();
    prepare(&machine);
    let started = Instant::now();
    let output = machine.dlt(&["telemetry"], vars);
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "it took {took:?}");
    let error = stderr(&output);
    assert!(!error.contains("panicked"), "{error}");
    match expect {
        Expect::Refused(names) => {
            assert_eq!(output.status.code(), Some(2), "{error}");
            assert_eq!(error.lines().count(), 1, "one line: {error}");
            assert!(error.starts_with("error: ") && error.contains(names), "{error}");
            assert!(stdout(&output).is_empty());
        }
        Expect::Works => {
            assert_eq!(output.status.code(), Some(0), "{error}");
            assert!(stdout(&output).starts_with("Telemetry is "), "{}", stdout(&output));
        }
    }
}

fn project_config(machine: &Machine) -> std::path::PathBuf {
    let dir = machine.project().join(".dlt");
    fs::create_dir_all(&dir).unwrap();
    dir.join("config.toml")
}

fn write_config(machine: &Machine, contents: impl AsRef<[u8]>) {
    fs::write(project_config(machine), contents).unwrap();
}

#[cfg(unix)]
#[test]
fn a_fifo_as_config_toml() {
    row(
        |machine| {
            assert!(std::process::Command::new("mkfifo").arg(project_config(machine)).status().unwrap().success())
        },
        &[],
        Expect::Refused("config.toml is a named pipe (FIFO), not a regular file"),
    );
}

/// `/dev/zero` reads without end; it exists on Linux and macOS.
#[cfg(unix)]
#[test]
fn a_symlink_to_dev_zero_as_config_toml() {
    row(
        |machine| std::os::unix::fs::symlink("/dev/zero", project_config(machine)).unwrap(),
        &[],
        Expect::Refused("config.toml is a device, not a regular file"),
    );
}

#[test]
fn a_two_mib_config_toml() {
    row(
        |machine| write_config(machine, "# padding\n".repeat(2 * 1024 * 1024 / 10 + 1)),
        &[],
        Expect::Refused("config.toml is larger than 1 MiB"),
    );
}

#[test]
fn a_config_toml_that_is_not_utf8() {
    row(
        |machine| write_config(machine, b"[runtime]\nlog_level = \"\xff\xfe\"\n"),
        &[],
        Expect::Refused("config.toml:2:"),
    );
}

#[test]
fn a_folder_named_config_toml() {
    row(
        |machine| fs::create_dir_all(project_config(machine)).unwrap(),
        &[],
        Expect::Refused("config.toml is a folder, not a regular file"),
    );
}

#[test]
fn deeply_nested_inline_tables() {
    let depth = 100_000;
    let text = format!("x = {}1{}\n", "{ a = ".repeat(depth), " }".repeat(depth));
    row(|machine| write_config(machine, text), &[], Expect::Refused("config.toml:1:"));
}

#[test]
fn deeply_nested_arrays() {
    let depth = 100_000;
    let text = format!("x = {}1{}\n", "[".repeat(depth), "]".repeat(depth));
    row(|machine| write_config(machine, text), &[], Expect::Refused("config.toml:1:"));
}

#[test]
fn a_newline_in_a_boolean_variable() {
    row(|_| {}, &[("RUNTIME__DLTHUB_TELEMETRY", "true\nfalse")], Expect::Refused("RUNTIME__DLTHUB_TELEMETRY="));
}

#[test]
fn a_control_character_in_a_url_variable() {
    row(
        |_| {},
        &[("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", "http://127.0.0.1:9/\u{7}track")],
        Expect::Refused("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT=*** (environment): expected an http or https URL"),
    );
}

#[test]
fn a_newline_in_a_url_variable() {
    row(
        |_| {},
        &[("RUNTIME__OTLP_ENDPOINT", "http://127.0.0.1:4318\nhttp://elsewhere")],
        Expect::Refused("RUNTIME__OTLP_ENDPOINT=*** (environment)"),
    );
}

#[test]
fn a_global_dir_that_is_a_file() {
    let machine = Machine::new();
    let file = machine.root.path().join("a-file");
    fs::write(&file, "x").unwrap();
    let output = machine.dlt(&["telemetry"], &[("DLT_GLOBAL_DIR", file.to_str().unwrap())]);
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(stderr(&output), format!("error: {} is not a folder (the global dir)\n", file.display()));
}

#[test]
fn a_byte_order_mark_works() {
    row(|machine| write_config(machine, "\u{feff}[runtime]\nlog_level = \"INFO\"\n"), &[], Expect::Works);
}

#[test]
fn crlf_line_ends_work() {
    row(|machine| write_config(machine, "[runtime]\r\nlog_level = \"INFO\"\r\n"), &[], Expect::Works);
}

#[test]
fn an_empty_config_toml_works() {
    row(|machine| write_config(machine, ""), &[], Expect::Works);
}

/// The switch on a hostile project file: the file is left as it was. Switching on writes
/// nothing; switching off still switches the global file (a repository's file cannot keep the
/// user from opting out), warns naming the file, and sends nothing.
#[test]
fn the_switch_never_touches_a_file_it_cannot_read() {
    let machine = Machine::new();
    let path = project_config(&machine);
    let bytes = b"[runtime]\ndlthub_telemetry = \"\xff\"\n";
    fs::write(&path, bytes).unwrap();
    let global = machine.global().join("config.toml");

    let output = machine.dlt(&["--enable-telemetry"], &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(fs::read(&path).unwrap(), bytes);
    assert!(!global.exists(), "nothing written when switching on meets a file it cannot read");

    let output = machine.dlt(&["--disable-telemetry"], &[]);
    assert_eq!(output.status.code(), Some(2), "the project's file is still an error: {}", stderr(&output));
    assert_eq!(fs::read(&path).unwrap(), bytes);
    let warning = stderr(&output);
    assert!(warning.contains("warning: ") && warning.contains(&path.display().to_string()), "{warning}");
    assert_eq!(fs::read_to_string(&global).unwrap(), "[runtime]\ndlthub_telemetry = false\n");
    assert!(machine.endpoint.requests().is_empty(), "nothing sent");
}

/// A trace of `steps` steps, as big as a user's long-running pipeline may make it.
fn big_trace(steps: usize) -> String {
    let golden =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/golden/trace/dlt-1.31-pipeline-trace-asdict.json");
    let mut trace: serde_json::Value = serde_json::from_str(&fs::read_to_string(golden).unwrap()).unwrap();
    let step = trace["steps"][0].clone();
    trace["steps"] = serde_json::Value::Array(vec![step; steps]);
    serde_json::to_string(&trace).unwrap()
}

fn save_trace(machine: &Machine, name: &str, contents: &str) {
    let dir = machine.global().join("pipelines").join(name);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("trace.json"), contents).unwrap();
}

/// `dlt pipeline x trace --json | head -c1`: the reader goes away, the command ends quietly.
#[test]
fn a_closed_stdout_ends_the_command_quietly_and_sends_nothing_to_sentry() {
    use std::io::Read as _;
    let machine = Machine::new();
    save_trace(&machine, "tiny", &big_trace(300));
    let sentry = dlt_test_support::SentryReceiver::start().unwrap();
    let mut child = machine
        .command(&["pipeline", "tiny", "trace", "--json"], &[("RUNTIME__SENTRY_DSN", &sentry.dsn())])
        .env("RUNTIME__TELEMETRY_DETACHED_SENDER", "false")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0_u8; 1];
    let read = child.stdout.take().unwrap().read_exact(&mut first);
    if read.is_err() {
        panic!("{:?}", child.wait_with_output().unwrap());
    }
    // The pipe is closed now, with megabytes still to write.
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(first, *b"{");
    let error = stderr(&output);
    assert!(!error.contains("panicked") && !error.contains("Broken pipe"), "{error}");
    let envelopes: Vec<String> = sentry
        .requests()
        .iter()
        .flat_map(|request| dlt_test_support::RawEnvelope::parse(&request.body).unwrap().items)
        .map(|item| item.item_type)
        .collect();
    assert!(!envelopes.iter().any(|kind| kind == "event"), "{envelopes:?}");
}

#[cfg(unix)]
#[test]
fn a_trace_that_cannot_be_read_fails_the_command_with_exit_1() {
    let machine = Machine::new();
    let dir = machine.global().join("pipelines/fifo");
    fs::create_dir_all(&dir).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(dir.join("trace.json")).status().unwrap().success());
    let output = machine.dlt(&["pipeline", "fifo", "trace"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("trace.json is a named pipe (FIFO), not a regular file"), "{}", stderr(&output));

    // Refused by its size, before a byte is parsed.
    save_trace(&machine, "huge", &" ".repeat(16 * 1024 * 1024 + 1));
    let output = machine.dlt(&["pipeline", "huge", "trace"], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("trace.json is larger than 16 MiB"), "{}", stderr(&output));
}
