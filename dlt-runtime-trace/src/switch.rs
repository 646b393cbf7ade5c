//! The telemetry switch as `dlt --enable-telemetry` / `--disable-telemetry` use it: under the
//! switch's lock, the config files are edited, then an opt-out leaves the mark that every
//! running sender checks and deletes every outbox.
//!
//! The mark comes after the files: every process reads the mark before its configuration, so
//! one that read the files from before this opt-out holds the counter from before it too, and
//! sees the opt-out at its next look at the mark. With the mark first, a process reading the
//! mark between the two would take the new counter for its own and trust the old files.

use dlt_config::{Locations, SwitchError, SwitchLock, SwitchReport};
use time::OffsetDateTime;

/// Why switching failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetrySwitchError {
    /// A config file could not be read, edited or written, or the lock taken.
    #[error(transparent)]
    Switch(#[from] SwitchError),
    /// The opt-out mark could not be written or the outboxes deleted (the config files were
    /// edited): processes running now may not see the opt-out.
    #[error("cannot record the opt-out in {}: {source}", .dir.display())]
    OptOut {
        /// The telemetry dir.
        dir: std::path::PathBuf,
        /// The OS reason.
        source: std::io::Error,
    },
}

impl TelemetrySwitchError {
    /// True when the user must fix a file (it is malformed, in the way, or read-only).
    pub fn is_config_error(&self) -> bool {
        matches!(self, Self::Switch(error) if error.is_config_error())
    }
}

/// Switches usage telemetry on or off in the config files (the global `config.toml` always,
/// the project's when it exists and is not empty). Switching off also records the opt-out (the
/// mark's counter goes up): from then on no process sends or keeps anything recorded before
/// it, including processes running now, and every recipient's outbox is deleted. Sentry and OpenTelemetry, the user's
/// own services, are not affected.
///
/// An opt-out is recorded also when the files could not be edited (a malformed or read-only
/// file, reported as the error): the processes running now stop all the same.
pub fn switch_telemetry(locations: &Locations, enabled: bool) -> Result<SwitchReport, TelemetrySwitchError> {
    let lock = SwitchLock::acquire(locations)?;
    let switched = dlt_config::set_telemetry(&lock, locations, enabled);
    let marked = if enabled { Ok(()) } else { mark_opt_out(locations) };
    let report = switched?;
    marked?;
    Ok(report)
}

/// Records an opt-out that another program's switch makes (dlt's own command line, which
/// edits the config files itself): under the switch's lock, the counter of the mark every
/// sender checks is incremented and every recipient's outbox deleted. No config file is
/// touched. Call it once that program has edited the files (see the module's doc for why).
pub fn record_opt_out(locations: &Locations) -> Result<(), TelemetrySwitchError> {
    let _lock = SwitchLock::acquire(locations)?;
    mark_opt_out(locations)
}

/// Increments the opt-out mark's counter and deletes the outboxes; the caller holds the
/// switch's lock.
fn mark_opt_out(locations: &Locations) -> Result<(), TelemetrySwitchError> {
    let dir = locations.telemetry_dir();
    dlt_segment::record_opt_out(&dir, OffsetDateTime::now_utc())
        .map(drop)
        .map_err(|source| TelemetrySwitchError::OptOut { dir, source })
}
