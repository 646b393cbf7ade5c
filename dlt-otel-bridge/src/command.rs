//! Each command of a host's command line as one span.

use std::sync::Arc;

use opentelemetry::trace::{SpanKind, TraceContextExt as _, Tracer as _};
use opentelemetry::{Context, KeyValue};

use crate::attributes::{COMMAND_ARGUMENT_PREFIX, COMMAND_NAME};
use crate::guard::{Exporting, OtelGuard};
use crate::pipeline::record_failure;

/// A running command: one span named `<library> <command>` (e.g. `dlt telemetry`), a child of
/// the caller's span when `TRACEPARENT` was given. Finish it with [`finish`](Self::finish) or
/// [`fail`](Self::fail); dropping it unfinished fails it.
#[must_use = "finish the command with finish() or fail()"]
pub struct CommandSpan {
    active: Option<(Arc<Exporting>, Context)>,
}

impl CommandSpan {
    /// Starts the span of `command`.
    pub fn start(guard: &OtelGuard, command: &str) -> Self {
        let Some(exporting) = guard.exporting() else {
            return Self { active: None };
        };
        let span = exporting
            .tracer
            .span_builder(format!("{} {command}", exporting.library_name))
            .with_kind(SpanKind::Internal)
            .with_attributes([KeyValue::new(COMMAND_NAME, command.to_owned())])
            .start_with_context(&exporting.tracer, &exporting.parent);
        Self { active: Some((Arc::clone(exporting), exporting.parent.with_span(span))) }
    }

    /// Records one of the command's arguments as `dlt.command.argument.<name>`.
    pub fn set_argument(&self, name: &str, value: &str) {
        if let Some((exporting, context)) = &self.active {
            let key = format!("{COMMAND_ARGUMENT_PREFIX}{name}");
            context.span().set_attribute(KeyValue::new(key, exporting.redactor.redact(value)));
        }
    }

    /// Ends the command as successful.
    pub fn finish(mut self) {
        if let Some((_, context)) = self.active.take() {
            context.span().end();
        }
    }

    /// Ends the command as failed with `message` (status ERROR and an `exception` event).
    pub fn fail(mut self, message: &str) {
        self.end_failed(message);
    }

    fn end_failed(&mut self, message: &str) {
        if let Some((exporting, context)) = self.active.take() {
            let span = context.span();
            record_failure(&span, &exporting.redactor, message);
            span.end();
        }
    }
}

impl Drop for CommandSpan {
    fn drop(&mut self) {
        self.end_failed("the command ended without finishing");
    }
}
