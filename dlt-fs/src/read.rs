//! Reading a file only when it is what it claims to be: a regular file of bounded size.

use std::fs::{File, OpenOptions};
use std::io::{self, Read as _};
use std::path::Path;

/// What stands where a regular file was expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotRegular {
    /// A folder.
    Directory,
    /// A named pipe: reading it would wait for a writer.
    Fifo,
    /// A character or block device, e.g. `/dev/zero`, which reads without end.
    Device,
    /// A Unix socket.
    Socket,
    /// Anything else that is not a regular file.
    Other,
}

impl std::fmt::Display for NotRegular {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Directory => "a folder",
            Self::Fifo => "a named pipe (FIFO)",
            Self::Device => "a device",
            Self::Socket => "a socket",
            Self::Other => "not a regular file",
        })
    }
}

/// Why a file was not read. The message names what is wrong; the caller names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// Something other than a regular file is there (after following links).
    #[error("is {0}, not a regular file")]
    NotRegular(NotRegular),
    /// The file is larger than the caller accepts.
    #[error("is larger than {}", human_size(*limit))]
    TooLarge {
        /// The largest size accepted, in bytes.
        limit: u64,
    },
    /// The OS refused (permissions, I/O).
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Reads the file at `path` when it is a regular file (links followed) of at most `max_bytes`;
/// `Ok(None)` when nothing is there. What is there is checked on the opened file before a byte
/// is read, and the file is opened without blocking, so a FIFO never hangs the caller and a
/// device never reads without end.
pub fn read_regular_file(path: &Path, max_bytes: u64) -> Result<Option<Vec<u8>>, ReadError> {
    let file = match open_nonblocking(path) {
        Ok(file) => file,
        Err(error) if matches!(error.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
            return Ok(None);
        }
        Err(error) if error.kind() == io::ErrorKind::IsADirectory => {
            return Err(ReadError::NotRegular(NotRegular::Directory));
        }
        Err(error) => return Err(ReadError::Io(error)),
    };
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Err(ReadError::NotRegular(kind_of(&metadata.file_type())));
    }
    if metadata.len() > max_bytes {
        return Err(ReadError::TooLarge { limit: max_bytes });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(metadata.len()).unwrap_or(0));
    // The file may grow between the check and the read: never read past the limit.
    file.take(max_bytes.saturating_add(1)).read_to_end(&mut bytes)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max_bytes {
        return Err(ReadError::TooLarge { limit: max_bytes });
    }
    Ok(Some(bytes))
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let nonblocking = rustix::fs::OFlags::NONBLOCK.bits();
    OpenOptions::new().read(true).custom_flags(nonblocking.cast_signed()).open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).open(path)
}

#[cfg(unix)]
fn kind_of(file_type: &std::fs::FileType) -> NotRegular {
    use std::os::unix::fs::FileTypeExt as _;
    if file_type.is_dir() {
        NotRegular::Directory
    } else if file_type.is_fifo() {
        NotRegular::Fifo
    } else if file_type.is_char_device() || file_type.is_block_device() {
        NotRegular::Device
    } else if file_type.is_socket() {
        NotRegular::Socket
    } else {
        NotRegular::Other
    }
}

#[cfg(not(unix))]
fn kind_of(file_type: &std::fs::FileType) -> NotRegular {
    if file_type.is_dir() { NotRegular::Directory } else { NotRegular::Other }
}

/// `1 MiB`, `16 MiB`, `64 KiB`, or bytes.
pub(crate) fn human_size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}
