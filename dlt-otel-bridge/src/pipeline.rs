//! A pipeline run as one trace: a root span for the run, a child span per step, ERROR with
//! the error message on what failed. Everything is a no-op when export is off.
//!
//! The Sentry bridge records runs with the same shape: `PipelineRunSpan::start(guard,
//! outer_step, pipeline)`, `start_step(step)`, `finish()` or `fail(error)` on a run and on a
//! step, and the same failure for one dropped unfinished (both hold their runs and steps in
//! `dlt_pipeline_run::RecordingGuard`).

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use dlt_pipeline_run::{PipelineIdentity, RUN_UNFINISHED, Recording, RecordingGuard, STEP_UNFINISHED};
use opentelemetry::trace::{SpanKind, SpanRef, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};

use crate::attributes::{
    DATASET_NAME, DESTINATION_NAME, EXCEPTION_EVENT, EXCEPTION_MESSAGE, PIPELINE_NAME, STEP_ELAPSED, STEP_NAME,
    STEP_ROWS,
};
use crate::guard::{Exporting, OtelGuard};
use crate::redact::ExportRedactor;

/// The attributes of a run's root span and of each of its steps, in clear (the collector is the
/// user's own): the pipeline's name, and its destination's and dataset's names when it has them.
fn pipeline_attributes(pipeline: &PipelineIdentity, redactor: &ExportRedactor) -> Vec<KeyValue> {
    [
        (PIPELINE_NAME, Some(&pipeline.pipeline_name)),
        (DESTINATION_NAME, pipeline.destination_name.as_ref()),
        (DATASET_NAME, pipeline.dataset_name.as_ref()),
    ]
    .into_iter()
    .filter_map(|(key, value)| value.map(|value| KeyValue::new(key, redactor.redact(value))))
    .collect()
}

/// A pipeline run in progress: the root span of its trace, a child of the caller's span when
/// `TRACEPARENT` was given. End it with [`finish`](Self::finish) or [`fail`](Self::fail);
/// dropped unfinished (say, while unwinding), it fails with the error `the pipeline run ended
/// without finishing`.
#[must_use = "end the run with finish() or fail()"]
pub struct PipelineRunSpan {
    recording: RecordingGuard<RunRootSpan>,
}

/// The root span of a run while export is on, with what ending it needs.
struct RunRootSpan {
    exporting: Arc<Exporting>,
    run: Arc<RunState>,
}

/// What a run's steps share with it.
struct RunState {
    /// The run's entry in [`crate::guard::CurrentSpans`].
    id: u64,
    root: Context,
    started: Instant,
    attributes: Vec<KeyValue>,
    /// The first step that failed (set once, read when the run ends).
    failed_step: OnceLock<&'static str>,
}

impl PipelineRunSpan {
    /// Starts the run's root span, named `<outer step> <pipeline name>` (e.g. `run chess`), with
    /// the attributes `dlt.pipeline.name`, `dlt.destination.name` and `dlt.dataset.name`, and
    /// makes it the run's current span for the `tracing` layer. A step is named by a constant of
    /// the program (`extract`, `load`): a span name is a category, never data.
    pub fn start(guard: &OtelGuard, outer_step: &'static str, pipeline: &PipelineIdentity) -> Self {
        let Some(exporting) = guard.exporting() else {
            return Self { recording: RecordingGuard::off() };
        };
        let attributes = pipeline_attributes(pipeline, &exporting.redactor);
        let mut root_attributes = attributes.clone();
        root_attributes.push(KeyValue::new(STEP_NAME, outer_step));
        let name = exporting.redactor.redact(&format!("{outer_step} {}", pipeline.pipeline_name));
        let span = exporting
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Internal)
            .with_attributes(root_attributes)
            .start_with_context(&exporting.tracer, &exporting.parent);
        let root = exporting.parent.with_span(span);
        let id = exporting.current_spans.register(root.clone());
        let run = RunState { id, root, started: Instant::now(), attributes, failed_step: OnceLock::new() };
        Self { recording: RecordingGuard::new(RunRootSpan { exporting: Arc::clone(exporting), run: Arc::new(run) }) }
    }

    /// Whether this run is recorded (false when export is off, or the caller's trace is not sampled).
    pub fn is_recording(&self) -> bool {
        self.recording.get().is_some_and(|recording| recording.run.root.span().is_recording())
    }

    /// The run's trace id (32 hex digits), when export is on.
    pub fn trace_id(&self) -> Option<String> {
        self.recording.get().map(|recording| recording.run.root.span().span_context().trace_id().to_string())
    }

    /// A W3C `traceparent` naming the run's root span, for child processes (as `TRACEPARENT`)
    /// or outgoing requests that should join the run's trace.
    pub fn traceparent(&self) -> Option<String> {
        let recording = self.recording.get()?;
        let span = recording.run.root.span();
        let context = span.span_context();
        Some(format!("00-{}-{}-{:02x}", context.trace_id(), context.span_id(), context.trace_flags().to_u8()))
    }

    /// Starts the span of one step (named `step`) as a child of the run, and makes it the
    /// run's current span until it ends.
    pub fn start_step(&self, step: &'static str) -> StepSpan {
        let Some(RunRootSpan { exporting, run }) = self.recording.get() else {
            return StepSpan { recording: RecordingGuard::off() };
        };
        let mut attributes = run.attributes.clone();
        attributes.push(KeyValue::new(STEP_NAME, step));
        let span = exporting
            .tracer
            .span_builder(step)
            .with_kind(SpanKind::Internal)
            .with_attributes(attributes)
            .start_with_context(&exporting.tracer, &run.root);
        let context = run.root.with_span(span);
        exporting.current_spans.set_current(run.id, context.clone());
        let recording = StepChildSpan { exporting: Arc::clone(exporting), run: Arc::clone(run), context, step };
        StepSpan { recording: RecordingGuard::new(recording) }
    }

    /// Ends the run: status ERROR when one of its steps failed, unset (success) otherwise.
    pub fn finish(self) {
        self.recording.finish();
    }

    /// Ends the run as failed with the error's message (status ERROR and an `exception` event).
    pub fn fail(self, error: impl fmt::Display) {
        self.recording.fail(error);
    }
}

impl Recording for RunRootSpan {
    const UNFINISHED: &'static str = RUN_UNFINISHED;

    fn end(self, error: Option<&dyn fmt::Display>) {
        let span = self.run.root.span();
        match (error, self.run.failed_step.get()) {
            (Some(error), _) => record_failure(&span, &self.exporting.redactor, error),
            (None, Some(step)) => span.set_status(Status::error(format!("step {step} failed"))),
            (None, None) => {}
        }
        self.exporting.current_spans.remove(self.run.id);
        span.end();
    }
}

/// A step in progress: one child span of its run's root span. End it with
/// [`finish`](Self::finish) or [`fail`](Self::fail); dropped unfinished, it fails with the
/// error `the step ended without finishing`.
#[must_use = "end the step with finish() or fail()"]
pub struct StepSpan {
    recording: RecordingGuard<StepChildSpan>,
}

/// The span of a step while export is on, with what ending it needs.
struct StepChildSpan {
    exporting: Arc<Exporting>,
    run: Arc<RunState>,
    context: Context,
    step: &'static str,
}

impl StepSpan {
    /// Records how many rows the step processed (`dlt.step.rows`).
    pub fn set_rows(&self, rows: u64) {
        if let Some(step) = self.recording.get() {
            step.context.span().set_attribute(KeyValue::new(STEP_ROWS, i64::try_from(rows).unwrap_or(i64::MAX)));
        }
    }

    /// Ends the step as successful (status unset).
    pub fn finish(self) {
        self.recording.finish();
    }

    /// Ends the step as failed with the error's message: status ERROR and an `exception` event
    /// on the step, and the run will end as ERROR.
    pub fn fail(self, error: impl fmt::Display) {
        self.recording.fail(error);
    }
}

impl Recording for StepChildSpan {
    const UNFINISHED: &'static str = STEP_UNFINISHED;

    fn end(self, error: Option<&dyn fmt::Display>) {
        let span = self.context.span();
        span.set_attribute(KeyValue::new(STEP_ELAPSED, self.run.started.elapsed().as_secs_f64()));
        if let Some(error) = error {
            record_failure(&span, &self.exporting.redactor, error);
            // The first failed step wins: a later one leaves it as it is.
            let _ = self.run.failed_step.set(self.step);
        }
        let ended = span.span_context().span_id();
        self.exporting.current_spans.restore(self.run.id, ended, self.run.root.clone());
        span.end();
    }
}

/// Status ERROR with the error's (redacted) message, and the semantic conventions' `exception`
/// event.
pub(crate) fn record_failure(span: &SpanRef<'_>, redactor: &ExportRedactor, error: &dyn fmt::Display) {
    let message = redactor.redact(&error.to_string());
    span.add_event(EXCEPTION_EVENT, vec![KeyValue::new(EXCEPTION_MESSAGE, message.clone())]);
    span.set_status(Status::error(message));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn without_export_everything_is_inert() {
        let guard = OtelGuard::disabled();
        let run = PipelineRunSpan::start(&guard, "run", &PipelineIdentity::new("chess"));
        assert!(!run.is_recording());
        assert_eq!(run.trace_id(), None);
        assert_eq!(run.traceparent(), None);
        let step = run.start_step("extract");
        step.set_rows(3);
        step.fail("boom");
        run.finish();
    }

    #[test]
    fn attributes_skip_what_is_unknown() {
        let pipeline = PipelineIdentity::new("chess").with_dataset("games");
        let values = pipeline_attributes(&pipeline, &ExportRedactor::default());
        let keys: Vec<_> = values.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, [PIPELINE_NAME, DATASET_NAME]);
    }
}
