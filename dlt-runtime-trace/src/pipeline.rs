//! Pipeline runs: a trace of steps that sends `pipeline_<step>` events, drives the Sentry
//! transaction and the OpenTelemetry trace, and is saved as `pipelines/<name>/trace.json`.

use std::error::Error;
use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use dlt_otel_bridge::{PipelineAttributes, PipelineRunSpan, StepSpan as OtelStep};
use dlt_redact::Redactor;
use dlt_sentry_bridge::{PipelineTags, PipelineTransaction, StepSpan as SentryStep};
use dlt_telemetry_model::events::{
    ExtractedData, PipelineExtract, PipelineLoad, PipelineNormalize, PipelineRun as PipelineRunEvent, PipelineStep,
};
use dlt_telemetry_model::{PipelineStepTrace, PipelineTrace, digest128};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::runtime::{RuntimeTrace, Services, random_hex_id};
use crate::trace_file::{TraceFileError, redact_trace, save_trace};

/// A step of a pipeline run, each with its `pipeline_<step>` event (DESIGN.md §4.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Extract data from the source.
    Extract,
    /// Normalize it into tables.
    Normalize,
    /// Load it into the destination.
    Load,
    /// The whole run: extract, normalize and load.
    Run,
}

impl Step {
    /// dlt's name of the step, e.g. `extract`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Extract => "extract",
            Self::Normalize => "normalize",
            Self::Load => "load",
            Self::Run => "run",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a pipeline run is about. Names are saved in clear in the local trace file, sent to
/// the user's own Sentry and OpenTelemetry backends in clear, and to usage telemetry only as
/// `digest128`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
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

    /// The same pipeline with a destination: its short name and its type.
    pub fn with_destination(mut self, name: impl Into<String>, destination_type: impl Into<String>) -> Self {
        self.destination_name = Some(name.into());
        self.destination_type = Some(destination_type.into());
        self
    }

    /// The same pipeline with a dataset.
    pub fn with_dataset(mut self, name: impl Into<String>) -> Self {
        self.dataset_name = Some(name.into());
        self
    }
}

/// What a step reports about itself, all optional.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct StepReport {
    /// Anything worth keeping in the trace file (row counts, files, load ids); a `rows` number
    /// also becomes the OpenTelemetry step's `dlt.step.rows`.
    pub info: Option<Value>,
    /// Extract only: what was extracted (sent with `pipeline_extract`).
    pub extract_data: Option<Vec<ExtractedData>>,
    /// Load only: a hash of the destination's settings (sent with `pipeline_load`).
    pub destination_fingerprint: Option<String>,
}

/// A step that has begun; hand it back to [`TracedRun::end_step`].
#[must_use = "a step that is never ended is not in the trace and its spans count as failed"]
pub struct StepInProgress {
    step: Step,
    started_at: OffsetDateTime,
    sentry: Option<SentryStep>,
    otel: Option<OtelStep>,
}

/// How a run ended: its trace, and where it was saved.
#[derive(Debug)]
#[non_exhaustive]
pub struct FinishedRun {
    /// The trace of the run.
    pub trace: PipelineTrace,
    /// Where the trace was saved, or why it was not.
    pub saved: Result<PathBuf, TraceFileError>,
}

/// One traced run of a pipeline. The outermost step (usually [`Step::Run`]) is named when it
/// starts; inner steps run through [`TracedRun::step`] or [`TracedRun::begin_step`] /
/// [`TracedRun::end_step`]; [`TracedRun::finish`] or [`TracedRun::fail`] ends it.
/// Dropped unfinished (say, by a panic), it ends as failed.
#[must_use = "a pipeline run ends, as failed, when dropped"]
pub struct TracedRun<'a> {
    recording: Option<Recording<'a>>,
}

/// The state of a run whose pipeline has tracing on.
struct Recording<'a> {
    services: &'a Services,
    secrets: &'a Redactor,
    pipelines_dir: PathBuf,
    info: PipelineInfo,
    outer_step: Step,
    transaction_id: String,
    started_at: OffsetDateTime,
    started: Instant,
    steps: Vec<PipelineStepTrace>,
    sentry: PipelineTransaction,
    otel: PipelineRunSpan,
}

impl RuntimeTrace {
    /// Starts the trace of one pipeline run whose outermost step is `outer_step` (usually
    /// [`Step::Run`]). Nothing is recorded when the master switch is off, for all pipelines or
    /// this one (`pipelines.<name>.enable_runtime_trace = false`).
    pub fn start_pipeline_run(&self, info: PipelineInfo, outer_step: Step) -> TracedRun<'_> {
        let (Some(services), Some(config)) = (self.services.as_ref(), self.config.as_ref()) else {
            return TracedRun { recording: None };
        };
        match config.enable_runtime_trace(Some(&info.pipeline_name)) {
            Ok(switch) if switch.value => {}
            Ok(_) => return TracedRun { recording: None },
            Err(error) => {
                tracing::warn!("tracing of pipeline {:?} is off: {error}", info.pipeline_name);
                return TracedRun { recording: None };
            }
        }
        let mut tags = PipelineTags::new(info.pipeline_name.clone());
        let mut attributes = PipelineAttributes::new(info.pipeline_name.clone());
        if let Some(destination) = &info.destination_name {
            tags = tags.with_destination(destination.clone());
            attributes = attributes.destination(destination.clone());
        }
        if let Some(dataset) = &info.dataset_name {
            tags = tags.with_dataset_name(dataset.clone());
            attributes = attributes.dataset(dataset.clone());
        }
        let recording = Recording {
            services,
            secrets: &self.secrets,
            pipelines_dir: config.locations().pipelines_dir(),
            outer_step,
            transaction_id: random_hex_id(),
            started_at: OffsetDateTime::now_utc(),
            started: Instant::now(),
            steps: Vec::new(),
            sentry: PipelineTransaction::start(&services.sentry, outer_step.name(), &tags),
            otel: PipelineRunSpan::start(&services.otel, outer_step.name(), &attributes),
            info,
        };
        TracedRun { recording: Some(recording) }
    }
}

impl TracedRun<'_> {
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

    /// Runs one step: its spans, its trace entry and its `pipeline_<step>` event. The step's
    /// error, if any, is recorded (with its causes) and returned untouched.
    pub fn step<T, E: Error + 'static>(
        &mut self,
        step: Step,
        work: impl FnOnce(&mut StepReport) -> Result<T, E>,
    ) -> Result<T, E> {
        let in_progress = self.begin_step(step);
        let mut report = StepReport::default();
        let result = work(&mut report);
        self.end_step(in_progress, report, result.as_ref().err().map(|error| error as &(dyn Error + 'static)));
        result
    }

    /// Begins a step, for hosts that cannot run it in a closure (async code).
    pub fn begin_step(&mut self, step: Step) -> StepInProgress {
        let (sentry, otel) = match &self.recording {
            Some(recording) => {
                (Some(recording.sentry.start_step(step.name())), Some(recording.otel.start_step(step.name())))
            }
            None => (None, None),
        };
        StepInProgress { step, started_at: OffsetDateTime::now_utc(), sentry, otel }
    }

    /// Ends a step begun by [`TracedRun::begin_step`]; `error` is `None` when it succeeded.
    pub fn end_step(&mut self, step: StepInProgress, report: StepReport, error: Option<&(dyn Error + 'static)>) {
        let StepInProgress { step, started_at, sentry, otel } = step;
        let error = error.map(describe);
        if let Some(otel) = otel {
            if let Some(rows) = report.info.as_ref().and_then(|info| info.get("rows")).and_then(Value::as_u64) {
                otel.set_rows(rows);
            }
            match &error {
                Some(error) => otel.fail(error),
                None => otel.finish(),
            }
        }
        if let Some(sentry) = sentry {
            match &error {
                Some(error) => sentry.fail(error),
                None => sentry.finish(true),
            }
        }
        if let Some(recording) = &mut self.recording {
            recording.record(step, started_at, report, error);
        }
    }

    /// Ends the run: succeeded unless one of its steps failed.
    pub fn finish(mut self) -> Option<FinishedRun> {
        let recording = self.recording.take()?;
        let error = recording
            .steps
            .iter()
            .find(|step| !step.succeeded())
            .map(|step| format!("step {} failed: {}", step.step, step.step_exception.as_deref().unwrap_or("")));
        Some(recording.end(error))
    }

    /// Ends the run as failed with this error.
    pub fn fail(mut self, error: &(dyn Error + 'static)) -> Option<FinishedRun> {
        Some(self.recording.take()?.end(Some(describe(error))))
    }
}

impl Drop for TracedRun<'_> {
    /// Nobody receives the outcome of a run dropped unfinished: a trace that cannot be saved
    /// is logged instead.
    fn drop(&mut self) {
        if let Some(recording) = self.recording.take() {
            let finished = recording.end(Some("the pipeline run ended without finishing its trace".into()));
            if let Err(error) = finished.saved {
                tracing::warn!("the trace of pipeline {:?} was not saved: {error}", finished.trace.pipeline_name);
            }
        }
    }
}

/// An error and its causes, as one line: `outer: inner: root`.
fn describe(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

impl Recording<'_> {
    /// Adds a finished step to the trace and sends its event.
    fn record(&mut self, step: Step, started_at: OffsetDateTime, report: StepReport, error: Option<String>) {
        let StepReport { info, extract_data, destination_fingerprint } = report;
        let properties = self.step_properties(error.is_none());
        match step {
            Step::Extract => self.services.track(PipelineExtract { step: properties, extract_data }),
            Step::Normalize => self.services.track(PipelineNormalize { step: properties }),
            Step::Load => self.services.track(PipelineLoad { step: properties, destination_fingerprint }),
            Step::Run => self.services.track(PipelineRunEvent { step: properties }),
        }
        self.steps.push(PipelineStepTrace {
            span_id: random_hex_id(),
            step: step.name().to_owned(),
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

    /// Records the outer step, ends the Sentry transaction and the OpenTelemetry trace, and
    /// saves the trace file, with the configuration's secrets hidden in its free text.
    fn end(mut self, error: Option<String>) -> FinishedRun {
        let started_at = self.started_at;
        self.record(self.outer_step, started_at, StepReport::default(), error.clone());
        match &error {
            Some(error) => {
                self.sentry.fail(error);
                self.otel.fail(error);
            }
            None => {
                self.sentry.finish(true);
                self.otel.finish();
            }
        }
        let mut trace = PipelineTrace {
            transaction_id: self.transaction_id,
            pipeline_name: self.info.pipeline_name,
            destination_name: self.info.destination_name,
            destination_type: self.info.destination_type,
            dataset_name: self.info.dataset_name,
            execution_context: self.services.context().context().clone(),
            started_at: self.started_at,
            steps: self.steps,
            finished_at: Some(OffsetDateTime::now_utc()),
            extra: Map::new(),
        };
        redact_trace(&mut trace, self.secrets);
        let saved = save_trace(&self.pipelines_dir, &trace);
        FinishedRun { trace, saved }
    }
}
