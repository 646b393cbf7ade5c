//! The recorder: a loopback HTTP/1.1 endpoint that records every request and answers as told.

use std::collections::VecDeque;
use std::io::{self, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dlt_telemetry_model::TrackMessage;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::http1::{self, Head};
use crate::server::{Counter, Ctx, Server, lock};

/// One request as the recorder received it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target as sent: `/v1/batch?x=1` (or a whole URL through a forward proxy).
    pub path: String,
    /// The headers in arrival order, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, decoded from chunked transfer encoding when it was sent so.
    pub body: Vec<u8>,
    /// Which connection it came on, counting from 0 in accept order (behind TLS, connections
    /// whose handshake failed take a number too): requests that share a number shared a
    /// kept-alive connection.
    pub connection: usize,
}

impl RecordedRequest {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::from_slice(&self.body)
    }

    /// The Segment messages in the body: each of a batch (`{"batch": [...]}`), or the one message.
    pub fn track_messages(&self) -> serde_json::Result<Vec<TrackMessage>> {
        let mut value = self.json()?;
        match value.get_mut("batch").map(serde_json::Value::take) {
            Some(batch) => serde_json::from_value(batch),
            None => Ok(vec![serde_json::from_value(value)?]),
        }
    }

    /// When the sender made this attempt, in Unix milliseconds: Segment's `sentAt`, of the batch
    /// or of the one message. `None` for a body without one.
    pub fn sent_at_millis(&self) -> Option<i128> {
        let json = self.json().ok()?;
        let sent_at = OffsetDateTime::parse(json.get("sentAt")?.as_str()?, &Rfc3339).ok()?;
        Some(sent_at.unix_timestamp_nanos() / 1_000_000)
    }
}

/// How the recorder answers a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    delay: Duration,
    disconnect: bool,
}

impl Answer {
    /// An answer with `status`, no header of its own and an empty body.
    pub fn status(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: Vec::new(), delay: Duration::ZERO, disconnect: false }
    }

    /// `200 OK`, empty.
    pub fn ok() -> Self {
        Self::status(200)
    }

    /// No answer: the connection is closed once the request is recorded (after the delay).
    pub fn disconnect() -> Self {
        Self { disconnect: true, ..Self::ok() }
    }

    /// Adds a header (`Retry-After`, `Content-Type`, ...).
    #[must_use]
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Sets the body.
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        self.body = body.into();
        self
    }

    /// Waits `delay` after the request arrived before answering.
    #[must_use]
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

impl Default for Answer {
    fn default() -> Self {
        Self::ok()
    }
}

#[derive(Default)]
pub(crate) struct RecorderState {
    requests: Mutex<Vec<RecordedRequest>>,
    arrived: Condvar,
    answers: Mutex<Answers>,
    pub(crate) handshake_failures: Counter,
}

#[derive(Default)]
struct Answers {
    default: Answer,
    queued: VecDeque<Answer>,
}

impl RecorderState {
    fn next_answer(&self) -> Answer {
        let mut answers = lock(&self.answers);
        answers.queued.pop_front().unwrap_or_else(|| answers.default.clone())
    }

    fn record(&self, request: RecordedRequest) {
        lock(&self.requests).push(request);
        self.arrived.notify_all();
    }

    /// Serves requests on one connection until it closes, fails or asks to close.
    pub(crate) fn serve<S: Read + Write>(&self, stream: &mut S, ctx: &Ctx) {
        let connection = ctx.connection();
        let mut reader = BufReader::new(stream);
        while let Ok(Some(head)) = http1::read_head(&mut reader) {
            if head.has_token("expect", "100-continue") {
                let _ = reader.get_mut().write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
            }
            let Ok(body) = http1::request_framing(&head).and_then(|framing| http1::read_body(&mut reader, framing))
            else {
                let _ = http1::write_response(reader.get_mut(), 400, &[], b"unreadable request", true);
                return;
            };
            let close = wants_close(&head);
            let (method, path, _) = head.start_parts();
            let request = RecordedRequest {
                method: method.to_owned(),
                path: path.to_owned(),
                headers: head.headers.clone(),
                body,
                connection,
            };
            self.record(request);
            let answer = self.next_answer();
            if !ctx.sleep(answer.delay) || answer.disconnect {
                return;
            }
            let written = http1::write_response(reader.get_mut(), answer.status, &answer.headers, &answer.body, close);
            if written.is_err() || close {
                return;
            }
        }
    }
}

fn wants_close(head: &Head) -> bool {
    head.has_token("connection", "close") || head.start_parts().2.eq_ignore_ascii_case("HTTP/1.0")
}

/// A loopback HTTP/1.1 endpoint (keep-alive; `Content-Length` and chunked bodies) that records
/// every request and answers with a configurable [`Answer`]. Shut down on drop.
///
/// ```
/// use std::time::Duration;
/// use dlt_test_support::{Answer, Recorder};
///
/// let recorder = Recorder::start()?;
/// recorder.set_answer(Answer::status(503).with_header("Retry-After", "1"));
/// assert!(recorder.url().starts_with("http://127.0.0.1:"));
/// assert!(!recorder.wait_for(1, Duration::from_millis(10)));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Recorder {
    pub(crate) state: Arc<RecorderState>,
    pub(crate) scheme: &'static str,
    server: Server,
}

impl Recorder {
    /// Starts a recorder that answers `200 OK` with an empty body.
    pub fn start() -> io::Result<Self> {
        Self::with_answer(Answer::ok())
    }

    /// Starts a recorder that answers every request with `answer`.
    pub fn with_answer(answer: Answer) -> io::Result<Self> {
        let state = Arc::new(RecorderState::default());
        lock(&state.answers).default = answer;
        let served = state.clone();
        let server = Server::start("recorder", move |mut stream: TcpStream, ctx| served.serve(&mut stream, ctx))?;
        Ok(Self { state, scheme: "http", server })
    }

    /// Starts a recorder around a server that runs `state.serve` over its own stream (TLS).
    pub(crate) fn around(state: Arc<RecorderState>, scheme: &'static str, server: Server) -> Self {
        Self { state, scheme, server }
    }

    /// `http://127.0.0.1:<port>` (`https://` behind TLS), without a trailing slash.
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.server.addr())
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Every request received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.requests).clone()
    }

    /// The Segment requests made at or after `since` (by their `sentAt`), in arrival order. The
    /// server may read a request that a process wrote just before it exited only after a next
    /// process started: counting from `requests().len()` would take it for the next one's.
    pub fn requests_sent_since(&self, since: SystemTime) -> Vec<RecordedRequest> {
        let since =
            since.duration_since(UNIX_EPOCH).map_or(0, |since| i128::try_from(since.as_millis()).unwrap_or(i128::MAX));
        let requests = lock(&self.state.requests);
        requests.iter().filter(|request| request.sent_at_millis().is_some_and(|sent| sent >= since)).cloned().collect()
    }

    /// True once `count` requests have arrived; false when `timeout` passed first.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> bool {
        let requests = lock(&self.state.requests);
        let (requests, _) = self
            .state
            .arrived
            .wait_timeout_while(requests, timeout, |requests| requests.len() < count)
            .unwrap_or_else(PoisonError::into_inner);
        requests.len() >= count
    }

    /// Answers every later request with `answer` (once the queued answers are used up), for an
    /// endpoint that goes down and comes back.
    pub fn set_answer(&self, answer: Answer) {
        lock(&self.state.answers).default = answer;
    }

    /// Answers the next requests with `answers`, one each, before the default answer again.
    pub fn push_answers(&self, answers: impl IntoIterator<Item = Answer>) {
        lock(&self.state.answers).queued.extend(answers);
    }

    /// Connections accepted so far (behind TLS, those whose handshake failed too: see
    /// [`TlsRecorder::wait_for_handshake_failures`](crate::TlsRecorder::wait_for_handshake_failures)).
    pub fn connections(&self) -> usize {
        self.server.connections()
    }

    /// True once `count` connections were accepted; false when `timeout` passed first.
    pub fn wait_for_connections(&self, count: usize, timeout: Duration) -> bool {
        self.server.wait_for_connections(count, timeout)
    }
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("url", &self.url()).finish_non_exhaustive()
    }
}
