//! An OTLP/HTTP collector stand-in: the [`Recorder`] answering as a collector does, and the
//! requests decoded with the `opentelemetry-proto` crate's types (prost only, no gRPC stack).

use std::io::{self, Read as _};
use std::ops::Deref;
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;

use crate::recorder::{Answer, RecordedRequest, Recorder};

/// A loopback OTLP/HTTP collector: a [`Recorder`] that accepts every export (`200 OK`, an empty
/// `ExportTraceServiceResponse`) unless told otherwise. Derefs to the recorder for its address,
/// answers, requests and counts; its `url()` is a value for `OTEL_EXPORTER_OTLP_ENDPOINT`. Shut
/// down on drop.
///
/// ```
/// use dlt_test_support::OtlpReceiver;
///
/// let collector = OtlpReceiver::start()?;
/// assert!(collector.url().starts_with("http://127.0.0.1:"));
/// assert_eq!(collector.traces_url(), format!("{}/v1/traces", collector.url()));
/// assert!(collector.spans()?.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct OtlpReceiver {
    recorder: Recorder,
}

impl OtlpReceiver {
    /// Starts one that accepts every export.
    pub fn start() -> io::Result<Self> {
        Self::with_answer(Answer::ok().with_header("Content-Type", "application/x-protobuf"))
    }

    /// Starts one that answers every request with `answer` (a 503, a delay that outlasts the
    /// exporter, ...).
    pub fn with_answer(answer: Answer) -> io::Result<Self> {
        Ok(Self { recorder: Recorder::with_answer(answer)? })
    }

    /// `<url>/v1/traces`: a value for `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`.
    pub fn traces_url(&self) -> String {
        format!("{}/v1/traces", self.recorder.url())
    }

    /// Every span of every request received so far, each with its resource.
    pub fn spans(&self) -> Result<Vec<ExportedSpan>, OtlpDecodeError> {
        spans_of(&self.requests())
    }

    /// Waits until `count` spans have arrived or `timeout` passed, and returns every span
    /// received by then (fewer than `count` when the time ran out).
    pub fn wait_for_spans(&self, count: usize, timeout: Duration) -> Result<Vec<ExportedSpan>, OtlpDecodeError> {
        let started = Instant::now();
        loop {
            let requests = self.requests();
            let spans = spans_of(&requests)?;
            if spans.len() >= count {
                return Ok(spans);
            }
            let left = timeout.saturating_sub(started.elapsed());
            if left.is_zero() || !self.recorder.wait_for(requests.len() + 1, left) {
                return spans_of(&self.requests());
            }
        }
    }
}

impl Deref for OtlpReceiver {
    type Target = Recorder;

    fn deref(&self) -> &Recorder {
        &self.recorder
    }
}

impl std::fmt::Debug for OtlpReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpReceiver").field("url", &self.recorder.url()).finish_non_exhaustive()
    }
}

/// Why a request is not an OTLP/HTTP protobuf export.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OtlpDecodeError {
    /// `Content-Encoding: gzip`, but the body does not gunzip.
    #[error("the body is not valid gzip")]
    Gzip(#[source] io::Error),
    /// The body is not an `ExportTraceServiceRequest`.
    #[error("the body is not an ExportTraceServiceRequest")]
    Protobuf(#[source] prost::DecodeError),
}

/// Decodes one request's body as an `ExportTraceServiceRequest`, gunzipped first when it came
/// with `Content-Encoding: gzip`.
pub fn decode_export(request: &RecordedRequest) -> Result<ExportTraceServiceRequest, OtlpDecodeError> {
    let gzipped =
        request.header("content-encoding").is_some_and(|encoding| encoding.trim().eq_ignore_ascii_case("gzip"));
    if gzipped {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(request.body.as_slice()).read_to_end(&mut plain).map_err(OtlpDecodeError::Gzip)?;
        ExportTraceServiceRequest::decode(plain.as_slice()).map_err(OtlpDecodeError::Protobuf)
    } else {
        ExportTraceServiceRequest::decode(request.body.as_slice()).map_err(OtlpDecodeError::Protobuf)
    }
}

/// Every span of `requests`, in order, each with the attributes of its resource.
pub fn spans_of(requests: &[RecordedRequest]) -> Result<Vec<ExportedSpan>, OtlpDecodeError> {
    let mut spans = Vec::new();
    for request in requests {
        for resource_spans in decode_export(request)?.resource_spans {
            let resource = resource_spans.resource.map(|resource| resource.attributes).unwrap_or_default();
            for scope_spans in resource_spans.scope_spans {
                spans.extend(
                    scope_spans.spans.into_iter().map(|span| ExportedSpan { span, resource: resource.clone() }),
                );
            }
        }
    }
    Ok(spans)
}

/// A span as exported, with the attributes of the resource it came with.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ExportedSpan {
    /// The span, as `opentelemetry-proto` decodes it.
    pub span: Span,
    /// The attributes of its resource (`service.name`, ...).
    pub resource: Vec<KeyValue>,
}

/// A span's status code on the wire (`Status.code`): unset.
pub const STATUS_UNSET: i32 = 0;
/// A span's status code on the wire: OK.
pub const STATUS_OK: i32 = 1;
/// A span's status code on the wire: ERROR.
pub const STATUS_ERROR: i32 = 2;

impl ExportedSpan {
    /// The span's name.
    pub fn name(&self) -> &str {
        &self.span.name
    }

    /// The value of attribute `key`.
    pub fn attribute(&self, key: &str) -> Option<&Value> {
        attribute(&self.span.attributes, key)
    }

    /// The value of attribute `key` when it is a string.
    pub fn string(&self, key: &str) -> Option<&str> {
        match self.attribute(key) {
            Some(Value::StringValue(text)) => Some(text),
            _ => None,
        }
    }

    /// The value of attribute `key` when it is an integer.
    pub fn int(&self, key: &str) -> Option<i64> {
        match self.attribute(key) {
            Some(Value::IntValue(value)) => Some(*value),
            _ => None,
        }
    }

    /// The value of resource attribute `key` when it is a string.
    pub fn resource_string(&self, key: &str) -> Option<&str> {
        match attribute(&self.resource, key) {
            Some(Value::StringValue(text)) => Some(text),
            _ => None,
        }
    }

    /// The trace id, 32 lower-case hex digits.
    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    /// The span id, 16 lower-case hex digits.
    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    /// The parent's span id in hex; empty for a root span.
    pub fn parent_span_id(&self) -> String {
        hex(&self.span.parent_span_id)
    }

    /// True when the span has no parent.
    pub fn is_root(&self) -> bool {
        self.span.parent_span_id.is_empty()
    }

    /// The status code: [`STATUS_UNSET`], [`STATUS_OK`] or [`STATUS_ERROR`].
    pub fn status_code(&self) -> i32 {
        self.span.status.as_ref().map_or(STATUS_UNSET, |status| status.code)
    }

    /// The status message; empty when there is none.
    pub fn status_message(&self) -> &str {
        self.span.status.as_ref().map_or("", |status| status.message.as_str())
    }
}

/// The value of `key` among `attributes` (a span's, an event's or a resource's).
pub fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.as_ref()).and_then(|value| value.value.as_ref())
}

/// Lower-case hex of `bytes`, as trace and span ids are written in `TRACEPARENT`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::Write as _;

    use opentelemetry_proto::tonic::common::v1::AnyValue;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans};

    use super::*;

    fn export() -> ExportTraceServiceRequest {
        let service = KeyValue {
            key: "service.name".into(),
            value: Some(AnyValue { value: Some(Value::StringValue("dlt".into())) }),
            ..Default::default()
        };
        let span = Span {
            trace_id: vec![0xab; 16],
            span_id: vec![0x01; 8],
            name: "run chess".into(),
            attributes: vec![KeyValue {
                key: "dlt.step.rows".into(),
                value: Some(AnyValue { value: Some(Value::IntValue(7)) }),
                ..Default::default()
            }],
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                resource: Some(Resource { attributes: vec![service], ..Default::default() }),
                scope_spans: vec![ScopeSpans { spans: vec![span], ..Default::default() }],
                ..Default::default()
            }],
        }
    }

    fn request(body: Vec<u8>, headers: &[(&str, &str)]) -> RecordedRequest {
        RecordedRequest {
            method: "POST".into(),
            path: "/v1/traces".into(),
            headers: headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            body,
            connection: 0,
        }
    }

    #[test]
    fn plain_and_gzipped_bodies_decode_to_spans_with_their_resource() {
        let plain = export().encode_to_vec();
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&plain).unwrap();
        let gzipped = encoder.finish().unwrap();
        let requests = [request(plain, &[]), request(gzipped, &[("Content-Encoding", "gzip")])];

        let spans = spans_of(&requests).unwrap();
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0], spans[1]);
        let span = &spans[0];
        assert_eq!((span.name(), span.int("dlt.step.rows")), ("run chess", Some(7)));
        assert_eq!(span.trace_id(), "ab".repeat(16));
        assert_eq!(span.span_id(), "0101010101010101");
        assert!(span.is_root() && span.parent_span_id().is_empty());
        assert_eq!(span.resource_string("service.name"), Some("dlt"));
        assert_eq!(span.status_code(), STATUS_UNSET);
    }

    #[test]
    fn a_body_that_is_not_an_export_is_an_error() {
        let gzip_claimed = request(b"plain".to_vec(), &[("content-encoding", "gzip")]);
        assert!(matches!(decode_export(&gzip_claimed), Err(OtlpDecodeError::Gzip(_))));
        let garbage = request(vec![0xff, 0xff, 0xff], &[]);
        assert!(matches!(decode_export(&garbage), Err(OtlpDecodeError::Protobuf(_))));
    }
}
