//! What the commands that use Python share: a virtual environment in the checkout holding the
//! packages they need, the `dlt_telemetry` wheel built into one, a fresh output folder, and
//! steps that must succeed.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The folder of the Python package built from `dlt-python/`.
const WHEEL_SOURCE: &str = "dlt-python";

/// The Python of the virtual environment `root/dir` (`.venv`, which git ignores), created with
/// `python3 -m venv` when missing and given `pip_package` from PyPI when `import import_name`
/// fails.
pub(crate) fn venv(root: &Path, dir: &str, import_name: &str, pip_package: &str) -> Result<PathBuf, String> {
    let python = create_venv(root, dir)?;
    let import = format!("import {import_name}");
    let installed = Command::new(&python).args(["-c", &import]).output().is_ok_and(|o| o.status.success());
    if !installed {
        run_step(
            Command::new(&python).args(["-m", "pip", "install", "--quiet", pip_package]),
            &format!("installing {pip_package}"),
        )?;
    }
    Ok(python)
}

/// The Python of the virtual environment `root/dir`, created with `python3 -m venv` when
/// missing; a clear error when there is no `python3` to create it with.
pub(crate) fn create_venv(root: &Path, dir: &str) -> Result<PathBuf, String> {
    let python = root.join(dir).join("bin/python");
    if python.exists() {
        return Ok(python);
    }
    if !Command::new("python3").arg("--version").output().is_ok_and(|output| output.status.success()) {
        return Err(format!(
            "creating {dir} needs python3 (3.9 or later, with its venv module and pip) on PATH, e.g. \
             `apt-get install python3 python3-venv` or `brew install python`"
        ));
    }
    run_step(Command::new("python3").arg("-m").arg("venv").arg(root.join(dir)), &format!("creating {dir}"))?;
    Ok(python)
}

/// Builds the `dlt_telemetry` wheel from `dlt-python/` with maturin (which must be installed in
/// `python`'s environment) in cargo's `profile` and installs it there, replacing an earlier
/// build. The build shares the workspace's `target/`.
pub(crate) fn install_wheel(root: &Path, python: &Path, profile: &str) -> Result<(), String> {
    let bin = python.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut path = OsString::from(&bin);
    if let Some(inherited) = std::env::var_os("PATH") {
        path.push(":");
        path.push(inherited);
    }
    run_step(
        Command::new(python)
            .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-build-isolation"])
            .args(["--force-reinstall", "--no-deps"])
            .arg(root.join(WHEEL_SOURCE))
            .env("PATH", path)
            .env("MATURIN_PEP517_ARGS", format!("--profile {profile}"))
            .current_dir(root),
        &format!("building and installing the {WHEEL_SOURCE} wheel ({profile})"),
    )
}

/// Removes `dir` and everything in it, if it exists: each run starts from an empty folder.
pub(crate) fn clear_dir(dir: &Path) -> Result<(), String> {
    if dir.exists() {
        fs::remove_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    Ok(())
}

/// Runs `command` in the foreground; an error naming `what` when it cannot start or fails.
pub(crate) fn run_step(command: &mut Command, what: &str) -> Result<(), String> {
    let status = command.status().map_err(|e| format!("{what}: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("{what} failed ({status})")) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::fs;
    use std::process::Command;

    use super::{clear_dir, run_step};

    #[test]
    #[cfg(unix)]
    fn a_step_fails_with_its_name_when_it_fails_or_cannot_start() {
        assert_eq!(run_step(&mut Command::new("true"), "nothing"), Ok(()));
        let failed = run_step(&mut Command::new("false"), "saying no").unwrap_err();
        assert!(failed.starts_with("saying no failed ("), "{failed}");
        let missing = run_step(&mut Command::new("/nonexistent/python3"), "creating .venv").unwrap_err();
        assert!(missing.starts_with("creating .venv: "), "{missing}");
    }

    #[test]
    fn clearing_removes_a_folder_and_its_files_and_accepts_none() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("out");
        fs::create_dir_all(dir.join("nested")).unwrap();
        fs::write(dir.join("nested/00.pb"), b"x").unwrap();
        clear_dir(&dir).unwrap();
        assert!(!dir.exists());
        clear_dir(&dir).unwrap();
    }
}
