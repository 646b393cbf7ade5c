//! Just enough HTTP/1.1 for the test servers: heads, bodies by `Content-Length` or chunked (or
//! until close, for responses), and writing a response.

use std::io::{self, BufRead, Read, Write};

/// The largest request or response head read.
const MAX_HEAD: usize = 64 * 1024;
/// The largest body read.
pub(crate) const MAX_BODY: usize = 64 * 1024 * 1024;
/// The longest chunk-size or trailer line.
const MAX_LINE: usize = 4096;

/// A start line and headers in arrival order.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub(crate) start: String,
    pub(crate) headers: Vec<(String, String)>,
}

impl Head {
    /// The first value of header `name` (case-insensitive).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// True when a comma-separated header `name` holds `token` (case-insensitive).
    pub(crate) fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(key, _)| key.eq_ignore_ascii_case(name))
            .flat_map(|(_, value)| value.split(','))
            .any(|item| item.trim().eq_ignore_ascii_case(token))
    }

    /// The three parts of the start line (`GET /path HTTP/1.1`, `HTTP/1.1 200 OK`).
    pub(crate) fn start_parts(&self) -> (&str, &str, &str) {
        let mut parts = self.start.splitn(3, ' ');
        (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""))
    }
}

/// How a body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    Empty,
    Length(usize),
    Chunked,
    UntilClose,
}

fn invalid(message: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.to_owned())
}

/// Reads a head; `None` when the peer closed before sending anything.
pub(crate) fn read_head(reader: &mut impl BufRead) -> io::Result<Option<Head>> {
    let mut lines = Vec::new();
    let mut total = 0;
    loop {
        let mut line = Vec::new();
        let limit = (MAX_HEAD - total + 1) as u64;
        let read = reader.by_ref().take(limit).read_until(b'\n', &mut line)?;
        if read == 0 {
            return if lines.is_empty() && total == 0 { Ok(None) } else { Err(io::ErrorKind::UnexpectedEof.into()) };
        }
        total += read;
        if total > MAX_HEAD {
            return Err(invalid("head too large"));
        }
        let line = trim_line_end(&line);
        if line.is_empty() {
            if lines.is_empty() {
                continue; // a stray CRLF between requests
            }
            break;
        }
        lines.push(String::from_utf8_lossy(line).into_owned());
    }
    let mut lines = lines.into_iter();
    let start = lines.next().unwrap_or_default();
    let headers = lines
        .filter_map(|line| line.split_once(':').map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())))
        .collect();
    Ok(Some(Head { start, headers }))
}

fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn content_length(head: &Head) -> io::Result<Option<usize>> {
    head.header("content-length").map(|v| v.parse().map_err(|_| invalid("bad content-length"))).transpose()
}

/// How a request's body is delimited.
pub(crate) fn request_framing(head: &Head) -> io::Result<Framing> {
    if head.has_token("transfer-encoding", "chunked") {
        return Ok(Framing::Chunked);
    }
    Ok(content_length(head)?.map_or(Framing::Empty, Framing::Length))
}

/// How a response's body is delimited, for a request with `method`.
pub(crate) fn response_framing(head: &Head, method: &str) -> io::Result<Framing> {
    let status: u16 = head.start_parts().1.parse().map_err(|_| invalid("bad status"))?;
    if method.eq_ignore_ascii_case("HEAD") || (100..200).contains(&status) || status == 204 || status == 304 {
        return Ok(Framing::Empty);
    }
    if head.has_token("transfer-encoding", "chunked") {
        return Ok(Framing::Chunked);
    }
    Ok(content_length(head)?.map_or(Framing::UntilClose, Framing::Length))
}

/// Reads a body delimited by `framing`, at most [`MAX_BODY`] bytes.
pub(crate) fn read_body(reader: &mut impl BufRead, framing: Framing) -> io::Result<Vec<u8>> {
    match framing {
        Framing::Empty => Ok(Vec::new()),
        Framing::Length(length) if length > MAX_BODY => Err(invalid("body too large")),
        Framing::Length(length) => {
            let mut body = vec![0; length];
            reader.read_exact(&mut body)?;
            Ok(body)
        }
        Framing::UntilClose => {
            let mut body = Vec::new();
            reader.take(MAX_BODY as u64 + 1).read_to_end(&mut body)?;
            if body.len() > MAX_BODY { Err(invalid("body too large")) } else { Ok(body) }
        }
        Framing::Chunked => read_chunked(reader),
    }
}

fn read_line(reader: &mut impl BufRead) -> io::Result<String> {
    let mut line = Vec::new();
    reader.take(MAX_LINE as u64).read_until(b'\n', &mut line)?;
    if !line.ends_with(b"\n") {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(String::from_utf8_lossy(trim_line_end(&line)).into_owned())
}

fn read_chunked(reader: &mut impl BufRead) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| invalid("bad chunk size"))?;
        if size == 0 {
            while !read_line(reader)?.is_empty() {} // trailers
            return Ok(body);
        }
        if size > MAX_BODY - body.len() {
            return Err(invalid("body too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        if !read_line(reader)?.is_empty() {
            return Err(invalid("chunk not followed by CRLF"));
        }
    }
}

/// Headers a proxy does not pass on (hop-by-hop), plus the framing it sets itself.
pub(crate) fn is_hop_by_hop(name: &str) -> bool {
    ["connection", "keep-alive", "proxy-connection", "proxy-authorization", "transfer-encoding", "content-length", "te"]
        .iter()
        .any(|hop| name.eq_ignore_ascii_case(hop))
}

/// The reason phrase of `status`.
pub(crate) fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        413 => "Content Too Large",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    }
}

/// Writes a whole response in one write: `headers` as given, then `Content-Length` (unless the
/// status has no body or `headers` set it) and `Connection: close` when `close`.
pub(crate) fn write_response(
    writer: &mut impl Write,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
    close: bool,
) -> io::Result<()> {
    let mut out = format!("HTTP/1.1 {status} {}\r\n", reason(status)).into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    let bodyless = (100..200).contains(&status) || status == 204 || status == 304;
    if !bodyless && !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-length")) {
        out.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    if close {
        out.extend_from_slice(b"Connection: close\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if !bodyless {
        out.extend_from_slice(body);
    }
    writer.write_all(&out)?;
    writer.flush()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::BufReader;

    use super::*;

    #[test]
    fn a_chunked_request_is_decoded_and_the_next_one_follows() {
        let raw = b"POST /a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3;x=y\r\nabc\r\n2\r\nde\r\n0\r\nT: 1\r\n\r\n\
GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
        let mut reader = BufReader::new(&raw[..]);
        let head = read_head(&mut reader).unwrap().unwrap();
        assert_eq!(head.start_parts(), ("POST", "/a", "HTTP/1.1"));
        assert_eq!(read_body(&mut reader, request_framing(&head).unwrap()).unwrap(), b"abcde");
        let next = read_head(&mut reader).unwrap().unwrap();
        assert_eq!(next.header("HOST"), Some("h"));
        assert!(read_head(&mut reader).unwrap().is_none());
    }

    #[test]
    fn responses_without_length_run_until_close_and_204_has_no_body() {
        let head = Head { start: "HTTP/1.1 200 OK".into(), headers: vec![] };
        assert_eq!(response_framing(&head, "GET").unwrap(), Framing::UntilClose);
        let head =
            Head { start: "HTTP/1.1 204 No Content".into(), headers: vec![("Content-Length".into(), "5".into())] };
        assert_eq!(response_framing(&head, "GET").unwrap(), Framing::Empty);
        let mut out = Vec::new();
        write_response(&mut out, 204, &[], b"ignored", true).unwrap();
        assert_eq!(out, b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
    }
}
