//! The loopback telemetry endpoint that answers 200 (at once or after a delay) and counts the
//! messages it received, on plain std threads. It keeps counts, not bodies: a delivery run sends
//! it tens of thousands of messages. (The endpoint that never answers and the port nothing
//! listens on are dlt-test-support's `HangingServer` and `refusing_url`.)

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The largest request body read; a telemetry batch is at most 500 KB.
const MAX_BODY: usize = 8 << 20;
const ANSWER: &str = "{\"success\": true}";
const REJECTION: &str = "{\"success\": false}";

/// A loopback HTTP endpoint, kept alive for the whole process.
pub(crate) struct Endpoint {
    address: SocketAddr,
    counts: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    connections: AtomicU64,
    requests: AtomicU64,
    messages: AtomicU64,
}

impl Endpoint {
    /// Answers every POST with 200 and `{"success": true}` after `delay`, over keep-alive
    /// connections, and counts the messages: one per body, or the length of a `batch`.
    pub(crate) fn answering(delay: Duration) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let counts = Arc::new(Counts::default());
        let shared = Arc::clone(&counts);
        thread::Builder::new().name("bench-endpoint".into()).spawn(move || {
            for stream in listener.incoming().flatten() {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let counts = Arc::clone(&shared);
                let spawned =
                    thread::Builder::new().name("bench-connection".into()).spawn(move || serve(stream, &counts, delay));
                if spawned.is_err() {
                    break;
                }
            }
        })?;
        Ok(Self { address, counts })
    }

    /// The URL of `path` (starting with `/`) on this endpoint.
    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Messages received so far.
    pub(crate) fn messages(&self) -> u64 {
        self.counts.messages.load(Ordering::SeqCst)
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

/// Serves requests on one connection until the client closes it or asks to.
fn serve(stream: TcpStream, counts: &Counts, delay: Duration) {
    let Ok(mut writer) = stream.try_clone() else { return };
    let mut reader = BufReader::new(stream);
    while let Ok(Some(request)) = read_request(&mut reader) {
        counts.requests.fetch_add(1, Ordering::SeqCst);
        let messages = count_messages(&request.body);
        let (status, body) = if messages.is_some() { ("200 OK", ANSWER) } else { ("400 Bad Request", REJECTION) };
        if !delay.is_zero() {
            // The delay being simulated: a slow collector.
            thread::sleep(delay);
        }
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{}\r\n{body}",
            body.len(),
            if request.close { "Connection: close\r\n" } else { "" }
        );
        let written = writer.write_all(response.as_bytes());
        counts.messages.fetch_add(messages.unwrap_or_default(), Ordering::SeqCst);
        if written.is_err() || request.close {
            return;
        }
    }
}

struct Request {
    body: Vec<u8>,
    close: bool,
}

/// One request: head and a `Content-Length` body. `None` when the connection ended cleanly.
fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let (mut length, mut close) = (0_usize, line.trim_end().ends_with("HTTP/1.0"));
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else { continue };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = value.parse().map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad Content-Length"))?;
        } else if name.eq_ignore_ascii_case("connection") {
            close = value.eq_ignore_ascii_case("close");
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "chunked bodies are not supported"));
        }
    }
    if length > MAX_BODY {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "body too large"));
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Some(Request { body, close }))
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
        assert_eq!(endpoint.counts.connections.load(std::sync::atomic::Ordering::SeqCst), 1);
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
