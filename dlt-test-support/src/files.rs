//! What a run left on disk, for tests that compare it.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Every regular file under `root`, by path relative to it, sorted. Links are not followed
/// and not listed; a folder that cannot be read is skipped.
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            match fs::symlink_metadata(&path) {
                Ok(metadata) if metadata.is_dir() => dirs.push(path),
                Ok(metadata) if metadata.is_file() => {
                    files.extend(path.strip_prefix(root).ok().map(Path::to_path_buf));
                }
                _ => {}
            }
        }
    }
    files.sort();
    files
}

/// Every regular file under `root` ([`files_under`]) with its bytes and modification time: two
/// snapshots are equal when no file was created, written, touched or deleted in between.
pub fn snapshot(root: &Path) -> io::Result<BTreeMap<PathBuf, (Vec<u8>, SystemTime)>> {
    files_under(root)
        .into_iter()
        .map(|relative| {
            let path = root.join(&relative);
            Ok((relative, (fs::read(&path)?, fs::metadata(&path)?.modified()?)))
        })
        .collect()
}
