//! The runtime of this process: configured once (by `dlt_telemetry.start()` or `install()`),
//! started on first use, shut down at interpreter exit.
//!
//! Fork safety: a forked child inherits the parent's memory but none of its threads. Every
//! access compares the process id the runtime was started in with this one; in a child, the
//! inherited runtime is forgotten (never used, flushed or dropped, so nothing is written
//! through the parent's state) and the child starts its own on its first event. The state's
//! lock is taken only while the GIL is held and released before anything that waits, so a
//! fork (which holds the GIL) never copies it locked.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use dlt_config::{Environment, Locations};
use dlt_runtime_trace::{
    HostContext, InitOptions, LoggedMessage, RuntimeTrace, SenderCommand, sent_telemetry, time_ago, waiting_telemetry,
};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

use crate::{convert, gate};

/// What starts the runtime, in this process or in a forked child.
struct StartParams {
    library_name: String,
    library_version: String,
    host_context: HostContext,
    /// Variables that replace the process environment's (dlt's own folders, for example).
    env_overrides: Vec<(String, String)>,
    /// The detached sender's program and arguments.
    sender: Option<(PathBuf, Vec<String>)>,
}

impl StartParams {
    fn start(&self) -> RuntimeTrace {
        let overrides = self.env_overrides.iter().map(|(name, value)| (name.clone(), value.into()));
        let mut options = InitOptions::new(&self.library_name, &self.library_version)
            .with_env(process_env_with(overrides))
            .with_host_context(self.host_context.clone());
        if let Some((program, args)) = &self.sender {
            options = options.with_detached_sender(SenderCommand::new(program, args));
        }
        RuntimeTrace::init(options)
    }
}

/// The process environment as it is now (Python's `os.environ` writes through to it), with
/// `overrides` replacing its variables.
fn process_env_with(overrides: impl IntoIterator<Item = (String, OsString)>) -> Environment {
    let process = std::env::vars_os().filter_map(|(name, value)| Some((name.into_string().ok()?, value)));
    Environment::from_pairs(process.chain(overrides))
}

/// A runtime and the process it belongs to.
struct Engine {
    pid: u32,
    runtime: RuntimeTrace,
}

#[derive(Default)]
struct State {
    params: Option<Arc<StartParams>>,
    engine: Option<Arc<Engine>>,
    /// The process whose runtime was shut down: it starts no other.
    shut_down_in: Option<u32>,
}

static STATE: Mutex<State> = Mutex::new(State { params: None, engine: None, shut_down_in: None });

fn state() -> MutexGuard<'static, State> {
    STATE.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    /// This process's runtime, started now if it is configured and was not shut down.
    fn engine(&mut self) -> Option<Arc<Engine>> {
        let pid = std::process::id();
        if self.engine.as_ref().is_some_and(|engine| engine.pid != pid) {
            // Inherited through a fork: its threads do not exist here, and its files and
            // queue are the parent's. Never touched again, never dropped.
            std::mem::forget(self.engine.take());
        }
        if self.engine.is_none() && self.shut_down_in != Some(pid) {
            let params = self.params.as_ref()?;
            self.engine = Some(Arc::new(Engine { pid, runtime: params.start() }));
        }
        self.engine.clone()
    }
}

/// Configures the runtime of this process (and of its forked children); the first call wins.
/// True when this call configured it, false when it already was.
#[pyfunction]
#[pyo3(signature = (library_name, library_version, python=None, exec_info=None, env_overrides=None, sender=None))]
pub(crate) fn configure(
    library_name: String,
    library_version: String,
    python: Option<String>,
    exec_info: Option<Vec<String>>,
    env_overrides: Option<Vec<(String, String)>>,
    sender: Option<(PathBuf, Vec<String>)>,
) -> bool {
    let mut state = state();
    if state.params.is_some() {
        return false;
    }
    let mut host_context = HostContext::default();
    if let Some(python) = python {
        host_context = host_context.with_python(python);
    }
    if let Some(exec_info) = exec_info {
        host_context = host_context.with_exec_info(exec_info);
    }
    state.params = Some(Arc::new(StartParams {
        library_name,
        library_version,
        host_context,
        env_overrides: env_overrides.unwrap_or_default(),
        sender,
    }));
    true
}

/// Whether the runtime is configured.
#[pyfunction]
pub(crate) fn is_configured() -> bool {
    state().params.is_some()
}

/// Sends one event through this process's runtime (started now if needed). Never raises and
/// never waits: the properties are converted and the message queued; with usage telemetry off,
/// nothing is converted.
#[pyfunction]
#[pyo3(signature = (category, name, properties=None))]
pub(crate) fn track(category: &str, name: &str, properties: Option<&Bound<'_, PyAny>>) {
    let Some(engine) = state().engine() else { return };
    if engine.runtime.status().telemetry {
        gate::route_event(&engine.runtime, category, name, convert::properties(properties));
    }
}

/// Waits up to `timeout` seconds, without the GIL, for what was tracked to be delivered or
/// kept in the outbox.
#[pyfunction]
pub(crate) fn flush(py: Python<'_>, timeout: f64) -> bool {
    let Some(engine) = state().engine() else { return true };
    let timeout = Duration::try_from_secs_f64(timeout).unwrap_or(Duration::ZERO);
    py.detach(|| engine.runtime.flush(timeout))
}

/// Shuts this process's runtime down within its deadline, without the GIL; it starts no
/// other. Nothing to do in a process whose runtime was never started.
#[pyfunction]
pub(crate) fn shutdown(py: Python<'_>) {
    let engine = {
        let mut state = state();
        let engine = state.engine.take().filter(|engine| engine.pid == std::process::id());
        state.shut_down_in = Some(std::process::id());
        engine
    };
    // The last reference shuts the runtime down when dropped (a concurrent `flush` may hold
    // another for a moment: then it is dropped there).
    py.detach(move || drop(engine));
}

/// Records an opt-out made by dlt's own switch under `global_dir`: the mark every sender
/// checks, and every outbox deleted (no config file is touched).
#[pyfunction]
pub(crate) fn record_opt_out(py: Python<'_>, global_dir: PathBuf) -> PyResult<()> {
    let env = process_env_with([("DLT_GLOBAL_DIR".to_owned(), global_dir.into_os_string())]);
    let locations = Locations::resolve(&env).map_err(|error| PyRuntimeError::new_err(error.to_string()))?;
    py.detach(|| dlt_runtime_trace::record_opt_out(&locations))
        .map_err(|error| PyRuntimeError::new_err(error.to_string()))
}

/// `dlt telemetry log --json`'s array for this process's configuration, as JSON text: every
/// message delivered from this machine, or only those of the last `since_seconds`.
#[pyfunction]
#[pyo3(signature = (since_seconds=None))]
pub(crate) fn sent_json(py: Python<'_>, since_seconds: Option<f64>) -> PyResult<String> {
    let engine = state()
        .engine()
        .ok_or_else(|| PyRuntimeError::new_err("dlt_telemetry is not started: call start() or install() first"))?;
    let back = since_seconds
        .map(|seconds| {
            Duration::try_from_secs_f64(seconds).map_err(|_| {
                PyValueError::new_err(format!("since must be a number of seconds, 0 or more; got {seconds}"))
            })
        })
        .transpose()?;
    Ok(py.detach(|| {
        let Some(config) = engine.runtime.config() else { return "[]".to_owned() };
        let sent = sent_telemetry(config);
        let log: Vec<serde_json::Value> = sent.log(back.map(time_ago)).iter().map(LoggedMessage::to_json).collect();
        serde_json::Value::Array(log).to_string()
    }))
}

/// `dlt telemetry --json`'s object for this process's runtime, as JSON text.
#[pyfunction]
pub(crate) fn status_json(py: Python<'_>) -> PyResult<String> {
    let engine = state()
        .engine()
        .ok_or_else(|| PyRuntimeError::new_err("dlt_telemetry is not started: call start() or install() first"))?;
    Ok(py.detach(|| {
        let runtime = &engine.runtime;
        let waiting = runtime.config().map(waiting_telemetry);
        let sent = runtime.config().map(sent_telemetry);
        runtime.status().to_json(waiting.as_ref(), sent.as_ref()).to_string()
    }))
}
