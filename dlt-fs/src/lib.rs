//! Files as telemetry needs them, one way each, for every crate of the workspace (it depends on
//! no crate of ours):
//!
//! - [`PrivateDir`], the file gate: a folder created `0700` by this process, or opened without
//!   following a link, then verified on its open handle (a folder, owned by this user, no
//!   permission for group or others); folders and files inside are reached relative to that
//!   handle, never through a link, and files are only regular files. Capped and tail reads,
//!   atomic writes, create-new, create-locked, append, open-for-update, [`FileLock`]s, removal
//!   and listing all go through it. Every file under the telemetry dir and a temporary-dir
//!   fallback is opened this way.
//! - [`write_atomic`]: replace or create a file by path so that a reader sees the old contents
//!   or the new, never half; the old file's mode (applied before any byte is written) and owner
//!   are kept; file and folder are synced when asked; a symlink is written through, a dangling
//!   one is an error. For config files, which a user may link on purpose.
//! - [`read_regular_file`]: read a file only when it is a regular file of at most a given size,
//!   decided before reading: a FIFO, a device or a folder in its place is an error, never a hang.
//! - [`create_private_dir_all`]: folders (and their parents) created `0700`.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use dlt_fs::{NewFileMode, PrivateDir, Durability, read_regular_file, write_atomic};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("config.toml");
//! write_atomic(&path, b"[runtime]\n", NewFileMode::Shared, Durability::Durable)?;
//! assert_eq!(read_regular_file(&path, 1024)?.as_deref(), Some(&b"[runtime]\n"[..]));
//!
//! let telemetry = PrivateDir::create(&dir.path().join("telemetry"))?;
//! let _lock = telemetry.lock(".lock", Instant::now() + Duration::from_secs(1))?;
//! telemetry.write_atomic("mark", b"1\n", Durability::Durable)?;
//! assert_eq!(telemetry.read("mark", 1024)?.as_deref(), Some(&b"1\n"[..]));
//! # Ok(())
//! # }
//! ```

mod atomic;
mod dir;
mod gate;
mod read;

pub use atomic::{Durability, NewFileMode, create_new_atomic, write_atomic};
pub use dir::create_private_dir_all;
pub use gate::{Entry, EntryKind, FileLock, FileTail, GateError, NotPrivate, PrivateDir};
pub use read::{NotRegular, ReadError, read_regular_file};

// The README's example runs as a doctest, so the crate's page on crates.io cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
