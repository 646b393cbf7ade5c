//! How a command hands its usage telemetry on, as a user meets it: where a detached sender may
//! not outlive the command (in CI, as PID 1) or cannot be found (no `/proc`), the command sends
//! inline before it exits and starts no sender; where the hand-off fails (a folder another
//! process holds, an outbox that cannot be written), the command still succeeds, within the
//! time the hand-off may take, and `dlt telemetry` says what happened.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{Machine, eventually, stderr, stdout};

const INLINE: &str = "delivery: from this process, within the exit deadline\n";
const DETACHED: &str = "delivery: by a detached sender after each command\n";

/// Runs `dlt telemetry` through `command` and checks what a command sending inline leaves: its
/// message delivered before it exited, no sender, nothing waiting.
fn assert_sent_inline(machine: &Machine, mut command: Command, case: &str) {
    let before = machine.endpoint.requests().len();
    let output = command.output().unwrap();
    assert!(output.status.success(), "{case}: {}", stderr(&output));
    assert!(stdout(&output).contains(INLINE), "{case}: {}", stdout(&output));
    assert_eq!(machine.endpoint.requests().len(), before + 1, "{case}: delivered before the command exited");
    assert_eq!(machine.waiting(), (0, false), "{case}: no sender started, nothing waits");
}

#[test]
fn in_ci_a_command_delivers_inline_before_it_exits_unless_the_setting_asks_for_a_sender() {
    let machine = Machine::new();
    for variable in ["CI", "GITHUB_ACTIONS", "JENKINS_URL", "CODEBUILD_BUILD_ID"] {
        assert_sent_inline(&machine, machine.command(&["telemetry"], &[(variable, "true")]), variable);
    }
    let asked = [("CI", "true"), ("RUNTIME__TELEMETRY_DETACHED_SENDER", "true")];
    let output = machine.dlt_detached(&["telemetry"], &asked);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains(DETACHED), "{}", stdout(&output));
    assert!(eventually(Duration::from_secs(10), || machine.waiting() == (0, false)), "its sender delivered");
    assert_eq!(machine.endpoint.requests().len(), 5);
}

/// The wrapper that runs a program in a namespace of its own (`--pid --fork` or `--mount`),
/// as root or, for another user, in a user namespace; `None` where this system allows neither.
fn namespace(machine: &Machine, kind: &[&'static str]) -> Option<Vec<&'static str>> {
    use std::os::unix::fs::MetadataExt as _;

    let mut wrapper = vec!["unshare"];
    if std::fs::metadata(machine.root.path()).unwrap().uid() != 0 {
        wrapper.extend(["--user", "--map-root-user"]);
    }
    wrapper.extend(kind);
    let works = Command::new(wrapper[0]).args(&wrapper[1..]).arg("true").output().is_ok_and(|out| out.status.success());
    works.then_some(wrapper)
}

fn run(mut command: Command) -> Output {
    command.output().unwrap()
}

/// As PID 1 (a container's first process), where whatever it started ends with it.
#[test]
fn as_pid_1_a_command_delivers_inline_before_it_exits() {
    let machine = Machine::new();
    let Some(wrapper) = namespace(&machine, &["--pid", "--fork"]) else {
        eprintln!("skipped: this system gives no PID namespace (unshare --pid) to run dlt as PID 1");
        return;
    };
    let mut shell = Command::new(wrapper[0]);
    shell.args(&wrapper[1..]).args(["sh", "-c", "echo $$"]);
    assert_eq!(String::from_utf8(run(shell).stdout).unwrap(), "1\n", "control: the wrapper runs a program as PID 1");
    assert_sent_inline(&machine, machine.command_via(&wrapper, &["telemetry"], &[]), "as PID 1");
}

/// Without `/proc` the command cannot learn where its own binary is, so there is no sender to
/// start: it sends inline.
#[test]
fn a_command_that_cannot_find_its_own_binary_delivers_inline_before_it_exits() {
    let machine = Machine::new();
    let Some(mut wrapper) = namespace(&machine, &["--mount", "--propagation", "private"]) else {
        eprintln!("skipped: this system gives no mount namespace (unshare --mount) to hide /proc in");
        return;
    };
    // An empty /proc, then the program.
    wrapper.extend(["sh", "-c", "mount -t tmpfs none /proc && exec \"$0\" \"$@\""]);
    let mut control = Command::new(wrapper[0]);
    control.args(&wrapper[1..]).args(["readlink", "/proc/self/exe"]);
    let control = run(control);
    assert!(!control.status.success() && control.stdout.is_empty(), "control: /proc/self/exe is gone");
    assert_sent_inline(&machine, machine.command_via(&wrapper, &["telemetry"], &[]), "without /proc");
}

/// The one recipient folder under the machine's outboxes.
fn recipient_folder(machine: &Machine) -> PathBuf {
    let folders: Vec<PathBuf> = std::fs::read_dir(machine.global().join("telemetry/outbox"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    let [folder] = folders.as_slice() else { panic!("one recipient: {folders:?}") };
    folder.clone()
}

/// The last error `dlt telemetry --json` shows for the one recipient.
fn last_error(machine: &Machine) -> String {
    let json = machine.dlt(&["telemetry", "--json"], &[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
    assert!(json.status.success(), "{}", stderr(&json));
    let status: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    status["waiting"][0]["last_error"].as_str().unwrap_or_default().to_owned()
}

/// Another process holds the recipient's folder: the command waits the outbox's 200 ms lock
/// wait, then exits 0 without its message (counted and noted), and starts no sender.
#[test]
fn a_command_whose_outbox_folder_is_held_exits_0_after_the_200_ms_lock_wait_without_its_message() {
    use std::os::unix::fs::OpenOptionsExt as _;

    let machine = Machine::new();
    assert!(machine.dlt(&["telemetry"], &[]).status.success(), "one message sent: the folder exists");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(recipient_folder(&machine).join(".lock"))
        .unwrap();
    lock.lock().unwrap();

    let started = Instant::now();
    let output = machine.dlt_detached(&["telemetry"], &[]);
    let took = started.elapsed();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(took >= Duration::from_millis(200), "it waited for the folder: {took:?}");
    assert!(took < Duration::from_secs(3), "no longer than the lock wait: {took:?}");
    lock.unlock().unwrap();
    assert_eq!(machine.waiting(), (0, false), "the message is lost, and no sender started");
    assert!(last_error(&machine).ends_with("could not append to the outbox: timed out"), "{}", last_error(&machine));
    assert_eq!(machine.endpoint.requests().len(), 1);
}

/// A recipient folder others may write to is refused by the file gate: the command exits 0 at
/// once without its message, and `dlt telemetry` shows why.
#[test]
fn a_command_whose_outbox_cannot_be_written_exits_0_at_once_and_dlt_telemetry_says_why() {
    use std::os::unix::fs::PermissionsExt as _;

    let machine = Machine::new();
    assert!(machine.dlt(&["telemetry"], &[]).status.success(), "one message sent: the folder exists");
    let folder = recipient_folder(&machine);
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o777)).unwrap();

    let started = Instant::now();
    let output = machine.dlt_detached(&["telemetry"], &[]);
    let took = started.elapsed();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(took < Duration::from_secs(2), "{took:?}");
    assert_eq!(machine.waiting(), (0, false), "the message is lost, and no sender started");
    let status = machine.dlt(&["telemetry"], &[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
    assert!(status.status.success(), "{}", stderr(&status));
    assert!(stdout(&status).contains("mode 0777"), "{}", stdout(&status));
    assert_eq!(machine.endpoint.requests().len(), 1);
}
