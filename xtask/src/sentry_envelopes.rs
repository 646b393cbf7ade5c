//! `cargo xtask sentry-envelopes`: the bridge's real envelopes, parsed by Sentry's official
//! Python SDK (installed into `.venv/` in the checkout, which git ignores).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::python::{clear_dir, venv};

/// The checker script, run with the SDK installed.
const CHECKER: &str = "xtask/python/check_envelopes.py";

/// Captures the envelopes and has the Python SDK read every one.
pub(crate) fn run(root: &Path) -> Result<(), String> {
    let python = venv(root, ".venv", "sentry_sdk", "sentry-sdk")?;
    let dir = root.join("target/sentry-envelopes");
    clear_dir(&dir)?;
    let capture = Command::new("cargo")
        .args([
            "run",
            "--quiet",
            "-p",
            "dlt-sentry-bridge",
            "--features",
            "test-util",
            "--example",
            "capture_envelopes",
            "--",
        ])
        .arg(&dir)
        .current_dir(root)
        .output()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    if !capture.status.success() {
        return Err(format!("capturing envelopes failed: {}", String::from_utf8_lossy(&capture.stderr)));
    }
    let files: Vec<PathBuf> = String::from_utf8_lossy(&capture.stdout).lines().map(PathBuf::from).collect();
    if files.is_empty() {
        return Err("the capture wrote no envelopes".into());
    }
    let status = Command::new(&python)
        .arg(root.join(CHECKER))
        .args(&files)
        .status()
        .map_err(|e| format!("could not start {}: {e}", python.display()))?;
    if status.success() { Ok(()) } else { Err("Sentry's Python SDK could not read every envelope".into()) }
}
