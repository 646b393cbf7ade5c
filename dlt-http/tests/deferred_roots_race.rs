//! Many first handshakes at once, racing the one read of the OS certificate store: each is
//! judged by the webpki verifier (an unknown CA: `UnknownIssuer`, never a failure to set the
//! verifier up), and nothing is delivered. The one test of this binary, so that nothing else in
//! its process has read the store before.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::error::Error;
use std::io;
use std::time::Duration;

use common::client;
use dlt_http::Failure;
use dlt_http::test_util::os_store_read;
use dlt_test_support::{TestCa, TlsRecorder};

/// The first `rustls::Error` in `error`'s chain (an `io::Error` wrapping one is opened too).
fn rustls_error(error: &(dyn Error + 'static)) -> Option<rustls::Error> {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(found) = error.downcast_ref::<rustls::Error>() {
            return Some(found.clone());
        }
        if let Some(found) =
            error.downcast_ref::<io::Error>().and_then(io::Error::get_ref).and_then(|inner| rustls_error(inner))
        {
            return Some(found);
        }
        current = error.source();
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 8)]
async fn first_handshakes_racing_the_store_read_are_all_refused_by_webpki() {
    const CLIENTS: usize = 32;
    let ca = TestCa::new().unwrap();
    let tls = TlsRecorder::start(&ca).unwrap();
    let clients: Vec<reqwest::Client> = (0..CLIENTS).map(|_| client(&[])).collect();
    assert!(!os_store_read(), "building clients read the OS store");

    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(CLIENTS));
    let mut tasks = tokio::task::JoinSet::new();
    for client in clients {
        let (url, barrier) = (tls.url(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            client.post(url).body("secret").send().await
        });
    }
    while let Some(result) = tasks.join_next().await {
        let error = result.unwrap().unwrap_err();
        assert_eq!(Failure::of(&error), Failure::Tls, "{error:?}");
        assert_eq!(
            rustls_error(&error),
            Some(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)),
            "{error:?}"
        );
    }
    assert!(os_store_read());
    assert!(tls.wait_for_handshake_failures(CLIENTS, Duration::from_secs(10)));
    assert!(tls.requests().is_empty());
}
