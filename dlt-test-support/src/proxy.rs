//! Loopback proxies that count what passed through them: a forward proxy for `http://` targets
//! (absolute-form requests) and a `CONNECT` proxy for tunnels (`https://` targets).

use std::io::{self, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use crate::http1::{self, Head};
use crate::server::{Counter, Ctx, Server, lock};

/// How long a proxy waits to connect to its loopback target.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One request a proxy received.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxiedRequest {
    /// `GET`, `POST`, `CONNECT`, ...
    pub method: String,
    /// The request target: a whole URL (forward proxy) or `host:port` (`CONNECT`).
    pub target: String,
    /// The `Proxy-Authorization` header, when sent.
    pub proxy_authorization: Option<String>,
    /// True when the proxy passed it on; false when it refused (wrong kind of request, a target
    /// that is not on loopback, a target that refused).
    pub passed: bool,
}

#[derive(Default)]
struct ProxyLog {
    requests: Mutex<Vec<ProxiedRequest>>,
    count: Counter,
}

impl ProxyLog {
    fn record(&self, head: &Head, passed: bool) {
        let (method, target, _) = head.start_parts();
        lock(&self.requests).push(ProxiedRequest {
            method: method.to_owned(),
            target: target.to_owned(),
            proxy_authorization: head.header("proxy-authorization").map(str::to_owned),
            passed,
        });
        self.count.add(1);
    }
}

/// What both proxies offer.
macro_rules! proxy_api {
    ($name:ident) => {
        impl $name {
            /// `http://127.0.0.1:<port>`: a value for the proxy variables.
            pub fn url(&self) -> String {
                self.server.url()
            }

            /// The proxy URL with credentials in it.
            pub fn url_with_credentials(&self, user: &str, password: &str) -> String {
                format!("http://{user}:{password}@{}", self.server.addr())
            }

            /// The address it listens on.
            pub fn addr(&self) -> SocketAddr {
                self.server.addr()
            }

            /// Every request received so far (passed on or refused), in arrival order.
            pub fn requests(&self) -> Vec<ProxiedRequest> {
                lock(&self.log.requests).clone()
            }

            /// How many requests it passed on.
            pub fn passed(&self) -> usize {
                lock(&self.log.requests).iter().filter(|request| request.passed).count()
            }

            /// True once `count` requests were received; false when `timeout` passed first.
            pub fn wait_for(&self, count: usize, timeout: Duration) -> bool {
                self.log.count.wait_for(count, timeout)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).field("url", &self.url()).finish_non_exhaustive()
            }
        }
    };
}

/// A plain HTTP proxy: takes absolute-form requests (`GET http://127.0.0.1:PORT/path`) and
/// passes them to their loopback target, keeping the client's connection alive. Refuses
/// `CONNECT` (405) and any target off loopback (502), and never sends a request beyond
/// 127.0.0.1. Shut down on drop.
pub struct ForwardProxy {
    log: Arc<ProxyLog>,
    server: Server,
}

proxy_api!(ForwardProxy);

impl ForwardProxy {
    /// Starts it.
    pub fn start() -> io::Result<Self> {
        let log = Arc::new(ProxyLog::default());
        let logged = log.clone();
        let server = Server::start("forward-proxy", move |stream: TcpStream, ctx| forward(stream, &logged, ctx))?;
        Ok(Self { log, server })
    }
}

fn forward(stream: TcpStream, log: &ProxyLog, ctx: &Ctx) {
    let mut reader = BufReader::new(stream);
    while let Ok(Some(head)) = http1::read_head(&mut reader) {
        let Ok(body) = http1::request_framing(&head).and_then(|framing| http1::read_body(&mut reader, framing)) else {
            return;
        };
        let close = head.has_token("connection", "close") || head.has_token("proxy-connection", "close");
        let (method, target, _) = head.start_parts();
        let answer = match split_absolute(target) {
            _ if method.eq_ignore_ascii_case("CONNECT") => Err((405, "this proxy does not tunnel")),
            None => Err((400, "not an absolute-form http:// request")),
            Some((authority, path)) => match loopback_target(authority, 80) {
                None => Err((502, "only loopback targets")),
                Some(upstream) => exchange(upstream, &head, path, &body, ctx).map_err(|_| (502, "the target failed")),
            },
        };
        log.record(&head, answer.is_ok());
        let written = match answer {
            Ok((status, headers, body)) => http1::write_response(reader.get_mut(), status, &headers, &body, close),
            Err((status, text)) => http1::write_response(reader.get_mut(), status, &[], text.as_bytes(), true),
        };
        if written.is_err() || close {
            return;
        }
    }
}

/// Splits `http://authority/path` into the authority and the origin-form path.
fn split_absolute(target: &str) -> Option<(&str, &str)> {
    let rest = target.strip_prefix("http://").or_else(|| target.strip_prefix("HTTP://"))?;
    Some(match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, "/"),
    })
}

/// The address of `authority` (`host[:port]`) when it is on loopback; `localhost` is 127.0.0.1.
fn loopback_target(authority: &str, default_port: u16) -> Option<SocketAddr> {
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, port.parse().ok()?),
        _ => (authority, default_port),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let ip =
        if host.eq_ignore_ascii_case("localhost") { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { host.parse().ok()? };
    ip.is_loopback().then_some(SocketAddr::new(ip, port))
}

type Response = (u16, Vec<(String, String)>, Vec<u8>);

/// Sends one request to `upstream` on a connection of its own and reads the whole answer.
fn exchange(upstream: SocketAddr, head: &Head, path: &str, body: &[u8], ctx: &Ctx) -> io::Result<Response> {
    let stream = TcpStream::connect_timeout(&upstream, CONNECT_TIMEOUT)?;
    let _tracked = ctx.track(&stream).ok_or(io::ErrorKind::Interrupted)?;
    let (method, _, _) = head.start_parts();
    let mut request = format!("{method} {path} HTTP/1.1\r\n");
    for (name, value) in head.headers.iter().filter(|(name, _)| !http1::is_hop_by_hop(name)) {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    let mut writer = &stream;
    writer.write_all(request.as_bytes())?;
    writer.write_all(body)?;
    writer.flush()?;
    let mut reader = BufReader::new(&stream);
    let answer = http1::read_head(&mut reader)?.ok_or(io::ErrorKind::UnexpectedEof)?;
    let body = http1::read_body(&mut reader, http1::response_framing(&answer, method)?)?;
    let status = answer.start_parts().1.parse().map_err(|_| io::ErrorKind::InvalidData)?;
    let headers = answer.headers.into_iter().filter(|(name, _)| !http1::is_hop_by_hop(name)).collect();
    Ok((status, headers, body))
}

/// A `CONNECT` proxy: opens a tunnel to a loopback `host:port` and relays bytes both ways.
/// Refuses any other method (405) and any target off loopback (403). Shut down on drop.
pub struct ConnectProxy {
    log: Arc<ProxyLog>,
    server: Server,
}

proxy_api!(ConnectProxy);

impl ConnectProxy {
    /// Starts it.
    pub fn start() -> io::Result<Self> {
        let log = Arc::new(ProxyLog::default());
        let logged = log.clone();
        let server = Server::start("connect-proxy", move |stream: TcpStream, ctx| tunnel(stream, &logged, ctx))?;
        Ok(Self { log, server })
    }
}

fn tunnel(stream: TcpStream, log: &ProxyLog, ctx: &Ctx) {
    let mut reader = BufReader::new(stream);
    let Ok(Some(head)) = http1::read_head(&mut reader) else { return };
    let (method, target, _) = head.start_parts();
    let refusal = if !method.eq_ignore_ascii_case("CONNECT") {
        Err((405, "this proxy only tunnels"))
    } else {
        match loopback_target(target, 443) {
            None => Err((403, "only loopback targets")),
            Some(upstream) => {
                TcpStream::connect_timeout(&upstream, CONNECT_TIMEOUT).map_err(|_| (502, "the target refused"))
            }
        }
    };
    log.record(&head, refusal.is_ok());
    let upstream = match refusal {
        Ok(upstream) => upstream,
        Err((status, text)) => {
            let _ = http1::write_response(reader.get_mut(), status, &[], text.as_bytes(), true);
            return;
        }
    };
    let Some(_tracked) = ctx.track(&upstream) else { return };
    if reader.get_mut().write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").is_err() {
        return;
    }
    // Bytes the client sent right after its request are already in the reader's buffer.
    let early = reader.buffer().to_vec();
    let client = reader.into_inner();
    if (&upstream).write_all(&early).is_err() {
        return;
    }
    relay(&client, &upstream, Shape::Plain, Shape::Plain, ctx);
}

/// How bytes are passed on in one direction.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shape {
    /// As they come.
    Plain,
    /// Each piece read is held this long before it is passed on.
    Delayed(Duration),
    /// One byte at a time, this long apart.
    Drip(Duration),
}

/// Relays `client` ↔ `upstream` until both directions end; `up` shapes what the client sends,
/// `down` what the upstream answers.
pub(crate) fn relay(client: &TcpStream, upstream: &TcpStream, up: Shape, down: Shape, ctx: &Ctx) {
    thread::scope(|scope| {
        scope.spawn(|| pump(client, upstream, up, ctx));
        pump(upstream, client, down, ctx);
    });
}

fn pump(from: &TcpStream, to: &TcpStream, shape: Shape, ctx: &Ctx) {
    let mut buffer = [0u8; 16 * 1024];
    let (mut reader, mut writer) = (from, to);
    loop {
        let read = match reader.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        let passed = match shape {
            Shape::Plain => writer.write_all(&buffer[..read]).is_ok(),
            Shape::Delayed(delay) => ctx.sleep(delay) && writer.write_all(&buffer[..read]).is_ok(),
            Shape::Drip(interval) => {
                buffer[..read].iter().all(|byte| ctx.sleep(interval) && writer.write_all(&[*byte]).is_ok())
            }
        };
        if !passed {
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
            return;
        }
    }
    // The source is done: pass the end on, so the other side sees it.
    let _ = to.shutdown(Shutdown::Write);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_targets_are_passed_on() {
        assert_eq!(loopback_target("127.0.0.1:8080", 80), Some(SocketAddr::from(([127, 0, 0, 1], 8080))));
        assert_eq!(loopback_target("localhost", 443), Some(SocketAddr::from(([127, 0, 0, 1], 443))));
        assert_eq!(loopback_target("[::1]:9", 80), Some(SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, 9))));
        assert_eq!(loopback_target("example.com:80", 80), None);
        assert_eq!(loopback_target("10.0.0.1:80", 80), None);
        assert_eq!(split_absolute("http://127.0.0.1:1/v1/batch?x"), Some(("127.0.0.1:1", "/v1/batch?x")));
        assert_eq!(split_absolute("/v1/batch"), None);
    }
}
