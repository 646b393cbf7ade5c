//! The gate where Unix modes and `openat` do not exist (Windows): by path, with links refused
//! when looked at. [`super::PrivateDir`]'s doc comment says what that leaves open.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::{Access, EntryKind, Status};
use crate::read::NotRegular;

/// A folder, by path.
#[derive(Debug)]
pub(super) struct Handle(PathBuf);

pub(super) fn open_path(path: &Path) -> io::Result<Handle> {
    if fs::metadata(path)?.is_dir() {
        Ok(Handle(path.to_owned()))
    } else {
        Err(io::Error::from(io::ErrorKind::NotADirectory))
    }
}

pub(super) fn make_dir(dir: &Handle, name: &OsStr) -> io::Result<()> {
    fs::create_dir(dir.0.join(name))
}

pub(super) fn open_dir(dir: &Handle, name: &OsStr) -> io::Result<Handle> {
    let path = dir.0.join(name);
    let metadata = fs::symlink_metadata(&path)?;
    if metadata.file_type().is_symlink() {
        return Err(io::Error::other("is a link"));
    }
    if !metadata.is_dir() {
        return Err(io::Error::from(io::ErrorKind::NotADirectory));
    }
    Ok(Handle(path))
}

pub(super) fn handle_status(dir: &Handle) -> io::Result<Status> {
    Ok(status(&fs::symlink_metadata(&dir.0)?))
}

pub(super) fn status_at(dir: &Handle, name: &OsStr) -> io::Result<Status> {
    Ok(status(&fs::symlink_metadata(dir.0.join(name))?))
}

pub(super) fn open_file(dir: &Handle, name: &OsStr, access: Access) -> io::Result<File> {
    let path = dir.0.join(name);
    if fs::symlink_metadata(&path).is_ok_and(|metadata| metadata.file_type().is_symlink()) {
        return Err(io::Error::other("is a link"));
    }
    let mut options = OpenOptions::new();
    match access {
        Access::Read => options.read(true),
        Access::Append => options.append(true).create(true),
        Access::Update => options.read(true).write(true),
        Access::Lock => options.read(true).write(true).create(true).truncate(false),
        Access::CreateNew => options.read(true).write(true).create_new(true),
    };
    options.open(path)
}

pub(super) fn file_status(file: &File) -> io::Result<Status> {
    Ok(status(&file.metadata()?))
}

pub(super) fn rename(dir: &Handle, from: &OsStr, to: &OsStr) -> io::Result<()> {
    fs::rename(dir.0.join(from), dir.0.join(to))
}

pub(super) fn hard_link(dir: &Handle, from: &OsStr, to: &OsStr) -> io::Result<()> {
    fs::hard_link(dir.0.join(from), dir.0.join(to))
}

/// Deletes the entry `name` that is not a folder; a link to a folder is deleted as a link.
pub(super) fn unlink(dir: &Handle, name: &OsStr) -> io::Result<()> {
    let path = dir.0.join(name);
    fs::remove_file(&path).or_else(|error| {
        if fs::symlink_metadata(&path).is_ok_and(|metadata| metadata.file_type().is_symlink()) {
            fs::remove_dir(&path)
        } else {
            Err(error)
        }
    })
}

pub(super) fn remove_dir(dir: &Handle, name: &OsStr) -> io::Result<()> {
    fs::remove_dir(dir.0.join(name))
}

pub(super) fn names(dir: &Handle) -> io::Result<Vec<OsString>> {
    fs::read_dir(&dir.0)?.map(|entry| entry.map(|entry| entry.file_name())).collect()
}

/// A folder cannot be opened as a file here; renames are journaled by NTFS.
pub(super) fn sync_dir(_dir: &Handle) -> io::Result<()> {
    Ok(())
}

/// No uid here: owners are not compared.
pub(super) fn effective_uid() -> Option<u32> {
    None
}

fn status(metadata: &Metadata) -> Status {
    let file_type = metadata.file_type();
    let (kind, not_regular) = if file_type.is_symlink() {
        (EntryKind::Link, Some(NotRegular::Other))
    } else if file_type.is_dir() {
        (EntryKind::Dir, Some(NotRegular::Directory))
    } else if file_type.is_file() {
        (EntryKind::File, None)
    } else {
        (EntryKind::Other, Some(NotRegular::Other))
    };
    Status {
        kind,
        not_regular,
        owner: None,
        mode: None,
        len: metadata.len(),
        // Not known here without a handle query: hard links are not refused.
        links: 1,
        modified: metadata.modified().ok(),
        inode: 0,
    }
}
