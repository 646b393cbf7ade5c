//! Pipeline runs: a trace of steps that sends `pipeline_<step>` events, drives the Sentry
//! transaction and its spans, and is saved as `pipelines/<name>/trace.json`.

use std::fmt::Display;
use std::time::Instant;

use dlt_sentry_bridge::{PipelineTags, PipelineTransaction, StepSpan};
use dlt_telemetry_model::events::{
    ExtractedData, PipelineExtract, PipelineLoad, PipelineNormalize, PipelineRun as PipelineRunEvent, PipelineStep,
};
use dlt_telemetry_model::{PipelineStepTrace, PipelineTrace, digest128};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::runtime::{Active, RuntimeTrace, random_hex_id};
use crate::trace_file::save_trace;

/// What a pipeline run is about. Names are saved in clear in the local trace file and sent to
/// telemetry only as `digest128`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PipelineInfo {
    /// The pipeline's name; also the name of its directory under `pipelines/`.
    pub pipeline_name: String,
    /// The destination's short name, e.g. `duckdb`.
    pub destination_name: Option<String>,
    /// The destination's type, e.g. `dlt.destinations.duckdb`.
    pub destination_type: Option<String>,
    /// The dataset's name.
    pub dataset_name: Option<String>,
    /// The default schema's name, once there is one.
    pub default_schema_name: Option<String>,
}

impl PipelineInfo {
    /// A pipeline with only a name.
    pub fn new(pipeline_name: impl Into<String>) -> Self {
        Self { pipeline_name: pipeline_name.into(), ..Self::default() }
    }
}

/// What a step reports about itself, all optional.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StepReport {
    /// Anything worth keeping in the trace file (row counts, files, load ids).
    pub info: Option<Value>,
    /// Extract only: what was extracted (sent with `pipeline_extract`).
    pub extract_data: Option<Vec<ExtractedData>>,
    /// Load only: a hash of the destination's settings (sent with `pipeline_load`).
    pub destination_fingerprint: Option<String>,
}

/// A step that has begun; hand it back to [`PipelineRun::end_step`].
#[must_use = "a step that is never ended is not in the trace and its span counts as failed"]
pub struct ActiveStep {
    step: String,
    started_at: OffsetDateTime,
    span: Option<StepSpan>,
}

/// One traced run of a pipeline. The outermost step (usually `run`) is named when it starts;
/// inner steps run through [`PipelineRun::step`] or [`PipelineRun::begin_step`] /
/// [`PipelineRun::end_step`]; [`PipelineRun::finish`] or [`PipelineRun::fail`] ends it.
/// Dropped unfinished (say, by a panic), it ends as failed.
#[must_use = "a pipeline run ends, as failed, when dropped"]
pub struct PipelineRun<'a> {
    recording: Option<Recording<'a>>,
}

/// The state of a run whose pipeline has tracing on.
struct Recording<'a> {
    active: &'a Active,
    info: PipelineInfo,
    outer_step: String,
    transaction_id: String,
    started_at: OffsetDateTime,
    started: Instant,
    steps: Vec<PipelineStepTrace>,
    sentry: PipelineTransaction,
}

impl RuntimeTrace {
    /// Starts the trace of one pipeline run whose outermost step is `outer_step` (e.g. `run`).
    /// Nothing is recorded when the master switch is off, for all pipelines or this one
    /// (`pipelines.<name>.enable_runtime_trace = false`).
    pub fn start_pipeline_run(&self, info: PipelineInfo, outer_step: &str) -> PipelineRun<'_> {
        let Some(active) = self.active() else { return PipelineRun { recording: None } };
        match active.config.enable_runtime_trace(Some(&info.pipeline_name)) {
            Ok(switch) if switch.value => {}
            Ok(_) => return PipelineRun { recording: None },
            Err(error) => {
                tracing::warn!("tracing of pipeline {:?} is off: {error}", info.pipeline_name);
                return PipelineRun { recording: None };
            }
        }
        let tags = PipelineTags {
            pipeline_name: info.pipeline_name.clone(),
            destination: info.destination_name.clone(),
            dataset_name: info.dataset_name.clone(),
        };
        let sentry = PipelineTransaction::start(&active.sentry, outer_step, &tags);
        let recording = Recording {
            active,
            info,
            outer_step: outer_step.to_owned(),
            transaction_id: random_hex_id(),
            started_at: OffsetDateTime::now_utc(),
            started: Instant::now(),
            steps: Vec::new(),
            sentry,
        };
        PipelineRun { recording: Some(recording) }
    }
}

impl PipelineRun<'_> {
    /// Whether this run is traced (the master switch is on for its pipeline).
    pub fn is_recording(&self) -> bool {
        self.recording.is_some()
    }

    /// Sets the default schema's name once it is known (it is hashed into later events).
    pub fn set_default_schema_name(&mut self, name: impl Into<String>) {
        if let Some(recording) = &mut self.recording {
            recording.info.default_schema_name = Some(name.into());
        }
    }

    /// Runs one step: its span, its trace entry and its `pipeline_<step>` event. The step's
    /// error, if any, is recorded by its `Display` text and returned untouched.
    pub fn step<T, E: Display>(
        &mut self,
        step: &str,
        work: impl FnOnce(&mut StepReport) -> Result<T, E>,
    ) -> Result<T, E> {
        let active = self.begin_step(step);
        let mut report = StepReport::default();
        let result = work(&mut report);
        self.end_step(active, report, result.as_ref().err().map(ToString::to_string));
        result
    }

    /// Begins a step, for hosts that cannot run it in a closure (async code).
    pub fn begin_step(&mut self, step: &str) -> ActiveStep {
        let span = self.recording.as_ref().map(|recording| recording.sentry.start_step(step));
        ActiveStep { step: step.to_owned(), started_at: OffsetDateTime::now_utc(), span }
    }

    /// Ends a step begun by [`PipelineRun::begin_step`]; `error` is `None` when it succeeded.
    pub fn end_step(&mut self, step: ActiveStep, report: StepReport, error: Option<String>) {
        let ActiveStep { step, started_at, span } = step;
        let success = error.is_none();
        if let Some(span) = span {
            span.finish(success);
        }
        if let Some(recording) = &mut self.recording {
            recording.record(step, started_at, report, error);
        }
    }

    /// Ends the run: succeeded unless one of its steps failed.
    pub fn finish(mut self) -> Option<PipelineTrace> {
        let recording = self.recording.take()?;
        let error = recording
            .steps
            .iter()
            .find(|step| !step.succeeded())
            .map(|step| format!("step {} failed: {}", step.step, step.step_exception.as_deref().unwrap_or("")));
        Some(recording.end(error))
    }

    /// Ends the run as failed with this error.
    pub fn fail(mut self, error: impl Display) -> Option<PipelineTrace> {
        Some(self.recording.take()?.end(Some(error.to_string())))
    }
}

impl Drop for PipelineRun<'_> {
    fn drop(&mut self) {
        if let Some(recording) = self.recording.take() {
            recording.end(Some("the pipeline run ended without finishing its trace".into()));
        }
    }
}

impl Recording<'_> {
    /// Adds a finished step to the trace and sends its event.
    fn record(&mut self, step: String, started_at: OffsetDateTime, report: StepReport, error: Option<String>) {
        let StepReport { info, extract_data, destination_fingerprint } = report;
        let properties = self.step_properties(error.is_none());
        match step.as_str() {
            "extract" => self.active.track(PipelineExtract { step: properties, extract_data }),
            "normalize" => self.active.track(PipelineNormalize { step: properties }),
            "load" => self.active.track(PipelineLoad { step: properties, destination_fingerprint }),
            "run" => self.active.track(PipelineRunEvent { step: properties }),
            _ => {}
        }
        self.steps.push(PipelineStepTrace {
            span_id: random_hex_id(),
            step,
            started_at,
            finished_at: Some(OffsetDateTime::now_utc()),
            success: Some(error.is_none()),
            step_exception: error,
            step_info: info,
            extra: Map::new(),
        });
    }

    /// The properties every step event shares; `elapsed` counts from the start of the trace.
    fn step_properties(&self, success: bool) -> PipelineStep {
        let info = &self.info;
        PipelineStep {
            elapsed: self.started.elapsed().as_secs_f64(),
            success,
            destination_name: info.destination_name.clone(),
            destination_type: info.destination_type.clone(),
            pipeline_name_hash: Some(digest128(&info.pipeline_name)),
            dataset_name_hash: info.dataset_name.as_deref().map(digest128),
            default_schema_name_hash: info.default_schema_name.as_deref().map(digest128),
            transaction_id: self.transaction_id.clone(),
        }
    }

    /// Records the outer step, ends the Sentry transaction and saves the trace file.
    fn end(mut self, error: Option<String>) -> PipelineTrace {
        let success = error.is_none();
        let outer_step = std::mem::take(&mut self.outer_step);
        let started_at = self.started_at;
        self.record(outer_step, started_at, StepReport::default(), error);
        self.sentry.finish(success);
        let trace = PipelineTrace {
            transaction_id: self.transaction_id,
            pipeline_name: self.info.pipeline_name,
            destination_name: self.info.destination_name,
            destination_type: self.info.destination_type,
            dataset_name: self.info.dataset_name,
            execution_context: self.active.context().clone(),
            started_at: self.started_at,
            steps: self.steps,
            finished_at: Some(OffsetDateTime::now_utc()),
            extra: Map::new(),
        };
        if let Err(error) = save_trace(&self.active.pipelines_dir, &trace) {
            tracing::warn!("the trace of pipeline {:?} was not saved: {error}", trace.pipeline_name);
        }
        trace
    }
}
