//! The loopback telemetry endpoint that answers 200 (at once or after a delay) and counts the
//! messages it received: dlt-test-support's `Recorder` answering by script, with recording off.
//! It keeps counts, not bodies: a delivery run sends it tens of thousands of messages. (The
//! endpoint that never answers and the port nothing listens on are dlt-test-support's
//! `HangingServer` and `refusing_url`.)

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use dlt_test_support::{Answer, Recorder};

const ANSWER: &str = "{\"success\": true}";
const REJECTION: &str = "{\"success\": false}";

/// A loopback HTTP endpoint, kept alive as long as the value.
pub(crate) struct Endpoint {
    recorder: Recorder,
    messages: Arc<AtomicU64>,
}

impl Endpoint {
    /// Answers every request holding messages with 200 and `{"success": true}` after `delay`
    /// (any other with 400), over keep-alive connections, and counts the messages: one per
    /// body, or the length of a `batch`.
    pub(crate) fn answering(delay: Duration) -> io::Result<Self> {
        let messages = Arc::new(AtomicU64::new(0));
        let counted = Arc::clone(&messages);
        let recorder = Recorder::with_script(move |request| {
            let (status, body) = match count_messages(&request.body) {
                Some(messages) => {
                    counted.fetch_add(messages, Ordering::SeqCst);
                    (200, ANSWER)
                }
                None => (400, REJECTION),
            };
            // The delay being simulated: a slow collector.
            Answer::status(status).with_header("Content-Type", "application/json").with_body(body).with_delay(delay)
        })?;
        recorder.set_recording(false);
        Ok(Self { recorder, messages })
    }

    /// The URL of `path` (starting with `/`) on this endpoint.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.recorder.url())
    }

    /// Messages received so far.
    pub(crate) fn messages(&self) -> u64 {
        self.messages.load(Ordering::SeqCst)
    }

    /// Waits until at least `expected` messages have arrived, or `limit` has passed; the count.
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

/// The messages in a body: one per `"anonymousId"` key (every message has one, a batch has
/// one per message). A plain substring count: a full JSON parse in xtask's debug build would
/// make this endpoint the slowest part of a batched delivery. `None` when the body is not a
/// JSON object holding a message.
fn count_messages(body: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(body).ok()?;
    if !(text.trim_start().starts_with('{') && text.trim_end().ends_with('}')) {
        return None;
    }
    let messages = text.matches("\"anonymousId\"").count();
    u64::try_from(messages).ok().filter(|messages| *messages > 0)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    use super::{Endpoint, count_messages};

    fn post(stream: &mut TcpStream, body: &str) {
        write!(stream, "POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}", body.len()).unwrap();
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
    fn answers_over_keep_alive_and_counts_messages_and_batches() {
        let endpoint = Endpoint::answering(Duration::ZERO).unwrap();
        let mut stream = TcpStream::connect(endpoint.url("").trim_start_matches("http://")).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        post(&mut stream, r#"{"anonymousId": "a", "event": "command_telemetry"}"#);
        assert_eq!(response(&mut reader), "HTTP/1.1 200 OK");
        post(&mut stream, r#"{"batch": [{"anonymousId": "a"}, {"anonymousId": "b"}, {"anonymousId": "c"}]}"#);
        assert_eq!(response(&mut reader), "HTTP/1.1 200 OK");
        post(&mut stream, "not json");
        assert_eq!(response(&mut reader), "HTTP/1.1 400 Bad Request");
        assert_eq!(endpoint.wait_for_messages(4, Duration::from_secs(10)), 4);
        assert_eq!(endpoint.recorder.connections(), 1);
    }

    #[test]
    fn a_delayed_answer_takes_its_delay() {
        let endpoint = Endpoint::answering(Duration::from_millis(100)).unwrap();
        let mut stream = TcpStream::connect(endpoint.url("").trim_start_matches("http://")).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let started = Instant::now();
        post(&mut stream, r#"{"anonymousId": "a"}"#);
        assert_eq!(response(&mut reader), "HTTP/1.1 200 OK");
        assert!(started.elapsed() >= Duration::from_millis(100));
    }

    #[test]
    fn messages_are_counted_by_body_shape() {
        assert_eq!(count_messages(br#"{"anonymousId": "x", "event": "command_telemetry"}"#), Some(1));
        assert_eq!(count_messages(br#"{"batch": [{"anonymousId": "x"}, {"anonymousId": "y"}]}"#), Some(2));
        assert_eq!(count_messages(br#"{"batch": []}"#), None);
        assert_eq!(count_messages(br#"["anonymousId"]"#), None);
        assert_eq!(count_messages(b"\xff{}"), None);
    }
}
