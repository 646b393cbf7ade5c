//! Atomic replacement and creation of small files: a temporary file beside the target, given
//! its final mode before any content, filled, synced, then renamed (or linked) into place.

use std::collections::hash_map::RandomState;
use std::fs::{self, File, OpenOptions};
use std::hash::{BuildHasher, Hasher};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

/// The mode a file gets when it does not exist yet (an existing file keeps its own).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NewFileMode {
    /// Readable by everyone the umask allows (`0o666` before the umask): config files.
    Shared,
    /// Readable and writable by its owner only (`0o600`): secrets, outboxes, marks.
    Private,
}

/// Whether the new contents must survive a power loss once the call returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// The file and its folder are synced before and after the rename: config files.
    Durable,
    /// Atomic for readers, but not synced: a crash may keep the old contents. For data that
    /// is cheap to lose and written on a path where waiting for the disk would hold up a user.
    Fast,
}

impl NewFileMode {
    #[cfg(unix)]
    fn bits(self) -> u32 {
        match self {
            Self::Shared => 0o666,
            Self::Private => 0o600,
        }
    }
}

/// Replaces the file at `path` with `contents`, or creates it.
///
/// A reader (or a crash) sees the old contents or the new, never a mix. An existing file keeps
/// its permissions, applied to the temporary file before any byte is written, and its owner; a
/// new one gets `mode`. When `path` is a symlink the file it points to is replaced and the link
/// kept; a symlink to nothing is an error (`NotFound`), never replaced by a regular file.
pub fn write_atomic(path: &Path, contents: &[u8], mode: NewFileMode, sync: Durability) -> io::Result<()> {
    let target = resolve_link(path)?;
    let existing = match fs::metadata(&target) {
        Ok(metadata) => Some(metadata),
        Err(error) if error.kind() == io::ErrorKind::NotFound => None,
        Err(error) => return Err(error),
    };
    let temp = TempFile::create(parent_dir(&target), mode, existing.as_ref())?;
    temp.fill(contents, sync)?;
    temp.rename_to(&target, sync)
}

/// Creates the file at `path` with `contents` unless something exists there; `Ok(false)` when
/// it does (a file, a folder or a link, even one created by another process at the same
/// moment). Readers never see it half-written.
pub fn create_new_atomic(path: &Path, contents: &[u8], mode: NewFileMode, sync: Durability) -> io::Result<bool> {
    if fs::symlink_metadata(path).is_ok() {
        return Ok(false);
    }
    let temp = TempFile::create(parent_dir(path), mode, None)?;
    temp.fill(contents, sync)?;
    temp.link_to(path, sync)
}

/// Where to write for `path`: the file a symlink points to, or `path` itself.
fn resolve_link(path: &Path) -> io::Result<PathBuf> {
    let is_link = fs::symlink_metadata(path).is_ok_and(|metadata| metadata.file_type().is_symlink());
    if !is_link {
        return Ok(path.to_owned());
    }
    fs::canonicalize(path).map_err(|error| {
        if error.kind() == io::ErrorKind::NotFound {
            io::Error::new(io::ErrorKind::NotFound, "it is a symbolic link to a file that does not exist")
        } else {
            error
        }
    })
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// A temporary file beside the target, removed unless it was moved into place.
struct TempFile {
    path: PathBuf,
    file: File,
    dir: PathBuf,
    placed: bool,
}

impl TempFile {
    /// Creates it exclusively with the final permissions (an existing file's, else `mode`) and
    /// the existing file's owner, before any content is written.
    fn create(dir: &Path, mode: NewFileMode, existing: Option<&fs::Metadata>) -> io::Result<Self> {
        let mut attempt = 0;
        loop {
            let path = dir.join(format!(".{}.{:016x}.tmp", std::process::id(), random()));
            let mut options = OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
                // The umask can only narrow this; the exact old mode is applied right after.
                let bits = existing.map_or(mode.bits(), |metadata| metadata.permissions().mode() & 0o7777);
                options.mode(bits);
            }
            #[cfg(not(unix))]
            let _ = mode;
            match options.open(&path) {
                Ok(file) => {
                    let temp = Self { path, file, dir: dir.to_owned(), placed: false };
                    if let Some(existing) = existing {
                        temp.file.set_permissions(existing.permissions())?;
                        keep_owner(&temp.file, existing)?;
                    }
                    return Ok(temp);
                }
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists && attempt < 8 => attempt += 1,
                Err(error) => return Err(error),
            }
        }
    }

    fn fill(&self, contents: &[u8], sync: Durability) -> io::Result<()> {
        (&self.file).write_all(contents)?;
        if sync == Durability::Durable {
            self.file.sync_all()?;
        }
        Ok(())
    }

    fn rename_to(mut self, target: &Path, sync: Durability) -> io::Result<()> {
        fs::rename(&self.path, target)?;
        self.placed = true;
        sync_dir(&self.dir, sync)
    }

    /// Links the file into place unless something is there already; the temporary name is
    /// removed on drop either way.
    fn link_to(self, target: &Path, sync: Durability) -> io::Result<bool> {
        match fs::hard_link(&self.path, target) {
            Ok(()) => sync_dir(&self.dir, sync).map(|()| true),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(error) => Err(error),
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.placed {
            // Nothing more can be done about a temporary file that cannot be removed.
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// A random number for temporary names (std's hasher keys are random per process and thread).
pub(crate) fn random() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher
        .write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
    hasher.finish()
}

#[cfg(unix)]
fn keep_owner(file: &File, existing: &fs::Metadata) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let current = file.metadata()?;
    if (current.uid(), current.gid()) == (existing.uid(), existing.gid()) {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(existing.uid()), Some(existing.gid()))
}

#[cfg(not(unix))]
fn keep_owner(_file: &File, _existing: &fs::Metadata) -> io::Result<()> {
    Ok(())
}

/// Syncs the folder so that the rename itself survives a crash.
#[cfg(unix)]
fn sync_dir(dir: &Path, sync: Durability) -> io::Result<()> {
    if sync == Durability::Durable { File::open(dir)?.sync_all() } else { Ok(()) }
}

/// Windows cannot open a folder as a file; its renames are journaled by NTFS.
#[cfg(not(unix))]
fn sync_dir(_dir: &Path, _sync: Durability) -> io::Result<()> {
    Ok(())
}
