//! A temporary project dir and global dir, and an environment pointing at them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use dlt_config::{Environment, Locations};
use tempfile::TempDir;

/// A temporary project (with its `.dlt` settings dir path) and global dir; nothing else is touched.
pub(crate) struct Dirs {
    pub(crate) project: TempDir,
    pub(crate) global: TempDir,
}

impl Dirs {
    pub(crate) fn new() -> Self {
        Self { project: tempfile::tempdir().unwrap(), global: tempfile::tempdir().unwrap() }
    }

    /// The environment for these dirs plus `extra` variables.
    pub(crate) fn env(&self, extra: &[(&str, &str)]) -> Environment {
        let mut pairs: Vec<(String, OsString)> = vec![
            ("DLT_PROJECT_DIR".to_owned(), self.project.path().into()),
            ("DLT_GLOBAL_DIR".to_owned(), self.global.path().into()),
        ];
        pairs.extend(extra.iter().map(|(name, value)| ((*name).to_owned(), OsString::from(value))));
        Environment::from_pairs(pairs)
    }

    pub(crate) fn locations(&self) -> Locations {
        Locations::resolve(&self.env(&[])).unwrap()
    }

    pub(crate) fn project_config(&self) -> PathBuf {
        self.locations().project_config_toml()
    }

    pub(crate) fn global_config(&self) -> PathBuf {
        self.locations().global_config_toml()
    }
}

/// Writes `contents` to `path`, creating its dir.
pub(crate) fn write(path: &Path, contents: impl AsRef<[u8]>) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, contents).unwrap();
}

/// Bytes that make TOML interesting: structure, quotes, booleans' letters, line ends, invalid UTF-8.
pub(crate) const ODD_BYTES: &[u8] = b"[]{}=\"'.,#\n\r\t \\01tfyn-+:eE_aZ\xff\xc3\x00";

/// `seed` with up to `max_edits` random insertions, deletions or truncations.
pub(crate) fn mutate(rng: &mut fastrand::Rng, seed: &str, max_edits: usize) -> Vec<u8> {
    let mut bytes = seed.as_bytes().to_vec();
    for _ in 0..rng.usize(1..max_edits) {
        let at = rng.usize(..=bytes.len());
        match rng.u8(..3) {
            0 => bytes.insert(at, ODD_BYTES[rng.usize(..ODD_BYTES.len())]),
            1 if at < bytes.len() => drop(bytes.remove(at)),
            _ => bytes.truncate(at),
        }
    }
    bytes
}
