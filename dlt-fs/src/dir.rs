//! Folders that only their owner can enter, created by path (see [`crate::PrivateDir`] for
//! folders verified on their handle).

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
