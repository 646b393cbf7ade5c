//! The detached sender's loop, run by `python -m dlt_telemetry.sender` in a process of its own.

use dlt_config::Environment;
use dlt_runtime_trace::run_detached_sender;
use dlt_telemetry_model::Library;
use pyo3::prelude::*;

/// Tells a running sender to stop: it writes back what it could not deliver and returns within
/// about a second.
#[pyclass(module = "dlt_telemetry._engine", frozen)]
#[derive(Clone, Default)]
pub(crate) struct StopSignal(dlt_runtime_trace::StopSignal);

#[pymethods]
impl StopSignal {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Asks the sender to stop.
    fn stop(&self) {
        self.0.stop();
    }
}

/// Delivers what waits in the outbox of the recipient this process's environment and config
/// files name, as `library_name/library_version`, for at most 30 s, without the GIL. `None` on
/// success (or when usage telemetry is off here), else why it failed.
#[pyfunction]
pub(crate) fn run_sender(
    py: Python<'_>,
    library_name: String,
    library_version: String,
    stop: &Bound<'_, StopSignal>,
) -> Option<String> {
    let library = Library::new(library_name, library_version);
    let stop = stop.get().0.clone();
    py.detach(move || run_detached_sender(&library, Environment::from_process(), &stop).err().map(|e| e.to_string()))
}
