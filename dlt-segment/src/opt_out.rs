//! The opt-out mark: `<telemetry dir>/opt-out`, written when the user switches telemetry off,
//! holding when that happened. Every sender checks it before each request and before keeping
//! anything: no message recorded before the latest opt-out is ever sent or kept, and a process
//! started before it sends nothing more.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use dlt_fs::{NewFileMode, Sync};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::outbox::purge_outboxes;

/// The mark's file name inside the telemetry dir.
pub(crate) const MARK_FILE: &str = "opt-out";

/// Records an opt-out at `at`: writes the mark (durably, readable by its owner only), then
/// deletes every recipient's outbox. The caller holds the switch's lock (see
/// `dlt_config::SwitchLock`), so that the mark and the config edit go together.
pub fn record_opt_out(telemetry_dir: &Path, at: OffsetDateTime) -> io::Result<()> {
    dlt_fs::create_private_dir_all(telemetry_dir)?;
    let text = at.format(&Rfc3339).map_err(io::Error::other)?;
    dlt_fs::write_atomic(
        &telemetry_dir.join(MARK_FILE),
        format!("{text}\n").as_bytes(),
        NewFileMode::Private,
        Sync::Durable,
    )?;
    purge_outboxes(telemetry_dir)
}

/// When the latest opt-out happened, as the mark at `telemetry_dir` says; `None` without a mark.
pub fn latest_opt_out(telemetry_dir: &Path) -> io::Result<Option<OffsetDateTime>> {
    OptOutWatch::new(telemetry_dir).read()
}

/// A cheap, repeated look at the mark: a `stat` each time, and a small read only when the file
/// changed since the last look. Every sender holds one.
#[derive(Debug)]
pub struct OptOutWatch {
    path: PathBuf,
    seen: Option<(Stamp, Option<OffsetDateTime>)>,
}

/// What identifies one version of the mark file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

impl OptOutWatch {
    /// A watch on the mark in `telemetry_dir`.
    pub fn new(telemetry_dir: &Path) -> Self {
        Self { path: telemetry_dir.join(MARK_FILE), seen: None }
    }

    /// The time of the latest opt-out, if any. A mark that cannot be read or understood counts
    /// as an opt-out later than anything: when unsure, do not track.
    pub fn latest(&mut self) -> Option<OffsetDateTime> {
        match self.check() {
            Ok(latest) => latest,
            Err(_) => Some(time::PrimitiveDateTime::MAX.assume_utc()),
        }
    }

    fn check(&mut self) -> io::Result<Option<OffsetDateTime>> {
        let metadata = match fs::metadata(&self.path) {
            Ok(metadata) => metadata,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                self.seen = None;
                return Ok(None);
            }
            Err(error) => return Err(error),
        };
        let stamp = Stamp { modified: metadata.modified().ok(), len: metadata.len(), inode: inode(&metadata) };
        if let Some((seen, at)) = self.seen
            && seen == stamp
        {
            return Ok(at);
        }
        let at = self.read()?;
        self.seen = Some((stamp, at));
        Ok(at)
    }

    fn read(&self) -> io::Result<Option<OffsetDateTime>> {
        let Some(bytes) = dlt_fs::read_regular_file(&self.path, 1024).map_err(io::Error::other)? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes);
        OffsetDateTime::parse(text.trim(), &Rfc3339)
            .map(Some)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the opt-out mark is not a time"))
    }
}

#[cfg(unix)]
fn inode(metadata: &fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::ino(metadata)
}

#[cfg(not(unix))]
fn inode(_metadata: &fs::Metadata) -> u64 {
    0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use time::macros::datetime;

    use super::*;

    #[test]
    fn the_mark_is_read_when_it_changes() {
        let dir = tempfile::tempdir().unwrap();
        let mut watch = OptOutWatch::new(dir.path());
        assert_eq!(watch.latest(), None);
        let first = datetime!(2026-12-01 10:00:00.123 UTC);
        record_opt_out(dir.path(), first).unwrap();
        assert_eq!(watch.latest(), Some(first));
        assert_eq!(watch.latest(), Some(first));
        let second = datetime!(2026-12-02 11:00:00 UTC);
        record_opt_out(dir.path(), second).unwrap();
        assert_eq!(watch.latest(), Some(second), "a new mark is a new file: seen at once");
        assert_eq!(latest_opt_out(dir.path()).unwrap(), Some(second));
    }

    #[test]
    fn a_mark_that_is_not_a_time_means_opted_out() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(MARK_FILE), "garbage").unwrap();
        assert!(OptOutWatch::new(dir.path()).latest().unwrap() > OffsetDateTime::now_utc() + time::Duration::days(365));
    }

    #[cfg(unix)]
    #[test]
    fn the_mark_is_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let telemetry = dir.path().join("telemetry");
        record_opt_out(&telemetry, OffsetDateTime::now_utc()).unwrap();
        let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&telemetry), 0o700);
        assert_eq!(mode(&telemetry.join(MARK_FILE)), 0o600);
    }
}
