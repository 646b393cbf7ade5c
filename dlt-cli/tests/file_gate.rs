//! The file gate, attacked the way another local user would: the real `dlt` binary with no
//! usable home dir, so that it falls back to `<tmp>/dlt`, with `TMPDIR` pointing at a test
//! folder that everyone may write to (mode `1777`, like `/tmp`).
//!
//! The user under attack (the victim) runs `dlt`; the attacker prepares the temporary dir.
//! Run as root (as CI is), the victim is uid 65534, started through `setpriv`, and the
//! attacker is root: a real other user. Run as anyone else, the victim is the user running the
//! tests, and the tests that need a folder of another user are skipped with a message.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{stderr, stdout};
use dlt_test_support::{Recorder, refusing_url};

/// The uid the victim runs as when the tests run as root.
const VICTIM_AS_ROOT: u32 = 65534;

/// A machine with two users: the temporary dir both share, the victim's own file elsewhere,
/// and a way to run `dlt` as the victim.
struct SharedMachine {
    root: tempfile::TempDir,
    /// Whether the tests run as root: then the victim is uid 65534.
    as_root: bool,
}

impl SharedMachine {
    /// `None` (with a message) when running as root without `setpriv` to run as the victim.
    fn new() -> Option<Self> {
        let root = tempfile::tempdir().unwrap();
        let as_root = fs::metadata(root.path()).unwrap().uid() == 0;
        if as_root && Command::new("setpriv").arg("--version").output().is_err() {
            eprintln!("skipped: running as root, and without setpriv there is no other user to run dlt as");
            return None;
        }
        let machine = Self { root, as_root };
        fs::create_dir(machine.tmp()).unwrap();
        fs::set_permissions(machine.tmp(), fs::Permissions::from_mode(0o1777)).unwrap();
        fs::create_dir(machine.project()).unwrap();
        fs::set_permissions(machine.root.path(), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(machine.victim_file(), Self::VICTIM_CONTENT).unwrap();
        fs::set_permissions(machine.victim_file(), fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(machine.victim_file(), Some(machine.victim_uid()), Some(machine.victim_uid()))
            .unwrap();
        Some(machine)
    }

    const VICTIM_CONTENT: &str = "the victim's own file: nothing of dlt's may ever change it\n";

    fn victim_uid(&self) -> u32 {
        if self.as_root { VICTIM_AS_ROOT } else { fs::metadata(self.root.path()).unwrap().uid() }
    }

    /// The temporary dir both users share.
    fn tmp(&self) -> PathBuf {
        self.root.path().join("tmp")
    }

    fn project(&self) -> PathBuf {
        self.root.path().join("project")
    }

    /// A file of the victim's, outside the temporary dir, that planted links point at.
    fn victim_file(&self) -> PathBuf {
        self.root.path().join("victim.txt")
    }

    /// `<tmp>/dlt`, the fallback every user's `dlt` tries first.
    fn shared_fallback(&self) -> PathBuf {
        self.tmp().join("dlt")
    }

    /// `<tmp>/dlt-<uid>`, the victim's second choice.
    fn own_fallback(&self) -> PathBuf {
        self.tmp().join(format!("dlt-{}", self.victim_uid()))
    }

    fn assert_victim_file_untouched(&self) {
        let metadata = fs::symlink_metadata(self.victim_file()).expect("the victim file was deleted");
        assert!(metadata.is_file(), "the victim file was replaced");
        assert_eq!(fs::read_to_string(self.victim_file()).unwrap(), Self::VICTIM_CONTENT, "the victim file changed");
    }

    /// Runs `dlt` as the victim: no usable home dir, `TMPDIR` the shared temporary dir,
    /// usage telemetry to `endpoint`, sent inline unless `vars` say otherwise.
    fn dlt(&self, args: &[&str], endpoint: &str, vars: &[(&str, &str)]) -> Output {
        self.command(args, endpoint, vars).output().unwrap()
    }

    /// `dlt` started as its own detached sender is (the marker, null standard streams): whether
    /// it ended well.
    fn sender(&self, endpoint: &str) -> bool {
        let mut command = self.command(&[], endpoint, &[(dlt_runtime_trace::SENDER_MARKER, "dlt/0.1.0")]);
        command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        command.status().unwrap().success()
    }

    fn command(&self, args: &[&str], endpoint: &str, vars: &[(&str, &str)]) -> Command {
        let mut command = if self.as_root {
            let mut command = Command::new("setpriv");
            let uid = VICTIM_AS_ROOT.to_string();
            command.args(["--reuid", &uid, "--regid", &uid, "--clear-groups", env!("CARGO_BIN_EXE_dlt")]);
            command
        } else {
            Command::new(env!("CARGO_BIN_EXE_dlt"))
        };
        command
            .env_clear()
            .env("HOME", self.root.path().join("no-home"))
            .env("TMPDIR", self.tmp())
            .env("DLT_PROJECT_DIR", self.project())
            .env("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", endpoint)
            .env("RUNTIME__TELEMETRY_DETACHED_SENDER", "false")
            .envs(vars.iter().copied())
            .args(args)
            .current_dir(self.project());
        command
    }

    /// `dlt telemetry --json` as the victim (telemetry off, so that it records nothing).
    fn status(&self) -> serde_json::Value {
        let output =
            self.dlt(&["telemetry", "--json"], "http://127.0.0.1:9/", &[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
        assert!(output.status.success(), "{}", stderr(&output));
        serde_json::from_slice(&output.stdout).unwrap()
    }

    /// Makes `path` a folder of the attacker's (root, when the tests run as root) with `mode`.
    fn attacker_dir(&self, path: &Path, mode: u32) {
        fs::create_dir_all(path).unwrap();
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    /// The only recipient folder under the victim's fallback (its name is a digest).
    fn recipient_dir(&self, fallback: &Path) -> PathBuf {
        let outboxes = fallback.join("telemetry/outbox");
        let mut folders: Vec<PathBuf> =
            fs::read_dir(outboxes).unwrap().map(|entry| entry.unwrap().path()).filter(|path| path.is_dir()).collect();
        assert_eq!(folders.len(), 1, "{folders:?}");
        folders.pop().unwrap()
    }
}

/// Plants a link named `name` in `dir` pointing at the victim's file, in place of whatever is
/// there.
fn plant_link(machine: &SharedMachine, dir: &Path, name: &str) {
    let path = dir.join(name);
    let _ = fs::remove_file(&path);
    symlink(machine.victim_file(), path).unwrap();
}

/// Every folder and file below `dir` (links not followed), with its mode and owner.
fn tree(dir: &Path) -> Vec<(PathBuf, bool, u32, u32)> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_owned()];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let metadata = fs::symlink_metadata(&path).unwrap();
            if metadata.is_dir() {
                dirs.push(path.clone());
            }
            found.push((path, metadata.is_dir(), metadata.mode() & 0o7777, metadata.uid()));
        }
    }
    found
}

#[test]
fn a_shared_fallback_open_to_everyone_is_refused_and_what_was_planted_in_it_is_never_used() {
    let Some(machine) = SharedMachine::new() else { return };
    // The attacker prepares `<tmp>/dlt` open to everyone, with the victim's outbox folder
    // (its name can be computed from the endpoint), links in it, and a config of its own.
    let shared = machine.shared_fallback();
    machine.attacker_dir(&shared, 0o777);
    fs::write(shared.join("config.toml"), "enable_runtime_trace = false\n").unwrap();
    let planted = shared.join("telemetry/outbox/0123456789abcdef0123456789abcdef");
    machine.attacker_dir(&planted, 0o777);
    for name in ["outbox-0.jsonl", "outbox.jsonl", "sender.log", "sender.lock", ".lock"] {
        plant_link(&machine, &planted, name);
    }
    plant_link(&machine, &shared.join("telemetry"), "opt-out");

    let refusing = refusing_url().unwrap();
    let output = machine.dlt(&["telemetry"], &refusing, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("Telemetry is ENABLED"), "the planted config was not read: {}", stdout(&output));
    let output = machine.dlt(&["--disable-telemetry"], &refusing, &[]);
    assert!(output.status.success(), "{}", stderr(&output));

    machine.assert_victim_file_untouched();
    assert_eq!(fs::metadata(&shared).unwrap().mode() & 0o7777, 0o777, "the attacker's folder is left as it is");
    let own = machine.own_fallback();
    let metadata = fs::metadata(&own).unwrap();
    assert_eq!((metadata.uid(), metadata.mode() & 0o777), (machine.victim_uid(), 0o700));
    assert!(own.join("config.toml").is_file() && own.join("telemetry/opt-out").is_file(), "used instead");
}

#[test]
fn a_shared_fallback_of_another_user_is_refused() {
    let Some(machine) = SharedMachine::new() else { return };
    if !machine.as_root {
        eprintln!("skipped: only root can make a folder of another user for this test");
        return;
    }
    // Private, but root's, not the victim's.
    machine.attacker_dir(&machine.shared_fallback(), 0o700);
    let output = machine.dlt(&["--enable-telemetry"], &refusing_url().unwrap(), &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(machine.own_fallback().join("config.toml").is_file());
    assert_eq!(fs::read_dir(machine.shared_fallback()).unwrap().count(), 0, "nothing written in root's folder");
}

#[test]
fn when_both_fallbacks_are_refused_dlt_stops_with_one_line_naming_them_and_the_rule() {
    let Some(machine) = SharedMachine::new() else { return };
    machine.attacker_dir(&machine.shared_fallback(), 0o777);
    machine.attacker_dir(&machine.own_fallback(), 0o777);
    if machine.as_root {
        // Another user's folder, closed to others: refused for its owner alone.
        fs::set_permissions(machine.own_fallback(), fs::Permissions::from_mode(0o700)).unwrap();
    }
    let output = machine.dlt(&["telemetry"], &refusing_url().unwrap(), &[]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let error = stderr(&output);
    assert_eq!(error.lines().count(), 1, "one line: {error}");
    assert!(error.starts_with("error: no safe global dir"), "{error}");
    // Root's folders are refused for their owner first; the user's own for their mode.
    let problem = if machine.as_root { "belongs to uid 0" } else { "has mode 0777" };
    for fallback in [machine.shared_fallback(), machine.own_fallback()] {
        assert!(error.contains(&format!("{}: {problem}", fallback.display())), "{error}");
    }
    assert!(error.contains("mode 0700") && error.contains("DLT_GLOBAL_DIR"), "{error}");
    for fallback in [machine.shared_fallback(), machine.own_fallback()] {
        assert_eq!(fs::read_dir(fallback).unwrap().count(), 0, "nothing written");
    }
}

/// The attacker holds `<tmp>/dlt` while the victim opts out, so the opt-out is kept in the
/// victim's `<tmp>/dlt-<uid>`; then the attacker removes `<tmp>/dlt`. The victim's next command
/// must stay in `<tmp>/dlt-<uid>`, where its settings are: taking the freed `<tmp>/dlt` would
/// start from nothing, telemetry on, and send.
#[test]
fn an_opt_out_kept_in_the_own_fallback_holds_once_the_shared_one_is_freed() {
    let Some(machine) = SharedMachine::new() else { return };
    machine.attacker_dir(&machine.shared_fallback(), 0o777);
    let endpoint = Recorder::start().unwrap();
    let url = format!("{}/v1/track", endpoint.url());
    let output = machine.dlt(&["--disable-telemetry"], &url, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(machine.own_fallback().join("telemetry/opt-out").is_file(), "the opt-out is in the own fallback");

    fs::remove_dir(machine.shared_fallback()).unwrap();
    let output = machine.dlt(&["telemetry"], &url, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("Telemetry is DISABLED"), "the opt-out was lost: {}", stdout(&output));
    assert_eq!(endpoint.requests().len(), 0, "sent after the opt-out");
    assert!(!machine.shared_fallback().exists(), "the freed shared fallback is not taken");
}

/// Links planted inside the victim's own private fallback (only root, or the victim, could do
/// that; the gate refuses them all the same): an outbox file, the failure log, the sender's
/// lock, the opt-out mark. The victim's file is never written, truncated, appended to or
/// deleted, and `dlt telemetry` shows what is wrong and exits 0.
#[test]
fn links_in_the_fallback_are_refused_never_followed() {
    let Some(machine) = SharedMachine::new() else { return };
    let refusing = refusing_url().unwrap();
    let output = machine.dlt(&["telemetry"], &refusing, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let fallback = machine.shared_fallback();
    let recipient = machine.recipient_dir(&fallback);
    assert!(recipient.join("outbox-0.jsonl").is_file(), "the undelivered message waits");
    for name in ["outbox-0.jsonl", "sender.log", "sender.lock"] {
        plant_link(&machine, &recipient, name);
    }

    // A command keeps its undelivered message, a sender takes the outbox over.
    let output = machine.dlt(&["telemetry"], &refusing, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!machine.sender(&refusing), "the sender cannot take its lock");
    let status = machine.status();
    let problems = status["waiting"][0]["problems"].to_string();
    assert!(problems.contains("is a symbolic link"), "{status:#}");
    machine.assert_victim_file_untouched();

    plant_link(&machine, &fallback.join("telemetry"), "opt-out");
    let output = machine.dlt(&["telemetry"], &refusing, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let output = machine.dlt(&["--disable-telemetry"], &refusing, &[]);
    assert_eq!(output.status.code(), Some(1), "the opt-out cannot be recorded through a link");
    assert!(stderr(&output).contains("opt-out: is a symbolic link"), "{}", stderr(&output));
    let status = machine.status();
    assert!(status["problems"].to_string().contains("the opt-out mark cannot be read"), "{status:#}");
    machine.assert_victim_file_untouched();
    for name in ["outbox-0.jsonl", "sender.log", "sender.lock"] {
        assert!(fs::symlink_metadata(recipient.join(name)).unwrap().file_type().is_symlink(), "{name} is left");
    }
}

/// A folder under the fallback that is not private: everything in it is refused, the links
/// inside are never reached.
#[test]
fn an_outbox_folder_open_to_everyone_is_refused_whole() {
    let Some(machine) = SharedMachine::new() else { return };
    let refusing = refusing_url().unwrap();
    assert!(machine.dlt(&["telemetry"], &refusing, &[]).status.success());
    let recipient = machine.recipient_dir(&machine.shared_fallback());
    fs::set_permissions(&recipient, fs::Permissions::from_mode(0o777)).unwrap();
    for name in ["outbox-0.jsonl", "sender.log", "sender.lock"] {
        plant_link(&machine, &recipient, name);
    }
    assert!(machine.dlt(&["telemetry"], &refusing, &[]).status.success());
    assert!(!machine.sender(&refusing), "the sender cannot use the folder");
    let status = machine.status();
    assert!(status["waiting"][0]["problems"].to_string().contains("has mode 0777"), "{status:#}");
    machine.assert_victim_file_untouched();
}

/// Everything `dlt` writes under the fallback, in every command that writes: folders `0700`,
/// files `0600`, all the victim's.
#[test]
fn everything_written_under_the_fallback_is_private() {
    let Some(machine) = SharedMachine::new() else { return };
    let refusing = refusing_url().unwrap();
    let recorder = Recorder::start().unwrap();
    let endpoint = format!("{}/v1/track", recorder.url());
    assert!(machine.dlt(&["--enable-telemetry"], &refusing, &[]).status.success());
    assert!(machine.dlt(&["telemetry"], &refusing, &[]).status.success(), "kept: outbox and failure log");
    assert!(machine.dlt(&["--disable-telemetry"], &refusing, &[]).status.success());
    assert!(machine.dlt(&["--enable-telemetry"], &refusing, &[]).status.success());
    // Handed to a detached sender, which delivers it.
    let output = machine.dlt(&["telemetry"], &endpoint, &[("RUNTIME__TELEMETRY_DETACHED_SENDER", "true")]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(recorder.wait_for(1, Duration::from_secs(10)), "the detached sender delivered");
    let deadline = Instant::now() + Duration::from_secs(20);
    while machine.status()["waiting"].as_array().unwrap().iter().any(|state| state["sender_running"] == true) {
        assert!(Instant::now() < deadline, "the sender did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }

    let fallback = machine.shared_fallback();
    let written = tree(&fallback);
    let names: Vec<String> = written.iter().map(|(path, ..)| path.display().to_string()).collect();
    for expected in ["config.toml", "telemetry/opt-out", "telemetry/switch.lock", "sender.log", "sender.lock"] {
        assert!(names.iter().any(|name| name.ends_with(expected)), "{expected} missing: {names:#?}");
    }
    assert!(names.iter().any(|name| name.contains("/outbox-")), "{names:#?}");
    let own = fs::metadata(&fallback).unwrap();
    assert_eq!((own.mode() & 0o7777, own.uid()), (0o700, machine.victim_uid()));
    for (path, is_dir, mode, uid) in written {
        let expected = if is_dir { 0o700 } else { 0o600 };
        assert_eq!((mode, uid), (expected, machine.victim_uid()), "{}", path.display());
    }
}
