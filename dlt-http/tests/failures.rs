//! Each kind of failure is classified, so transports know what not to retry at exit; no
//! redirect is followed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io;
use std::time::{Duration, Instant};

use common::{client, network};
use dlt_http::test_util::{FailingResolver, StaticResolver};
use dlt_http::{Failure, HttpSettings, build_client};
use dlt_test_support::{Answer, ConnectProxy, Fault, FaultProxy, HangingServer, Recorder, refusing_port, refusing_url};
use reqwest::dns::{Name, Resolve, Resolving};

#[tokio::test]
async fn a_port_nothing_listens_on_is_refused() {
    let error = client(&[]).get(refusing_url().unwrap()).send().await.unwrap_err();
    assert_eq!(Failure::of(&error), Failure::Refused, "{error:?}");
    assert!(!Failure::of(&error).may_succeed_on_retry());
}

#[tokio::test]
async fn a_name_that_does_not_resolve_is_unresolvable_without_a_dns_query() {
    let settings = HttpSettings::new(network(&[])).with_resolver(FailingResolver::shared());
    let error = build_client(&settings).unwrap().get("http://telemetry.example/").send().await.unwrap_err();
    assert_eq!(Failure::of(&error), Failure::Unresolvable, "{error:?}");
    assert!(!Failure::of(&error).may_succeed_on_retry());
}

/// A resolver failing the way the system's does: a plain I/O error.
struct SystemLikeFailure;

impl Resolve for SystemLikeFailure {
    fn resolve(&self, _name: Name) -> Resolving {
        Box::pin(async {
            Err(Box::new(io::Error::other("failed to lookup address information"))
                as Box<dyn std::error::Error + Send + Sync>)
        })
    }
}

#[tokio::test]
async fn any_resolver_failure_is_unresolvable() {
    let settings = HttpSettings::new(network(&[])).with_resolver(std::sync::Arc::new(SystemLikeFailure));
    let error = build_client(&settings).unwrap().get("http://telemetry.example/").send().await.unwrap_err();
    assert_eq!(Failure::of(&error), Failure::Unresolvable, "{error:?}");
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_request_timeout() {
    let server = HangingServer::start().unwrap();
    let settings = HttpSettings::new(network(&[])).with_request_timeout(Duration::from_millis(200));
    let client = build_client(&settings).unwrap();

    let started = Instant::now();
    let error = client.post(server.url()).body("{}").send().await.unwrap_err();

    assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    assert_eq!(Failure::of(&error), Failure::Timeout, "{error:?}");
    assert!(Failure::of(&error).may_succeed_on_retry());
    assert_eq!(server.connections(), 1);
}

#[tokio::test]
async fn a_reset_connection_is_other_and_worth_a_retry() {
    let recorder = Recorder::start().unwrap();
    let proxy = FaultProxy::start(recorder.addr(), Fault::Reset).unwrap();

    let error = client(&[]).post(proxy.url()).body("{}").send().await.unwrap_err();

    assert_eq!(Failure::of(&error), Failure::Other, "{error:?}");
    assert!(Failure::of(&error).may_succeed_on_retry());
    assert!(recorder.requests().is_empty());
}

#[tokio::test]
async fn a_proxy_that_cannot_reach_the_target_is_other() {
    let proxy = ConnectProxy::start().unwrap();
    let client = client(&[("https_proxy", proxy.url())]);

    let error = client.get(format!("https://127.0.0.1:{}/", refusing_port().unwrap())).send().await.unwrap_err();

    assert_eq!(Failure::of(&error), Failure::Other, "{error:?}");
    assert_eq!(proxy.requests().len(), 1);
    assert!(!proxy.requests()[0].passed);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let elsewhere = Recorder::start().unwrap();
    let recorder =
        Recorder::with_answer(Answer::status(307).with_header("Location", format!("{}/stolen", elsewhere.url())))
            .unwrap();
    let client = client(&[]);

    let response = client.post(recorder.url()).header("Authorization", "Basic a2V5Og==").send().await.unwrap();

    assert_eq!(response.status(), 307);
    assert_eq!(recorder.requests().len(), 1);
    assert!(elsewhere.requests().is_empty());
}

#[tokio::test]
async fn a_static_resolver_reaches_a_named_loopback_endpoint() {
    let recorder = Recorder::start().unwrap();
    let resolver = StaticResolver::new().with("telemetry.test", recorder.addr()).shared();
    let client = build_client(&HttpSettings::new(network(&[])).with_resolver(resolver)).unwrap();

    let response = client.get(format!("http://telemetry.test:{}/x", recorder.addr().port())).send().await.unwrap();

    assert_eq!(response.status(), 200);
    assert_eq!(
        recorder.requests()[0].header("host"),
        Some(format!("telemetry.test:{}", recorder.addr().port()).as_str())
    );
}

#[tokio::test]
async fn the_user_agent_is_sent_and_an_invalid_one_is_refused_without_echo() {
    let recorder = Recorder::start().unwrap();
    let client = build_client(&HttpSettings::new(network(&[])).with_user_agent("dlt/0.1.0")).unwrap();
    client.get(recorder.url()).send().await.unwrap();
    assert_eq!(recorder.requests()[0].header("user-agent"), Some("dlt/0.1.0"));

    let error = build_client(&HttpSettings::default().with_user_agent("dlt\nsecret")).unwrap_err().to_string();
    assert_eq!(error, "the user agent is not a valid HTTP header value");
}
