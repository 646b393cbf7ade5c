//! A user's machine for the command line's tests: temporary dirs and a loopback endpoint.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use dlt_telemetry_model::TrackMessage;
use dlt_test_support::Recorder;

/// A user's machine in a temporary dir, and a loopback server standing in for the endpoint.
/// Usage telemetry is sent inline (no detached sender), so that what a command sent has
/// arrived when it exits; the detached sender has tests of its own.
pub struct Machine {
    pub root: tempfile::TempDir,
    pub endpoint: Recorder,
}

impl Machine {
    pub fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        for dir in ["global", "project", "home"] {
            fs::create_dir_all(root.path().join(dir)).unwrap();
        }
        Self { root, endpoint: Recorder::start().unwrap() }
    }

    pub fn global(&self) -> PathBuf {
        self.root.path().join("global")
    }

    pub fn project(&self) -> PathBuf {
        self.root.path().join("project")
    }

    pub fn endpoint_url(&self) -> String {
        format!("{}/v1/track", self.endpoint.url())
    }

    /// Runs `dlt` with only this machine's dirs, the loopback endpoint and `vars`, sending
    /// usage telemetry inline.
    pub fn dlt(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        self.command(args, vars).env("RUNTIME__TELEMETRY_DETACHED_SENDER", "false").output().unwrap()
    }

    /// Like [`Machine::dlt`], but with no endpoint variable: the endpoint comes from the
    /// config files (or the built-in default, which tests never reach: set it in a file).
    pub fn dlt_endpoint_from_files(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        let mut command = self.command(args, vars);
        command.env_remove("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT").env("RUNTIME__TELEMETRY_DETACHED_SENDER", "false");
        command.output().unwrap()
    }

    /// `dlt` as a user runs it: no CI variable, so what it does not deliver goes to a detached
    /// sender.
    pub fn dlt_detached(&self, args: &[&str], vars: &[(&str, &str)]) -> Output {
        self.command(args, vars).output().unwrap()
    }

    /// The command, not started: only this machine's dirs, the loopback endpoint and `vars`.
    pub fn command(&self, args: &[&str], vars: &[(&str, &str)]) -> Command {
        self.with_machine_env(Command::new(env!("CARGO_BIN_EXE_dlt")), args, vars)
    }

    /// `dlt` started as its own detached sender is (the marker, null standard streams), with
    /// this machine's dirs, the loopback endpoint and `vars`; not started.
    pub fn sender(&self, vars: &[(&str, &str)]) -> Command {
        let mut sender = self.command(&[], vars);
        sender.env(dlt_runtime_trace::SENDER_MARKER, "dlt/0.1.0");
        sender.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        sender
    }

    /// `dlt` run by `wrapper` (`wrapper[0]` with the rest of it as its first arguments, then the
    /// binary under test and `args`), with only this machine's environment; not started.
    pub fn command_via(&self, wrapper: &[&str], args: &[&str], vars: &[(&str, &str)]) -> Command {
        let mut command = Command::new(wrapper[0]);
        command.args(&wrapper[1..]).arg(env!("CARGO_BIN_EXE_dlt"));
        self.with_machine_env(command, args, vars)
    }

    /// The pid of the sender holding this machine's only recipient's lock.
    pub fn sender_pid(&self) -> Option<u32> {
        let json = self.dlt(&["telemetry", "--json"], &[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
        assert!(json.status.success(), "{}", stderr(&json));
        let status: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        let pid = status["waiting"].as_array()?.iter().find_map(|recipient| recipient["sender_pid"].as_u64())?;
        Some(u32::try_from(pid).unwrap())
    }

    /// `sh -c script` with this machine's environment, and `$DLT` the binary under test.
    pub fn shell(&self, script: &str) -> Command {
        let mut shell = self.with_machine_env(Command::new("sh"), &["-c", script], &[]);
        shell.env("DLT", env!("CARGO_BIN_EXE_dlt"));
        shell
    }

    fn with_machine_env(&self, mut command: Command, args: &[&str], vars: &[(&str, &str)]) -> Command {
        command
            .env_clear()
            .env("DLT_GLOBAL_DIR", self.global())
            .env("DLT_PROJECT_DIR", self.project())
            .env("HOME", self.root.path().join("home"))
            .env("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", self.endpoint_url())
            .envs(vars.iter().copied())
            .args(args)
            .current_dir(self.project());
        command
    }

    /// Records the first-run notice as shown for this machine's global dir, as the first
    /// interactive `dlt` would: for tests that run `dlt` on a terminal and expect it to send.
    pub fn notice_already_shown(&self) {
        let telemetry = self.global().join("telemetry");
        fs::create_dir_all(&telemetry).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(&telemetry, fs::Permissions::from_mode(0o700)).unwrap();
        }
        fs::write(telemetry.join("notice-shown"), "2026-12-01T10:00:00Z\n").unwrap();
    }

    /// `dlt telemetry log --json` as a user reads it, with telemetry off in its environment
    /// (so that the command itself neither sends nor takes over anything): the entries.
    pub fn sent_log(&self) -> Vec<serde_json::Value> {
        let output = self.dlt(&["telemetry", "log", "--json"], &[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
        assert!(output.status.success(), "{}", stderr(&output));
        serde_json::from_slice::<Vec<serde_json::Value>>(&output.stdout).unwrap()
    }

    /// Every file below the global dir, relative, sorted.
    pub fn global_files(&self) -> Vec<String> {
        dlt_test_support::files_under(&self.global()).iter().map(|path| path.display().to_string()).collect()
    }

    /// Messages waiting in any outbox (every recipient's, of every opt-out counter), and whether a
    /// sender holds a lock.
    pub fn waiting(&self) -> (usize, bool) {
        let mut messages = 0;
        let mut sender = false;
        let Ok(folders) = fs::read_dir(self.global().join("telemetry/outbox")) else { return (0, false) };
        for folder in folders {
            for file in fs::read_dir(folder.unwrap().path()).unwrap() {
                let path = file.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if (name.starts_with("outbox-") || name.starts_with("claimed-")) && name.ends_with(".jsonl") {
                    // A sender may take or release the file between the listing and the read.
                    match fs::read_to_string(&path) {
                        Ok(text) => messages += text.lines().filter(|l| !l.is_empty()).count(),
                        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                        Err(error) => panic!("cannot read {}: {error}", path.display()),
                    }
                }
                if name == "sender.lock" {
                    let file = fs::File::open(&path).unwrap();
                    match file.try_lock_shared() {
                        Err(std::fs::TryLockError::WouldBlock) => sender = true,
                        // Let go at once, not when the file is closed: a program another test
                        // is starting now holds a copy of the descriptor until it runs, and a
                        // sender must not find its lock taken meanwhile.
                        Ok(()) => file.unlock().unwrap(),
                        Err(error) => panic!("cannot look at {}: {error:?}", path.display()),
                    }
                }
            }
        }
        (messages, sender)
    }

    /// The messages the endpoint received (the process has exited, so all of them).
    pub fn received(&self) -> Vec<TrackMessage> {
        self.endpoint.requests().iter().map(|request| serde_json::from_slice(&request.body).unwrap()).collect()
    }
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Waits until `condition` holds, looking every 10 ms, at most `timeout`.
pub fn eventually(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    condition()
}

/// Whether the process runs: it exists and (where `/proc` tells) is not a zombie waiting for
/// whoever adopted it to reap it.
pub fn alive(pid: u32) -> bool {
    let exists = Command::new("kill").args(["-0", &pid.to_string()]).stderr(Stdio::null()).status().unwrap().success();
    let zombie = fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| stat.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
        .unwrap_or(false);
    exists && !zombie
}

/// Sends `SIGTERM` to the process.
pub fn terminate(pid: u32) {
    assert!(Command::new("kill").args(["-TERM", &pid.to_string()]).status().unwrap().success());
}
