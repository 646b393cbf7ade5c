//! The file gate: a folder verified private on its open handle, and every file and folder in it
//! reached relative to that handle, without following a link.
//!
//! Glossary:
//! - *private folder*: a folder, not a link, owned by the effective user, that gives group and
//!   others no permission at all (mode `0700` or narrower). It is checked with `fstat` on the
//!   opened folder, so the folder checked is the folder used, whatever happens to its path.
//! - *name*: one path component inside a private folder (no `/`, not `.` or `..`).
//! - *refused*: a link where a file or folder is expected ([`GateError::Link`]), a folder that
//!   is not private ([`GateError::NotPrivate`]), or something other than a regular file where a
//!   file is expected ([`GateError::NotRegular`]). Nothing is read, written or deleted through
//!   what is refused, and it is left where it is; the error names it.
//!
//! On Unix a [`PrivateDir`] holds an open folder, and everything goes through `openat`,
//! `mkdirat`, `renameat`, `unlinkat` and `fstatat` with `O_NOFOLLOW` / `AT_SYMLINK_NOFOLLOW`.
//! Files are opened with `O_NONBLOCK` (a FIFO never blocks) and checked on the opened file
//! before use. Elsewhere (Windows) see [`PrivateDir`].

use std::ffi::{OsStr, OsString};
use std::fs::{File, TryLockError};
use std::io::{self, Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::atomic::{Durability, random};
use crate::read::{NotRegular, human_size};

#[cfg(not(unix))]
#[path = "gate/portable.rs"]
mod sys;
#[cfg(unix)]
#[path = "gate/unix.rs"]
mod sys;

/// What the metadata of a file or folder (links not followed) says, as each platform's `sys`
/// reads it.
struct Status {
    kind: EntryKind,
    /// What it is, unless it is a regular file.
    not_regular: Option<NotRegular>,
    owner: Option<u32>,
    mode: Option<u32>,
    len: u64,
    links: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

/// How often a held lock is tried again while waiting.
const LOCK_POLL: Duration = Duration::from_millis(2);

/// Why the gate refused or failed. Every variant names the file or folder.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GateError {
    /// A symbolic link stands where a file or folder was expected.
    #[error("{}: is a symbolic link; refused (nothing is read, written or deleted through a link here)", .path.display())]
    Link {
        /// The link.
        path: PathBuf,
    },
    /// The folder is not a private folder of this user.
    #[error(
        "{}: {problem}; refused (a private folder is not a link, belongs to this user and gives group and others no permission: mode 0700)",
        .path.display()
    )]
    NotPrivate {
        /// The folder.
        path: PathBuf,
        /// What is wrong with it.
        problem: NotPrivate,
    },
    /// Something other than a regular file stands where a file was expected.
    #[error("{}: is {kind}, not a regular file; refused", .path.display())]
    NotRegular {
        /// The file.
        path: PathBuf,
        /// What it is.
        kind: NotRegular,
    },
    /// A file to be written in place has other names (hard links): writing it would change them.
    #[error("{}: has {links} names (hard links); refused", .path.display())]
    HardLinked {
        /// The file.
        path: PathBuf,
        /// How many names it has.
        links: u64,
    },
    /// The file is larger than the caller reads.
    #[error("{}: is larger than {}", .path.display(), human_size(*.limit))]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The largest size read, in bytes.
        limit: u64,
    },
    /// The OS refused or failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The OS reason.
        source: io::Error,
    },
}

impl GateError {
    fn io(path: PathBuf, source: io::Error) -> Self {
        Self::Io { path, source }
    }
}

/// For callers that speak `io::Result`: the kind of an OS error is kept, the message (which
/// names the file) too.
impl From<GateError> for io::Error {
    fn from(error: GateError) -> Self {
        let kind = match &error {
            GateError::Io { source, .. } => source.kind(),
            GateError::TooLarge { .. } => io::ErrorKind::InvalidData,
            _ => io::ErrorKind::PermissionDenied,
        };
        io::Error::new(kind, error)
    }
}

/// What makes a folder not private.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotPrivate {
    /// It is not a folder.
    NotAFolder,
    /// It belongs to another user.
    Owner {
        /// Its owner's uid.
        owner: u32,
        /// This process's effective uid.
        user: u32,
    },
    /// Group or others have some permission on it.
    Mode {
        /// Its permission bits.
        mode: u32,
    },
}

impl std::fmt::Display for NotPrivate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotAFolder => f.write_str("is not a folder"),
            Self::Owner { owner, user } => write!(f, "belongs to uid {owner}, not to this user (uid {user})"),
            Self::Mode { mode } => write!(f, "has mode {mode:04o}, which lets group or others in"),
        }
    }
}

/// What an entry of a private folder is (links are not followed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A folder.
    Dir,
    /// A symbolic link.
    Link,
    /// Anything else (a FIFO, a socket, a device).
    Other,
}

/// One entry of a private folder, as `fstatat` without following links sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Entry {
    /// Its name.
    pub name: String,
    /// What it is.
    pub kind: EntryKind,
    /// Its size in bytes.
    pub len: u64,
    /// When it was last modified, where the platform says.
    pub modified: Option<SystemTime>,
    /// Its inode number (0 where the platform has none): a replaced file has a new one.
    pub inode: u64,
}

/// The last bytes of a file, read by [`PrivateDir::read_tail`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileTail {
    /// The bytes read: the whole file, or its last bytes.
    pub bytes: Vec<u8>,
    /// How many bytes before them were not read (0: the whole file was read).
    pub skipped: u64,
}

/// An exclusive lock between processes (and threads) on a lock file in a [`PrivateDir`], held
/// until dropped, or until the process ends (the OS releases it: a dead process never leaves one
/// behind).
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

impl FileLock {
    /// Writes this process's id into the lock file, for whoever wants to know who holds it
    /// (see [`PrivateDir::lock_holder`]).
    pub fn record_holder(&self) -> io::Result<()> {
        let mut file = &self.file;
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "{}", std::process::id())
    }
}

/// A folder verified private on its open handle: the one way to files under the telemetry dir
/// and a temporary-dir fallback.
///
/// It is created by this process with mode `0700`, or, when it exists, opened without following
/// a link; either way it is then checked on the handle ([`NotPrivate`]). Folders inside are made
/// and opened relative to it and checked the same way; files inside are opened relative to it,
/// never through a link, and are only regular files. Files it creates are `0600`.
///
/// Where Unix file modes do not exist (Windows), the handle is the folder's path: a folder or
/// file counts as private when it is not a link (nor another reparse point) when looked at, and
/// is then used by path. That check and the use are not one step, so a link made in between is
/// followed; the user's profile folder's access rules are what keep others out there.
#[derive(Debug)]
pub struct PrivateDir {
    path: PathBuf,
    handle: sys::Handle,
}

impl PrivateDir {
    /// Creates the folder at `path` (mode `0700`; missing parents too, also `0700`) unless it
    /// exists, and opens and checks it. The path up to the folder is followed as given (its
    /// parents are the caller's to trust); the folder itself must not be a link.
    pub fn create(path: &Path) -> Result<Self, GateError> {
        let (parent, name) = split(path)?;
        crate::create_private_dir_all(parent).map_err(|source| GateError::io(parent.to_owned(), source))?;
        let parent_handle = sys::open_path(parent).map_err(|source| GateError::io(parent.to_owned(), source))?;
        Self::create_in(&parent_handle, name, path.to_owned())
    }

    /// Opens and checks the folder at `path` without creating anything; `Ok(None)` when it (or
    /// a parent) does not exist.
    pub fn open(path: &Path) -> Result<Option<Self>, GateError> {
        let (parent, name) = split(path)?;
        let parent_handle = match sys::open_path(parent) {
            Ok(handle) => handle,
            // A parent that is a file holds no folder either.
            Err(error) if is_missing(&error) || error.kind() == io::ErrorKind::NotADirectory => return Ok(None),
            Err(source) => return Err(GateError::io(parent.to_owned(), source)),
        };
        Self::open_in(&parent_handle, name, path.to_owned())
    }

    /// The folder's path, as given (for messages; nothing is opened by it on Unix).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the folder `name` in this one (mode `0700`) unless it exists, and opens and
    /// checks it.
    pub fn create_dir(&self, name: &str) -> Result<Self, GateError> {
        let name = checked(name, &self.path)?;
        Self::create_in(&self.handle, name, self.path.join(name))
    }

    /// Opens and checks the folder `name` in this one; `Ok(None)` when it does not exist.
    pub fn open_dir(&self, name: &str) -> Result<Option<Self>, GateError> {
        let name = checked(name, &self.path)?;
        Self::open_in(&self.handle, name, self.path.join(name))
    }

    fn create_in(parent: &sys::Handle, name: &OsStr, path: PathBuf) -> Result<Self, GateError> {
        match sys::make_dir(parent, name) {
            Ok(()) => {}
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => {}
            Err(source) => return Err(GateError::io(path, source)),
        }
        Self::open_in(parent, name, path.clone())?.ok_or_else(|| {
            GateError::io(path, io::Error::new(io::ErrorKind::NotFound, "removed while it was being opened"))
        })
    }

    fn open_in(parent: &sys::Handle, name: &OsStr, path: PathBuf) -> Result<Option<Self>, GateError> {
        let handle = match sys::open_dir(parent, name) {
            Ok(handle) => handle,
            Err(error) if is_missing(&error) => return Ok(None),
            Err(error) => return Err(refusal(parent, name, path, error, Expected::Dir)),
        };
        let status = sys::handle_status(&handle).map_err(|source| GateError::io(path.clone(), source))?;
        if let Some(problem) = not_private(&status) {
            return Err(GateError::NotPrivate { path, problem });
        }
        Ok(Some(Self { path, handle }))
    }

    /// Reads the regular file `name` when it is at most `max_bytes` ([`GateError::TooLarge`]
    /// otherwise, decided before reading and held while reading); `Ok(None)` when it does not
    /// exist.
    pub fn read(&self, name: &str, max_bytes: u64) -> Result<Option<Vec<u8>>, GateError> {
        let Some(file) = self.open_file(name, Access::Read)? else { return Ok(None) };
        let too_large = || GateError::TooLarge { path: self.path.join(name), limit: max_bytes };
        let len = file.metadata().map_err(|source| GateError::io(self.path.join(name), source))?.len();
        if len > max_bytes {
            return Err(too_large());
        }
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.take(max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|source| GateError::io(self.path.join(name), source))?;
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max_bytes {
            return Err(too_large());
        }
        Ok(Some(bytes))
    }

    /// Reads the regular file `name`, or, when it is larger than `max_bytes`, its last
    /// `max_bytes` bytes; `Ok(None)` when it does not exist.
    pub fn read_tail(&self, name: &str, max_bytes: u64) -> Result<Option<FileTail>, GateError> {
        let Some(mut file) = self.open_file(name, Access::Read)? else { return Ok(None) };
        let len = file.metadata().map_err(|source| GateError::io(self.path.join(name), source))?.len();
        let skipped = len.saturating_sub(max_bytes);
        let mut bytes = Vec::with_capacity(usize::try_from(len.min(max_bytes)).unwrap_or(0));
        file.seek(io::SeekFrom::Start(skipped))
            .and_then(|_| file.take(max_bytes).read_to_end(&mut bytes))
            .map_err(|source| GateError::io(self.path.join(name), source))?;
        Ok(Some(FileTail { bytes, skipped }))
    }

    /// Replaces or creates the file `name` with `contents`: a reader sees the old contents or
    /// the new, never a mix. The new file is `0600`; a temporary file beside it is created
    /// exclusively, filled (and synced when `sync` asks), then renamed over it. A link named
    /// `name` is refused, not replaced.
    pub fn write_atomic(&self, name: &str, contents: &[u8], sync: Durability) -> Result<(), GateError> {
        let target = checked(name, &self.path)?;
        self.refuse_link(target)?;
        let (temp, _file) = self.temp_file(contents, sync)?;
        sys::rename(&self.handle, &temp.name, target).map_err(|source| GateError::io(self.path.join(name), source))?;
        temp.placed();
        self.sync_dir(sync)
    }

    /// Creates the file `name` with `contents` (`0600`) unless something is there (a file, a
    /// folder, a link: `Ok(false)`, even when another process creates it at the same moment).
    /// Readers never see it half-written.
    pub fn create_new(&self, name: &str, contents: &[u8], sync: Durability) -> Result<bool, GateError> {
        let target = checked(name, &self.path)?;
        if self.status(target)?.is_some() {
            return Ok(false);
        }
        let (temp, _file) = self.temp_file(contents, sync)?;
        match sys::hard_link(&self.handle, &temp.name, target) {
            Ok(()) => self.sync_dir(sync).map(|()| true),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => Ok(false),
            Err(source) => Err(GateError::io(self.path.join(name), source)),
        }
    }

    /// Creates the file `name` with `contents` (`0600`), atomically for readers, and returns it
    /// locked (as a [`FileLock`] would be): the lock is taken before the file has its name, so
    /// nobody sees it unlocked. Not synced. Whatever was named `name` is replaced.
    pub fn create_locked(&self, name: &str, contents: &[u8]) -> Result<File, GateError> {
        let target = checked(name, &self.path)?;
        let (temp, file) = self.temp_file(&[], Durability::Fast)?;
        let fill = file.lock().and_then(|()| (&file).write_all(contents));
        fill.map_err(|source| GateError::io(self.path.join(&temp.name), source))?;
        sys::rename(&self.handle, &temp.name, target).map_err(|source| GateError::io(self.path.join(name), source))?;
        temp.placed();
        Ok(file)
    }

    /// Opens the file `name` for appending, creating it (`0600`) when missing. A file with other
    /// names (hard links) is refused.
    pub fn append(&self, name: &str) -> Result<File, GateError> {
        let file = self.open_file(name, Access::Append)?;
        file.ok_or_else(|| GateError::io(self.path.join(name), io::Error::from(io::ErrorKind::NotFound)))
    }

    /// Opens the existing file `name` for reading and writing, at its start; `Ok(None)` when it
    /// does not exist. A file with other names (hard links) is refused.
    pub fn open_for_update(&self, name: &str) -> Result<Option<File>, GateError> {
        self.open_file(name, Access::Update)
    }

    /// Takes the lock on the lock file `name` (created `0600` when missing), waiting for another
    /// holder at most until `deadline`; an error of kind `TimedOut` after that.
    pub fn lock(&self, name: &str, deadline: Instant) -> Result<FileLock, GateError> {
        let file = self.lock_file(name)?;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(FileLock { file }),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => std::thread::sleep(LOCK_POLL),
                Err(TryLockError::WouldBlock) => {
                    let source = io::Error::new(io::ErrorKind::TimedOut, "held by another process");
                    return Err(GateError::io(self.path.join(name), source));
                }
                Err(TryLockError::Error(source)) => return Err(GateError::io(self.path.join(name), source)),
            }
        }
    }

    /// Takes the lock on the lock file `name` (created when missing) if nobody holds it;
    /// `Ok(None)` when someone does.
    pub fn try_lock(&self, name: &str) -> Result<Option<FileLock>, GateError> {
        let file = self.lock_file(name)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(FileLock { file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(source)) => Err(GateError::io(self.path.join(name), source)),
        }
    }

    /// Whether someone holds the lock on the file `name` now (a missing file: nobody). Creates
    /// nothing.
    pub fn is_locked(&self, name: &str) -> Result<bool, GateError> {
        let Some(file) = self.open_file(name, Access::Read)? else { return Ok(false) };
        match file.try_lock_shared() {
            Ok(()) => Ok(false),
            Err(TryLockError::WouldBlock) => Ok(true),
            Err(TryLockError::Error(source)) => Err(GateError::io(self.path.join(name), source)),
        }
    }

    /// The process id a holder of the lock `name` recorded ([`FileLock::record_holder`]), if
    /// the lock is held and one was recorded.
    pub fn lock_holder(&self, name: &str) -> Option<u32> {
        if !self.is_locked(name).ok()? {
            return None;
        }
        let bytes = self.read(name, 32).ok()??;
        String::from_utf8_lossy(&bytes).trim().parse().ok()
    }

    /// Deletes the file `name`; `Ok(false)` when nothing is there. A link or a folder is
    /// refused, not deleted.
    pub fn remove_file(&self, name: &str) -> Result<bool, GateError> {
        let target = checked(name, &self.path)?;
        let Some(status) = self.status(target)? else { return Ok(false) };
        match status.kind {
            EntryKind::Link => return Err(GateError::Link { path: self.path.join(name) }),
            EntryKind::Dir => {
                return Err(GateError::NotRegular { path: self.path.join(name), kind: NotRegular::Directory });
            }
            EntryKind::File | EntryKind::Other => {}
        }
        match sys::unlink(&self.handle, target) {
            Ok(()) => Ok(true),
            Err(error) if is_missing(&error) => Ok(false),
            Err(source) => Err(GateError::io(self.path.join(name), source)),
        }
    }

    /// Deletes the folder `name` and everything in it, never following a link: links inside
    /// are deleted as links (what they point to is not touched); a link named `name` is
    /// refused. `Ok(false)` when nothing is there.
    pub fn remove_dir_all(&self, name: &str) -> Result<bool, GateError> {
        let target = checked(name, &self.path)?;
        remove_tree(&self.handle, target, &self.path.join(name))
    }

    /// The entries of this folder, links not followed, in no particular order. Names that are
    /// not UTF-8 are left out (nothing this workspace writes has one).
    pub fn entries(&self) -> Result<Vec<Entry>, GateError> {
        let names = sys::names(&self.handle).map_err(|source| GateError::io(self.path.clone(), source))?;
        let mut entries = Vec::with_capacity(names.len());
        for name in names {
            let Ok(name) = name.into_string() else { continue };
            if let Some(entry) = self.entry(&name)? {
                entries.push(entry);
            }
        }
        Ok(entries)
    }

    /// The entry `name`, links not followed; `Ok(None)` when nothing is there.
    pub fn entry(&self, name: &str) -> Result<Option<Entry>, GateError> {
        let target = checked(name, &self.path)?;
        Ok(self.status(target)?.map(|status| Entry {
            name: name.to_owned(),
            kind: status.kind,
            len: status.len,
            modified: status.modified,
            inode: status.inode,
        }))
    }

    fn status(&self, name: &OsStr) -> Result<Option<Status>, GateError> {
        match sys::status_at(&self.handle, name) {
            Ok(status) => Ok(Some(status)),
            Err(error) if is_missing(&error) => Ok(None),
            Err(source) => Err(GateError::io(self.path.join(name), source)),
        }
    }

    fn refuse_link(&self, name: &OsStr) -> Result<(), GateError> {
        match self.status(name)? {
            Some(status) if status.kind == EntryKind::Link => Err(GateError::Link { path: self.path.join(name) }),
            _ => Ok(()),
        }
    }

    /// Opens the file `name` as `access` says, refusing links, what is not a regular file and,
    /// for writing in place, a file with other names; `Ok(None)` when it does not exist.
    fn open_file(&self, name: &str, access: Access) -> Result<Option<File>, GateError> {
        let target = checked(name, &self.path)?;
        let path = || self.path.join(name);
        let file = match sys::open_file(&self.handle, target, access) {
            Ok(file) => file,
            Err(error) if is_missing(&error) => return Ok(None),
            Err(error) => return Err(refusal(&self.handle, target, path(), error, Expected::File)),
        };
        let status = sys::file_status(&file).map_err(|source| GateError::io(path(), source))?;
        if let Some(kind) = status.not_regular {
            return Err(GateError::NotRegular { path: path(), kind });
        }
        if access.writes_in_place() && status.links > 1 {
            return Err(GateError::HardLinked { path: path(), links: status.links });
        }
        Ok(Some(file))
    }

    fn lock_file(&self, name: &str) -> Result<File, GateError> {
        let file = self.open_file(name, Access::Lock)?;
        file.ok_or_else(|| GateError::io(self.path.join(name), io::Error::from(io::ErrorKind::NotFound)))
    }

    /// A new `0600` temporary file in this folder holding `contents`: its name, which removes
    /// it on drop unless placed, and the open file.
    fn temp_file(&self, contents: &[u8], sync: Durability) -> Result<(TempName<'_>, File), GateError> {
        let mut attempt = 0;
        loop {
            let name = OsString::from(format!(".{}.{:016x}.tmp", std::process::id(), random()));
            match sys::open_file(&self.handle, &name, Access::CreateNew) {
                Ok(file) => {
                    let temp = TempName { dir: self, name, placed: false };
                    let mut filled = (&file).write_all(contents);
                    if sync == Durability::Durable {
                        filled = filled.and_then(|()| file.sync_all());
                    }
                    filled.map_err(|source| GateError::io(self.path.join(&temp.name), source))?;
                    return Ok((temp, file));
                }
                Err(error) if error.kind() == io::ErrorKind::AlreadyExists && attempt < 8 => attempt += 1,
                Err(source) => return Err(GateError::io(self.path.join(&name), source)),
            }
        }
    }

    fn sync_dir(&self, sync: Durability) -> Result<(), GateError> {
        if sync == Durability::Durable {
            sys::sync_dir(&self.handle).map_err(|source| GateError::io(self.path.clone(), source))?;
        }
        Ok(())
    }
}

/// A temporary file's name in a private folder: the file is removed on drop unless it was
/// moved into place.
struct TempName<'a> {
    dir: &'a PrivateDir,
    name: OsString,
    placed: bool,
}

impl TempName<'_> {
    fn placed(mut self) {
        self.placed = true;
    }
}

impl Drop for TempName<'_> {
    fn drop(&mut self) {
        if !self.placed {
            // Nothing more can be done about a temporary file that cannot be removed.
            let _ = sys::unlink(&self.dir.handle, &self.name);
        }
    }
}

/// How a file is opened.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Reading; nothing is created.
    Read,
    /// Appending; created when missing.
    Append,
    /// Reading and writing at the start; nothing is created.
    Update,
    /// A lock file: reading and writing (the holder's pid); created when missing.
    Lock,
    /// A new file; fails when anything has the name.
    CreateNew,
}

impl Access {
    /// Whether the open file is written where it is (not replaced): then a file with other
    /// names (hard links) is refused, lest those be written.
    fn writes_in_place(self) -> bool {
        matches!(self, Self::Append | Self::Update | Self::Lock)
    }
}

/// What a caller expected to find, for telling what stands there instead.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Expected {
    Dir,
    File,
}

/// Why opening `name` failed, told by what stands there (links not followed): a link, a file
/// where a folder was expected, a folder that is not private, a folder or a FIFO where a file
/// was, or the OS error itself.
fn refusal(parent: &sys::Handle, name: &OsStr, path: PathBuf, error: io::Error, expected: Expected) -> GateError {
    let Ok(status) = sys::status_at(parent, name) else { return GateError::io(path, error) };
    match (status.kind, expected) {
        (EntryKind::Link, _) => GateError::Link { path },
        // A folder that cannot even be opened may say why by its owner or mode.
        (EntryKind::Dir, Expected::Dir) => match not_private(&status) {
            Some(problem) => GateError::NotPrivate { path, problem },
            None => GateError::io(path, error),
        },
        (_, Expected::Dir) => GateError::NotPrivate { path, problem: NotPrivate::NotAFolder },
        (EntryKind::Dir, Expected::File) => GateError::NotRegular { path, kind: NotRegular::Directory },
        (EntryKind::Other, Expected::File) => {
            GateError::NotRegular { path, kind: status.not_regular.unwrap_or(NotRegular::Other) }
        }
        (EntryKind::File, Expected::File) => GateError::io(path, error),
    }
}

/// What keeps an opened folder from being private, if anything.
fn not_private(status: &Status) -> Option<NotPrivate> {
    if status.kind != EntryKind::Dir {
        return Some(NotPrivate::NotAFolder);
    }
    if let (Some(owner), Some(user)) = (status.owner, sys::effective_uid())
        && owner != user
    {
        return Some(NotPrivate::Owner { owner, user });
    }
    match status.mode {
        Some(mode) if mode & 0o077 != 0 => Some(NotPrivate::Mode { mode: mode & 0o7777 }),
        _ => None,
    }
}

/// Deletes the folder `name` in `parent` and everything in it, links deleted as links.
fn remove_tree(parent: &sys::Handle, name: &OsStr, path: &Path) -> Result<bool, GateError> {
    let handle = match sys::open_dir(parent, name) {
        Ok(handle) => handle,
        Err(error) if is_missing(&error) => return Ok(false),
        Err(error) => return Err(refusal(parent, name, path.to_owned(), error, Expected::Dir)),
    };
    for child in sys::names(&handle).map_err(|source| GateError::io(path.to_owned(), source))? {
        let child_path = path.join(&child);
        let status = match sys::status_at(&handle, &child) {
            Ok(status) => status,
            Err(error) if is_missing(&error) => continue,
            Err(source) => return Err(GateError::io(child_path, source)),
        };
        if status.kind == EntryKind::Dir {
            remove_tree(&handle, &child, &child_path)?;
        } else {
            match sys::unlink(&handle, &child) {
                Err(error) if !is_missing(&error) => return Err(GateError::io(child_path, error)),
                _ => {}
            }
        }
    }
    match sys::remove_dir(parent, name) {
        Ok(()) => Ok(true),
        Err(error) if is_missing(&error) => Ok(false),
        Err(source) => Err(GateError::io(path.to_owned(), source)),
    }
}

/// `path`'s parent (`.` for a bare name) and its last component.
fn split(path: &Path) -> Result<(&Path, &OsStr), GateError> {
    let name = path.file_name().ok_or_else(|| {
        GateError::io(path.to_owned(), io::Error::new(io::ErrorKind::InvalidInput, "does not end in a folder name"))
    })?;
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    Ok((parent, name))
}

/// `name` when it is one path component: not empty, `.` or `..`, without separators or NUL.
fn checked<'a>(name: &'a str, dir: &Path) -> Result<&'a OsStr, GateError> {
    let valid = !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\\', '\0']);
    if valid {
        Ok(OsStr::new(name))
    } else {
        let source = io::Error::new(io::ErrorKind::InvalidInput, format!("{name:?} is not a file name"));
        Err(GateError::io(dir.to_owned(), source))
    }
}

/// Nothing there.
fn is_missing(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::NotFound
}
