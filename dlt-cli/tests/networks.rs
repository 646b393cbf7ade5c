//! Real networks, as users meet them: proxies (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`, as curl
//! reads them) and a company's own CA trusted through `SSL_CERT_FILE`, for the command's own
//! delivery and for its detached sender. Only loopback servers; no DNS query.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Machine, stderr, stdout};
use dlt_test_support::{ConnectProxy, ForwardProxy, TestCa, TlsRecorder};

#[test]
fn delivery_goes_through_the_proxy_unless_no_proxy_says_otherwise() {
    let machine = Machine::new();
    let proxy = ForwardProxy::start().unwrap();
    let through = [("http_proxy", proxy.url())];
    let through: Vec<(&str, &str)> = through.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert!(machine.dlt(&["telemetry"], &through).status.success());
    assert_eq!(proxy.passed(), 1, "through the proxy");
    assert_eq!(machine.endpoint.requests().len(), 1);

    let mut bypass = through.clone();
    bypass.push(("NO_PROXY", "127.0.0.1"));
    assert!(machine.dlt(&["telemetry"], &bypass).status.success());
    assert_eq!(proxy.passed(), 1, "NO_PROXY bypasses it");
    assert_eq!(machine.endpoint.requests().len(), 2);
}

#[test]
fn the_detached_sender_uses_the_proxy_of_the_command_that_started_it() {
    let machine = Machine::new();
    let proxy = ForwardProxy::start().unwrap();
    let vars = [("HTTP_PROXY", proxy.url())];
    let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert!(machine.dlt_detached(&["telemetry"], &vars).status.success());
    assert!(machine.endpoint.wait_for(1, Duration::from_secs(10)));
    assert!(proxy.wait_for(1, Duration::from_secs(5)));
    assert_eq!(proxy.passed(), 1);
}

#[test]
fn a_company_ca_is_trusted_through_ssl_cert_file_even_behind_a_connect_proxy() {
    let machine = Machine::new();
    let ca = TestCa::new().unwrap();
    let endpoint = TlsRecorder::start(&ca).unwrap();
    let url = format!("{}/v1/track", endpoint.url());
    let proxy = ConnectProxy::start().unwrap();
    let ca_file = ca.ca_file().display().to_string();
    let vars = [
        ("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", url.as_str()),
        ("SSL_CERT_FILE", ca_file.as_str()),
        ("HTTPS_PROXY", &proxy.url()),
    ];
    assert!(machine.dlt(&["telemetry"], &vars).status.success());
    assert_eq!(endpoint.requests().len(), 1, "delivered over TLS");
    assert_eq!(proxy.passed(), 1, "through the tunnel");

    // Without the CA the certificate is not trusted: nothing is sent, the message is kept, and
    // the failure is shown. No certificate check is ever switched off.
    let untrusted = [("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", url.as_str())];
    assert!(machine.dlt(&["telemetry"], &untrusted).status.success());
    assert_eq!(endpoint.requests().len(), 1);
    // The server counts the failed handshake on its own thread, maybe after the command ended.
    assert!(endpoint.wait_for_handshake_failures(1, Duration::from_secs(5)));
    assert_eq!(machine.waiting().0, 1, "the message is kept");
    let shown = stdout(&machine.dlt(&["telemetry"], &[("RUNTIME__DLTHUB_TELEMETRY", "false")]));
    assert!(shown.contains("last delivery error: ") && shown.contains("TLS"), "{shown}");
}

#[test]
fn a_proxy_password_is_never_printed() {
    let machine = Machine::new();
    let proxy = ForwardProxy::start().unwrap();
    let with_password = proxy.url_with_credentials("corp", "pr0xy;pa,ss");
    let output = machine.dlt(&["telemetry", "--json"], &[("http_proxy", &with_password)]);
    assert!(output.status.success());
    let everything = format!("{}{}", stdout(&output), stderr(&output));
    assert!(!everything.contains("pr0xy"), "{everything}");
    assert_eq!(proxy.requests()[0].proxy_authorization.as_deref().map(|auth| auth.starts_with("Basic ")), Some(true));

    // A proxy variable that is not a URL: one line naming the variable, never its value.
    let output = machine.dlt(&["telemetry"], &[("HTTPS_PROXY", "http://corp:pr0xy;pa,ss@host:99999")]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let error = stderr(&output);
    assert_eq!(error.lines().count(), 1, "{error}");
    assert!(error.contains("HTTPS_PROXY") && !error.contains("pr0xy"), "{error}");
}
