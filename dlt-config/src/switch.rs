//! The telemetry switch: writes `runtime.dlthub_telemetry` the way dlt does (the global
//! `config.toml` always, the project one only if it exists and is not empty), but atomically
//! and under a lock shared by every process.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dlt_fs::{Durability, FileLock, GateError, NewFileMode, PrivateDir};

use crate::edit::{EditError, set_telemetry_value};
use crate::locations::{Locations, OutsideProject, ProjectFile};
use crate::toml_file::{FileError, parse, read_text, without_bom};

/// How long a switch waits for another process that is switching.
const LOCK_WAIT: Duration = Duration::from_secs(5);
/// The switch's lock file, in the telemetry dir.
const SWITCH_LOCK: &str = "switch.lock";

/// What the switch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SwitchReport {
    /// Files changed or created, global file first.
    pub written: Vec<PathBuf>,
    /// Files that already held the value and were left alone.
    pub unchanged: Vec<PathBuf>,
    /// The project's `config.toml` when it exists but leads out of the project dir: not
    /// edited, since it is not the project's file.
    pub outside_project: Vec<OutsideProject>,
    /// Switching off only: the project's `config.toml` when it could not be read, understood or
    /// written, and why. The global file was switched all the same, so that no project (a
    /// cloned repository's malformed file) can keep the user from opting out.
    pub not_switched: Option<NotSwitched>,
}

/// A project file an opt-out could not switch, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotSwitched {
    /// The file.
    pub path: PathBuf,
    /// What was wrong, as the error says it (naming the file).
    pub reason: String,
}

/// Why the switch was not (fully) applied. Every file is read and edited in memory before any
/// is written, so a bad file means nothing was written. The global file is written first: if
/// writing the project file then fails, the global one is already switched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SwitchError {
    /// A file could not be read or is not valid TOML; it is left as it was.
    #[error(transparent)]
    File(#[from] FileError),
    /// The file's structure leaves no place for the key.
    #[error("{}: {source}", path.display())]
    Edit {
        /// The file.
        path: PathBuf,
        /// What is in the way.
        source: EditError,
    },
    /// The file has no write permission; it is left as it was.
    #[error("{} is read-only; telemetry setting not changed", path.display())]
    ReadOnlyFile {
        /// The file.
        path: PathBuf,
    },
    /// The directory has no write permission, so the file cannot be replaced.
    #[error("{} is read-only; telemetry setting not changed", dir.display())]
    ReadOnlyDir {
        /// The directory.
        dir: PathBuf,
    },
    /// The global dir could not be created.
    #[error("cannot create {}: {source}", dir.display())]
    CreateDir {
        /// The directory.
        dir: PathBuf,
        /// The OS reason.
        source: io::Error,
    },
    /// The switch's lock could not be taken: the telemetry dir or the lock file is refused by
    /// the file gate (not a private folder, a link), or another process kept the lock.
    #[error("cannot lock the telemetry switch: {0}; telemetry setting not changed")]
    Lock(#[source] GateError),
    /// Writing or replacing the file failed; the old file is intact.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS reason.
        source: io::Error,
    },
}

impl SwitchError {
    /// True when the user must fix a file or folder (it is malformed, in the way, read-only,
    /// or refused by the file gate); false when the system failed (a lock kept, a full disk).
    pub fn is_config_error(&self) -> bool {
        match self {
            Self::File(_) | Self::Edit { .. } | Self::ReadOnlyFile { .. } | Self::ReadOnlyDir { .. } => true,
            Self::Lock(error) => !matches!(error, GateError::Io { .. }),
            Self::CreateDir { .. } | Self::Write { .. } => false,
        }
    }
}

/// The lock every telemetry switch holds while it reads, edits and replaces the files, so that
/// concurrent switches (in any process) never lose an edit. Whoever holds it may also record
/// what goes with a switch (the opt-out mark) before releasing it.
#[derive(Debug)]
pub struct SwitchLock {
    _lock: FileLock,
}

impl SwitchLock {
    /// Takes the lock, `<global dir>/telemetry/switch.lock`, waiting up to 5 s for another
    /// process. The telemetry dir is created private when missing (the global dir too), and is
    /// used only when the file gate verifies it ([`PrivateDir`]).
    pub fn acquire(locations: &Locations) -> Result<Self, SwitchError> {
        let dir = PrivateDir::create(&locations.telemetry_dir()).map_err(SwitchError::Lock)?;
        let lock = dir.lock(SWITCH_LOCK, Instant::now() + LOCK_WAIT).map_err(SwitchError::Lock)?;
        Ok(Self { _lock: lock })
    }
}

/// Sets `runtime.dlthub_telemetry` to `enabled` in the project `config.toml` if it exists and
/// is not empty, and in the global `config.toml` always (creating the global dir and file).
///
/// Only the value's text changes, or the key or a `[runtime]` table is added; comments, order,
/// spacing, line endings and a byte order mark stay. Each file is replaced atomically and
/// durably, keeping its permissions and owner (a new global file is readable by its owner only,
/// a new project file by whom the umask allows); a symlinked file is edited where it points, and
/// a symlink to nothing is an error. A project file that is one of the global files is written
/// once, as the global file; one that leads out of the project dir (a link in its name or its
/// folders) is not the project's and is not edited: it is listed in
/// [`SwitchReport::outside_project`], and the global file is switched all the same.
///
/// Switching on is all or nothing: any file that cannot be switched is the error, and nothing
/// is written. Switching off never depends on the project: a project file that cannot be read,
/// understood or written is reported in [`SwitchReport::not_switched`] and the global file is
/// switched; only a global file that cannot be switched is the error.
/// `secrets.toml` and the environment are not touched. The caller holds the [`SwitchLock`].
pub fn set_telemetry(_lock: &SwitchLock, locations: &Locations, enabled: bool) -> Result<SwitchReport, SwitchError> {
    let project = locations.project_config_toml();
    let global = locations.global_config_toml();
    let global_text = read_text(&global)?;
    let mut plans = vec![Plan::new(global, global_text, enabled, NewFileMode::Private)?];
    let mut report = SwitchReport::default();
    match locations.project_file(&project) {
        ProjectFile::Own => match project_plan(&project, enabled) {
            Ok(Some(plan)) => plans.push(plan),
            Ok(None) => {}
            Err(error) if enabled => return Err(error),
            Err(error) => report.not_switched = Some(NotSwitched { path: project, reason: error.to_string() }),
        },
        ProjectFile::Global => {}
        ProjectFile::Outside(outside) => {
            if fs::metadata(&project).is_ok() {
                report.outside_project.push(outside);
            }
        }
    }

    for plan in plans.iter().filter(|plan| plan.changes()) {
        plan.check_writable()?;
    }
    for (index, plan) in plans.into_iter().enumerate() {
        if !plan.changes() {
            report.unchanged.push(plan.path);
            continue;
        }
        match plan.write() {
            Ok(()) => report.written.push(plan.path),
            // The project file, after the global one was switched off.
            Err(error) if index > 0 && !enabled => {
                report.not_switched = Some(NotSwitched { path: plan.path, reason: error.to_string() });
            }
            Err(error) => return Err(error),
        }
    }
    Ok(report)
}

/// The project file's new contents, when it exists, is not empty and can be written.
fn project_plan(project: &Path, enabled: bool) -> Result<Option<Plan>, SwitchError> {
    let Some(text) = read_text(project)?.filter(|text| !text.is_empty()) else { return Ok(None) };
    let plan = Plan::new(project.to_owned(), Some(text), enabled, NewFileMode::Shared)?;
    if plan.changes() {
        plan.check_writable()?;
    }
    Ok(Some(plan))
}

/// One file's new contents, computed before anything is written, and the mode it gets if it
/// is new.
struct Plan {
    path: PathBuf,
    old: Option<String>,
    new: String,
    mode: NewFileMode,
}

impl Plan {
    fn new(path: PathBuf, old: Option<String>, enabled: bool, mode: NewFileMode) -> Result<Self, SwitchError> {
        let (bom, text) = without_bom(old.as_deref().unwrap_or_default());
        let document = parse(&path, text)?;
        let edited = set_telemetry_value(&document, enabled)
            .map_err(|source| SwitchError::Edit { path: path.clone(), source })?;
        let new = format!("{bom}{edited}");
        Ok(Self { path, old, new, mode })
    }

    fn changes(&self) -> bool {
        self.old.as_deref() != Some(self.new.as_str())
    }

    /// A file or dir without write permission is reported, not replaced behind the user's back
    /// (renaming over a read-only file would succeed).
    fn check_writable(&self) -> Result<(), SwitchError> {
        let target = fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone());
        if fs::metadata(&target).is_ok_and(|meta| meta.permissions().readonly()) {
            return Err(SwitchError::ReadOnlyFile { path: self.path.clone() });
        }
        let dir = parent_dir(&target);
        if dir_is_read_only(dir) {
            return Err(SwitchError::ReadOnlyDir { dir: dir.to_owned() });
        }
        Ok(())
    }

    fn write(&self) -> Result<(), SwitchError> {
        let dir = parent_dir(&self.path);
        fs::create_dir_all(dir).map_err(|source| SwitchError::CreateDir { dir: dir.to_owned(), source })?;
        dlt_fs::write_atomic(&self.path, self.new.as_bytes(), self.mode, Durability::Durable)
            .map_err(|source| SwitchError::Write { path: self.path.clone(), source })
    }
}

/// A dir without any write permission bit. Checked by mode, not by trying, so that it holds
/// for root too.
#[cfg(unix)]
fn dir_is_read_only(dir: &Path) -> bool {
    fs::metadata(dir).is_ok_and(|meta| meta.permissions().readonly())
}

/// Windows ignores the read-only attribute of folders; the write itself reports a refusal.
#[cfg(not(unix))]
fn dir_is_read_only(_dir: &Path) -> bool {
    false
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}
