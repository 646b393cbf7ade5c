//! The pipeline trace: one run of a pipeline, step by step, as saved in `trace.json`.

use dlt_pipeline_run::PipelineIdentity;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::message::Context;

/// One traced run of a pipeline: the outermost call (usually `run`) and its steps.
///
/// Parses dlt's `PipelineTrace.asdict()` too; what this model does not know is kept in `extra`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "dlt pipeline trace",
    description = "One traced run of a pipeline and its steps, as saved under `pipelines/<name>/trace.json`."
)]
pub struct PipelineTrace {
    /// A random 32-character hex id, the `transaction_id` of the trace's telemetry events.
    pub transaction_id: String,
    /// The pipeline, its destination and its dataset.
    #[serde(flatten)]
    pub pipeline: PipelineIdentity,
    /// Where the run happened.
    pub execution_context: Context,
    /// When the outermost step started.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub started_at: OffsetDateTime,
    /// The steps in the order they finished; the outermost step (e.g. `run`) comes last.
    pub steps: Vec<PipelineStepTrace>,
    /// When the outermost step finished; null while it runs.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(with = "Option<String>", extend("format" = "date-time"))]
    pub finished_at: Option<OffsetDateTime>,
    /// Fields this model does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl PipelineTrace {
    /// True when every step succeeded.
    pub fn succeeded(&self) -> bool {
        self.steps.iter().all(PipelineStepTrace::succeeded)
    }
}

/// One step of a trace: `run`, `extract`, `normalize`, `load` or `sync`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct PipelineStepTrace {
    /// A random 32-character hex id of this step.
    pub span_id: String,
    /// The step, e.g. `extract`.
    pub step: String,
    /// When the step started.
    #[serde(with = "time::serde::rfc3339")]
    #[schemars(with = "String", extend("format" = "date-time"))]
    pub started_at: OffsetDateTime,
    /// When the step finished.
    #[serde(default, with = "time::serde::rfc3339::option")]
    #[schemars(with = "Option<String>", extend("format" = "date-time"))]
    pub finished_at: Option<OffsetDateTime>,
    /// Whether the step succeeded. Absent in traces written by dlt (Python), where a step
    /// succeeded when `step_exception` is null.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    /// The error text when the step failed.
    #[serde(default)]
    pub step_exception: Option<String>,
    /// What the step reported (row counts, load ids, ...), when anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_info: Option<Value>,
    /// Fields this model does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl PipelineStepTrace {
    /// True when the step succeeded.
    pub fn succeeded(&self) -> bool {
        self.success.unwrap_or(self.step_exception.is_none())
    }
}
