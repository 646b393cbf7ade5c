//! A lock between processes (and between threads of one process) on a lock file.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Read as _, Seek as _, Write as _};
use std::path::Path;
use std::time::{Duration, Instant};

/// How often a held lock is tried again while waiting.
const POLL: Duration = Duration::from_millis(2);

/// An exclusive lock on a lock file, held until dropped (or until the process ends, when the
/// OS releases it: a lock is never left behind by a process that died).
#[derive(Debug)]
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Takes the lock on `path` (created, readable by its owner only, if missing), waiting for
    /// another holder at most until `deadline`; `TimedOut` after that.
    pub fn acquire(path: &Path, deadline: Instant) -> io::Result<Self> {
        let file = open(path)?;
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Self { _file: file }),
                Err(TryLockError::WouldBlock) if Instant::now() < deadline => std::thread::sleep(POLL),
                Err(TryLockError::WouldBlock) => {
                    return Err(io::Error::new(io::ErrorKind::TimedOut, "held by another process"));
                }
                Err(TryLockError::Error(error)) => return Err(error),
            }
        }
    }

    /// Takes the lock on `path` if nobody holds it; `Ok(None)` when someone does.
    pub fn try_acquire(path: &Path) -> io::Result<Option<Self>> {
        let file = open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(Self { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(error)) => Err(error),
        }
    }

    /// Writes this process's id into the lock file, for whoever wants to know who holds it
    /// (see [`FileLock::holder`]).
    pub fn record_holder(&self) -> io::Result<()> {
        let mut file = &self._file;
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "{}", std::process::id())
    }

    /// The process id a holder recorded with [`FileLock::record_holder`], if the lock is held
    /// and one was recorded.
    pub fn holder(path: &Path) -> Option<u32> {
        if !Self::is_held(path).ok()? {
            return None;
        }
        let mut text = String::new();
        File::open(path).ok()?.take(32).read_to_string(&mut text).ok()?;
        text.trim().parse().ok()
    }

    /// Whether someone holds the lock on `path` right now (a missing file: nobody).
    pub fn is_held(path: &Path) -> io::Result<bool> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(error) => return Err(error),
        };
        match file.try_lock_shared() {
            Ok(()) => Ok(false),
            Err(TryLockError::WouldBlock) => Ok(true),
            Err(TryLockError::Error(error)) => Err(error),
        }
    }
}

fn open(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.create(true).truncate(false).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}
