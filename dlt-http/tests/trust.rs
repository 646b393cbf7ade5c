//! Certificates are always checked: a CA made at test time is trusted when `SSL_CERT_FILE` or
//! `SSL_CERT_DIR` (from the lookup) name it, and nothing is delivered when it is not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{client, network};
use dlt_http::test_util::StaticResolver;
use dlt_http::{Failure, HttpSettings, build_client};
use dlt_test_support::{TestCa, TlsRecorder};

#[tokio::test]
async fn a_ca_named_by_ssl_cert_file_is_trusted() {
    let ca = TestCa::new().unwrap();
    let recorder = TlsRecorder::start(&ca).unwrap();
    let client = client(&[("SSL_CERT_FILE", ca.ca_file().display().to_string())]);

    let response = client.post(recorder.url()).body("hello").send().await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(recorder.requests()[0].body, b"hello");
}

#[tokio::test]
async fn a_ca_in_a_folder_of_ssl_cert_dir_is_trusted() {
    let ca = TestCa::new().unwrap();
    let recorder = TlsRecorder::start(&ca).unwrap();
    let missing = ca.path().join("missing");
    let dirs = format!("{}:{}", missing.display(), ca.ca_dir().display());
    let client = client(&[("SSL_CERT_DIR", dirs)]);

    assert_eq!(client.get(recorder.url()).send().await.unwrap().status(), 200);
    assert_eq!(recorder.requests().len(), 1);
}

#[tokio::test]
async fn an_untrusted_ca_is_a_tls_failure_and_nothing_is_delivered() {
    let ca = TestCa::new().unwrap();
    let other_ca = TestCa::new().unwrap();
    let recorder = TlsRecorder::start(&ca).unwrap();

    for pairs in [vec![], vec![("SSL_CERT_FILE", other_ca.ca_file().display().to_string())]] {
        let error = client(&pairs).post(recorder.url()).body("secret").send().await.unwrap_err();
        assert_eq!(Failure::of(&error), Failure::Tls, "{error:?}");
        assert!(!Failure::of(&error).may_succeed_on_retry());
    }

    assert!(recorder.wait_for_handshake_failures(2, Duration::from_secs(5)));
    assert!(recorder.requests().is_empty());
}

#[tokio::test]
async fn a_trusted_certificate_for_another_name_is_a_tls_failure() {
    let ca = TestCa::new().unwrap();
    let recorder = TlsRecorder::start(&ca).unwrap();
    let resolver = StaticResolver::new().with("telemetry.test", recorder.addr()).shared();
    let network = network(&[("SSL_CERT_FILE", ca.ca_file().display().to_string())]);
    let client = build_client(&HttpSettings::new(network).with_resolver(resolver)).unwrap();

    let url = format!("https://telemetry.test:{}/", recorder.addr().port());
    let error = client.get(url).send().await.unwrap_err();

    assert_eq!(Failure::of(&error), Failure::Tls, "{error:?}");
    assert!(recorder.wait_for_handshake_failures(1, Duration::from_secs(5)));
    assert!(recorder.requests().is_empty());
}

#[tokio::test]
async fn a_trust_file_that_cannot_be_used_stops_the_build_and_names_the_file() {
    let ca = TestCa::new().unwrap();
    let missing = ca.path().join("missing.pem");
    let error = build_client(&HttpSettings::new(network(&[("SSL_CERT_FILE", missing.display().to_string())])))
        .unwrap_err()
        .to_string();
    assert_eq!(error, format!("SSL_CERT_FILE={}: not found", missing.display()));
}
