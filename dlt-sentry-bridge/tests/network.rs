//! The transport on real networks: proxies and trust from `SentryOptions::network`, a DSN host
//! that refuses connections, an answer too large to read. Loopback only; the environment is
//! always a lookup, never this process's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use dlt_sentry_bridge::{NetworkEnv, SentryDsn, SentryOptions, init};
use dlt_test_support::{
    ConnectProxy, ForwardProxy, HugeBodyServer, RawEnvelope, SENTRY_PUBLIC_KEY, SentryReceiver, TestCa, TlsRecorder,
    refusing_url,
};
use sentry_core::{Hub, Level};

const WAIT: Duration = Duration::from_secs(10);
/// A body far larger than anything the transport may read.
const HUGE: u64 = 512 * 1024 * 1024;
/// What may have left the huge-body server: the transport's 64 KiB cap plus what the kernel's
/// socket buffers took before the connection closed.
const SENT_AT_MOST: u64 = 64 * 1024 * 1024;

/// Proxies and trust from `pairs` alone.
fn network(pairs: &[(&str, String)]) -> NetworkEnv {
    let pairs: Vec<(String, String)> = pairs.iter().map(|(name, value)| ((*name).to_owned(), value.clone())).collect();
    NetworkEnv::from_lookup(move |name| pairs.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone()))
}

fn options(dsn: &str, network: NetworkEnv) -> SentryOptions {
    let mut options = SentryOptions::new("1.31.0");
    options.dsn = Some(SentryDsn::parse(dsn).unwrap());
    options.capture_panics = false;
    options.network = network;
    options
}

/// The DSN of `base` (`http://127.0.0.1:PORT`), project 42.
fn dsn_at(base: &str) -> String {
    base.replacen("://", &format!("://{SENTRY_PUBLIC_KEY}@"), 1) + "/42"
}

/// Starts the bridge on a hub of the test's own, captures `events` error messages, and shuts
/// it down within `timeout`; returns whether everything was delivered, and how long that took.
fn send_and_close(options: SentryOptions, events: usize, timeout: Duration) -> (bool, Duration) {
    let hub = Arc::new(Hub::new_from_top(Hub::current()));
    Hub::run(Arc::clone(&hub), || {
        let guard = init(options);
        assert!(guard.owns_client());
        for index in 0..events {
            hub.capture_message(&format!("load failed ({index})"), Level::Error);
        }
        let started = Instant::now();
        let delivered = guard.shutdown_by(started + timeout);
        (delivered, started.elapsed())
    })
}

#[test]
fn envelopes_go_through_the_forward_proxy_of_the_network_settings() {
    let sentry = SentryReceiver::start().unwrap();
    let proxy = ForwardProxy::start().unwrap();
    let network = network(&[("http_proxy", proxy.url_with_credentials("loader", "pr0xy-pa55"))]);

    let (delivered, _) = send_and_close(options(&sentry.dsn(), network), 1, WAIT);

    assert!(delivered);
    let passed = proxy.requests();
    assert_eq!(passed.len(), 1);
    assert!(passed[0].passed);
    assert_eq!(passed[0].method, "POST");
    assert_eq!(passed[0].target, format!("{}/api/42/envelope/", sentry.url()));
    // base64("loader:pr0xy-pa55")
    assert_eq!(passed[0].proxy_authorization.as_deref(), Some("Basic bG9hZGVyOnByMHh5LXBhNTU="));
    let requests = sentry.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].header("x-sentry-auth").unwrap().contains(&format!("sentry_key={SENTRY_PUBLIC_KEY}")));
    assert_eq!(requests[0].header("proxy-authorization"), None);
    assert_eq!(RawEnvelope::parse(&requests[0].body).unwrap().item_types(), ["event"]);
}

#[test]
fn https_goes_through_a_connect_tunnel_to_a_ca_trusted_by_ssl_cert_file() {
    let ca = TestCa::new().unwrap();
    let sentry = TlsRecorder::start(&ca).unwrap();
    let proxy = ConnectProxy::start().unwrap();
    let network = network(&[("HTTPS_PROXY", proxy.url()), ("SSL_CERT_FILE", ca.ca_file().display().to_string())]);

    let (delivered, _) = send_and_close(options(&dsn_at(&sentry.url()), network), 1, WAIT);

    assert!(delivered);
    let tunnels = proxy.requests();
    assert_eq!(tunnels.len(), 1);
    assert_eq!((tunnels[0].method.as_str(), tunnels[0].target.clone()), ("CONNECT", sentry.addr().to_string()));
    assert_eq!(sentry.requests().len(), 1);
    assert_eq!(sentry.requests()[0].path, "/api/42/envelope/");
}

#[test]
fn without_the_ca_nothing_is_sent_and_the_handshake_fails() {
    let ca = TestCa::new().unwrap();
    let sentry = TlsRecorder::start(&ca).unwrap();

    let (_, took) = send_and_close(options(&dsn_at(&sentry.url()), NetworkEnv::default()), 1, WAIT);

    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(sentry.wait_for_handshake_failures(1, WAIT));
    assert!(sentry.requests().is_empty());
}

#[test]
fn no_proxy_bypasses_the_proxy() {
    let sentry = SentryReceiver::start().unwrap();
    let proxy = ForwardProxy::start().unwrap();
    let network = network(&[("HTTP_PROXY", proxy.url()), ("NO_PROXY", "example.com, 127.0.0.1".to_owned())]);

    let (delivered, _) = send_and_close(options(&sentry.dsn(), network), 1, WAIT);

    assert!(delivered);
    assert!(proxy.requests().is_empty());
    assert_eq!(sentry.requests().len(), 1);
}

#[test]
fn a_refusing_dsn_host_does_not_hold_close_until_its_deadline() {
    let mut options = options(&dsn_at(&refusing_url().unwrap()), NetworkEnv::default());
    options.queue_capacity = 100;
    let deadline = Duration::from_secs(60);

    let (_, took) = send_and_close(options, 50, deadline);

    assert!(took < Duration::from_secs(10), "close took {took:?} of its {deadline:?}");
}

#[test]
fn a_512_mib_answer_is_not_read() {
    for server in [HugeBodyServer::start(HUGE).unwrap(), HugeBodyServer::start_chunked(HUGE).unwrap()] {
        let (delivered, took) = send_and_close(options(&dsn_at(&server.url()), NetworkEnv::default()), 1, WAIT);

        assert!(delivered, "a 200 is delivered whatever its body");
        assert!(took < Duration::from_secs(5), "took {took:?}");
        let sent = server.bytes_sent();
        assert!(sent < SENT_AT_MOST, "the server wrote {sent} bytes of its answer");
    }
}

#[test]
fn a_proxy_password_never_shows_in_the_options() {
    let network = network(&[("HTTPS_PROXY", "http://loader:pr0xy-pa55@127.0.0.1:3128".to_owned())]);
    let options = options("https://publickey@o1.ingest.example.com/42", network);
    let shown = format!("{options:?}");
    assert!(!shown.contains("pr0xy-pa55"), "{shown}");
    assert!(!shown.contains("loader"), "{shown}");
    assert!(shown.contains("http://***@127.0.0.1:3128"), "{shown}");
}
