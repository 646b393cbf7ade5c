//! Signals, handled by the command line itself (the libraries install no handler in a host):
//! on `SIGINT` or `SIGTERM` what usage telemetry holds goes to the outbox, and a detached
//! sender is started for it, before the process ends.

use dlt_runtime_trace::Keeper;

/// Runs `work` (the command and the shutdown after it); if `SIGINT` or `SIGTERM` arrives
/// meanwhile, keeps what usage telemetry holds and ends the process with 128 + the signal's
/// number, as a shell reports a killed command.
#[cfg(unix)]
pub(crate) fn keeping_telemetry_on_signal<T>(keeper: Option<Keeper>, work: impl FnOnce() -> T) -> T {
    use std::sync::{Arc, Mutex, PoisonError};

    use signal_hook::consts::{SIGINT, SIGTERM};
    use signal_hook::iterator::Signals;
    // Nothing to keep (usage telemetry is off): a signal ends the process as it would anyway.
    let Some(keeper) = keeper else { return work() };
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM]) else { return work() };
    let handle = signals.handle();
    // True once the work is done. The watcher holds the lock while it handles a signal, so
    // that the process ends with the signal's code rather than the work's.
    let finished = Arc::new(Mutex::new(false));
    let watched = Arc::clone(&finished);
    let _watcher = std::thread::Builder::new().name("dlt-signals".into()).spawn(move || {
        if let Some(signal) = signals.forever().next() {
            let finished = watched.lock().unwrap_or_else(PoisonError::into_inner);
            if *finished {
                return;
            }
            keeper.keep_now();
            std::process::exit(128 + signal);
        }
    });
    let result = work();
    *finished.lock().unwrap_or_else(PoisonError::into_inner) = true;
    // The watcher is not joined: the process is about to end, and waiting for a thread that
    // may not even have been scheduled yet cost a millisecond or more.
    handle.close();
    result
}

/// Without Unix signals, the work just runs.
#[cfg(not(unix))]
pub(crate) fn keeping_telemetry_on_signal<T>(_keeper: Option<Keeper>, work: impl FnOnce() -> T) -> T {
    work()
}
