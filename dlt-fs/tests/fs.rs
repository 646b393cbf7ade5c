//! The file rules, on real files in temporary folders.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use dlt_fs::{
    Durability, NewFileMode, NotRegular, ReadError, create_new_atomic, create_private_dir_all, read_regular_file,
    write_atomic,
};

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

#[test]
fn write_atomic_creates_and_replaces_leaving_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    write_atomic(&path, b"one\n", NewFileMode::Shared, Durability::Durable).unwrap();
    write_atomic(&path, b"two\n", NewFileMode::Shared, Durability::Fast).unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"two\n");
    assert_eq!(names(dir.path()), ["config.toml"]);
}

#[cfg(unix)]
#[test]
fn new_files_get_the_asked_mode_and_existing_files_keep_theirs() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("secrets.toml");
    write_atomic(&private, b"k = 1\n", NewFileMode::Private, Durability::Durable).unwrap();
    assert_eq!(mode(&private), 0o600);

    let shared = dir.path().join("config.toml");
    fs::write(&shared, "a = 1\n").unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o640)).unwrap();
    write_atomic(&shared, b"a = 2\n", NewFileMode::Private, Durability::Durable).unwrap();
    assert_eq!(mode(&shared), 0o640, "the old mode wins over the mode for new files");
}

/// Watches the folder while a 0600 file is rewritten many times: no temporary file is ever
/// seen with more permissions than the file it replaces.
#[cfg(unix)]
#[test]
fn the_temporary_file_never_has_more_permissions_than_the_file() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secrets.toml");
    fs::write(&path, "x").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (dir, done) = (dir.path().to_owned(), Arc::clone(&done));
        std::thread::spawn(move || {
            let mut seen = 0;
            while !done.load(Ordering::Relaxed) {
                for entry in fs::read_dir(&dir).unwrap().flatten() {
                    if let Ok(metadata) = entry.metadata() {
                        assert_eq!(
                            metadata.permissions().mode() & 0o077,
                            0,
                            "{:?} is readable by others",
                            entry.path()
                        );
                        seen += 1;
                    }
                }
            }
            seen
        })
    };
    let contents = vec![b'x'; 256 * 1024];
    for _ in 0..50 {
        write_atomic(&path, &contents, NewFileMode::Shared, Durability::Fast).unwrap();
    }
    done.store(true, Ordering::Relaxed);
    assert!(watcher.join().unwrap() > 0);
}

#[cfg(unix)]
#[test]
fn a_symlink_is_written_through_and_a_dangling_one_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("shared-config.toml");
    fs::write(&real, "a = 1\n").unwrap();
    let link = dir.path().join("config.toml");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    write_atomic(&link, b"a = 2\n", NewFileMode::Shared, Durability::Durable).unwrap();
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link is kept");
    assert_eq!(fs::read(&real).unwrap(), b"a = 2\n");

    let dangling = dir.path().join("dangling.toml");
    std::os::unix::fs::symlink(dir.path().join("missing.toml"), &dangling).unwrap();
    let error = write_atomic(&dangling, b"a = 3\n", NewFileMode::Shared, Durability::Durable).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::NotFound);
    assert!(error.to_string().contains("symbolic link"), "{error}");
    assert!(fs::symlink_metadata(&dangling).unwrap().file_type().is_symlink(), "the link is not replaced");
    assert!(!dir.path().join("missing.toml").exists());
}

#[test]
fn concurrent_writers_never_leave_a_torn_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    let versions: Vec<Vec<u8>> = (0..4_u8).map(|i| vec![b'a' + i; 64 * 1024]).collect();
    write_atomic(&path, &versions[0], NewFileMode::Shared, Durability::Fast).unwrap();
    std::thread::scope(|scope| {
        for version in &versions {
            let path = &path;
            scope.spawn(move || {
                for _ in 0..20 {
                    write_atomic(path, version, NewFileMode::Shared, Durability::Fast).unwrap();
                }
            });
        }
        for _ in 0..200 {
            let read = fs::read(&path).unwrap();
            assert!(versions.contains(&read), "a torn file of {} bytes", read.len());
        }
    });
    assert_eq!(names(dir.path()), ["config.toml"]);
}

#[test]
fn create_new_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    assert!(create_new_atomic(&path, b"first", NewFileMode::Shared, Durability::Durable).unwrap());
    assert!(!create_new_atomic(&path, b"second", NewFileMode::Shared, Durability::Durable).unwrap());
    assert_eq!(fs::read(&path).unwrap(), b"first");
    assert_eq!(names(dir.path()), ["config.toml"]);
}

#[test]
fn reads_regular_files_within_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.toml");
    assert!(read_regular_file(&path, 10).unwrap().is_none(), "missing is None");
    fs::write(&path, "0123456789").unwrap();
    assert_eq!(read_regular_file(&path, 10).unwrap().unwrap(), b"0123456789");
    let error = read_regular_file(&path, 9).unwrap_err();
    assert!(matches!(error, ReadError::TooLarge { limit: 9 }), "{error:?}");
    assert_eq!(error.to_string(), "is larger than 9 bytes");
    assert_eq!(ReadError::TooLarge { limit: 1024 * 1024 }.to_string(), "is larger than 1 MiB");
}

#[test]
fn a_folder_is_not_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("config.toml");
    fs::create_dir(&folder).unwrap();
    let error = read_regular_file(&folder, 1024).unwrap_err();
    assert!(matches!(error, ReadError::NotRegular(NotRegular::Directory)), "{error:?}");
    assert_eq!(error.to_string(), "is a folder, not a regular file");
}

/// Reads on another thread, so that a hang fails the test instead of stalling it.
#[cfg(unix)]
fn read_within_a_second(path: &Path) -> Result<Option<Vec<u8>>, ReadError> {
    let (sender, receiver) = std::sync::mpsc::channel();
    let path = path.to_owned();
    std::thread::spawn(move || sender.send(read_regular_file(&path, 1024 * 1024)));
    receiver.recv_timeout(Duration::from_secs(1)).expect("the read returned")
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_without_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("config.toml");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let error = read_within_a_second(&fifo).unwrap_err();
    assert!(matches!(error, ReadError::NotRegular(NotRegular::Fifo)), "{error:?}");
}

/// `/dev/zero` is a Linux (and macOS) fact; the rule is checked on the opened file either way.
#[cfg(target_os = "linux")]
#[test]
fn a_link_to_a_device_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("config.toml");
    std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
    let error = read_within_a_second(&link).unwrap_err();
    assert!(matches!(error, ReadError::NotRegular(NotRegular::Device)), "{error:?}");
}

#[cfg(unix)]
#[test]
fn private_dirs_are_created_with_their_parents_closed_to_others() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("a/b");
    create_private_dir_all(&private).unwrap();
    assert_eq!(fs::metadata(&private).unwrap().permissions().mode() & 0o777, 0o700);
    assert_eq!(fs::metadata(dir.path().join("a")).unwrap().permissions().mode() & 0o777, 0o700);
}
