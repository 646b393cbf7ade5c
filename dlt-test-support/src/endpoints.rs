//! Endpoints that misbehave: one that never answers, a port nothing listens on, and one that
//! answers with a body of any size.

use std::io::{self, BufReader, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::http1;
use crate::server::Server;

/// Accepts connections and reads whatever comes, but never answers (a firewall that drops
/// replies, a captive portal). Shut down on drop.
pub struct HangingServer {
    received: Arc<AtomicU64>,
    server: Server,
}

impl HangingServer {
    /// Starts it.
    pub fn start() -> io::Result<Self> {
        let received = Arc::new(AtomicU64::new(0));
        let bytes = received.clone();
        let server = Server::start("hanging", move |mut stream: TcpStream, _ctx| {
            let mut buffer = [0; 16 * 1024];
            while let Ok(read @ 1..) = stream.read(&mut buffer) {
                bytes.fetch_add(read as u64, Ordering::Relaxed);
            }
        })?;
        Ok(Self { received, server })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.server.connections()
    }

    /// True once `count` connections were accepted; false when `timeout` passed first.
    pub fn wait_for_connections(&self, count: usize, timeout: Duration) -> bool {
        self.server.wait_for_connections(count, timeout)
    }

    /// Bytes read from all connections so far.
    pub fn bytes_received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// Closes its port, which refuses connections from now on, and keeps the connections it
    /// accepted open and unanswered: an endpoint that went away while a request was in flight.
    /// Returns once the port is closed.
    pub fn stop_accepting(&self) {
        self.server.stop_accepting();
    }
}

/// A loopback port nothing listens on: connecting to it is refused. (The port was free a moment
/// ago; another process could take it, which on a test machine is rare.)
pub fn refusing_port() -> io::Result<u16> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok(listener.local_addr()?.port())
}

/// `http://127.0.0.1:<port>` for a [`refusing_port`].
pub fn refusing_url() -> io::Result<String> {
    Ok(format!("http://127.0.0.1:{}", refusing_port()?))
}

/// Answers every request `200 OK` with a body of `size` zero bytes, streamed 64 KiB at a time
/// (so it costs the server nothing), with a `Content-Length` or chunked. Counts what it wrote,
/// so a test can prove the client stopped reading. Shut down on drop.
pub struct HugeBodyServer {
    sent: Arc<AtomicU64>,
    server: Server,
}

/// Writes in pieces of this size.
const PIECE: usize = 64 * 1024;

impl HugeBodyServer {
    /// Starts it, announcing the size in `Content-Length`.
    pub fn start(size: u64) -> io::Result<Self> {
        Self::start_with(size, false)
    }

    /// Starts it, sending the body chunked: the client learns the size only by reading.
    pub fn start_chunked(size: u64) -> io::Result<Self> {
        Self::start_with(size, true)
    }

    fn start_with(size: u64, chunked: bool) -> io::Result<Self> {
        let sent = Arc::new(AtomicU64::new(0));
        let counted = sent.clone();
        let server = Server::start("huge-body", move |stream: TcpStream, _ctx| {
            let mut reader = BufReader::new(stream);
            while let Ok(Some(head)) = http1::read_head(&mut reader) {
                if http1::request_framing(&head).and_then(|framing| http1::read_body(&mut reader, framing)).is_err() {
                    return;
                }
                if stream_body(reader.get_mut(), size, chunked, &counted).is_err() {
                    return;
                }
            }
        })?;
        Ok(Self { sent, server })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Body bytes written so far (to the socket: some may still sit in kernel buffers).
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }
}

fn stream_body(stream: &mut TcpStream, size: u64, chunked: bool, sent: &AtomicU64) -> io::Result<()> {
    let framing = if chunked { "Transfer-Encoding: chunked".to_owned() } else { format!("Content-Length: {size}") };
    stream.write_all(
        format!("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n{framing}\r\n\r\n").as_bytes(),
    )?;
    let piece = [0u8; PIECE];
    let mut left = size;
    while left > 0 {
        let length = usize::try_from(left).unwrap_or(PIECE).min(PIECE);
        if chunked {
            stream.write_all(format!("{length:x}\r\n").as_bytes())?;
        }
        stream.write_all(&piece[..length])?;
        if chunked {
            stream.write_all(b"\r\n")?;
        }
        sent.fetch_add(length as u64, Ordering::Relaxed);
        left -= length as u64;
    }
    if chunked {
        stream.write_all(b"0\r\n\r\n")?;
    }
    stream.flush()
}
