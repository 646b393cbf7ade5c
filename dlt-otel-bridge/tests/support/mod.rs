//! An in-process OTLP/HTTP receiver on 127.0.0.1 that records every request and decodes it
//! with the `opentelemetry-proto` crate's types, plus small helpers for the tests.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

/// How the receiver answers each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// `200 OK` with an empty `ExportTraceServiceResponse`.
    Accept,
    /// This status, with an empty body.
    Status(u16),
    /// `200 OK` announcing a 10 MiB body, of which 128 KiB are sent before the server stalls.
    HugeBody,
    /// Reads the request and never answers, holding the connection open.
    Never,
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    pub method: String,
    pub path: String,
    /// Names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl ReceivedRequest {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(header, _)| *header == name).map(|(_, value)| value.as_str())
    }

    /// The body decoded as OTLP protobuf, gunzipped first when `Content-Encoding: gzip`.
    pub fn decode(&self) -> ExportTraceServiceRequest {
        let body = if self.header("content-encoding") == Some("gzip") {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(self.body.as_slice()).read_to_end(&mut plain).unwrap();
            plain
        } else {
            self.body.clone()
        };
        ExportTraceServiceRequest::decode(body.as_slice()).unwrap()
    }
}

/// A span as exported, with the resource it came with.
#[derive(Debug, Clone)]
pub struct ExportedSpan {
    pub span: Span,
    pub resource: Vec<KeyValue>,
}

impl ExportedSpan {
    pub fn name(&self) -> &str {
        &self.span.name
    }

    pub fn attribute(&self, key: &str) -> Option<&Value> {
        attribute(&self.span.attributes, key)
    }

    pub fn string(&self, key: &str) -> Option<&str> {
        match self.attribute(key) {
            Some(Value::StringValue(text)) => Some(text),
            _ => None,
        }
    }

    pub fn resource_string(&self, key: &str) -> Option<&str> {
        match attribute(&self.resource, key) {
            Some(Value::StringValue(text)) => Some(text),
            _ => None,
        }
    }

    pub fn trace_id(&self) -> String {
        hex(&self.span.trace_id)
    }

    pub fn span_id(&self) -> String {
        hex(&self.span.span_id)
    }

    pub fn parent_span_id(&self) -> String {
        hex(&self.span.parent_span_id)
    }

    /// The status code: 0 unset, 1 ok, 2 error.
    pub fn status_code(&self) -> i32 {
        self.span.status.as_ref().map_or(0, |status| status.code)
    }

    pub fn status_message(&self) -> &str {
        self.span.status.as_ref().map_or("", |status| status.message.as_str())
    }
}

/// The value of `key` among `attributes`.
pub fn attribute<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v: &AnyValue| v.value.as_ref())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Every span of every request, each with its resource.
pub fn spans(requests: &[ReceivedRequest]) -> Vec<ExportedSpan> {
    let mut spans = Vec::new();
    for request in requests {
        for resource_spans in request.decode().resource_spans {
            let resource = resource_spans.resource.map(|resource| resource.attributes).unwrap_or_default();
            for scope_spans in resource_spans.scope_spans {
                for span in scope_spans.spans {
                    spans.push(ExportedSpan { span, resource: resource.clone() });
                }
            }
        }
    }
    spans
}

/// What the server threads share with the handle.
#[derive(Default)]
struct Received {
    requests: Mutex<Vec<ReceivedRequest>>,
    arrived: Condvar,
    stopping: AtomicBool,
}

/// An OTLP/HTTP collector stand-in on 127.0.0.1. Stops accepting when dropped.
pub struct OtlpReceiver {
    address: SocketAddr,
    received: Arc<Received>,
}

impl OtlpReceiver {
    /// Starts a receiver on an ephemeral loopback port answering every request with `reply`.
    pub fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let received = Arc::new(Received::default());
        let shared = Arc::clone(&received);
        std::thread::Builder::new()
            .name("otlp-receiver".into())
            .spawn(move || accept(listener, reply, &shared))
            .unwrap();
        Self { address, received }
    }

    /// The base URL, e.g. `http://127.0.0.1:4318` (what `OTEL_EXPORTER_OTLP_ENDPOINT` holds).
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every request received so far.
    pub fn requests(&self) -> Vec<ReceivedRequest> {
        lock(&self.received.requests).clone()
    }

    /// Waits until at least `count` requests arrived or `timeout` passed; returns them all.
    pub fn wait_for_requests(&self, count: usize, timeout: Duration) -> Vec<ReceivedRequest> {
        let deadline = Instant::now() + timeout;
        let mut requests = lock(&self.received.requests);
        while requests.len() < count {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            requests = self.received.arrived.wait_timeout(requests, left).unwrap_or_else(PoisonError::into_inner).0;
        }
        requests.clone()
    }
}

impl Drop for OtlpReceiver {
    fn drop(&mut self) {
        self.received.stopping.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag; failure means it is gone already.
        let _ = TcpStream::connect(self.address);
    }
}

/// A loopback port nothing listens on: connections to it are refused.
pub fn refusing_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{address}")
}

/// A lookup over fixed pairs, standing in for the process environment.
pub fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    move |name| map.get(name).cloned()
}

fn accept(listener: TcpListener, reply: Reply, received: &Arc<Received>) {
    for stream in listener.incoming() {
        if received.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let received = Arc::clone(received);
        let _ = std::thread::Builder::new()
            .name("otlp-receiver-conn".into())
            .spawn(move || serve(stream, reply, &received));
    }
}

/// Serves the requests of one keep-alive connection until the client closes it.
fn serve(stream: TcpStream, reply: Reply, received: &Received) {
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    while let Ok(Some(request)) = read_request(&mut reader) {
        lock(&received.requests).push(request);
        received.arrived.notify_all();
        let written = match reply {
            Reply::Accept => writer
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n"),
            Reply::Status(code) => {
                writer.write_all(format!("HTTP/1.1 {code} Nope\r\ncontent-length: 0\r\n\r\n").as_bytes())
            }
            Reply::HugeBody => {
                let head =
                    "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 10485760\r\n\r\n";
                let _ = writer.write_all(head.as_bytes()).and_then(|()| writer.write_all(&vec![0; 128 * 1024]));
                let _ = io::copy(&mut reader, &mut io::sink());
                return;
            }
            Reply::Never => {
                let _ = io::copy(&mut reader, &mut io::sink());
                return;
            }
        };
        if written.is_err() {
            return;
        }
    }
}

/// Reads one HTTP/1.1 request with a `content-length` body; `None` at end of stream.
fn read_request(reader: &mut impl BufRead) -> io::Result<Option<ReceivedRequest>> {
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(None);
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let path = parts.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(name, _)| name == "content-length")
        .and_then(|(_, value)| value.parse::<usize>().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some(ReceivedRequest { method, path, headers, body }))
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
