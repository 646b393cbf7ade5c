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
        self.message_values()?.into_iter().map(serde_json::from_value).collect()
    }

    /// The Segment messages in the body as JSON, their keys in the order sent (for checks of
    /// the wire shape that [`track_messages`](Self::track_messages) would parse away).
    pub fn message_values(&self) -> serde_json::Result<Vec<serde_json::Value>> {
        let mut value = self.json()?;
        match value.get_mut("batch").map(serde_json::Value::take) {
            Some(batch) => serde_json::from_value(batch),
            None => Ok(vec![value]),
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

/// A function from a request to its answer (see [`Recorder::with_script`]).
type Script = Arc<dyn Fn(&RecordedRequest) -> Answer + Send + Sync>;

#[derive(Default)]
pub(crate) struct RecorderState {
    received: Mutex<Received>,
    arrived: Condvar,
    answers: Mutex<Answers>,
    pub(crate) handshake_failures: Counter,
}

/// What arrived: every request counted, those that came while recording was on kept.
struct Received {
    kept: Vec<RecordedRequest>,
    count: usize,
    recording: bool,
}

impl Default for Received {
    fn default() -> Self {
        Self { kept: Vec::new(), count: 0, recording: true }
    }
}

#[derive(Default)]
struct Answers {
    default: Respond,
    queued: VecDeque<Answer>,
}

/// How a request is answered once the queued answers are used up.
enum Respond {
    Always(Answer),
    Script(Script),
}

impl Default for Respond {
    fn default() -> Self {
        Self::Always(Answer::ok())
    }
}

impl RecorderState {
    fn next_answer(&self, request: &RecordedRequest) -> Answer {
        let mut answers = lock(&self.answers);
        if let Some(queued) = answers.queued.pop_front() {
            return queued;
        }
        match &answers.default {
            Respond::Always(answer) => answer.clone(),
            Respond::Script(script) => {
                let script = script.clone();
                // Not under the lock: a script may take its time.
                drop(answers);
                script(request)
            }
        }
    }

    fn record(&self, request: RecordedRequest) {
        let mut received = lock(&self.received);
        received.count += 1;
        if received.recording {
            received.kept.push(request);
        }
        drop(received);
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
            let answer = self.next_answer(&request);
            self.record(request);
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
/// every request (or only counts it, with recording off) before it answers with a configurable
/// [`Answer`] or a script's. Shut down on drop.
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
        Self::answering(Respond::Always(answer))
    }

    /// Starts a recorder that answers each request with what `script` returns for it: an answer
    /// that depends on the body, the path or the method. [`push_answers`](Self::push_answers)
    /// still goes first; [`set_answer`](Self::set_answer) replaces the script.
    ///
    /// ```
    /// use dlt_test_support::{Answer, Recorder};
    ///
    /// let recorder = Recorder::with_script(|request| match request.path.as_str() {
    ///     "/v1/batch" => Answer::ok(),
    ///     _ => Answer::status(404),
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_script(script: impl Fn(&RecordedRequest) -> Answer + Send + Sync + 'static) -> io::Result<Self> {
        Self::answering(Respond::Script(Arc::new(script)))
    }

    fn answering(respond: Respond) -> io::Result<Self> {
        let state = Arc::new(RecorderState::default());
        lock(&state.answers).default = respond;
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

    /// Every request received so far while recording was on, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.state.received).kept.clone()
    }

    /// Requests received so far, recorded or not.
    pub fn request_count(&self) -> usize {
        lock(&self.state.received).count
    }

    /// Whether later requests are kept for [`requests`](Self::requests) (on from the start).
    /// Off, they are only counted ([`request_count`](Self::request_count),
    /// [`wait_for`](Self::wait_for)): for benchmarks, where keeping every body would grow the
    /// process and slow the endpoint being measured against.
    pub fn set_recording(&self, on: bool) {
        lock(&self.state.received).recording = on;
    }

    /// The Segment requests made at or after `since` (by their `sentAt`), in arrival order. The
    /// server may read a request that a process wrote just before it exited only after a next
    /// process started: counting from `requests().len()` would take it for the next one's.
    pub fn requests_sent_since(&self, since: SystemTime) -> Vec<RecordedRequest> {
        let since =
            since.duration_since(UNIX_EPOCH).map_or(0, |since| i128::try_from(since.as_millis()).unwrap_or(i128::MAX));
        let received = lock(&self.state.received);
        received
            .kept
            .iter()
            .filter(|request| request.sent_at_millis().is_some_and(|sent| sent >= since))
            .cloned()
            .collect()
    }

    /// True once `count` requests have arrived (recorded or not); false when `timeout` passed
    /// first.
    pub fn wait_for(&self, count: usize, timeout: Duration) -> bool {
        let received = lock(&self.state.received);
        let (received, _) = self
            .state
            .arrived
            .wait_timeout_while(received, timeout, |received| received.count < count)
            .unwrap_or_else(PoisonError::into_inner);
        received.count >= count
    }

    /// Answers every later request with `answer` (once the queued answers are used up), for an
    /// endpoint that goes down and comes back.
    pub fn set_answer(&self, answer: Answer) {
        lock(&self.state.answers).default = Respond::Always(answer);
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
