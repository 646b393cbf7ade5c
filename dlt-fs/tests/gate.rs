//! The file gate, on real folders: what is verified, what is refused, and that nothing outside
//! a private folder is ever read, written or deleted through a link planted in it.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::{Read as _, Seek as _, Write as _};
use std::os::unix::fs::{PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dlt_fs::{Durability, EntryKind, GateError, NotPrivate, NotRegular, PrivateDir};

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        fs::read_dir(dir).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    names
}

/// A file of someone else's that a planted link points at, and what it holds.
struct Victim {
    path: PathBuf,
}

impl Victim {
    const CONTENT: &[u8] = b"the victim's own file\n";

    fn new(dir: &Path) -> Self {
        let path = dir.join("victim.txt");
        fs::write(&path, Self::CONTENT).unwrap();
        Self { path }
    }

    fn assert_untouched(&self) {
        assert_eq!(fs::read(&self.path).unwrap(), Self::CONTENT, "the victim file was changed");
    }
}

fn is_link_error(error: &GateError, path: &Path) -> bool {
    matches!(error, GateError::Link { path: refused } if refused == path)
}

#[test]
fn a_created_folder_is_0700_and_its_files_0600_whatever_the_umask_allows() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("global/telemetry");
    let dir = PrivateDir::create(&path).unwrap();
    assert_eq!(dir.path(), path);
    assert_eq!(mode(&path), 0o700);
    assert_eq!(mode(&root.path().join("global")), 0o700, "a missing parent is created private too");
    let child = dir.create_dir("outbox").unwrap();
    assert_eq!(mode(&path.join("outbox")), 0o700);

    dir.write_atomic("mark", b"1\n", Durability::Durable).unwrap();
    assert!(dir.create_new("recipient.json", b"{}", Durability::Fast).unwrap());
    dir.append("sender.log").unwrap().write_all(b"line\n").unwrap();
    let _lock = dir.try_lock(".lock").unwrap().unwrap();
    let _claim = child.create_locked("claimed.jsonl", b"x\n").unwrap();
    for file in ["mark", "recipient.json", "sender.log", ".lock"] {
        assert_eq!(mode(&path.join(file)), 0o600, "{file}");
    }
    assert_eq!(mode(&path.join("outbox/claimed.jsonl")), 0o600);
}

#[test]
fn open_creates_nothing() {
    let root = tempfile::tempdir().unwrap();
    assert!(PrivateDir::open(&root.path().join("global/telemetry")).unwrap().is_none());
    assert!(names(root.path()).is_empty());
    let dir = PrivateDir::create(&root.path().join("telemetry")).unwrap();
    assert!(dir.open_dir("outbox").unwrap().is_none());
    assert!(!dir.is_locked("sender.lock").unwrap());
    assert_eq!(dir.lock_holder("sender.lock"), None);
    assert!(dir.read("mark", 10).unwrap().is_none());
    assert!(dir.read_tail("outbox.jsonl", 10).unwrap().is_none());
    assert!(dir.open_for_update("outbox.jsonl").unwrap().is_none());
    assert!(!dir.remove_file("outbox.jsonl").unwrap());
    assert!(!dir.remove_dir_all("outbox").unwrap());
    assert!(dir.entry("mark").unwrap().is_none());
    assert!(names(&root.path().join("telemetry")).is_empty());
}

#[test]
fn an_existing_folder_that_lets_group_or_others_in_is_refused() {
    let root = tempfile::tempdir().unwrap();
    for bits in [0o777, 0o755, 0o750, 0o701, 0o1777] {
        let path = root.path().join(format!("dlt-{bits:o}"));
        fs::create_dir(&path).unwrap();
        chmod(&path, bits);
        let error = PrivateDir::create(&path).unwrap_err();
        assert!(
            matches!(&error, GateError::NotPrivate { problem: NotPrivate::Mode { mode }, .. } if *mode == bits),
            "{bits:o}: {error:?}"
        );
        let message = error.to_string();
        assert!(message.starts_with(&format!("{}: has mode {bits:04o}", path.display())), "{message}");
        assert!(message.contains("mode 0700"), "the rule is named: {message}");
        assert!(PrivateDir::open(&path).is_err());
        assert_eq!(mode(&path), bits, "a refused folder is left as it is");
    }
    let narrower = root.path().join("dlt-500");
    fs::create_dir(&narrower).unwrap();
    chmod(&narrower, 0o500);
    assert!(PrivateDir::open(&narrower).unwrap().is_some(), "narrower than 0700 is private too");
}

#[test]
fn a_link_to_a_private_folder_and_a_file_in_its_place_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let real = root.path().join("real");
    PrivateDir::create(&real).unwrap();
    let link = root.path().join("dlt");
    symlink(&real, &link).unwrap();
    let error = PrivateDir::create(&link).unwrap_err();
    assert!(is_link_error(&error, &link), "{error:?}");
    assert!(error.to_string().contains("is a symbolic link"), "{error}");
    assert!(PrivateDir::open(&link).is_err());

    let file = root.path().join("file");
    fs::write(&file, "").unwrap();
    let error = PrivateDir::create(&file).unwrap_err();
    assert!(matches!(error, GateError::NotPrivate { problem: NotPrivate::NotAFolder, .. }), "{error:?}");
}

#[test]
fn child_folders_are_verified_like_their_parent() {
    let root = tempfile::tempdir().unwrap();
    let dir = PrivateDir::create(&root.path().join("telemetry")).unwrap();
    let open = root.path().join("telemetry/outbox");
    fs::create_dir(&open).unwrap();
    chmod(&open, 0o777);
    assert!(matches!(dir.create_dir("outbox").unwrap_err(), GateError::NotPrivate { .. }));
    assert!(matches!(dir.open_dir("outbox").unwrap_err(), GateError::NotPrivate { .. }));

    let elsewhere = tempfile::tempdir().unwrap();
    symlink(elsewhere.path(), root.path().join("telemetry/linked")).unwrap();
    let error = dir.create_dir("linked").unwrap_err();
    assert!(is_link_error(&error, &root.path().join("telemetry/linked")), "{error:?}");
    assert!(names(elsewhere.path()).is_empty());

    for name in ["", ".", "..", "a/b", "../escape"] {
        assert!(dir.create_dir(name).is_err(), "{name:?} is not one name");
        assert!(dir.write_atomic(name, b"x", Durability::Fast).is_err(), "{name:?} is not one name");
    }
}

#[test]
fn a_folder_of_another_user_is_refused() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: only root can give a folder to another user (uid 65534) to test this");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let theirs = root.path().join("dlt");
    fs::create_dir(&theirs).unwrap();
    chmod(&theirs, 0o700);
    std::os::unix::fs::chown(&theirs, Some(65534), Some(65534)).unwrap();
    let error = PrivateDir::create(&theirs).unwrap_err();
    assert!(
        matches!(error, GateError::NotPrivate { problem: NotPrivate::Owner { owner: 65534, user: 0 }, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("belongs to uid 65534"), "{error}");

    let dir = PrivateDir::create(&root.path().join("mine")).unwrap();
    let child = root.path().join("mine/outbox");
    fs::create_dir(&child).unwrap();
    chmod(&child, 0o700);
    std::os::unix::fs::chown(&child, Some(65534), Some(65534)).unwrap();
    assert!(matches!(dir.open_dir("outbox").unwrap_err(), GateError::NotPrivate { .. }));
}

/// Every operation on a name that is a link to the victim's file: refused, naming the link;
/// the victim file is never read, written, truncated, appended to or deleted, and the link
/// stays.
#[test]
fn nothing_goes_through_a_link_in_a_private_folder() {
    let root = tempfile::tempdir().unwrap();
    let victim = Victim::new(root.path());
    let path = root.path().join("telemetry");
    let dir = PrivateDir::create(&path).unwrap();
    let link = path.join("outbox.jsonl");
    symlink(&victim.path, &link).unwrap();

    let refused: Vec<(&str, GateError)> = vec![
        ("read", dir.read("outbox.jsonl", 1024).unwrap_err()),
        ("read_tail", dir.read_tail("outbox.jsonl", 4).unwrap_err()),
        ("write_atomic", dir.write_atomic("outbox.jsonl", b"planted\n", Durability::Durable).unwrap_err()),
        ("append", dir.append("outbox.jsonl").unwrap_err()),
        ("open_for_update", dir.open_for_update("outbox.jsonl").unwrap_err()),
        ("lock", dir.lock("outbox.jsonl", Instant::now()).unwrap_err()),
        ("try_lock", dir.try_lock("outbox.jsonl").unwrap_err()),
        ("is_locked", dir.is_locked("outbox.jsonl").unwrap_err()),
        ("remove_file", dir.remove_file("outbox.jsonl").unwrap_err()),
        ("remove_dir_all", dir.remove_dir_all("outbox.jsonl").unwrap_err()),
    ];
    for (operation, error) in refused {
        assert!(is_link_error(&error, &link), "{operation}: {error:?}");
        assert!(error.to_string().starts_with(&link.display().to_string()), "{operation}: {error}");
    }
    assert!(!dir.create_new("outbox.jsonl", b"planted\n", Durability::Fast).unwrap(), "something is there");
    assert_eq!(dir.lock_holder("outbox.jsonl"), None);
    assert_eq!(dir.entry("outbox.jsonl").unwrap().unwrap().kind, EntryKind::Link);
    victim.assert_untouched();
    assert!(fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "the link is left where it is");
}

/// A link to a file that does not exist yet: nothing is created where it points.
#[test]
fn a_dangling_link_creates_nothing_where_it_points() {
    let root = tempfile::tempdir().unwrap();
    let target = root.path().join("would-be-created");
    let dir = PrivateDir::create(&root.path().join("telemetry")).unwrap();
    symlink(&target, root.path().join("telemetry/sender.log")).unwrap();
    symlink(&target, root.path().join("telemetry/sender.lock")).unwrap();
    assert!(matches!(dir.append("sender.log").unwrap_err(), GateError::Link { .. }));
    assert!(matches!(dir.try_lock("sender.lock").unwrap_err(), GateError::Link { .. }));
    assert!(matches!(dir.write_atomic("sender.log", b"x", Durability::Fast).unwrap_err(), GateError::Link { .. }));
    assert!(!target.exists());
}

/// A second name of someone's file (a hard link) is not written in place; replacing the name
/// (an atomic write) leaves the other name's file as it was.
#[test]
fn a_hard_linked_file_is_not_written_in_place() {
    let root = tempfile::tempdir().unwrap();
    let victim = Victim::new(root.path());
    let dir = PrivateDir::create(&root.path().join("telemetry")).unwrap();
    fs::hard_link(&victim.path, root.path().join("telemetry/sender.log")).unwrap();
    let error = dir.append("sender.log").unwrap_err();
    assert!(matches!(error, GateError::HardLinked { links: 2, .. }), "{error:?}");
    assert!(matches!(dir.open_for_update("sender.log").unwrap_err(), GateError::HardLinked { .. }));
    assert!(matches!(dir.try_lock("sender.log").unwrap_err(), GateError::HardLinked { .. }));
    dir.write_atomic("sender.log", b"replaced\n", Durability::Fast).unwrap();
    assert_eq!(dir.read("sender.log", 64).unwrap().unwrap(), b"replaced\n");
    victim.assert_untouched();
}

/// Runs `operation` on another thread, so that a hang fails the test instead of stalling it.
fn within_a_second<T: Send + 'static>(operation: impl FnOnce() -> T + Send + 'static) -> T {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(operation()));
    receiver.recv_timeout(Duration::from_secs(1)).expect("it returned without waiting")
}

#[test]
fn a_fifo_is_refused_without_waiting_for_the_other_end() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("telemetry");
    PrivateDir::create(&path).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(path.join("outbox.jsonl")).status().unwrap().success());
    for operation in ["read", "append", "lock"] {
        let path = path.clone();
        let error = within_a_second(move || {
            let dir = PrivateDir::open(&path).unwrap().unwrap();
            match operation {
                "read" => dir.read("outbox.jsonl", 1024).map(drop),
                "append" => dir.append("outbox.jsonl").map(drop),
                _ => dir.try_lock("outbox.jsonl").map(drop),
            }
        })
        .unwrap_err();
        assert!(matches!(error, GateError::NotRegular { kind: NotRegular::Fifo, .. }), "{operation}: {error:?}");
    }
}

#[test]
fn reads_are_capped_or_take_the_tail() {
    let root = tempfile::tempdir().unwrap();
    let dir = PrivateDir::create(&root.path().join("telemetry")).unwrap();
    dir.write_atomic("outbox.jsonl", b"0123456789", Durability::Fast).unwrap();
    assert_eq!(dir.read("outbox.jsonl", 10).unwrap().unwrap(), b"0123456789");
    let error = dir.read("outbox.jsonl", 9).unwrap_err();
    assert!(matches!(error, GateError::TooLarge { limit: 9, .. }), "{error:?}");
    assert!(error.to_string().ends_with("outbox.jsonl: is larger than 9 bytes"), "{error}");

    let tail = dir.read_tail("outbox.jsonl", 4).unwrap().unwrap();
    assert_eq!((tail.bytes.as_slice(), tail.skipped), (&b"6789"[..], 6));
    let whole = dir.read_tail("outbox.jsonl", 64).unwrap().unwrap();
    assert_eq!((whole.bytes.as_slice(), whole.skipped), (&b"0123456789"[..], 0));

    fs::create_dir(root.path().join("telemetry/folder")).unwrap();
    let error = dir.read("folder", 10).unwrap_err();
    assert!(matches!(error, GateError::NotRegular { kind: NotRegular::Directory, .. }), "{error:?}");
}

#[test]
fn atomic_writes_replace_whole_and_create_new_never_overwrites() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("telemetry");
    let dir = PrivateDir::create(&path).unwrap();
    dir.write_atomic("mark", b"one\n", Durability::Durable).unwrap();
    let first = dir.entry("mark").unwrap().unwrap();
    dir.write_atomic("mark", b"two\n", Durability::Fast).unwrap();
    let second = dir.entry("mark").unwrap().unwrap();
    assert_eq!(fs::read(path.join("mark")).unwrap(), b"two\n");
    assert_ne!(first.inode, second.inode, "replaced, not rewritten in place");
    assert_eq!((second.kind, second.len), (EntryKind::File, 4));

    assert!(dir.create_new("recipient.json", b"first", Durability::Durable).unwrap());
    assert!(!dir.create_new("recipient.json", b"second", Durability::Durable).unwrap());
    assert_eq!(fs::read(path.join("recipient.json")).unwrap(), b"first");
    assert_eq!(names(&path), ["mark", "recipient.json"], "no temporary file left");
}

#[test]
fn a_file_opened_for_update_is_read_and_written_in_place() {
    let root = tempfile::tempdir().unwrap();
    let dir = PrivateDir::create(&root.path().join("telemetry")).unwrap();
    dir.append("outbox.jsonl").unwrap().write_all(b"a\n").unwrap();
    dir.append("outbox.jsonl").unwrap().write_all(b"b\n").unwrap();
    let mut file = dir.open_for_update("outbox.jsonl").unwrap().unwrap();
    let mut text = String::new();
    file.read_to_string(&mut text).unwrap();
    assert_eq!(text, "a\nb\n");
    file.seek(std::io::SeekFrom::End(0)).unwrap();
    file.write_all(b"c\n").unwrap();
    assert_eq!(dir.read("outbox.jsonl", 64).unwrap().unwrap(), b"a\nb\nc\n");
}

/// Whether the lock on `name` is free within a second of its file being closed. A lock ends
/// with the last descriptor of its file; when another test of this process starts a program at
/// that moment, the program holds a copy until it runs (close-on-exec then drops it).
fn let_go_soon(dir: &PrivateDir, name: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(1);
    while dir.is_locked(name).unwrap() {
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

#[test]
fn a_lock_is_exclusive_until_dropped_and_names_its_holder() {
    let root = tempfile::tempdir().unwrap();
    let dir = PrivateDir::create(&root.path().join("telemetry")).unwrap();
    assert!(!dir.is_locked(".lock").unwrap());
    let held = dir.lock(".lock", Instant::now()).unwrap();
    assert!(dir.is_locked(".lock").unwrap());
    assert!(dir.try_lock(".lock").unwrap().is_none());
    let started = Instant::now();
    let error = dir.lock(".lock", Instant::now() + Duration::from_millis(50)).unwrap_err();
    assert_eq!(std::io::Error::from(error).kind(), std::io::ErrorKind::TimedOut);
    assert!(started.elapsed() >= Duration::from_millis(50));
    assert_eq!(dir.lock_holder(".lock"), None, "held, but no holder recorded");
    held.record_holder().unwrap();
    held.record_holder().unwrap();
    assert_eq!(dir.lock_holder(".lock"), Some(std::process::id()));
    drop(held);
    assert!(let_go_soon(&dir, ".lock"));
    assert_eq!(dir.lock_holder(".lock"), None, "a lock nobody holds has no holder");
    assert!(dir.try_lock(".lock").unwrap().is_some());
}

/// The waiter is still waiting after a quarter of a second of the lock being held (so it does
/// wait, rather than fail or take it), and takes it once the holder lets go, not before.
#[test]
fn a_waiter_gets_the_lock_when_the_holder_lets_go() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("telemetry");
    let held = PrivateDir::create(&path).unwrap().lock(".lock", Instant::now()).unwrap();
    let waiter = std::thread::spawn(move || {
        let dir = PrivateDir::open(&path).unwrap().unwrap();
        let lock = dir.lock(".lock", Instant::now() + Duration::from_secs(10));
        lock.map(|_lock| Instant::now())
    });
    let waiting_until = Instant::now() + Duration::from_millis(250);
    while Instant::now() < waiting_until {
        assert!(!waiter.is_finished(), "the waiter gave up or took a held lock");
        std::thread::sleep(Duration::from_millis(10));
    }
    let let_go = Instant::now();
    drop(held);
    let taken = waiter.join().unwrap().unwrap();
    assert!(taken >= let_go, "taken only once the holder let go");
}

#[test]
fn a_file_created_locked_is_whole_and_held_until_dropped() {
    let root = tempfile::tempdir().unwrap();
    let path = root.path().join("telemetry");
    let dir = PrivateDir::create(&path).unwrap();
    let held = dir.create_locked("claimed-1.jsonl", b"line\n").unwrap();
    assert_eq!(fs::read(path.join("claimed-1.jsonl")).unwrap(), b"line\n");
    assert!(dir.is_locked("claimed-1.jsonl").unwrap(), "locked from the moment it has its name");
    drop(held);
    assert!(let_go_soon(&dir, "claimed-1.jsonl"));
    assert_eq!(names(&path), ["claimed-1.jsonl"], "no temporary file left");
}

#[test]
fn removing_never_follows_a_link() {
    let root = tempfile::tempdir().unwrap();
    let victim = Victim::new(root.path());
    let victim_dir = root.path().join("victim-dir");
    fs::create_dir(&victim_dir).unwrap();
    fs::write(victim_dir.join("keep.txt"), "keep").unwrap();
    let path = root.path().join("telemetry");
    let dir = PrivateDir::create(&path).unwrap();
    let outbox = dir.create_dir("outbox").unwrap();
    let recipient = outbox.create_dir("0123").unwrap();
    recipient.write_atomic("outbox-1.jsonl", b"x\n", Durability::Fast).unwrap();
    symlink(&victim.path, path.join("outbox/0123/sender.log")).unwrap();
    symlink(&victim_dir, path.join("outbox/linked-dir")).unwrap();
    fs::write(path.join("outbox/stray"), "").unwrap();

    assert!(dir.remove_dir_all("outbox").unwrap());
    assert!(names(&path).is_empty());
    victim.assert_untouched();
    assert_eq!(names(&victim_dir), ["keep.txt"]);

    dir.write_atomic("plain", b"x", Durability::Fast).unwrap();
    assert!(dir.remove_file("plain").unwrap());
    assert!(!dir.remove_file("plain").unwrap());
    fs::create_dir(path.join("folder")).unwrap();
    assert!(matches!(dir.remove_file("folder").unwrap_err(), GateError::NotRegular { .. }));
}

#[test]
fn entries_are_listed_without_following_links() {
    let root = tempfile::tempdir().unwrap();
    let victim = Victim::new(root.path());
    let path = root.path().join("telemetry");
    let dir = PrivateDir::create(&path).unwrap();
    dir.write_atomic("file", b"12345", Durability::Fast).unwrap();
    dir.create_dir("folder").unwrap();
    symlink(&victim.path, path.join("link")).unwrap();
    let mut entries: Vec<(String, EntryKind, u64)> =
        dir.entries().unwrap().into_iter().map(|entry| (entry.name, entry.kind, entry.len)).collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(entries[0], ("file".to_owned(), EntryKind::File, 5));
    assert_eq!(entries[1].1, EntryKind::Dir);
    assert_eq!(entries[2].1, EntryKind::Link);
    assert!(dir.entries().unwrap().iter().all(|entry| entry.modified.is_some()));
}
