//! The opt-out mark: `<telemetry dir>/opt-out`, written when the user switches telemetry off.
//! It holds a counter that every opt-out increments, and the time (for display only).
//!
//! Every process remembers the counter it saw when it started (no mark: 0). When the mark's
//! counter differs, the user has opted out since: the process sends and keeps nothing more.
//!
//! Order matters, for the switch and for every process. A process reads the mark before it
//! reads the configuration ([`crate::OutboxOptions::opt_out_baseline`]); a switch edits the
//! configuration first and records the opt-out after. So a process whose configuration was
//! read before an opt-out's edit holds the counter from before it, and sees the opt-out at its
//! next look at the mark.
//! What a process records goes to files named with its counter, and a file of another counter
//! is deleted, never sent. No clock is compared: a clock stepped back, or two machines sharing
//! a home dir, cannot let anything through.
//!
//! The mark is one JSON line, `{"counter":3,"opted_out_at":"2026-12-01T10:00:00Z"}`. A mark
//! written by an older version (a time alone) reads as counter 1. A mark that cannot be read
//! or understood (a link, another user's folder, garbage) means opted out: when unsure, do not
//! track. The first opt-out when no mark can be read starts the counter at a random number,
//! so that a counter some process remembers from a mark since deleted is not written again.

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use dlt_fs::{Durability, EntryKind, PrivateDir};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::outbox::purge_outboxes;

/// The mark's file name inside the telemetry dir.
pub(crate) const MARK_FILE: &str = "opt-out";
/// A mark is a line; anything larger is not one.
const MARK_MAX_BYTES: u64 = 1024;

/// What the opt-out mark says.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptOutMark {
    /// No opt-out was recorded (no mark): counter 0.
    NotRecorded,
    /// The latest opt-out.
    Recorded {
        /// How many opt-outs the mark has counted (from a random start, see the module doc);
        /// never 0.
        counter: u64,
        /// When it happened, for display: nothing compares it.
        at: Option<OffsetDateTime>,
    },
    /// The mark (or the telemetry dir) cannot be read or is not a mark: this counts as
    /// opted out.
    Unreadable {
        /// What is wrong, naming the file or folder.
        reason: String,
    },
}

impl OptOutMark {
    /// The counter a process compares: 0 without a mark, `None` when the mark cannot be read
    /// (then nothing may be sent or kept).
    pub fn counter(&self) -> Option<u64> {
        match self {
            Self::NotRecorded => Some(0),
            Self::Recorded { counter, .. } => Some(*counter),
            Self::Unreadable { .. } => None,
        }
    }

    /// When the latest opt-out happened, if the mark says.
    pub fn opted_out_at(&self) -> Option<OffsetDateTime> {
        match self {
            Self::Recorded { at, .. } => *at,
            Self::NotRecorded | Self::Unreadable { .. } => None,
        }
    }

    fn unreadable(reason: impl ToString) -> Self {
        Self::Unreadable { reason: reason.to_string() }
    }

    /// Reads the mark's text: a JSON line, or an older version's time alone.
    fn parse(bytes: &[u8], path: &Path) -> Self {
        let text = String::from_utf8_lossy(bytes);
        let text = text.trim();
        if let Ok(at) = OffsetDateTime::parse(text, &Rfc3339) {
            return Self::Recorded { counter: 1, at: Some(at) };
        }
        let value: Option<serde_json::Value> = serde_json::from_str(text).ok();
        let counter = value.as_ref().and_then(|value| value["counter"].as_u64()).filter(|counter| *counter > 0);
        match counter {
            Some(counter) => {
                let at = value.as_ref().and_then(|value| value["opted_out_at"].as_str());
                Self::Recorded { counter, at: at.and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok()) }
            }
            None => Self::unreadable(format!("{}: is not an opt-out mark", path.display())),
        }
    }
}

/// Records an opt-out at `at`: increments the mark's counter (durably, in a file readable by
/// its owner only, through the file gate), then deletes every recipient's outbox. The caller
/// holds the switch's lock (see `dlt_config::SwitchLock`), so that no two opt-outs write the
/// same counter and the mark and the config edit go together. Returns the new mark.
pub fn record_opt_out(telemetry_dir: &Path, at: OffsetDateTime) -> io::Result<OptOutMark> {
    let dir = PrivateDir::create(telemetry_dir)?;
    let counter = match read_mark(&dir) {
        OptOutMark::Recorded { counter, .. } => counter.checked_add(1),
        OptOutMark::NotRecorded | OptOutMark::Unreadable { .. } => None,
    };
    let counter = counter.unwrap_or_else(|| fastrand::u64(1..=u64::from(u32::MAX)));
    let text = at.format(&Rfc3339).map_err(io::Error::other)?;
    let line = format!("{}\n", json!({ "counter": counter, "opted_out_at": text }));
    dir.write_atomic(MARK_FILE, line.as_bytes(), Durability::Durable)?;
    purge_outboxes(telemetry_dir)?;
    Ok(OptOutMark::Recorded { counter, at: Some(at) })
}

/// What the mark in `telemetry_dir` says now. Creates nothing.
pub fn read_opt_out(telemetry_dir: &Path) -> OptOutMark {
    OptOutWatch::new(telemetry_dir).mark()
}

fn read_mark(dir: &PrivateDir) -> OptOutMark {
    match dir.read(MARK_FILE, MARK_MAX_BYTES) {
        Ok(Some(bytes)) => OptOutMark::parse(&bytes, &dir.path().join(MARK_FILE)),
        Ok(None) => OptOutMark::NotRecorded,
        Err(error) => OptOutMark::unreadable(error),
    }
}

/// A cheap, repeated look at the mark: a `stat` through the gate each time, and a small read
/// only when the file changed since the last look. Every sender holds one.
#[derive(Debug)]
pub struct OptOutWatch {
    telemetry_dir: PathBuf,
    seen: Option<(Stamp, OptOutMark)>,
}

/// What identifies one version of the mark file (every mark is a new file: a new inode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    kind: EntryKind,
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl OptOutWatch {
    /// A watch on the mark in `telemetry_dir`.
    pub fn new(telemetry_dir: &Path) -> Self {
        Self { telemetry_dir: telemetry_dir.to_owned(), seen: None }
    }

    /// What the mark says now.
    pub fn mark(&mut self) -> OptOutMark {
        let dir = match PrivateDir::open(&self.telemetry_dir) {
            Ok(Some(dir)) => dir,
            Ok(None) => return self.forget(),
            Err(error) => return OptOutMark::unreadable(error),
        };
        let entry = match dir.entry(MARK_FILE) {
            Ok(Some(entry)) => entry,
            Ok(None) => return self.forget(),
            Err(error) => return OptOutMark::unreadable(error),
        };
        let stamp = Stamp { kind: entry.kind, modified: entry.modified, len: entry.len, inode: entry.inode };
        if let Some((seen, mark)) = &self.seen
            && *seen == stamp
        {
            return mark.clone();
        }
        let mark = read_mark(&dir);
        self.seen = Some((stamp, mark.clone()));
        mark
    }

    fn forget(&mut self) -> OptOutMark {
        self.seen = None;
        OptOutMark::NotRecorded
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::fs;

    use time::macros::datetime;

    use super::*;

    #[test]
    fn every_opt_out_increments_the_counter_and_the_watch_sees_it_at_once() {
        let dir = dlt_test_support::private_tempdir().unwrap();
        let mut watch = OptOutWatch::new(dir.path());
        assert_eq!(watch.mark(), OptOutMark::NotRecorded);
        assert_eq!(watch.mark().counter(), Some(0));
        let first_at = datetime!(2026-12-01 10:00:00.123 UTC);
        let first = record_opt_out(dir.path(), first_at).unwrap();
        assert_eq!(watch.mark(), first);
        assert_eq!(watch.mark().opted_out_at(), Some(first_at));
        let start = first.counter().unwrap();
        assert!(start >= 1);

        // The second opt-out happened "earlier" by the wall clock: no matter, it is counted.
        let second = record_opt_out(dir.path(), datetime!(2020-01-01 00:00:00 UTC)).unwrap();
        assert_eq!(second.counter(), Some(start + 1));
        assert_eq!(watch.mark(), second, "a new mark is a new file: seen at once");
        assert_eq!(read_opt_out(dir.path()), second);
    }

    #[test]
    fn a_mark_deleted_by_hand_never_brings_back_a_counter() {
        let dir = dlt_test_support::private_tempdir().unwrap();
        let counters: std::collections::HashSet<u64> = (0..20)
            .map(|_| {
                let counter = record_opt_out(dir.path(), OffsetDateTime::now_utc()).unwrap().counter().unwrap();
                fs::remove_file(dir.path().join(MARK_FILE)).unwrap();
                counter
            })
            .collect();
        assert!(counters.len() >= 19, "fresh starts are random: {counters:?}");
    }

    #[test]
    fn an_older_versions_mark_counts_as_one_opt_out() {
        let dir = dlt_test_support::private_tempdir().unwrap();
        PrivateDir::create(dir.path())
            .unwrap()
            .write_atomic(MARK_FILE, b"2026-12-01T10:00:00Z\n", Durability::Fast)
            .unwrap();
        let mark = read_opt_out(dir.path());
        assert_eq!(mark, OptOutMark::Recorded { counter: 1, at: Some(datetime!(2026-12-01 10:00:00 UTC)) });
        assert_eq!(record_opt_out(dir.path(), OffsetDateTime::now_utc()).unwrap().counter(), Some(2));
    }

    #[test]
    fn a_mark_that_cannot_be_understood_means_opted_out() {
        let dir = dlt_test_support::private_tempdir().unwrap();
        let gate = PrivateDir::create(dir.path()).unwrap();
        for garbage in [&b"garbage"[..], b"{\"counter\":0}", b"{\"counter\":-1}", b"{}", &[b'1'; 2048]] {
            gate.write_atomic(MARK_FILE, garbage, Durability::Fast).unwrap();
            let mark = read_opt_out(dir.path());
            assert!(matches!(mark, OptOutMark::Unreadable { .. }), "{mark:?}");
            assert_eq!(mark.counter(), None);
        }
        let reason = match read_opt_out(dir.path()) {
            OptOutMark::Unreadable { reason } => reason,
            other => panic!("{other:?}"),
        };
        assert!(reason.contains("opt-out") && reason.contains("larger than 1 KiB"), "{reason}");
    }

    #[cfg(unix)]
    #[test]
    fn a_linked_mark_is_never_followed_and_means_opted_out() {
        let dir = dlt_test_support::private_tempdir().unwrap();
        let victim = dir.path().join("victim");
        fs::write(&victim, "{\"counter\":7}\n").unwrap();
        let telemetry = dir.path().join("telemetry");
        PrivateDir::create(&telemetry).unwrap();
        std::os::unix::fs::symlink(&victim, telemetry.join(MARK_FILE)).unwrap();
        assert!(matches!(read_opt_out(&telemetry), OptOutMark::Unreadable { .. }));
        let error = record_opt_out(&telemetry, OffsetDateTime::now_utc()).unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "{\"counter\":7}\n", "the victim is untouched");
    }

    #[cfg(unix)]
    #[test]
    fn the_mark_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = dlt_test_support::private_tempdir().unwrap();
        let telemetry = dir.path().join("telemetry");
        record_opt_out(&telemetry, OffsetDateTime::now_utc()).unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&telemetry), 0o700);
        assert_eq!(mode(&telemetry.join(MARK_FILE)), 0o600);
    }
}
