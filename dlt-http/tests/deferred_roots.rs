//! The OS certificate store is read at the first TLS handshake of a client built without
//! `SSL_CERT_FILE` or `SSL_CERT_DIR`, not when the client is built: a host's start pays no
//! file reads for it, and a client that only speaks plain HTTP never reads it. The one test of
//! this binary, so that nothing else in its process has read the store before.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::client;
use dlt_http::Failure;
use dlt_http::test_util::os_store_read;
use dlt_test_support::{Recorder, TestCa, TlsRecorder};

#[tokio::test]
async fn the_os_store_is_read_at_the_first_handshake_not_when_a_client_is_built() {
    let plain = Recorder::start().unwrap();
    let ca = TestCa::new().unwrap();
    let tls = TlsRecorder::start(&ca).unwrap();

    let client = client(&[]);
    assert!(!os_store_read(), "building a client read the OS store");
    assert_eq!(client.post(plain.url()).body("plain").send().await.unwrap().status(), 200);
    assert!(!os_store_read(), "a plain HTTP request read the OS store");

    // The first certificate checked: the store is read, and an unknown CA is still refused.
    let error = client.post(tls.url()).body("secret").send().await.unwrap_err();
    assert_eq!(Failure::of(&error), Failure::Tls, "{error:?}");
    assert!(os_store_read());
    assert!(tls.wait_for_handshake_failures(1, Duration::from_secs(5)));
    assert!(tls.requests().is_empty());
}
