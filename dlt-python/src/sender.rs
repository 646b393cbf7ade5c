//! The detached sender, run by `python -m dlt_telemetry.sender` in a process of its own: the
//! engine's one entry point for senders, [`dlt_runtime_trace::serve_detached_sender`].

use pyo3::prelude::*;

/// When this process was started as the engine's detached sender (the marker in its
/// environment, null standard streams), delivers what waits, without the GIL, and returns the
/// exit code; `None` otherwise, at once.
#[pyfunction]
pub(crate) fn serve_sender(py: Python<'_>) -> Option<u8> {
    py.detach(|| {
        dlt_runtime_trace::serve_detached_sender()
            .map(|code| if code == std::process::ExitCode::SUCCESS { 0 } else { 1 })
    })
}
