//! A `tracing` layer: WARN and ERROR events emitted while a pipeline run is active become
//! events of the run's current span (the running step, else the run itself).

use std::fmt;
use std::sync::Arc;

use opentelemetry::KeyValue;
use opentelemetry::trace::TraceContextExt as _;
use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer};

use crate::attributes::{CODE_FILE_PATH, CODE_LINE_NUMBER, LOG_FIELD_PREFIX, LOG_LEVEL, LOG_TARGET};
use crate::guard::Exporting;
use crate::redact::ExportRedactor;

/// The bridge's own log target; its events never feed back into the spans.
const OWN_TARGET: &str = env!("CARGO_CRATE_NAME");

/// The layer handed out by [`crate::OtelGuard::tracing_layer`].
#[derive(Clone)]
pub struct OtelLayer {
    exporting: Option<Arc<Exporting>>,
}

impl OtelLayer {
    /// A layer recording into the current spans of `exporting`'s runs; `None` makes a no-op layer.
    pub(crate) fn new(exporting: Option<Arc<Exporting>>) -> Self {
        Self { exporting }
    }
}

impl fmt::Debug for OtelLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtelLayer").field("enabled", &self.exporting.is_some()).finish()
    }
}

impl<S: Subscriber> Layer<S> for OtelLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _context: Context<'_, S>) {
        let metadata = event.metadata();
        // `tracing` orders more verbose levels as greater: INFO and below stop here.
        if *metadata.level() > tracing::Level::WARN || metadata.target().starts_with(OWN_TARGET) {
            return;
        }
        let Some(exporting) = &self.exporting else { return };
        let Some(current) = exporting.current_spans.current() else { return };
        let mut fields = FieldVisitor { redactor: &exporting.redactor, message: None, attributes: Vec::new() };
        event.record(&mut fields);
        let mut attributes = vec![
            KeyValue::new(LOG_LEVEL, metadata.level().as_str()),
            KeyValue::new(LOG_TARGET, metadata.target().to_owned()),
        ];
        if let Some(file) = metadata.file() {
            attributes.push(KeyValue::new(CODE_FILE_PATH, file));
        }
        if let Some(line) = metadata.line() {
            attributes.push(KeyValue::new(CODE_LINE_NUMBER, i64::from(line)));
        }
        attributes.append(&mut fields.attributes);
        let name = fields.message.unwrap_or_else(|| metadata.name().to_owned());
        current.span().add_event(name, attributes);
    }
}

/// Collects an event's message and its other fields as `dlt.log.field.<name>`, redacted.
struct FieldVisitor<'a> {
    redactor: &'a ExportRedactor,
    message: Option<String>,
    attributes: Vec<KeyValue>,
}

impl FieldVisitor<'_> {
    fn text(&mut self, field: &Field, text: &str) {
        let text = self.redactor.redact(text);
        if field.name() == "message" {
            self.message = Some(text);
        } else {
            self.push(field, text);
        }
    }

    fn push(&mut self, field: &Field, value: impl Into<opentelemetry::Value>) {
        self.attributes.push(KeyValue::new(format!("{LOG_FIELD_PREFIX}{}", field.name()), value));
    }
}

impl Visit for FieldVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.text(field, value);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.push(field, value);
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        match i64::try_from(value) {
            Ok(value) => self.push(field, value),
            Err(_) => self.push(field, value.to_string()),
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.push(field, value);
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.push(field, value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.text(field, &format!("{value:?}"));
    }
}
