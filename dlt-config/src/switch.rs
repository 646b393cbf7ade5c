//! The telemetry switch: writes `runtime.dlthub_telemetry` the way dlt does (the global
//! `config.toml` always, the project one only if it exists and is not empty), but atomically.

use std::fs::{self, Metadata};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use crate::edit::{EditError, set_telemetry_value};
use crate::locations::Locations;
use crate::toml_file::{FileError, parse, read_text};

/// What the switch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SwitchReport {
    /// Files changed or created, global file first.
    pub written: Vec<PathBuf>,
    /// Files that already held the value and were left alone.
    pub unchanged: Vec<PathBuf>,
}

/// Why the switch was not (fully) applied. Every file is read and edited in memory before any
/// is written, so a bad file means nothing was written. The global file is written first: if
/// writing the project file then fails, the global one is already switched.
#[derive(Debug, thiserror::Error)]
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
    /// Writing or replacing the file failed; the old file is intact.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS reason.
        source: io::Error,
    },
}

/// Sets `runtime.dlthub_telemetry` to `enabled` in the project `config.toml` if it exists and
/// is not empty, and in the global `config.toml` always (creating the global dir and file).
///
/// Only the value's text changes, or the key or a `[runtime]` table is added; comments, order,
/// spacing and line endings stay. Each file is replaced atomically (a temporary file in the
/// same dir, renamed over it) and keeps its permissions and owner. `secrets.toml` and the
/// environment are not touched, so a value set there still wins.
pub fn set_telemetry(locations: &Locations, enabled: bool) -> Result<SwitchReport, SwitchError> {
    let project = locations.project_config_toml();
    let global = locations.global_config_toml();
    let global_text = read_text(&global)?;
    let mut plans = vec![Plan::new(global.clone(), global_text, enabled)?];
    if !same_file(&project, &global)
        && let Some(text) = read_text(&project)?.filter(|text| !text.is_empty())
    {
        plans.push(Plan::new(project, Some(text), enabled)?);
    }

    for plan in plans.iter().filter(|plan| plan.changes()) {
        plan.check_writable()?;
    }
    let mut report = SwitchReport::default();
    for plan in plans {
        if plan.changes() {
            plan.write()?;
            report.written.push(plan.path);
        } else {
            report.unchanged.push(plan.path);
        }
    }
    Ok(report)
}

/// One file's new contents, computed before anything is written.
struct Plan {
    path: PathBuf,
    old: Option<String>,
    new: String,
}

impl Plan {
    fn new(path: PathBuf, old: Option<String>, enabled: bool) -> Result<Self, SwitchError> {
        let text = old.as_deref().unwrap_or_default();
        let document = parse(&path, text)?;
        let new = set_telemetry_value(&document, enabled)
            .map_err(|source| SwitchError::Edit { path: path.clone(), source })?;
        Ok(Self { path, old, new })
    }

    fn changes(&self) -> bool {
        self.old.as_deref() != Some(self.new.as_str())
    }

    /// A file or dir without write permission is reported, not replaced behind the user's back
    /// (renaming over a read-only file would succeed).
    fn check_writable(&self) -> Result<(), SwitchError> {
        let target = write_target(&self.path);
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
        let target = write_target(&self.path);
        let dir = parent_dir(&target);
        fs::create_dir_all(dir).map_err(|source| SwitchError::CreateDir { dir: dir.to_owned(), source })?;
        let existing = fs::metadata(&target).ok();
        let temp = temp_file_in(dir).map_err(|source| {
            if source.kind() == io::ErrorKind::PermissionDenied {
                SwitchError::ReadOnlyDir { dir: dir.to_owned() }
            } else {
                SwitchError::Write { path: self.path.clone(), source }
            }
        })?;
        replace_with(temp, &target, self.new.as_bytes(), existing.as_ref())
            .map_err(|source| SwitchError::Write { path: self.path.clone(), source })
    }
}

/// A temporary file next to the target, so that the final rename is atomic.
fn temp_file_in(dir: &Path) -> io::Result<NamedTempFile> {
    new_temp_file_in(dir, true)
}

/// A temporary file in `dir` that becomes a config file by rename: with the usual mode (umask
/// applies) when `shared`, readable by its owner only otherwise.
pub(crate) fn new_temp_file_in(dir: &Path, shared: bool) -> io::Result<NamedTempFile> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(".dlt-config.").suffix(".tmp");
    #[cfg(unix)]
    if shared {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(0o666));
    }
    #[cfg(not(unix))]
    let _ = shared;
    builder.tempfile_in(dir)
}

/// Fills the temporary file, flushes it to disk, gives it the old file's permissions and
/// owner, then renames it over the target: a crash or a full disk leaves the old file whole
/// (the temporary file is removed when anything fails).
fn replace_with(
    mut temp: NamedTempFile,
    target: &Path,
    contents: &[u8],
    existing: Option<&Metadata>,
) -> io::Result<()> {
    temp.write_all(contents)?;
    if let Some(existing) = existing {
        temp.as_file().set_permissions(existing.permissions())?;
        keep_owner(temp.as_file(), existing)?;
    }
    temp.as_file().sync_all()?;
    temp.persist(target).map_err(|error| error.error)?;
    Ok(())
}

#[cfg(unix)]
fn keep_owner(file: &fs::File, existing: &Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let current = file.metadata()?;
    if (current.uid(), current.gid()) == (existing.uid(), existing.gid()) {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(existing.uid()), Some(existing.gid()))
}

#[cfg(not(unix))]
fn keep_owner(_file: &fs::File, _existing: &Metadata) -> io::Result<()> {
    Ok(())
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

/// The file to replace: a symlinked config is edited where it points, keeping the link.
fn write_target(path: &Path) -> PathBuf {
    let is_symlink = fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink());
    if is_symlink { fs::canonicalize(path).unwrap_or_else(|_| path.to_owned()) } else { path.to_owned() }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// True when the project's settings dir is the global dir (then the file is written once).
fn same_file(project: &Path, global: &Path) -> bool {
    match (fs::canonicalize(project), fs::canonicalize(global)) {
        (Ok(project), Ok(global)) => project == global,
        _ => project == global,
    }
}
