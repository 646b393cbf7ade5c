//! A loopback Sentry kept for the tests of crates that compose the bridge until they use
//! `dlt_test_support::SentryReceiver` (built on the shared loopback recorder), which the
//! bridge's own tests use. `dlt-test-support` is unpublished, so this published crate's
//! `test-util` feature cannot re-export it; once no crate uses this server, it goes.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sentry_core::protocol::{Envelope, EnvelopeError};

use super::lock;
use crate::secret::{DsnError, SentryDsn};

/// How a [`LoopbackSentry`] answers each request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// `200 OK`.
    Accept,
    /// `429 Too Many Requests` with `Retry-After: <seconds>`.
    TooManyRequests {
        /// The value of `Retry-After`.
        retry_after_seconds: u64,
    },
    /// Reads the request and never answers, holding the connection open.
    Never,
}

/// One HTTP request received by a [`LoopbackSentry`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ReceivedRequest {
    /// The request method, e.g. `POST`.
    pub method: String,
    /// The request path, e.g. `/api/42/envelope/`.
    pub path: String,
    /// The headers, names lower-cased, in arrival order.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl ReceivedRequest {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers.iter().find(|(header, _)| *header == name).map(|(_, value)| value.as_str())
    }

    /// The body parsed as a Sentry envelope by sentry-types.
    pub fn envelope(&self) -> Result<Envelope, EnvelopeError> {
        Envelope::from_slice(&self.body)
    }

    /// The body decoded by the envelope wire format alone: a JSON header line, then per item
    /// a JSON item header and a payload of `length` bytes (or up to the next newline).
    pub fn raw_envelope(&self) -> Result<RawEnvelope, RawEnvelopeError> {
        let mut rest = self.body.as_slice();
        let header = parse_json(next_line(&mut rest), "envelope header")?;
        let mut items = Vec::new();
        while !rest.is_empty() {
            let item_header = parse_json(next_line(&mut rest), "item header")?;
            let payload = match item_header.get("length").and_then(serde_json::Value::as_u64) {
                Some(length) => {
                    let length = usize::try_from(length)
                        .ok()
                        .filter(|length| *length <= rest.len())
                        .ok_or(RawEnvelopeError::Truncated)?;
                    let (payload, after) = rest.split_at(length);
                    rest = after.strip_prefix(b"\n").unwrap_or(after);
                    payload
                }
                None => next_line(&mut rest),
            };
            let item_type = item_header
                .get("type")
                .and_then(serde_json::Value::as_str)
                .ok_or(RawEnvelopeError::MissingItemType)?
                .to_owned();
            items.push(RawItem { item_type, header: item_header, payload: parse_json(payload, "item payload")? });
        }
        Ok(RawEnvelope { header, items })
    }
}

/// An envelope as it was on the wire.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RawEnvelope {
    /// The envelope header (`event_id`, `trace`, ...).
    pub header: serde_json::Value,
    /// The items, in order.
    pub items: Vec<RawItem>,
}

impl RawEnvelope {
    /// The `type` of each item, in order.
    pub fn item_types(&self) -> Vec<&str> {
        self.items.iter().map(|item| item.item_type.as_str()).collect()
    }
}

/// One envelope item as it was on the wire.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RawItem {
    /// The item header's `type`, e.g. `event` or `transaction`.
    pub item_type: String,
    /// The whole item header.
    pub header: serde_json::Value,
    /// The payload, parsed as JSON.
    pub payload: serde_json::Value,
}

/// Why a body is not a well-formed envelope.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RawEnvelopeError {
    /// A part is not JSON.
    #[error("the {part} is not valid JSON")]
    InvalidJson {
        /// Which part: envelope header, item header or item payload.
        part: &'static str,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// An item header has no `type`.
    #[error("an item header has no type")]
    MissingItemType,
    /// An item's `length` runs past the end of the body.
    #[error("an item is shorter than its length says")]
    Truncated,
}

/// Takes the bytes up to the next newline (or the end) off `rest`.
fn next_line<'a>(rest: &mut &'a [u8]) -> &'a [u8] {
    let end = rest.iter().position(|byte| *byte == b'\n').unwrap_or(rest.len());
    let (line, after) = rest.split_at(end);
    *rest = after.get(1..).unwrap_or_default();
    line
}

fn parse_json(bytes: &[u8], part: &'static str) -> Result<serde_json::Value, RawEnvelopeError> {
    serde_json::from_slice(bytes).map_err(|source| RawEnvelopeError::InvalidJson { part, source })
}

/// What the server threads share with the handle.
#[derive(Default)]
struct Received {
    requests: Mutex<Vec<ReceivedRequest>>,
    arrived: Condvar,
    stopping: AtomicBool,
}

/// A Sentry stand-in on 127.0.0.1 that records every request. Stops accepting when dropped.
pub struct LoopbackSentry {
    address: SocketAddr,
    received: Arc<Received>,
}

/// The public key in the DSN of every [`LoopbackSentry`].
pub const LOOPBACK_PUBLIC_KEY: &str = "loopbackpublickey";

impl LoopbackSentry {
    /// Starts a server on an ephemeral loopback port answering every request with `reply`.
    pub fn start(reply: Reply) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let received = Arc::new(Received::default());
        let shared = Arc::clone(&received);
        std::thread::Builder::new().name("loopback-sentry".into()).spawn(move || accept(listener, reply, shared))?;
        Ok(Self { address, received })
    }

    /// The DSN pointing at this server, project 42.
    pub fn dsn_string(&self) -> String {
        format!("http://{LOOPBACK_PUBLIC_KEY}@{}/42", self.address)
    }

    /// The DSN pointing at this server, parsed.
    pub fn dsn(&self) -> Result<SentryDsn, DsnError> {
        SentryDsn::parse(&self.dsn_string())
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

impl Drop for LoopbackSentry {
    fn drop(&mut self) {
        self.received.stopping.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag; failure means it is gone already.
        let _ = TcpStream::connect(self.address);
    }
}

fn accept(listener: TcpListener, reply: Reply, received: Arc<Received>) {
    for stream in listener.incoming() {
        if received.stopping.load(Ordering::SeqCst) {
            return;
        }
        let Ok(stream) = stream else { continue };
        let received = Arc::clone(&received);
        // A connection that cannot get a thread is dropped, as a busy server would.
        let _ = std::thread::Builder::new()
            .name("loopback-sentry-conn".into())
            .spawn(move || serve(stream, reply, &received));
    }
}

/// Serves the requests of one keep-alive connection until the client closes it.
fn serve(stream: TcpStream, reply: Reply, received: &Received) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    while let Ok(Some(request)) = read_request(&mut reader) {
        lock(&received.requests).push(request);
        received.arrived.notify_all();
        let response = match reply {
            Reply::Accept => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}".to_owned(),
            Reply::TooManyRequests { retry_after_seconds } => format!(
                "HTTP/1.1 429 Too Many Requests\r\nretry-after: {retry_after_seconds}\r\ncontent-length: 0\r\n\r\n"
            ),
            Reply::Never => {
                // Hold the connection without answering until the client gives up.
                let _ = io::copy(&mut reader, &mut io::sink());
                return;
            }
        };
        if writer.write_all(response.as_bytes()).is_err() {
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
