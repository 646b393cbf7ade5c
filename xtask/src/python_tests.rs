//! The Python tests of `dlt-python`, run by `cargo xtask test` after the Rust suites: a virtual
//! environment under `target/` with the pinned test requirements (maturin, pytest, dlt 1.31
//! from PyPI), the `dlt_telemetry` wheel built into it, then pytest.

use std::path::Path;
use std::process::Command;

use crate::python::{create_venv, install_wheel, run_step};

/// The virtual environment, relative to the workspace root (under `target/`, which git ignores).
const VENV: &str = "target/python-tests/venv";
/// The pinned requirements of the tests.
const REQUIREMENTS: &str = "dlt-python/tests/requirements.txt";
/// The tests.
const TESTS: &str = "dlt-python/tests";

/// Prepares the environment, builds the wheel (debug profile: it reuses the Rust suites'
/// build) and runs pytest; an error naming the step that failed.
pub(crate) fn run(root: &Path) -> Result<(), String> {
    if cfg!(windows) {
        println!("Python tests: not run on Windows (they run on Linux and macOS, in .ci/run)");
        return Ok(());
    }
    println!("$ Python tests: {VENV} (from {REQUIREMENTS}), the dlt-python wheel, pytest {TESTS}");
    let python = create_venv(root, VENV)?;
    run_step(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(root.join(REQUIREMENTS)),
        &format!("installing {REQUIREMENTS} into {VENV}"),
    )?;
    install_wheel(root, &python, "dev")?;
    run_step(
        Command::new(&python)
            .args(["-m", "pytest", "-q", "-o", "cache_dir=target/python-tests/pytest-cache", TESTS])
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .current_dir(root),
        "pytest (the Python tests)",
    )
}
