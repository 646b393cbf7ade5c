//! Proxies come from the lookup, and only from it: the forward proxy for `http://`, a `CONNECT`
//! tunnel for `https://`, `NO_PROXY` bypassing both, and no password in any output.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::Duration;

use common::{client, network};
use dlt_http::{Failure, HttpSettings, build_client};
use dlt_test_support::{ConnectProxy, ForwardProxy, Recorder, TestCa, TlsRecorder, refusing_port};

#[tokio::test]
async fn http_goes_through_the_forward_proxy_with_its_credentials() {
    let recorder = Recorder::start().unwrap();
    let proxy = ForwardProxy::start().unwrap();
    let client = client(&[("http_proxy", proxy.url_with_credentials("user", "s3cret"))]);

    let url = format!("{}/v1/track", recorder.url());
    let response = client.post(&url).body("{}").send().await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(proxy.passed(), 1);
    let seen = &proxy.requests()[0];
    assert_eq!((seen.method.as_str(), seen.target.as_str()), ("POST", url.as_str()));
    // base64("user:s3cret")
    assert_eq!(seen.proxy_authorization.as_deref(), Some("Basic dXNlcjpzM2NyZXQ="));
    let delivered = recorder.requests();
    assert_eq!(delivered.len(), 1);
    assert_eq!((delivered[0].path.as_str(), delivered[0].body.as_slice()), ("/v1/track", &b"{}"[..]));
    assert_eq!(delivered[0].header("proxy-authorization"), None, "the proxy's credentials stay with the proxy");
}

#[tokio::test]
async fn all_proxy_serves_when_no_specific_proxy_is_set() {
    let recorder = Recorder::start().unwrap();
    let proxy = ForwardProxy::start().unwrap();
    let client = client(&[("ALL_PROXY", proxy.url())]);

    let response = client.get(recorder.url()).send().await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(proxy.passed(), 1);
    assert_eq!(recorder.requests().len(), 1);
}

#[tokio::test]
async fn https_goes_through_a_connect_tunnel_to_a_ca_trusted_by_ssl_cert_file() {
    let ca = TestCa::new().unwrap();
    let recorder = TlsRecorder::start(&ca).unwrap();
    let proxy = ConnectProxy::start().unwrap();
    let client = client(&[("HTTPS_PROXY", proxy.url()), ("SSL_CERT_FILE", ca.ca_file().display().to_string())]);

    let response = client.post(format!("{}/v1/batch", recorder.url())).body("[]").send().await.unwrap();

    assert_eq!(response.status(), 200);
    let tunnels = proxy.requests();
    assert_eq!(tunnels.len(), 1);
    assert_eq!((tunnels[0].method.as_str(), tunnels[0].target.clone()), ("CONNECT", recorder.addr().to_string()));
    assert!(tunnels[0].passed);
    assert_eq!(recorder.requests().len(), 1);
    assert_eq!(recorder.requests()[0].body, b"[]");
}

#[tokio::test]
async fn no_proxy_bypasses_both_proxies() {
    let ca = TestCa::new().unwrap();
    let plain = Recorder::start().unwrap();
    let tls = TlsRecorder::start(&ca).unwrap();
    let forward = ForwardProxy::start().unwrap();
    let connect = ConnectProxy::start().unwrap();
    let client = client(&[
        ("http_proxy", forward.url()),
        ("https_proxy", connect.url()),
        ("NO_PROXY", "example.com, 127.0.0.1".to_owned()),
        ("SSL_CERT_FILE", ca.ca_file().display().to_string()),
    ]);

    assert_eq!(client.get(plain.url()).send().await.unwrap().status(), 200);
    assert_eq!(client.get(tls.url()).send().await.unwrap().status(), 200);

    assert_eq!((plain.requests().len(), tls.requests().len()), (1, 1));
    assert!(forward.requests().is_empty());
    assert!(connect.requests().is_empty());
}

#[tokio::test]
async fn a_proxy_password_never_shows_in_settings_client_or_errors() {
    let proxy = format!("http://user:hunter2@127.0.0.1:{}", refusing_port().unwrap());
    let settings = HttpSettings::new(network(&[("HTTPS_PROXY", proxy.clone()), ("http_proxy", proxy)]));
    let client = build_client(&settings).unwrap();

    let error = client.get("https://127.0.0.1:9/").send().await.unwrap_err();

    assert_eq!(Failure::of(&error), Failure::Refused, "the proxy refused: {error:?}");
    let mut shown = vec![format!("{settings:?}"), settings.network().to_string(), format!("{client:?}")];
    shown.push(format!("{error:?}"));
    let mut source: Option<&dyn std::error::Error> = Some(&error);
    while let Some(error) = source {
        shown.push(error.to_string());
        source = error.source();
    }
    for text in shown {
        assert!(!text.contains("hunter2") && !text.contains("user:"), "{text}");
    }
    assert!(settings.network().to_string().contains("http://***@127.0.0.1"));
}

/// The child half of the test below: runs only when the parent started it.
fn child_request() -> Option<()> {
    let mode = std::env::var("DLT_HTTP_CHILD").ok()?;
    let target = std::env::var("DLT_HTTP_TARGET").unwrap();
    let network = match mode.as_str() {
        "lookup" => network(&[]),
        "process" => dlt_http::NetworkEnv::from_process(),
        other => panic!("unknown mode {other}"),
    };
    let client = build_client(&HttpSettings::new(network)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let status = runtime.block_on(async { client.get(&target).send().await.unwrap().status() });
    assert_eq!(status, 200);
    Some(())
}

#[test]
fn proxies_in_the_process_environment_are_used_only_through_from_process() {
    if child_request().is_some() {
        return;
    }
    let recorder = Recorder::start().unwrap();
    let proxy = ForwardProxy::start().unwrap();
    let run_child = |mode: &str| {
        let status = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "proxies_in_the_process_environment_are_used_only_through_from_process"])
            .args(["--test-threads", "1", "--nocapture"])
            .env_clear()
            .env("http_proxy", proxy.url())
            .env("HTTP_PROXY", proxy.url())
            .env("ALL_PROXY", proxy.url())
            .env("DLT_HTTP_CHILD", mode)
            .env("DLT_HTTP_TARGET", recorder.url())
            .status()
            .unwrap();
        assert!(status.success(), "child {mode}: {status}");
    };

    run_child("lookup");
    assert_eq!(recorder.requests().len(), 1);
    assert!(proxy.requests().is_empty(), "reqwest read the process environment");

    run_child("process");
    assert!(recorder.wait_for(2, Duration::from_secs(5)));
    assert_eq!(proxy.passed(), 1, "from_process did not read http_proxy");
}
