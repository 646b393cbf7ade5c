//! Each command of a host's command line as one span.

use std::fmt;
use std::sync::Arc;

use dlt_pipeline_run::{Recording, RecordingGuard};
use opentelemetry::trace::{SpanKind, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};

use crate::attributes::{COMMAND_ARGUMENT_PREFIX, COMMAND_NAME};
use crate::guard::{Exporting, OtelGuard};
use crate::pipeline::record_failure;

/// A command in progress: one span named `<library> <command>` (e.g. `dlt telemetry`), a child
/// of the caller's span when `TRACEPARENT` was given. End it with [`finish`](Self::finish) or
/// [`fail`](Self::fail), as a pipeline run; dropped unfinished, it fails with the error `the
/// command ended without finishing`.
#[must_use = "end the command with finish() or fail()"]
pub struct CommandSpan {
    recording: RecordingGuard<CommandRecording>,
}

/// The span of a command while export is on.
struct CommandRecording {
    exporting: Arc<Exporting>,
    context: Context,
}

impl CommandSpan {
    /// Starts the span of `command`, a constant of the program (`telemetry`), as a step is.
    pub fn start(guard: &OtelGuard, command: &'static str) -> Self {
        let Some(exporting) = guard.exporting() else {
            return Self { recording: RecordingGuard::off() };
        };
        let span = exporting
            .tracer
            .span_builder(format!("{} {command}", exporting.library_name))
            .with_kind(SpanKind::Internal)
            .with_attributes([KeyValue::new(COMMAND_NAME, command)])
            .start_with_context(&exporting.tracer, &exporting.parent);
        let context = exporting.parent.with_span(span);
        Self { recording: RecordingGuard::new(CommandRecording { exporting: Arc::clone(exporting), context }) }
    }

    /// Records one of the command's arguments as `dlt.command.argument.<name>`.
    pub fn set_argument(&self, name: &str, value: &str) {
        if let Some(CommandRecording { exporting, context }) = self.recording.get() {
            let key = format!("{COMMAND_ARGUMENT_PREFIX}{name}");
            context.span().set_attribute(KeyValue::new(key, exporting.redactor.redact(value)));
        }
    }

    /// Ends the command as successful.
    pub fn finish(self) {
        self.recording.finish();
    }

    /// Ends the command as failed with the error's message (status ERROR and an `exception`
    /// event).
    pub fn fail(self, error: impl fmt::Display) {
        self.recording.fail(error);
    }
}

impl Recording for CommandRecording {
    const UNFINISHED: &'static str = "the command ended without finishing";

    fn end(self, error: Option<&dyn fmt::Display>) {
        let span = self.context.span();
        if let Some(error) = error {
            record_failure(&span, &self.exporting.redactor, error);
        }
        span.end();
    }
}
