//! dlt's telemetry and tracing behind one master switch, for any host program: one
//! [`RuntimeTrace::init`], one guard.
//!
//! - [`RuntimeTrace`]: reads the configuration (files and environment), decides in DESIGN
//!   order (`enable_runtime_trace`, then `DO_NOT_TRACK`, then `runtime.dlthub_telemetry`,
//!   see [`Status`]), starts Segment and Sentry, and shuts both down within one deadline when
//!   dropped. With the master switch off it starts nothing at all.
//! - [`RuntimeTrace::track_command`]: a command's event, before or after it ([`Track`]).
//! - [`RuntimeTrace::start_pipeline_run`]: a [`PipelineRun`] of steps that sends
//!   `pipeline_<step>` events, drives the Sentry transaction and saves
//!   `pipelines/<name>/trace.json` ([`save_trace`], [`load_trace`]).
//! - [`context`]: the execution context with dlt's exact checks.
//!
//! ```no_run
//! use dlt_runtime_trace::{InitOptions, PipelineInfo, RuntimeTrace};
//!
//! let runtime = RuntimeTrace::init(InitOptions::new("my_tool", "0.3.0"));
//! let mut run = runtime.start_pipeline_run(PipelineInfo::new("chess_pipeline"), "run");
//! let rows = run.step("extract", |_report| Ok::<_, std::io::Error>(vec![1, 2, 3]))?;
//! run.step("normalize", |_| Ok::<_, std::io::Error>(rows.len()))?;
//! run.step("load", |_| Ok::<_, std::io::Error>(()))?;
//! run.finish();
//! # Ok::<(), std::io::Error>(())
//! ```

mod command;
pub mod context;
mod pipeline;
mod runtime;
mod status;
mod trace_file;

pub use command::{CommandOutcome, Track};
pub use pipeline::{ActiveStep, PipelineInfo, PipelineRun, StepReport};
pub use runtime::{InitOptions, RuntimeTrace, ShutdownSummary};
pub use status::{DecidedBy, Status};
pub use trace_file::{TRACE_FILE_NAME, TraceFileError, load_trace, save_trace, trace_path};
