//! Helpers shared by the runtime-trace tests: temporary dlt dirs, captured debug output,
//! loopback servers and the committed message schema.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use dlt_config::Environment;
use dlt_telemetry_model::TrackMessage;
use serde_json::Value;

/// Temporary global and project dirs, and the variables that point dlt at them.
pub struct Dirs {
    pub root: tempfile::TempDir,
}

impl Dirs {
    pub fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("global")).unwrap();
        std::fs::create_dir_all(root.path().join("project")).unwrap();
        std::fs::create_dir_all(root.path().join("home")).unwrap();
        Self { root }
    }

    pub fn global(&self) -> PathBuf {
        self.root.path().join("global")
    }

    pub fn project(&self) -> PathBuf {
        self.root.path().join("project")
    }

    /// The variables every test sets: its own dirs, and nothing from the real environment.
    pub fn vars(&self) -> Vec<(String, String)> {
        vec![
            ("DLT_GLOBAL_DIR".into(), self.global().display().to_string()),
            ("DLT_PROJECT_DIR".into(), self.project().display().to_string()),
            ("HOME".into(), self.root.path().join("home").display().to_string()),
        ]
    }

    /// An environment of the test's dirs plus `extra`.
    pub fn env(&self, extra: &[(&str, &str)]) -> Environment {
        let mut vars = self.vars();
        vars.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        Environment::from_pairs(vars)
    }

    /// Every file below the global dir, relative and sorted.
    pub fn global_files(&self) -> Vec<PathBuf> {
        let mut files = Vec::new();
        collect_files(&self.global(), &self.global(), &mut files);
        files.sort();
        files
    }
}

fn collect_files(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(root, &path, files);
        } else {
            files.push(path.strip_prefix(root).unwrap().to_path_buf());
        }
    }
}

/// A writer whose output the test can read: where the debug sink writes.
#[derive(Clone, Default)]
pub struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    pub fn messages(&self) -> Vec<TrackMessage> {
        parse_lines(&String::from_utf8(self.0.lock().unwrap().clone()).unwrap())
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The JSON-line messages in a text, skipping lines that are not JSON objects.
pub fn parse_lines(text: &str) -> Vec<TrackMessage> {
    text.lines().filter(|line| line.starts_with('{')).map(|line| serde_json::from_str(line).unwrap()).collect()
}

/// For a test that needs the whole process (it counts its threads, or uses Sentry's
/// process-wide hub): whether to run its body here. Under a runner that gives each test a
/// process (nextest), yes. Otherwise (plain `cargo test`, tests side by side on threads) the
/// test runs again alone, in a process of its own (this test binary, filtered to `name`), and
/// this call fails when that run fails and says no; in that process it says yes.
pub fn alone_in_this_process(name: &str) -> bool {
    const ALONE: &str = "DLT_TEST_ALONE";
    let process_per_test = std::env::var("NEXTEST_EXECUTION_MODE").is_ok_and(|mode| mode == "process-per-test");
    if process_per_test || std::env::var(ALONE).is_ok_and(|alone| alone == name) {
        return true;
    }
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--test-threads=1", "--nocapture"])
        .env(ALONE, name)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{name}, alone in a process:\n{report}");
    assert!(stdout.contains("1 passed"), "{name} did not run alone:\n{report}");
    false
}

/// Threads of this process started by our crates (their names begin with `dlt-`), from /proc.
// Linux only: other systems have no /proc/self/task.
#[cfg(target_os = "linux")]
pub fn our_threads() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|task| std::fs::read_to_string(task.unwrap().path().join("comm")).ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| name.starts_with("dlt-"))
        .collect()
}

/// Validates a message against the committed message schema; the list of failures.
pub fn schema_failures(message: &TrackMessage) -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/schemas/message.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::draft202012::new(&schema).unwrap();
    let instance = serde_json::to_value(message).unwrap();
    validator.iter_errors(&instance).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

/// The body of a golden dlt 1.31 capture.
pub fn golden(name: &str) -> TrackMessage {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/golden/segment/dlt-1.31").join(name);
    let capture: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    serde_json::from_value(capture["body"].clone()).unwrap()
}

/// Property names in order.
pub fn keys(object: &serde_json::Map<String, Value>) -> Vec<String> {
    object.keys().cloned().collect()
}

/// Every message waiting in the outboxes under `global`, every recipient's and of every
/// opt-out counter.
pub fn outbox_messages(global: &Path) -> Vec<TrackMessage> {
    let mut messages = Vec::new();
    let Ok(folders) = std::fs::read_dir(global.join("telemetry/outbox")) else { return messages };
    for folder in folders {
        let Ok(files) = std::fs::read_dir(folder.unwrap().path()) else { continue };
        let files: Vec<_> = files.flatten().collect();
        for file in files {
            let path = file.path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let outbox_or_claim = name.starts_with("outbox-") || name.starts_with("claimed-");
            if outbox_or_claim && name.ends_with(".jsonl") {
                // A sender may take or release the file between the listing and the read.
                match std::fs::read_to_string(&path) {
                    Ok(text) => messages.extend(parse_lines(&text)),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                    Err(error) => panic!("cannot read {}: {error}", path.display()),
                }
            }
        }
    }
    messages
}
