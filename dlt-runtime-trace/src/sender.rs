//! The entry point of a detached sender process: the command line's hidden
//! `dlt telemetry flush`, or a host's own program.

use std::time::Duration;

use dlt_config::{Config, Environment};
use dlt_segment::{SenderOutcome, StopSignal};
use dlt_telemetry_model::Library;

use crate::status::Status;
use crate::usage::segment_options;

/// How long a detached sender may run in all.
pub const SENDER_BOUND: Duration = Duration::from_secs(30);

/// Why a detached sender did not deliver.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SenderError {
    /// The configuration cannot be read.
    #[error(transparent)]
    Config(#[from] dlt_config::ConfigError),
    /// The transport could not start, or the outbox could not be used.
    #[error(transparent)]
    Segment(#[from] dlt_segment::SegmentError),
}

/// Delivers what waits in the outbox of the recipient this environment and its config files
/// name (endpoint and write key), for at most [`SENDER_BOUND`], as `library` (its user agent).
/// On Unix it first starts a session of its own, so that it outlives the terminal or job that
/// started it. It sends nothing when usage telemetry is off for this environment, and returns
/// within about a second once `stop` is given (a signal), having written back what is
/// undelivered. Failures go to the recipient's failure log (its standard streams are null).
/// `Ok(None)`: usage telemetry is off here, so nothing was looked at.
pub fn run_detached_sender(
    library: &Library,
    env: Environment,
    stop: &StopSignal,
) -> Result<Option<SenderOutcome>, SenderError> {
    detach_session();
    let config = Config::load(env)?;
    let master_switch = config.enable_runtime_trace(None)?;
    let printing = config.runtime().dlthub_telemetry_debug.value;
    if !Status::decide(&config, &master_switch, printing).telemetry || printing {
        return Ok(None);
    }
    let report = dlt_segment::run_sender(segment_options(&config, library), SENDER_BOUND, stop)?;
    Ok(Some(report.outcome))
}

/// Leaves the terminal's session and process group: a Ctrl-C in the shell, or the end of a CI
/// step, does not reach the sender. Already a session leader: nothing to do.
#[cfg(unix)]
fn detach_session() {
    let _ = rustix::process::setsid();
}

/// On Windows the parent starts the sender detached (`DETACHED_PROCESS`).
#[cfg(not(unix))]
fn detach_session() {}
