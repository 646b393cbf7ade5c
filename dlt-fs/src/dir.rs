//! Folders that only their owner can enter, for what must not be read or planted by others.

use std::io;
use std::path::Path;

/// Creates `path` and any missing parents with mode `0o700` (an existing folder is left as
/// it is).
pub fn create_private_dir_all(path: &Path) -> io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(path)
}

/// Whether `path` is a folder (not a link to one) owned by the current user that nobody else
/// may write to (no group or world write bit). `Ok(false)` when it does not exist.
#[cfg(unix)]
pub fn is_private_dir(path: &Path) -> io::Result<bool> {
    use std::os::unix::fs::MetadataExt as _;
    let metadata = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(error),
    };
    Ok(metadata.is_dir() && metadata.uid() == rustix::process::geteuid().as_raw() && metadata.mode() & 0o022 == 0)
}

/// Windows has no such modes: a folder that is not a link counts as private.
#[cfg(not(unix))]
pub fn is_private_dir(path: &Path) -> io::Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(metadata) => Ok(metadata.is_dir()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(error),
    }
}
