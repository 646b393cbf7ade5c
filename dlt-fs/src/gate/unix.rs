//! The gate on Unix: everything relative to an open folder, links never followed.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use rustix::fs::{AtFlags, CWD, FileType, Mode, OFlags};

use super::{Access, EntryKind, Status};
use crate::read::NotRegular;

/// An open folder.
#[derive(Debug)]
pub(super) struct Handle(OwnedFd);

/// Every open: no link followed, no descriptor inherited by a child process, no wait on a
/// FIFO.
const ALWAYS: OFlags = OFlags::NOFOLLOW.union(OFlags::CLOEXEC).union(OFlags::NONBLOCK);
const FOLDER: OFlags = OFlags::RDONLY.union(OFlags::DIRECTORY).union(OFlags::CLOEXEC);
const PRIVATE_FILE: Mode = Mode::RUSR.union(Mode::WUSR);

/// Opens the folder at `path`, following links (the caller's own path to a private folder).
pub(super) fn open_path(path: &Path) -> io::Result<Handle> {
    Ok(Handle(rustix::fs::openat(CWD, path, FOLDER, Mode::empty())?))
}

pub(super) fn make_dir(dir: &Handle, name: &OsStr) -> io::Result<()> {
    Ok(rustix::fs::mkdirat(&dir.0, name, Mode::RWXU)?)
}

pub(super) fn open_dir(dir: &Handle, name: &OsStr) -> io::Result<Handle> {
    Ok(Handle(rustix::fs::openat(&dir.0, name, FOLDER | OFlags::NOFOLLOW, Mode::empty())?))
}

pub(super) fn handle_status(dir: &Handle) -> io::Result<Status> {
    Ok(status(&rustix::fs::fstat(&dir.0)?))
}

pub(super) fn status_at(dir: &Handle, name: &OsStr) -> io::Result<Status> {
    Ok(status(&rustix::fs::statat(&dir.0, name, AtFlags::SYMLINK_NOFOLLOW)?))
}

pub(super) fn open_file(dir: &Handle, name: &OsStr, access: Access) -> io::Result<File> {
    let flags = match access {
        Access::Read => OFlags::RDONLY,
        Access::Append => OFlags::WRONLY | OFlags::APPEND | OFlags::CREATE,
        Access::Update => OFlags::RDWR,
        Access::Lock => OFlags::RDWR | OFlags::CREATE,
        Access::CreateNew => OFlags::RDWR | OFlags::CREATE | OFlags::EXCL,
    };
    Ok(File::from(rustix::fs::openat(&dir.0, name, flags | ALWAYS, PRIVATE_FILE)?))
}

pub(super) fn file_status(file: &File) -> io::Result<Status> {
    Ok(status(&rustix::fs::fstat(file)?))
}

pub(super) fn rename(dir: &Handle, from: &OsStr, to: &OsStr) -> io::Result<()> {
    Ok(rustix::fs::renameat(&dir.0, from, &dir.0, to)?)
}

pub(super) fn hard_link(dir: &Handle, from: &OsStr, to: &OsStr) -> io::Result<()> {
    Ok(rustix::fs::linkat(&dir.0, from, &dir.0, to, AtFlags::empty())?)
}

/// Deletes the entry `name` that is not a folder (a link is deleted, not followed).
pub(super) fn unlink(dir: &Handle, name: &OsStr) -> io::Result<()> {
    Ok(rustix::fs::unlinkat(&dir.0, name, AtFlags::empty())?)
}

pub(super) fn remove_dir(dir: &Handle, name: &OsStr) -> io::Result<()> {
    Ok(rustix::fs::unlinkat(&dir.0, name, AtFlags::REMOVEDIR)?)
}

/// The names in the folder, `.` and `..` left out.
pub(super) fn names(dir: &Handle) -> io::Result<Vec<OsString>> {
    let mut names = Vec::new();
    for entry in rustix::fs::Dir::read_from(&dir.0)? {
        let name = OsStr::from_bytes(entry?.file_name().to_bytes()).to_owned();
        if name != "." && name != ".." {
            names.push(name);
        }
    }
    Ok(names)
}

pub(super) fn sync_dir(dir: &Handle) -> io::Result<()> {
    Ok(rustix::fs::fsync(&dir.0)?)
}

pub(super) fn effective_uid() -> Option<u32> {
    Some(rustix::process::geteuid().as_raw())
}

#[allow(
    clippy::useless_conversion,
    clippy::unnecessary_fallible_conversions,
    reason = "the field types of `struct stat` differ between platforms"
)]
fn status(stat: &rustix::fs::Stat) -> Status {
    let (kind, not_regular) = match FileType::from_raw_mode(stat.st_mode) {
        FileType::RegularFile => (EntryKind::File, None),
        FileType::Directory => (EntryKind::Dir, Some(NotRegular::Directory)),
        FileType::Symlink => (EntryKind::Link, Some(NotRegular::Other)),
        FileType::Fifo => (EntryKind::Other, Some(NotRegular::Fifo)),
        FileType::CharacterDevice | FileType::BlockDevice => (EntryKind::Other, Some(NotRegular::Device)),
        FileType::Socket => (EntryKind::Other, Some(NotRegular::Socket)),
        _ => (EntryKind::Other, Some(NotRegular::Other)),
    };
    let seconds = i64::try_from(stat.st_mtime).unwrap_or(0);
    let nanos = u32::try_from(stat.st_mtime_nsec).unwrap_or(0);
    let modified = match u64::try_from(seconds) {
        Ok(seconds) => UNIX_EPOCH.checked_add(Duration::new(seconds, nanos)),
        Err(_) => UNIX_EPOCH.checked_sub(Duration::from_secs(seconds.unsigned_abs())),
    };
    Status {
        kind,
        not_regular,
        owner: Some(stat.st_uid),
        mode: Some(u32::from(stat.st_mode) & 0o7777),
        len: u64::try_from(stat.st_size).unwrap_or(0),
        links: u64::from(stat.st_nlink),
        modified,
        inode: u64::from(stat.st_ino),
    }
}
