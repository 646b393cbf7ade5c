//! Files as telemetry needs them, one way each, for every crate of the workspace (it depends on
//! no crate of ours):
//!
//! - [`write_atomic`]: replace or create a file so that a reader sees the old contents or the
//!   new, never half; the old file's mode (applied before any byte is written) and owner are
//!   kept; file and folder are synced when asked; a symlink is written through, a dangling one
//!   is an error. [`create_locked`] creates a file the same way and hands it over locked.
//! - [`read_regular_file`]: read a file only when it is a regular file of at most a given size,
//!   decided before reading: a FIFO, a device or a folder in its place is an error, never a hang.
//! - [`FileLock`]: a lock between processes on a lock file, waited for until a deadline.
//! - [`create_private_dir_all`] and [`is_private_dir`]: folders only their owner can enter.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use dlt_fs::{FileLock, NewFileMode, Sync, read_regular_file, write_atomic};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("config.toml");
//! let _lock = FileLock::acquire(&dir.path().join(".lock"), Instant::now() + Duration::from_secs(1))?;
//! write_atomic(&path, b"[runtime]\n", NewFileMode::Shared, Sync::Durable)?;
//! assert_eq!(read_regular_file(&path, 1024)?.as_deref(), Some(&b"[runtime]\n"[..]));
//! # Ok(())
//! # }
//! ```

mod atomic;
mod dir;
mod lock;
mod read;

pub use atomic::{NewFileMode, Sync, create_locked, create_new_atomic, write_atomic};
pub use dir::{create_private_dir_all, is_private_dir};
pub use lock::FileLock;
pub use read::{NotRegular, ReadError, read_regular_file};

// The README's example runs as a doctest, so the crate's page on crates.io cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
