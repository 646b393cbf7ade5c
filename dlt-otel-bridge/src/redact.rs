//! Text that leaves the process as a span name, attribute, event or status: secrets hidden by
//! dlt-redact's one rule (the header values, the endpoint's credentials and the host's extra
//! secrets as known secrets, and every URL's user info, query values and fragment), then cut
//! to a bounded length so that one log line cannot bloat a request.
//!
//! Text is redacted twice: where the bridge builds a span (before it is cut, so that no cut
//! leaves part of a secret behind) and by [`RedactingExporter`], the one gate every span (and
//! the resource sent with them) passes on its way out, whatever built it.

use std::borrow::Cow;
use std::time::Duration;

use dlt_redact::{MASK, Redactor};
use opentelemetry::trace::Status;
use opentelemetry::{Array, KeyValue, Value};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};

/// The longest text exported, in bytes; longer text is cut and ends with `...`.
const MAX_TEXT_BYTES: usize = 4096;

/// Hides secrets in text before it is exported, and bounds its length.
#[derive(Debug, Clone, Default)]
pub(crate) struct ExportRedactor {
    redactor: Redactor,
}

impl ExportRedactor {
    /// A redactor for these secrets; the URL rule always applies.
    pub(crate) fn new(redactor: Redactor) -> Self {
        Self { redactor }
    }

    /// `text` with every known secret and URL credential replaced by [`MASK`], cut to
    /// [`MAX_TEXT_BYTES`] (after redaction, so that no cut leaves part of a secret behind).
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut text = self.redactor.redact(text, MASK).into_owned();
        if text.len() > MAX_TEXT_BYTES {
            let mut cut = MAX_TEXT_BYTES - 3;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str("...");
        }
        text
    }

    fn redact_cow(&self, text: &mut Cow<'static, str>) {
        *text = Cow::Owned(self.redact(text));
    }

    fn redact_attributes(&self, attributes: &mut [KeyValue]) {
        for attribute in attributes {
            match &mut attribute.value {
                Value::String(text) => *text = self.redact(text.as_str()).into(),
                Value::Array(Array::String(texts)) => {
                    texts.iter_mut().for_each(|text| *text = self.redact(text.as_str()).into());
                }
                _ => {}
            }
        }
    }

    /// Redacts every text of a span: its name, string attributes, events (names and
    /// attributes), links' attributes and status message.
    fn redact_span(&self, span: &mut SpanData) {
        self.redact_cow(&mut span.name);
        self.redact_attributes(&mut span.attributes);
        for event in &mut span.events.events {
            self.redact_cow(&mut event.name);
            self.redact_attributes(&mut event.attributes);
        }
        for link in &mut span.links.links {
            self.redact_attributes(&mut link.attributes);
        }
        if let Status::Error { description } = &mut span.status {
            self.redact_cow(description);
        }
    }
}

/// The exporter every span passes through on its way out: it redacts each span's texts
/// ([`ExportRedactor`]), then hands the batch to the OTLP exporter.
#[derive(Debug)]
pub(crate) struct RedactingExporter<E> {
    inner: E,
    redactor: ExportRedactor,
}

impl<E> RedactingExporter<E> {
    pub(crate) fn new(inner: E, redactor: ExportRedactor) -> Self {
        Self { inner, redactor }
    }
}

impl<E: SpanExporter> SpanExporter for RedactingExporter<E> {
    fn export(&self, mut batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        batch.iter_mut().for_each(|span| self.redactor.redact_span(span));
        self.inner.export(batch)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    /// The resource goes out with every batch: its attributes (`OTEL_RESOURCE_ATTRIBUTES`,
    /// `OTEL_SERVICE_NAME`, from the user's environment) pass the same gate.
    fn set_resource(&mut self, resource: &Resource) {
        let mut attributes: Vec<KeyValue> =
            resource.iter().map(|(key, value)| KeyValue::new(key.clone(), value.clone())).collect();
        self.redactor.redact_attributes(&mut attributes);
        let builder = Resource::builder_empty();
        let builder = match resource.schema_url() {
            Some(url) => builder.with_schema_url(attributes, url.to_owned()),
            None => builder.with_attributes(attributes),
        };
        self.inner.set_resource(&builder.build());
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn url_user_info_is_hidden() {
        let redactor = ExportRedactor::default();
        assert_eq!(
            redactor.redact("connect postgresql://loader:s3;cr3t@db.local:5432/dlt failed"),
            "connect postgresql://***@db.local:5432/dlt failed"
        );
        assert_eq!(redactor.redact("no url"), "no url");
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let text = "é".repeat(3000);
        let cut = ExportRedactor::default().redact(&text);
        assert_eq!(cut.len(), 4095);
        assert!(cut.ends_with("é..."));
        assert_eq!(ExportRedactor::default().redact("short"), "short");
    }

    #[test]
    fn known_secrets_are_hidden_before_the_cut() {
        let redactor = ExportRedactor::new(Redactor::new(["Bearer tok3n", "tok3n", ""]));
        assert_eq!(redactor.redact("sent Bearer tok3n and tok3n"), "sent *** and ***");
        // Cut first, this text would keep "tok" of the secret at its end.
        let long = format!("{}tok3nyy", "x".repeat(MAX_TEXT_BYTES - 6));
        let redacted = redactor.redact(&long);
        assert!(redacted.ends_with("x***yy"), "{redacted}");
        assert_eq!(format!("{redactor:?}"), "ExportRedactor { redactor: Redactor { secrets: 2 } }");
    }
}
