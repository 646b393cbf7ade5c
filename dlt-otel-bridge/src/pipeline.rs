//! A pipeline run as one trace: a root span for the run, a child span per step, ERROR with
//! the error message on what failed. Everything is a no-op when export is off.

use std::sync::{Arc, OnceLock};
use std::time::Instant;

use opentelemetry::trace::{SpanKind, SpanRef, Status, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};

use crate::attributes::{
    DATASET_NAME, DESTINATION_NAME, EXCEPTION_EVENT, EXCEPTION_MESSAGE, PIPELINE_NAME, STEP_ELAPSED, STEP_NAME,
    STEP_ROWS,
};
use crate::guard::{Exporting, OtelGuard};
use crate::redact::ExportRedactor;

/// What identifies a pipeline run, exported in clear on the run and on every step (the
/// collector is the user's own).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PipelineAttributes {
    /// `dlt.pipeline.name`.
    pub pipeline_name: String,
    /// `dlt.destination.name`, when the pipeline has a destination.
    pub destination_name: Option<String>,
    /// `dlt.dataset.name`, when the pipeline has a dataset.
    pub dataset_name: Option<String>,
}

impl PipelineAttributes {
    /// Attributes of a pipeline without destination or dataset yet.
    pub fn new(pipeline_name: impl Into<String>) -> Self {
        Self { pipeline_name: pipeline_name.into(), destination_name: None, dataset_name: None }
    }

    /// With the destination's name.
    pub fn destination(mut self, name: impl Into<String>) -> Self {
        self.destination_name = Some(name.into());
        self
    }

    /// With the dataset's name.
    pub fn dataset(mut self, name: impl Into<String>) -> Self {
        self.dataset_name = Some(name.into());
        self
    }

    fn key_values(&self, redactor: &ExportRedactor) -> Vec<KeyValue> {
        [
            (PIPELINE_NAME, Some(&self.pipeline_name)),
            (DESTINATION_NAME, self.destination_name.as_ref()),
            (DATASET_NAME, self.dataset_name.as_ref()),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.map(|value| KeyValue::new(key, redactor.redact(value))))
        .collect()
    }
}

/// A running pipeline run: the root span of its trace, a child of the caller's span when
/// `TRACEPARENT` was given. Finish it with [`finish`](Self::finish) or [`fail`](Self::fail);
/// dropping it unfinished (e.g. while unwinding) fails it.
#[must_use = "finish the run with finish() or fail()"]
pub struct PipelineRunSpan {
    active: Option<ActiveRun>,
}

struct ActiveRun {
    exporting: Arc<Exporting>,
    run: Arc<RunState>,
}

/// What a run's steps share with it.
struct RunState {
    id: u64,
    root: Context,
    started: Instant,
    attributes: Vec<KeyValue>,
    /// The first step that failed (set once, read when the run ends).
    failed_step: OnceLock<String>,
}

impl PipelineRunSpan {
    /// Starts the run's root span, named `<outer step> <pipeline name>` (e.g. `run chess`),
    /// and makes it the run's current span for the `tracing` layer.
    pub fn start(guard: &OtelGuard, outer_step: &str, pipeline: &PipelineAttributes) -> Self {
        let Some(exporting) = guard.exporting() else {
            return Self { active: None };
        };
        let attributes = pipeline.key_values(&exporting.redactor);
        let mut root_attributes = attributes.clone();
        root_attributes.push(KeyValue::new(STEP_NAME, outer_step.to_owned()));
        let name = exporting.redactor.redact(&format!("{outer_step} {}", pipeline.pipeline_name));
        let span = exporting
            .tracer
            .span_builder(name)
            .with_kind(SpanKind::Internal)
            .with_attributes(root_attributes)
            .start_with_context(&exporting.tracer, &exporting.parent);
        let root = exporting.parent.with_span(span);
        let id = exporting.runs.register(root.clone());
        let run = RunState { id, root, started: Instant::now(), attributes, failed_step: OnceLock::new() };
        Self { active: Some(ActiveRun { exporting: Arc::clone(exporting), run: Arc::new(run) }) }
    }

    /// Whether this run is recorded (false when export is off, or the caller's trace is not sampled).
    pub fn is_recording(&self) -> bool {
        self.active.as_ref().is_some_and(|active| active.run.root.span().is_recording())
    }

    /// The run's trace id (32 hex digits), when export is on.
    pub fn trace_id(&self) -> Option<String> {
        self.active.as_ref().map(|active| active.run.root.span().span_context().trace_id().to_string())
    }

    /// A W3C `traceparent` naming the run's root span, for child processes (as `TRACEPARENT`)
    /// or outgoing requests that should join the run's trace.
    pub fn traceparent(&self) -> Option<String> {
        let active = self.active.as_ref()?;
        let span = active.run.root.span();
        let context = span.span_context();
        Some(format!("00-{}-{}-{:02x}", context.trace_id(), context.span_id(), context.trace_flags().to_u8()))
    }

    /// Starts the span of one step (named `step`) as a child of the run, and makes it the
    /// run's current span until it ends.
    pub fn start_step(&self, step: &str) -> StepSpan {
        let Some(active) = &self.active else {
            return StepSpan { active: None };
        };
        let exporting = &active.exporting;
        let mut attributes = active.run.attributes.clone();
        attributes.push(KeyValue::new(STEP_NAME, step.to_owned()));
        let span = exporting
            .tracer
            .span_builder(step.to_owned())
            .with_kind(SpanKind::Internal)
            .with_attributes(attributes)
            .start_with_context(&exporting.tracer, &active.run.root);
        let context = active.run.root.with_span(span);
        exporting.runs.set_current(active.run.id, context.clone());
        StepSpan {
            active: Some(ActiveStep {
                exporting: Arc::clone(exporting),
                run: Arc::clone(&active.run),
                context,
                step: step.to_owned(),
            }),
        }
    }

    /// Ends the run: status ERROR when a step failed, unset (success) otherwise.
    pub fn finish(mut self) {
        if let Some(active) = self.active.take() {
            active.end(None);
        }
    }

    /// Ends the run as failed with `message` (status ERROR and an `exception` event).
    pub fn fail(mut self, message: &str) {
        if let Some(active) = self.active.take() {
            active.end(Some(message));
        }
    }
}

impl ActiveRun {
    fn end(self, failure: Option<&str>) {
        let span = self.run.root.span();
        match (failure, self.run.failed_step.get()) {
            (Some(message), _) => record_failure(&span, &self.exporting.redactor, message),
            (None, Some(step)) => span.set_status(Status::error(format!("step {step} failed"))),
            (None, None) => {}
        }
        self.exporting.runs.remove(self.run.id);
        span.end();
    }
}

impl Drop for PipelineRunSpan {
    fn drop(&mut self) {
        if let Some(active) = self.active.take() {
            active.end(Some("the pipeline run ended without finishing"));
        }
    }
}

/// A running step. Finish it with [`finish`](Self::finish) or [`fail`](Self::fail);
/// dropping it unfinished fails it.
#[must_use = "finish the step with finish() or fail()"]
pub struct StepSpan {
    active: Option<ActiveStep>,
}

struct ActiveStep {
    exporting: Arc<Exporting>,
    run: Arc<RunState>,
    context: Context,
    step: String,
}

impl StepSpan {
    /// Records how many rows the step processed (`dlt.step.rows`).
    pub fn set_rows(&self, rows: u64) {
        if let Some(active) = &self.active {
            active.context.span().set_attribute(KeyValue::new(STEP_ROWS, i64::try_from(rows).unwrap_or(i64::MAX)));
        }
    }

    /// Ends the step as successful.
    pub fn finish(mut self) {
        if let Some(active) = self.active.take() {
            active.end(None);
        }
    }

    /// Ends the step as failed with `message`: status ERROR and an `exception` event on the
    /// step, and the run will end as ERROR.
    pub fn fail(mut self, message: &str) {
        if let Some(active) = self.active.take() {
            active.end(Some(message));
        }
    }
}

impl ActiveStep {
    fn end(self, failure: Option<&str>) {
        let span = self.context.span();
        span.set_attribute(KeyValue::new(STEP_ELAPSED, self.run.started.elapsed().as_secs_f64()));
        if let Some(message) = failure {
            record_failure(&span, &self.exporting.redactor, message);
            // The first failed step wins: a later one leaves it as it is.
            let _ = self.run.failed_step.set(self.step);
        }
        let ended = span.span_context().span_id();
        self.exporting.runs.restore(self.run.id, ended, self.run.root.clone());
        span.end();
    }
}

impl Drop for StepSpan {
    fn drop(&mut self) {
        if let Some(active) = self.active.take() {
            active.end(Some("the step ended without finishing"));
        }
    }
}

/// Status ERROR with the (redacted) message, and the semantic conventions' `exception` event.
pub(crate) fn record_failure(span: &SpanRef<'_>, redactor: &ExportRedactor, message: &str) {
    let message = redactor.redact(message);
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
        let run = PipelineRunSpan::start(&guard, "run", &PipelineAttributes::new("chess"));
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
        let attributes = PipelineAttributes::new("chess").dataset("games");
        let values = attributes.key_values(&ExportRedactor::default());
        let keys: Vec<_> = values.iter().map(|kv| kv.key.as_str()).collect();
        assert_eq!(keys, [PIPELINE_NAME, DATASET_NAME]);
    }
}
