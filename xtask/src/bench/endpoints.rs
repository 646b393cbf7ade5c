//! The loopback telemetry endpoints that answer 200 (at once, after a delay, or three requests
//! in four with the fourth held) and count the messages they answered: dlt-test-support's
//! `Recorder` answering by script, with recording off. They keep counts, not bodies: a delivery
//! run sends tens of thousands of messages. (The endpoint that never answers and the port
//! nothing listens on are dlt-test-support's `HangingServer` and `refusing_url`.)

use std::collections::HashSet;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use dlt_test_support::{Answer, Recorder};

const ANSWER: &str = "{\"success\": true}";
const REJECTION: &str = "{\"success\": false}";
/// Longer than any bench lives: a request held this long is held until the endpoint is
/// dropped, which closes its connection without waiting for the delay.
const HOLD: Duration = Duration::MAX;

/// A loopback HTTP endpoint, kept alive as long as the value.
pub(crate) struct Endpoint {
    recorder: Recorder,
    counts: Arc<Counts>,
}

/// What an endpoint answered: each message once, however often it was sent.
#[derive(Default)]
struct Counts {
    /// Distinct messages answered with 200: by `messageId` when a message has one (this
    /// project's always do, kept across retries), else each one counts.
    messages: AtomicU64,
    /// Messages answered again, with a `messageId` answered before (a request abandoned at
    /// exit and sent again by the detached sender, a retry of a request that timed out).
    repeated: AtomicU64,
    /// The `messageId`s answered so far.
    seen: Mutex<HashSet<String>>,
    /// Requests received, answered or held.
    requests: AtomicU64,
}

impl Counts {
    /// Counts the messages of an answered body.
    fn answered(&self, ids: &[Option<&str>]) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        for id in ids {
            let new = id.is_none_or(|id| seen.insert(id.to_owned()));
            let counter = if new { &self.messages } else { &self.repeated };
            counter.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Endpoint {
    /// Answers every request holding messages with 200 and `{"success": true}` after `delay`
    /// (any other with 400), over keep-alive connections, and counts the messages.
    pub(crate) fn answering(delay: Duration) -> io::Result<Self> {
        Self::start(move |_| Some(delay))
    }

    /// Answers like [`answering`](Self::answering) without delay, except every `nth` request
    /// (the `nth`, the `2 * nth`, ...), which is held without an answer until the endpoint is
    /// dropped; its messages are not counted.
    pub(crate) fn holding_every(nth: u64) -> io::Result<Self> {
        Self::start(move |request| (request % nth != 0).then_some(Duration::ZERO))
    }

    /// An endpoint that answers request number `n` (from 1) after `delay(n)`, or holds it
    /// when that is `None`.
    fn start(delay: impl Fn(u64) -> Option<Duration> + Send + Sync + 'static) -> io::Result<Self> {
        let counts = Arc::new(Counts::default());
        let counted = Arc::clone(&counts);
        let recorder = Recorder::with_script(move |request| {
            let number = counted.requests.fetch_add(1, Ordering::SeqCst) + 1;
            let Some(delay) = delay(number) else { return Answer::ok().with_delay(HOLD) };
            let Some(ids) = message_ids(&request.body) else {
                return Answer::status(400).with_header("Content-Type", "application/json").with_body(REJECTION);
            };
            counted.answered(&ids);
            // The delay being simulated: a slow collector.
            Answer::ok().with_header("Content-Type", "application/json").with_body(ANSWER).with_delay(delay)
        })?;
        recorder.set_recording(false);
        Ok(Self { recorder, counts })
    }

    /// The URL of `path` (starting with `/`) on this endpoint.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.recorder.url())
    }

    /// Distinct messages answered so far.
    pub(crate) fn messages(&self) -> u64 {
        self.counts.messages.load(Ordering::SeqCst)
    }

    /// Messages answered again (the same `messageId`) so far.
    pub(crate) fn repeated(&self) -> u64 {
        self.counts.repeated.load(Ordering::SeqCst)
    }

    /// Waits until at least `expected` distinct messages have been answered, or `limit` has
    /// passed; the count.
    pub(crate) fn wait_for_messages(&self, expected: u64, limit: Duration) -> u64 {
        let deadline = Instant::now() + limit;
        loop {
            let received = self.messages();
            if received >= expected || Instant::now() >= deadline {
                return received;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// The messages in a body, each with its `messageId` if it has one; `None` when the body is
/// not a JSON object holding a message. A message is an `"anonymousId"` key (every message has
/// one, a batch has one per message); its id is the next `"messageId"` value before the next
/// message. A plain scan, not a JSON parse: the endpoint must not be the slowest part of a
/// batched delivery of 50,000 messages.
fn message_ids(body: &[u8]) -> Option<Vec<Option<&str>>> {
    let text = std::str::from_utf8(body).ok()?;
    if !(text.trim_start().starts_with('{') && text.trim_end().ends_with('}')) {
        return None;
    }
    let starts: Vec<usize> = text.match_indices("\"anonymousId\"").map(|(at, _)| at).collect();
    let ends = starts.iter().skip(1).copied().chain([text.len()]);
    let ids: Vec<Option<&str>> = starts.iter().zip(ends).map(|(start, end)| message_id(&text[*start..end])).collect();
    (!ids.is_empty()).then_some(ids)
}

/// The string value of the first `"messageId"` key in `text`.
fn message_id(text: &str) -> Option<&str> {
    let (_, after) = text.split_once("\"messageId\"")?;
    let value = after.trim_start().strip_prefix(':')?.trim_start().strip_prefix('"')?;
    value.split_once('"').map(|(id, _)| id)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    use super::{Endpoint, message_ids};

    fn post(stream: &mut TcpStream, body: &str) {
        write!(stream, "POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
    }

    fn connect(endpoint: &Endpoint) -> (TcpStream, BufReader<TcpStream>) {
        let stream = TcpStream::connect(endpoint.url("").trim_start_matches("http://")).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        (stream, reader)
    }

    /// The status line of the next response, its body consumed.
    fn response(reader: &mut BufReader<TcpStream>) -> String {
        let mut status = String::new();
        reader.read_line(&mut status).unwrap();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if line == "\r\n" {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length: ") {
                length = value.trim().parse().unwrap();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        status.trim_end().to_owned()
    }

    #[test]
    fn answers_over_keep_alive_and_counts_each_message_once() {
        let endpoint = Endpoint::answering(Duration::ZERO).unwrap();
        let (mut stream, mut reader) = connect(&endpoint);
        post(&mut stream, r#"{"anonymousId": "a", "event": "command_telemetry"}"#);
        assert_eq!(response(&mut reader), "HTTP/1.1 200 OK");
        post(&mut stream, r#"{"batch": [{"anonymousId": "a"}, {"anonymousId": "b"}, {"anonymousId": "c"}]}"#);
        assert_eq!(response(&mut reader), "HTTP/1.1 200 OK");
        post(&mut stream, "not json");
        assert_eq!(response(&mut reader), "HTTP/1.1 400 Bad Request");
        // The same message twice (a retry, or a request abandoned at exit and sent again).
        for _ in 0..2 {
            post(&mut stream, r#"{"anonymousId": "a", "messageId": "m-1"}"#);
            assert_eq!(response(&mut reader), "HTTP/1.1 200 OK");
        }
        assert_eq!(endpoint.wait_for_messages(5, Duration::from_secs(10)), 5);
        assert_eq!(endpoint.repeated(), 1);
        assert_eq!(endpoint.recorder.connections(), 1);
    }

    #[test]
    fn a_delayed_answer_takes_its_delay() {
        let endpoint = Endpoint::answering(Duration::from_millis(100)).unwrap();
        let (mut stream, mut reader) = connect(&endpoint);
        let started = Instant::now();
        post(&mut stream, r#"{"anonymousId": "a"}"#);
        assert_eq!(response(&mut reader), "HTTP/1.1 200 OK");
        assert!(started.elapsed() >= Duration::from_millis(100));
    }

    #[test]
    fn every_fourth_request_is_held_uncounted_until_the_endpoint_is_dropped() {
        let endpoint = Endpoint::holding_every(4).unwrap();
        let mut held = Vec::new();
        for request in 1..=8 {
            let (mut stream, mut reader) = connect(&endpoint);
            post(&mut stream, &format!(r#"{{"anonymousId": "a", "messageId": "m-{request}"}}"#));
            if request % 4 == 0 {
                stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
                let error = reader.read(&mut [0; 16]).unwrap_err();
                assert!(matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut));
                held.push(reader);
            } else {
                assert_eq!(response(&mut reader), "HTTP/1.1 200 OK");
            }
        }
        assert_eq!(endpoint.messages(), 6);

        let started = Instant::now();
        drop(endpoint);
        assert!(started.elapsed() < Duration::from_secs(10), "the held requests do not hold the drop");
        for mut reader in held {
            reader.get_mut().set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            assert_eq!(reader.read(&mut [0; 16]).unwrap(), 0, "closed without an answer");
        }
    }

    #[test]
    fn messages_are_found_by_body_shape_with_their_ids() {
        assert_eq!(message_ids(br#"{"anonymousId": "x", "event": "command_telemetry"}"#), Some(vec![None]));
        assert_eq!(
            message_ids(br#"{"batch":[{"anonymousId":"x","messageId":"1"},{"anonymousId":"y","messageId" : "2"}]}"#),
            Some(vec![Some("1"), Some("2")])
        );
        assert_eq!(
            message_ids(br#"{"batch":[{"anonymousId":"x"},{"anonymousId":"y","messageId":"2"}]}"#),
            Some(vec![None, Some("2")])
        );
        assert_eq!(message_ids(br#"{"batch": []}"#), None);
        assert_eq!(message_ids(br#"["anonymousId"]"#), None);
        assert_eq!(message_ids(b"\xff{}"), None);
    }
}
