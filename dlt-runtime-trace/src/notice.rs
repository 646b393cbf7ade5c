//! The first-run notice: what usage telemetry collects, that it is anonymous, how to see what
//! was sent and how to switch it off, shown once per global dir before anything is sent.
//!
//! A host asks for it ([`crate::InitOptions::with_first_run_notice`]) when it can show it: the
//! command line does when its standard error is a terminal and its standard output is not JSON.
//! The run that is due to show it sends nothing: its usage messages are dropped, not kept, so
//! the user can opt out before anything leaves. That it was shown is recorded in
//! `<global dir>/telemetry/notice-shown` (through the file gate), so it is due once. Nothing is
//! recorded when usage telemetry is off for any reason, or only printed (the debug sink).

use std::path::Path;

use dlt_fs::{Durability, PrivateDir};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// The file in the telemetry dir that records that the notice was shown.
const NOTICE_FILE: &str = "notice-shown";

/// The notice's text: five lines, each ending in a newline.
pub const FIRST_RUN_NOTICE: &str = "\
dlt collects anonymous usage telemetry: the commands and pipeline steps that run, how long they take and whether they succeed, destination types, OS and CPU count.
It is anonymous: a fresh random id for every message, no names in clear, no paths, data or secrets.
See exactly what was sent: dlt telemetry log
Switch it off: dlt --disable-telemetry (nothing was sent this time)
Details: https://github.com/dlt-hub/dlt-telemetry-rs/blob/main/docs/privacy.md
";

/// The first-run notice of a runtime: its text, whether it was shown before for this global
/// dir, and whether this run is the one that shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FirstRunNotice {
    /// What to show ([`FIRST_RUN_NOTICE`]).
    pub text: &'static str,
    /// It was recorded as shown, for this global dir, before this run started.
    pub shown_before: bool,
    /// This run shows it: the host asked, usage telemetry is on, and it was not shown before.
    /// It is recorded as shown now, and this run's usage messages are dropped.
    pub due: bool,
}

impl FirstRunNotice {
    /// The notice of a run that was not asked to show it, or in which usage telemetry is off.
    pub(crate) fn not_due(telemetry_dir: Option<&Path>) -> Self {
        let shown_before = telemetry_dir.is_some_and(
            |dir| matches!(PrivateDir::open(dir), Ok(Some(dir)) if matches!(dir.entry(NOTICE_FILE), Ok(Some(_)))),
        );
        Self { text: FIRST_RUN_NOTICE, shown_before, due: false }
    }

    /// For a run that may show it: records it as shown unless it was already, and is due when
    /// this run recorded it. When it cannot be recorded (the telemetry dir is refused by the
    /// file gate, say), it is not due: shown on every run it would only be noise, and nothing
    /// is sent from such a dir anyway.
    pub(crate) fn record(telemetry_dir: &Path) -> Self {
        let at = OffsetDateTime::now_utc().format(&Rfc3339).unwrap_or_default();
        let recorded = PrivateDir::create(telemetry_dir)
            .and_then(|dir| dir.create_new(NOTICE_FILE, format!("{at}\n").as_bytes(), Durability::Durable));
        match recorded {
            Ok(true) => Self { text: FIRST_RUN_NOTICE, shown_before: false, due: true },
            Ok(false) => Self { text: FIRST_RUN_NOTICE, shown_before: true, due: false },
            Err(error) => {
                tracing::debug!(%error, "the first-run notice cannot be recorded; it is not shown");
                Self::not_due(Some(telemetry_dir))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn the_notice_is_due_once_per_telemetry_dir_and_its_record_is_private() {
        let root = dlt_test_support::private_tempdir().unwrap();
        let telemetry = root.path().join("telemetry");
        assert!(!FirstRunNotice::not_due(Some(&telemetry)).shown_before);
        let first = FirstRunNotice::record(&telemetry);
        assert!(first.due && !first.shown_before);
        let second = FirstRunNotice::record(&telemetry);
        assert!(!second.due && second.shown_before);
        assert!(FirstRunNotice::not_due(Some(&telemetry)).shown_before);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(telemetry.join(NOTICE_FILE)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn the_text_says_what_how_to_see_it_and_how_to_switch_it_off() {
        assert_eq!(FIRST_RUN_NOTICE.lines().count(), 5);
        for needed in ["anonymous", "dlt telemetry log", "dlt --disable-telemetry", "docs/privacy.md"] {
            assert!(FIRST_RUN_NOTICE.contains(needed), "{needed}");
        }
    }
}
