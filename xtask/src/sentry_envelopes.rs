//! `cargo xtask sentry-envelopes`: the bridge's real envelopes, parsed by Sentry's official
//! Python SDK (installed into `.venv/` in the checkout, which git ignores).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The checker script, run with the SDK installed.
const CHECKER: &str = "xtask/python/check_envelopes.py";

/// Captures the envelopes and has the Python SDK read every one.
pub(crate) fn run(root: &Path) -> Result<(), String> {
    let python = python_with_sentry_sdk(root)?;
    let dir = root.join("target/sentry-envelopes");
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
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

/// The virtual environment's Python, created and given `sentry-sdk` from PyPI when missing.
fn python_with_sentry_sdk(root: &Path) -> Result<PathBuf, String> {
    let venv = root.join(".venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        run_step(Command::new("python3").arg("-m").arg("venv").arg(&venv), "creating .venv")?;
    }
    let has_sdk = Command::new(&python).args(["-c", "import sentry_sdk"]).output().is_ok_and(|o| o.status.success());
    if !has_sdk {
        run_step(
            Command::new(&python).args(["-m", "pip", "install", "--quiet", "sentry-sdk"]),
            "installing sentry-sdk",
        )?;
    }
    Ok(python)
}

fn run_step(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command.status().map_err(|e| format!("{what}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{what} failed ({status})")) }
}
