//! The loopback servers do what they promise, seen from a plain socket.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use dlt_test_support::{
    Answer, ConnectProxy, Fault, FaultProxy, ForwardProxy, HangingServer, HugeBodyServer, Recorder, TestCa,
    TlsRecorder, refusing_port,
};

const WAIT: Duration = Duration::from_secs(5);

/// Sends `request` and reads one response: status, headers, body (by `Content-Length`).
fn exchange(reader: &mut BufReader<TcpStream>, request: &str) -> io::Result<(u16, Vec<String>, Vec<u8>)> {
    reader.get_mut().write_all(request.as_bytes())?;
    read_response(reader)
}

fn read_response(reader: &mut BufReader<TcpStream>) -> io::Result<(u16, Vec<String>, Vec<u8>)> {
    let mut status_line = String::new();
    if reader.read_line(&mut status_line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end().to_owned();
        if line.is_empty() {
            break;
        }
        headers.push(line);
    }
    let length = headers
        .iter()
        .find_map(|h| h.to_ascii_lowercase().strip_prefix("content-length: ").map(|v| v.parse::<usize>().unwrap()))
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok((status, headers, body))
}

fn connect(addr: SocketAddr) -> BufReader<TcpStream> {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(WAIT)).unwrap();
    BufReader::new(stream)
}

#[test]
fn the_recorder_keeps_connections_alive_and_decodes_chunked_bodies() {
    let recorder = Recorder::with_answer(Answer::status(202).with_header("X-Seen", "yes").with_body("ok")).unwrap();
    let mut client = connect(recorder.addr());

    let first = exchange(&mut client, "POST /v1/batch HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello").unwrap();
    let second = exchange(
        &mut client,
        "POST /v1/track?x=1 HTTP/1.1\r\nHost: a\r\nX-B: 1\r\nX-A: 2\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n1\r\nd\r\n0\r\n\r\n",
    )
    .unwrap();

    assert_eq!((first.0, first.2.as_slice()), (202, &b"ok"[..]));
    assert!(first.1.contains(&"X-Seen: yes".to_owned()));
    assert_eq!(second.0, 202);
    let requests = recorder.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!((requests[0].method.as_str(), requests[0].path.as_str()), ("POST", "/v1/batch"));
    assert_eq!(requests[0].body, b"hello");
    assert_eq!(requests[1].path, "/v1/track?x=1");
    assert_eq!(requests[1].body, b"abcd");
    let names: Vec<&str> = requests[1].headers.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["Host", "X-B", "X-A", "Transfer-Encoding"], "headers in arrival order");
    assert_eq!(requests[0].connection, requests[1].connection, "one kept-alive connection");
    assert_eq!(recorder.connections(), 1);
}

/// A late request (an exited process's last attempt) is told from a new one by its `sentAt`.
#[test]
fn requests_sent_since_leaves_out_what_was_sent_before() {
    let recorder = Recorder::start().unwrap();
    let post = |body: &str| {
        let request = format!("POST /v1/track HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        assert_eq!(exchange(&mut connect(recorder.addr()), &request).unwrap().0, 200);
    };
    post(r#"{"event":"late","sentAt":"2001-01-01T00:00:00.000Z"}"#);
    post(r#"{"batch":[{"event":"new"}],"sentAt":"2999-01-01T00:00:00.000Z"}"#);
    post(r#"{"event":"no sentAt"}"#);
    post("not json");

    let since = recorder.requests_sent_since(std::time::SystemTime::now());
    assert_eq!(since.len(), 1);
    assert_eq!(since[0].json().unwrap()["batch"][0]["event"], "new");
    assert_eq!(since[0].sent_at_millis(), Some(32_472_144_000_000));
    assert_eq!(recorder.requests_sent_since(std::time::UNIX_EPOCH).len(), 2);
}

#[test]
fn the_recorder_numbers_requests_by_connection_in_accept_order_and_counts_connections() {
    let recorder = Recorder::start().unwrap();
    let request = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    let mut first = connect(recorder.addr());
    assert!(recorder.wait_for_connections(1, WAIT));
    let mut second = connect(recorder.addr());
    assert!(recorder.wait_for_connections(2, WAIT));

    assert_eq!(exchange(&mut second, request).unwrap().0, 200);
    assert_eq!(exchange(&mut first, request).unwrap().0, 200);

    let connections: Vec<usize> = recorder.requests().iter().map(|request| request.connection).collect();
    assert_eq!(connections, [1, 0]);
    assert_eq!(recorder.connections(), 2);
    assert!(!recorder.wait_for_connections(3, Duration::from_millis(50)));
}

#[test]
fn the_tls_recorder_counts_a_failed_handshake_as_a_connection_and_records_nothing() {
    let ca = TestCa::new().unwrap();
    let recorder = TlsRecorder::start(&ca).unwrap();
    let mut client = connect(recorder.addr());
    client.get_mut().write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();

    assert!(recorder.wait_for_handshake_failures(1, WAIT));
    assert_eq!(recorder.connections(), 1);
    assert!(recorder.requests().is_empty());
}

#[test]
fn the_recorder_answer_can_change_while_it_runs() {
    let recorder = Recorder::with_answer(Answer::status(503).with_header("Retry-After", "1")).unwrap();
    recorder.push_answers([Answer::status(429), Answer::status(500)]);
    let mut client = connect(recorder.addr());
    let request = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";

    let statuses: Vec<u16> = (0..3).map(|_| exchange(&mut client, request).unwrap().0).collect();
    assert_eq!(statuses, [429, 500, 503]);
    let down = exchange(&mut client, request).unwrap();
    assert!(down.1.contains(&"Retry-After: 1".to_owned()));

    recorder.set_answer(Answer::ok());
    assert_eq!(exchange(&mut client, request).unwrap().0, 200);
    assert!(recorder.wait_for(5, WAIT));
    assert!(!recorder.wait_for(6, Duration::from_millis(20)));
}

#[test]
fn the_recorder_answers_by_script_after_the_queued_answers_until_set_answer_replaces_it() {
    let recorder = Recorder::with_script(|request| match (request.method.as_str(), request.body.as_slice()) {
        ("POST", b"{}") => Answer::status(202).with_body(request.path.clone()),
        ("POST", _) => Answer::status(400),
        _ => Answer::status(405),
    })
    .unwrap();
    recorder.push_answers([Answer::status(503)]);
    let mut client = connect(recorder.addr());
    let post =
        |body: &str| format!("POST /v1/batch HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{body}", body.len());

    assert_eq!(exchange(&mut client, &post("{}")).unwrap().0, 503, "the queued answer first");
    let scripted = exchange(&mut client, &post("{}")).unwrap();
    assert_eq!((scripted.0, scripted.2.as_slice()), (202, &b"/v1/batch"[..]));
    assert_eq!(exchange(&mut client, &post("[]")).unwrap().0, 400);
    assert_eq!(exchange(&mut client, "GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap().0, 405);

    recorder.set_answer(Answer::status(204));
    assert_eq!(exchange(&mut client, &post("[]")).unwrap().0, 204);
    assert_eq!(recorder.requests().len(), 5, "every request recorded, whatever its answer");
}

#[test]
fn a_recorder_with_recording_off_counts_requests_and_keeps_none() {
    let recorder = Recorder::start().unwrap();
    recorder.set_recording(false);
    let mut client = connect(recorder.addr());
    let request = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}";
    for _ in 0..3 {
        assert_eq!(exchange(&mut client, request).unwrap().0, 200, "answered as usual");
    }
    assert!(recorder.wait_for(3, WAIT));
    assert_eq!(recorder.request_count(), 3);
    assert!(recorder.requests().is_empty());

    recorder.set_recording(true);
    exchange(&mut client, request).unwrap();
    assert_eq!(recorder.request_count(), 4);
    assert_eq!(recorder.requests().len(), 1, "kept again from then on");
    assert!(!recorder.wait_for(5, Duration::from_millis(20)));
}

#[test]
fn the_recorder_delays_or_disconnects_as_told() {
    let recorder = Recorder::with_answer(Answer::ok().with_delay(Duration::from_millis(150))).unwrap();
    let mut client = connect(recorder.addr());
    let started = Instant::now();
    exchange(&mut client, "GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert!(started.elapsed() >= Duration::from_millis(150));

    recorder.set_answer(Answer::disconnect());
    let error = exchange(&mut client, "GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::UnexpectedEof);
    assert_eq!(recorder.requests().len(), 2, "a request is recorded before the answer");
}

#[test]
fn the_recorder_reads_track_messages_of_a_batch_or_one_message() {
    let recorder = Recorder::start().unwrap();
    let golden = dlt_test_support::golden_dir().join("segment/dlt-1.31");
    let file = std::fs::read_dir(&golden).unwrap().next().unwrap().unwrap().path();
    let recorded: serde_json::Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
    let message = recorded["body"].to_string();
    let batch = format!("{{\"batch\":[{message},{message}],\"sentAt\":\"2026-01-01T00:00:00Z\"}}");
    let mut client = connect(recorder.addr());
    for body in [&message, &batch] {
        let request = format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        exchange(&mut client, &request).unwrap();
    }

    let requests = recorder.requests();
    assert_eq!(requests[0].track_messages().unwrap().len(), 1);
    assert_eq!(requests[1].track_messages().unwrap().len(), 2);
    assert_eq!(requests[1].track_messages().unwrap()[0].event, recorded["body"]["event"]);
    // As JSON, in the order sent: the wire shape, not the model's.
    let values = requests[1].message_values().unwrap();
    assert_eq!(values.len(), 2);
    assert_eq!(values[0].to_string(), message);
    assert_eq!(requests[0].message_values().unwrap()[0].to_string(), message);
}

#[test]
fn a_dropped_server_closes_its_connections_and_its_port() {
    let server = HangingServer::start().unwrap();
    let addr = server.addr();
    let mut client = connect(addr);
    client.get_mut().write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert!(server.wait_for_connections(1, WAIT));

    let started = Instant::now();
    drop(server);

    let mut rest = Vec::new();
    let ended = client.read_to_end(&mut rest);
    assert!(matches!(ended, Ok(0)) || ended.is_err(), "{ended:?}");
    assert!(started.elapsed() < WAIT);
    assert_eq!(TcpStream::connect(addr).unwrap_err().kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn the_hanging_server_reads_and_never_answers() {
    let server = HangingServer::start().unwrap();
    let stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    (&stream).write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();

    let error = (&stream).read(&mut [0; 16]).unwrap_err();

    assert!(matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut), "{error:?}");
    assert_eq!(server.bytes_received(), 18);
}

#[test]
fn the_hanging_server_can_stop_accepting_and_keep_its_connections() {
    let server = HangingServer::start().unwrap();
    let held = TcpStream::connect(server.addr()).unwrap();
    assert!(server.wait_for_connections(1, WAIT));

    server.stop_accepting();

    let refused = TcpStream::connect(server.addr()).unwrap_err();
    assert_eq!(refused.kind(), io::ErrorKind::ConnectionRefused);
    (&held).write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    held.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let error = (&held).read(&mut [0; 16]).unwrap_err();
    assert!(matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut), "still open: {error:?}");
    let deadline = Instant::now() + WAIT;
    while server.bytes_received() < 18 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(server.bytes_received(), 18, "and still read");
    assert_eq!(server.connections(), 1, "the wake-up is not counted");
}

#[test]
fn the_refusing_port_refuses() {
    let port = refusing_port().unwrap();
    assert_eq!(TcpStream::connect(("127.0.0.1", port)).unwrap_err().kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn the_huge_body_server_streams_what_it_announced() {
    let server = HugeBodyServer::start(3 * 64 * 1024 + 7).unwrap();
    let mut client = connect(server.url().strip_prefix("http://").unwrap().parse().unwrap());
    let (status, _, body) = exchange(&mut client, "GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    assert_eq!((status, body.len()), (200, 3 * 64 * 1024 + 7));
    // The server counts a piece after writing it: its end of the connection, once this one has
    // closed, says it has counted the last.
    client.get_mut().shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    client.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    assert_eq!(server.bytes_sent(), 3 * 64 * 1024 + 7);
}

#[test]
fn the_forward_proxy_passes_absolute_form_requests_and_refuses_others() {
    let recorder = Recorder::with_answer(Answer::status(201).with_body("made")).unwrap();
    let proxy = ForwardProxy::start().unwrap();
    let mut client = connect(proxy.addr());
    let target = format!("{}/v1/batch", recorder.url());

    let request = format!(
        "POST {target} HTTP/1.1\r\nHost: {}\r\nProxy-Authorization: Basic eDp5\r\nContent-Length: 2\r\n\r\n{{}}",
        recorder.addr()
    );
    let (status, _, body) = exchange(&mut client, &request).unwrap();
    let (again, _, _) = exchange(&mut client, &request).unwrap();
    let (off_loopback, _, _) =
        exchange(&mut client, "GET http://192.0.2.1/ HTTP/1.1\r\nHost: 192.0.2.1\r\nConnection: close\r\n\r\n")
            .unwrap();

    assert_eq!((status, body.as_slice(), again), (201, &b"made"[..], 201));
    assert_eq!(off_loopback, 502);
    let delivered = recorder.requests();
    assert_eq!(delivered.len(), 2);
    assert_eq!((delivered[0].path.as_str(), delivered[0].body.as_slice()), ("/v1/batch", &b"{}"[..]));
    assert_eq!(delivered[0].header("proxy-authorization"), None);
    let seen = proxy.requests();
    assert_eq!((seen.len(), proxy.passed()), (3, 2));
    assert_eq!(seen[0].target, target);
    assert_eq!(seen[0].proxy_authorization.as_deref(), Some("Basic eDp5"));
}

#[test]
fn the_connect_proxy_tunnels_to_loopback_only() {
    let recorder = Recorder::start().unwrap();
    let proxy = ConnectProxy::start().unwrap();
    let mut client = connect(proxy.addr());

    let connect_request = format!("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n", recorder.addr());
    let (status, _, _) = exchange(&mut client, &connect_request).unwrap();
    let (through, _, _) = exchange(&mut client, "GET /in HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();

    assert_eq!((status, through), (200, 200));
    assert_eq!(recorder.requests()[0].path, "/in");
    let mut refused = connect(proxy.addr());
    let (status, _, _) =
        exchange(&mut refused, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com\r\n\r\n").unwrap();
    assert_eq!(status, 403);
    assert_eq!(proxy.passed(), 1);
    assert!(proxy.wait_for(2, WAIT));
}

#[test]
fn the_fault_proxy_passes_delays_drips_and_resets() {
    let recorder = Recorder::with_answer(Answer::ok().with_body("abcdefghij")).unwrap();
    let proxy = FaultProxy::start(recorder.addr(), Fault::None).unwrap();
    let request = "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n";

    let (status, _, body) = exchange(&mut connect(proxy.addr()), request).unwrap();
    assert_eq!((status, body.as_slice()), (200, &b"abcdefghij"[..]));

    proxy.set_fault(Fault::Delay(Duration::from_millis(150)));
    let started = Instant::now();
    assert_eq!(exchange(&mut connect(proxy.addr()), request).unwrap().0, 200);
    assert!(started.elapsed() >= Duration::from_millis(150));

    proxy.set_fault(Fault::SlowDrip(Duration::from_millis(3)));
    let started = Instant::now();
    let (_, headers, body) = exchange(&mut connect(proxy.addr()), request).unwrap();
    let answer_bytes = 17 + headers.iter().map(|h| h.len() + 2).sum::<usize>() + 2 + body.len();
    assert!(started.elapsed() >= Duration::from_millis(3) * u32::try_from(answer_bytes).unwrap());

    proxy.set_fault(Fault::Reset);
    let error = exchange(&mut connect(proxy.addr()), request).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::ConnectionReset, "{error:?}");

    assert_eq!(recorder.requests().len(), 3, "the reset request never reached the recorder");
    assert_eq!(proxy.connections(), 4);
}

#[test]
fn the_fault_proxy_fronts_loopback_only() {
    let error = FaultProxy::start(SocketAddr::from(([192, 0, 2, 1], 80)), Fault::None).unwrap_err();
    assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
}

#[test]
fn the_fault_proxy_can_accept_and_never_read() {
    let recorder = Recorder::start().unwrap();
    let proxy = FaultProxy::start(recorder.addr(), Fault::AcceptNeverRead).unwrap();
    let stream = TcpStream::connect(proxy.addr()).unwrap();
    stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    (&stream).write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();

    let error = (&stream).read(&mut [0; 16]).unwrap_err();

    assert!(matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut), "{error:?}");
    assert!(proxy.wait_for_connections(1, WAIT));
    assert!(recorder.requests().is_empty());
}
