//! The detached sender: how a program recognises that it was started as one
//! ([`serve_detached_sender`], one line at the top of `main`), and the loop it runs
//! ([`run_detached_sender`]).

use std::ffi::OsStr;
use std::process::ExitCode;
use std::time::Duration;

use dlt_config::{ConfigError, Environment, Locations};
use dlt_segment::{SenderOutcome, StopSignal};
use dlt_telemetry_model::Library;

use crate::status::Status;
use crate::usage::{load_after_opt_out_mark, segment_options};

/// How long a detached sender may run in all.
pub const SENDER_BOUND: Duration = Duration::from_secs(30);

/// The environment variable that tells a program it was started as the detached sender: its
/// value is the host's `<library name>/<version>` (the sender's user agent). Set only by the
/// runtime when it starts a sender, with the standard streams on the null device.
pub const SENDER_MARKER: &str = "DLT_TELEMETRY_SENDER";

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

/// Call it first thing in `main`: when this process was started as the detached sender (the
/// environment holds [`SENDER_MARKER`] and the standard streams are the null device, as the
/// runtime starts it), it delivers what waits and returns the exit code to end with; otherwise
/// it returns `None` at once (one environment lookup) and the program goes on.
///
/// As the sender it stops on `SIGTERM` or `SIGINT` within about a second, writing back what it
/// has not delivered, and ignores `SIGHUP` (it runs in a process group of its own from the
/// moment it is started, so a terminal that closes or a Ctrl-C meant for the command never
/// reaches it). Failures go to the recipient's `sender.log`; the exit code is 0 unless the
/// configuration or the outbox could not be used.
pub fn serve_detached_sender() -> Option<ExitCode> {
    let library = library_of(&std::env::var_os(SENDER_MARKER)?)?;
    if !standard_streams_are_null() {
        return None;
    }
    let stop = StopSignal::new();
    let _signals = signals::stop_on_signal(&stop);
    Some(match run_detached_sender(&library, Environment::from_process(), &stop) {
        Ok(_) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    })
}

/// The host's library from the marker's `<name>/<version>`.
fn library_of(marker: &OsStr) -> Option<Library> {
    let (name, version) = marker.to_str()?.rsplit_once('/')?;
    (!name.is_empty()).then(|| Library::new(name, version))
}

/// The marker's value for `library`.
pub(crate) fn marker_of(library: &Library) -> String {
    format!("{}/{}", library.name, library.version)
}

/// Whether standard input, output and error are all the null device, as a sender is started.
/// A program run by hand with the marker left in its environment is not a sender.
#[cfg(unix)]
fn standard_streams_are_null() -> bool {
    use std::os::fd::AsFd as _;

    use rustix::fs::{FileType, fstat, stat};
    let Ok(null) = stat("/dev/null") else { return false };
    let is_null = |fd: std::os::fd::BorrowedFd<'_>| {
        fstat(fd).is_ok_and(|found| {
            FileType::from_raw_mode(found.st_mode) == FileType::CharacterDevice && found.st_rdev == null.st_rdev
        })
    };
    is_null(std::io::stdin().as_fd()) && is_null(std::io::stdout().as_fd()) && is_null(std::io::stderr().as_fd())
}

/// Windows starts the sender without a console; the marker alone tells.
#[cfg(not(unix))]
fn standard_streams_are_null() -> bool {
    true
}

/// Delivers what waits in the outbox of the recipient this environment and its config files
/// name (endpoint and write key), for at most [`SENDER_BOUND`], as `library` (its user agent).
/// It sends nothing when usage telemetry is off for this environment, and returns within about
/// a second once `stop` is given (a signal), having written back what is undelivered.
/// Failures go to the recipient's failure log (a sender's standard streams are null).
/// `Ok(None)`: usage telemetry is off here, so nothing was looked at.
pub fn run_detached_sender(
    library: &Library,
    env: Environment,
    stop: &StopSignal,
) -> Result<Option<SenderOutcome>, SenderError> {
    let locations = Locations::resolve(&env).map_err(ConfigError::from)?;
    let (opt_out_baseline, config) = load_after_opt_out_mark(locations, env);
    let config = config?;
    let master_switch = config.enable_runtime_trace(None)?;
    let printing = config.runtime().dlthub_telemetry_debug.value;
    if !Status::decide(&config, &master_switch, printing).telemetry || printing {
        return Ok(None);
    }
    let options = segment_options(&config, opt_out_baseline, library);
    Ok(Some(dlt_segment::run_sender(options, SENDER_BOUND, stop)?))
}

#[cfg(unix)]
mod signals {
    //! The sender's own signals: it is the whole process, so it may install handlers.

    use dlt_segment::StopSignal;
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    use signal_hook::iterator::{Handle, Signals};

    /// Gives `stop` on `SIGTERM` or `SIGINT`, and ignores `SIGHUP`, for as long as the returned
    /// watch lives.
    pub(super) fn stop_on_signal(stop: &StopSignal) -> Option<StopWatch> {
        let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP]).ok()?;
        let handle = signals.handle();
        let stop = stop.clone();
        let thread = std::thread::Builder::new()
            .name("dlt-signals".into())
            .spawn(move || {
                for signal in signals.forever() {
                    if signal != SIGHUP {
                        stop.stop();
                        return;
                    }
                }
            })
            .ok()?;
        Some(StopWatch { handle, thread: Some(thread) })
    }

    /// Watches signals until dropped.
    pub(super) struct StopWatch {
        handle: Handle,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl Drop for StopWatch {
        fn drop(&mut self) {
            self.handle.close();
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

#[cfg(not(unix))]
mod signals {
    //! Without Unix signals, nothing to watch.

    pub(super) fn stop_on_signal(_stop: &dlt_segment::StopSignal) -> Option<()> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_marker_names_the_hosts_library() {
        let library = Library::new("my_tool", "0.3.0");
        let parsed = library_of(OsStr::new(&marker_of(&library)));
        assert_eq!(parsed, Some(library));
        assert_eq!(library_of(OsStr::new("python-dlt/1.31.0/x")), Some(Library::new("python-dlt/1.31.0", "x")));
        for not_a_marker in ["", "1", "/1.0"] {
            assert_eq!(library_of(OsStr::new(not_a_marker)), None, "{not_a_marker:?}");
        }
    }
}
