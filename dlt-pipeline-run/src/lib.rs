//! What a pipeline run is for whoever records one: what identifies it, and how a recorded run
//! or step ends. Pure data and one small guard, depending on nothing.
//!
//! - [`PipelineIdentity`]: the pipeline's name, its destination and its dataset. The one shape
//!   of this concept: `dlt-telemetry-model` flattens it into the trace file (`PipelineTrace`),
//!   `dlt-runtime-trace` starts a run with it, and the Sentry and OpenTelemetry bridges show
//!   the part their protocol has room for (tags, span attributes). Names are shown in clear
//!   to the user's own backends and files; usage telemetry sends them only as digests.
//! - [`RecordingGuard`] and [`Recording`]: a run or a step a backend records ends exactly
//!   once, by `finish`, by `fail(error)`, or, dropped unfinished (say, while unwinding), as
//!   failed with [`RUN_UNFINISHED`] or [`STEP_UNFINISHED`]. Both bridges hold their runs and
//!   steps in this guard, so they end them alike.
//!
//! Features: `serde` (Serialize and Deserialize of [`PipelineIdentity`] with the trace file's
//! field names) and `schemars` (its JSON Schema), both off by default.
//!
//! ```
//! use std::fmt;
//! use dlt_pipeline_run::{PipelineIdentity, Recording, RecordingGuard, STEP_UNFINISHED};
//!
//! let pipeline = PipelineIdentity::new("chess")
//!     .with_destination("duckdb", "dlt.destinations.duckdb")
//!     .with_dataset("games");
//! assert_eq!(pipeline.destination_name.as_deref(), Some("duckdb"));
//!
//! /// A backend's step that prints how it ended.
//! struct PrintedStep(&'static str);
//!
//! impl Recording for PrintedStep {
//!     const UNFINISHED: &'static str = STEP_UNFINISHED;
//!
//!     fn end(self, error: Option<&dyn fmt::Display>) {
//!         match error {
//!             Some(error) => println!("{} failed: {error}", self.0),
//!             None => println!("{} succeeded", self.0),
//!         }
//!     }
//! }
//!
//! RecordingGuard::new(PrintedStep("extract")).finish(); // extract succeeded
//! drop(RecordingGuard::new(PrintedStep("load"))); // load failed: the step ended without finishing
//! ```

mod identity;
mod recording;

pub use identity::PipelineIdentity;
pub use recording::{RUN_UNFINISHED, Recording, RecordingGuard, STEP_UNFINISHED};

// The README's example runs as a doctest, so the crate's page on crates.io cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
