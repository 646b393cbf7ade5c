//! Pipeline runs: a trace of steps that sends `pipeline_<step>` events, drives the Sentry
//! transaction and the OpenTelemetry trace, and is saved as `pipelines/<name>/trace.json`.
//!
//! A run is about a [`PipelineIdentity`], the one shape the trace file and both bridges take;
//! a step's [`Step::name`] is its span's op name in each bridge.

use std::error::Error;
use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use dlt_redact::Redactor;
use dlt_telemetry_model::events::{
    ExtractedData, PipelineExtract, PipelineLoad, PipelineNormalize, PipelineRun as PipelineRunEvent, PipelineStep,
};
use dlt_telemetry_model::{PipelineIdentity, PipelineStepTrace, PipelineTrace, digest128};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::runtime::{RuntimeTrace, Services, random_hex_id};
use crate::trace_file::{TraceFileError, redact_trace, save_trace};

/// A step of a pipeline run, each with its `pipeline_<step>` event (DESIGN.md §4.3). dlt may
/// add steps, so a `match` on it needs a catch-all arm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
    /// dlt's name of the step, e.g. `extract`: the op (Sentry) and span name (OpenTelemetry)
    /// of its span, and its name in the trace file.
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
    /// `None` when the run is not traced.
    spans: Option<StepSpans>,
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
    pipeline: PipelineIdentity,
    /// Hashed into the step events once the host sets it.
    default_schema_name: Option<String>,
    outer_step: Step,
    transaction_id: String,
    started_at: OffsetDateTime,
    started: Instant,
    steps: Vec<PipelineStepTrace>,
    spans: RunSpans,
}

/// A run's span in each tracing bridge (each a no-op when its bridge is off).
struct RunSpans {
    sentry: dlt_sentry_bridge::PipelineRunSpan,
    otel: dlt_otel_bridge::PipelineRunSpan,
}

/// A step's span in each tracing bridge.
struct StepSpans {
    sentry: dlt_sentry_bridge::StepSpan,
    otel: dlt_otel_bridge::StepSpan,
}

impl RunSpans {
    fn start(services: &Services, pipeline: &PipelineIdentity, outer_step: Step) -> Self {
        let outer_step = outer_step.name();
        Self {
            sentry: dlt_sentry_bridge::PipelineRunSpan::start(&services.sentry, outer_step, pipeline),
            otel: dlt_otel_bridge::PipelineRunSpan::start(&services.otel, outer_step, pipeline),
        }
    }

    fn start_step(&self, step: Step) -> StepSpans {
        StepSpans { sentry: self.sentry.start_step(step.name()), otel: self.otel.start_step(step.name()) }
    }

    /// Ends both spans: failed with `error`, else succeeded unless a step failed.
    fn end(self, error: Option<&str>) {
        let Self { sentry, otel } = self;
        if let Some(error) = error {
            sentry.fail(error);
            otel.fail(error);
        } else {
            sentry.finish();
            otel.finish();
        }
    }
}

impl StepSpans {
    /// Ends both spans, failed with `error` if any; `rows` becomes OpenTelemetry's `dlt.step.rows`.
    fn end(self, rows: Option<u64>, error: Option<&str>) {
        let Self { sentry, otel } = self;
        if let Some(rows) = rows {
            otel.set_rows(rows);
        }
        if let Some(error) = error {
            sentry.fail(error);
            otel.fail(error);
        } else {
            sentry.finish();
            otel.finish();
        }
    }
}

impl RuntimeTrace {
    /// Starts the trace of one run of `pipeline` whose outermost step is `outer_step` (usually
    /// [`Step::Run`]). Nothing is recorded when the master switch is off, for all pipelines or
    /// this one (`pipelines.<name>.enable_runtime_trace = false`).
    pub fn start_pipeline_run(&self, pipeline: PipelineIdentity, outer_step: Step) -> TracedRun<'_> {
        let (Some(services), Some(config)) = (self.services.as_ref(), self.config.as_ref()) else {
            return TracedRun { recording: None };
        };
        match config.enable_runtime_trace(Some(&pipeline.pipeline_name)) {
            Ok(switch) if switch.value => {}
            Ok(_) => return TracedRun { recording: None },
            Err(error) => {
                tracing::warn!("tracing of pipeline {:?} is off: {error}", pipeline.pipeline_name);
                return TracedRun { recording: None };
            }
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
            spans: RunSpans::start(services, &pipeline, outer_step),
            pipeline,
            default_schema_name: None,
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
            recording.default_schema_name = Some(name.into());
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
        let spans = self.recording.as_ref().map(|recording| recording.spans.start_step(step));
        StepInProgress { step, started_at: OffsetDateTime::now_utc(), spans }
    }

    /// Ends a step begun by [`TracedRun::begin_step`]; `error` is `None` when it succeeded.
    pub fn end_step(&mut self, step: StepInProgress, report: StepReport, error: Option<&(dyn Error + 'static)>) {
        let StepInProgress { step, started_at, spans } = step;
        let error = error.map(describe);
        if let Some(spans) = spans {
            let rows = report.info.as_ref().and_then(|info| info.get("rows")).and_then(Value::as_u64);
            spans.end(rows, error.as_deref());
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
                tracing::warn!(
                    "the trace of pipeline {:?} was not saved: {error}",
                    finished.trace.pipeline.pipeline_name
                );
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
        let pipeline = &self.pipeline;
        PipelineStep {
            elapsed: self.started.elapsed().as_secs_f64(),
            success,
            destination_name: pipeline.destination_name.clone(),
            destination_type: pipeline.destination_type.clone(),
            pipeline_name_hash: Some(digest128(&pipeline.pipeline_name)),
            dataset_name_hash: pipeline.dataset_name.as_deref().map(digest128),
            default_schema_name_hash: self.default_schema_name.as_deref().map(digest128),
            transaction_id: self.transaction_id.clone(),
        }
    }

    /// Records the outer step, ends the Sentry transaction and the OpenTelemetry trace, and
    /// saves the trace file, with the configuration's secrets hidden in its free text.
    fn end(mut self, error: Option<String>) -> FinishedRun {
        let started_at = self.started_at;
        self.record(self.outer_step, started_at, StepReport::default(), error.clone());
        self.spans.end(error.as_deref());
        let mut trace = PipelineTrace {
            transaction_id: self.transaction_id,
            pipeline: self.pipeline,
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
