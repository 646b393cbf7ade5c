//! The telemetry switch as `dlt --enable-telemetry` / `--disable-telemetry` use it: under the
//! switch's lock, an opt-out first leaves the mark that every running sender checks and
//! deletes every outbox, then the config files are edited.

use dlt_config::{Locations, SwitchError, SwitchLock, SwitchReport};
use time::OffsetDateTime;

/// Why switching failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetrySwitchError {
    /// A config file could not be read, edited or written, or the lock taken.
    #[error(transparent)]
    Switch(#[from] SwitchError),
    /// The opt-out mark could not be written or the outboxes deleted; no file was edited.
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
pub fn switch_telemetry(locations: &Locations, enabled: bool) -> Result<SwitchReport, TelemetrySwitchError> {
    let lock = SwitchLock::acquire(locations)?;
    if !enabled {
        mark_opt_out(locations)?;
    }
    Ok(dlt_config::set_telemetry(&lock, locations, enabled)?)
}

/// Records an opt-out that another program's switch makes (dlt's own command line, which
/// edits the config files itself): under the switch's lock, the counter of the mark every
/// sender checks is incremented and every recipient's outbox deleted. No config file is
/// touched.
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
