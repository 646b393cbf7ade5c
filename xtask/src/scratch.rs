//! A scratch copy of the workspace, for the checks that resolve dependencies anew
//! (`newest-deps`, `minimal-versions`) and must never touch the checkout's `Cargo.lock` or
//! `target/`.
//!
//! The copy lives at `target/<check>/workspace` and builds into `target/<check>/target`. It is
//! made afresh each run from the files git knows (committed, changed or new, not ignored), with
//! their modification times, so that a second run rebuilds only what changed.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// A scratch copy and the target dir it builds into.
pub(crate) struct Scratch {
    /// The copy of the workspace.
    pub(crate) workspace: PathBuf,
    /// Its own target dir, kept between runs.
    pub(crate) target: PathBuf,
}

impl Scratch {
    /// Copies the workspace at `root` to `target/<check>/workspace`, replacing an older copy.
    pub(crate) fn copy(root: &Path, check: &str) -> Result<Self, String> {
        let base = root.join("target").join(check);
        let workspace = base.join("workspace");
        if workspace.exists() {
            fs::remove_dir_all(&workspace).map_err(|e| format!("cannot remove {}: {e}", workspace.display()))?;
        }
        let files = tracked_files(root)?;
        for relative in &files {
            copy_keeping_mtime(&root.join(relative), &workspace.join(relative))?;
        }
        println!("copied {} files to {}", files.len(), workspace.display());
        Ok(Self { workspace, target: base.join("target") })
    }

    /// `cargo <args>` in the copy, building into its target dir with `envs` set, without debug
    /// info (these builds are checked and run, never debugged: a third of the time and disk).
    pub(crate) fn cargo(&self, args: &[&str], envs: &[(&str, &str)]) -> Command {
        let mut command = Command::new("cargo");
        command
            .args(args)
            .current_dir(&self.workspace)
            .env("CARGO_TARGET_DIR", &self.target)
            .env("CARGO_PROFILE_DEV_DEBUG", "false");
        command.envs(envs.iter().copied());
        command
    }
}

/// The files git knows under `root` (committed, changed or new, not ignored), relative.
fn tracked_files(root: &Path) -> Result<Vec<PathBuf>, String> {
    let output = Command::new("git")
        .args(["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("could not start git: {e}"))?;
    if !output.status.success() {
        return Err(format!("`git ls-files` failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    let listing = String::from_utf8(output.stdout).map_err(|_| "`git ls-files` listed a path that is not UTF-8")?;
    // A file deleted but not yet committed is still listed: it is not copied.
    Ok(listing.split('\0').filter(|path| !path.is_empty() && root.join(path).is_file()).map(PathBuf::from).collect())
}

/// Copies one file, creating its folder, and gives the copy the original's modification time
/// (cargo decides what to rebuild by it).
fn copy_keeping_mtime(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    fs::copy(from, to).map_err(|e| format!("cannot copy {} to {}: {e}", from.display(), to.display()))?;
    let modified = fs::metadata(from).and_then(|metadata| metadata.modified());
    let copy = File::options().write(true).open(to);
    match (modified, copy) {
        (Ok(modified), Ok(copy)) => {
            copy.set_modified(modified).map_err(|e| format!("cannot set the time of {}: {e}", to.display()))
        }
        (Err(e), _) | (_, Err(e)) => Err(format!("cannot keep the time of {}: {e}", from.display())),
    }
}

/// One step of a check: runs `command`, echoing it first and its duration after; an error
/// naming the step when it fails.
pub(crate) fn step(name: &str, command: &mut Command) -> Result<f64, String> {
    println!("== {name}: {}", describe(command));
    let started = Instant::now();
    let status = command.status().map_err(|e| format!("{name}: could not start: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    println!("== {name}: {} in {seconds:.0} s", if status.success() { "passed" } else { "FAILED" });
    if status.success() { Ok(seconds) } else { Err(format!("{name} failed ({status})")) }
}

/// The command as typed: program and arguments, with the environment it was given.
pub(crate) fn describe(command: &Command) -> String {
    let envs: Vec<String> = command
        .get_envs()
        .filter_map(|(name, value)| {
            value.map(|value| format!("{}={}", name.to_string_lossy(), value.to_string_lossy()))
        })
        .filter(|assignment| !assignment.starts_with("CARGO_TARGET_DIR=") && !assignment.starts_with("CARGO_PROFILE_"))
        .collect();
    let args: Vec<String> = command.get_args().map(|arg| arg.to_string_lossy().into_owned()).collect();
    let program = command.get_program().to_string_lossy().into_owned();
    [envs, vec![program], args].concat().join(" ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::process::Command;

    use super::{copy_keeping_mtime, describe};

    #[test]
    fn a_copy_keeps_the_modification_time() {
        let dir = tempfile::tempdir().unwrap();
        let original = dir.path().join("a.rs");
        std::fs::write(&original, "fn a() {}\n").unwrap();
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        std::fs::File::options().write(true).open(&original).unwrap().set_modified(old).unwrap();
        let copy = dir.path().join("nested/dir/a.rs");
        copy_keeping_mtime(&original, &copy).unwrap();
        assert_eq!(std::fs::read_to_string(&copy).unwrap(), "fn a() {}\n");
        assert_eq!(std::fs::metadata(&copy).unwrap().modified().unwrap(), old);
    }

    #[test]
    fn a_step_is_shown_as_typed_without_the_target_dir() {
        let mut command = Command::new("cargo");
        command.args(["clippy", "--workspace"]).env("RUSTFLAGS", "-D warnings").env("CARGO_TARGET_DIR", "/t");
        command.env("CARGO_PROFILE_DEV_DEBUG", "false");
        assert_eq!(describe(&command), "RUSTFLAGS=-D warnings cargo clippy --workspace");
    }
}
