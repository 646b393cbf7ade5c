//! The Rust side of the Python package `dlt_telemetry`: its private extension module
//! `dlt_telemetry._engine`. The Python package (`python/dlt_telemetry/`) is the public API and
//! documents it; this module only forwards to `dlt-runtime-trace`.
//!
//! - `engine`: the runtime of this process, started lazily and re-created after a `fork`.
//! - `gate`: the one function every event from Python passes on its way to the transports.
//! - `convert`: Python values to JSON.
//! - `sender`: the detached sender's loop, for `python -m dlt_telemetry.sender`.

mod convert;
mod engine;
mod gate;
mod sender;

use pyo3::prelude::*;

/// The engine behind `dlt_telemetry`: private, use the `dlt_telemetry` package.
#[pymodule(name = "_engine")]
mod engine_module {
    #[pymodule_export]
    use crate::engine::{configure, flush, is_configured, record_opt_out, sent_json, shutdown, status_json, track};
    #[pymodule_export]
    use crate::sender::serve_sender;
}
