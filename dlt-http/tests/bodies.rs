//! Response bodies are never read past the cap: a server answering 200 with 512 MiB costs the
//! client at most the cap.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::client;
use dlt_http::{BodyError, DEFAULT_BODY_CAP, read_body_capped};
use dlt_test_support::{Answer, HugeBodyServer, Recorder};

const HUGE: u64 = 512 * 1024 * 1024;
/// Far below the huge body: what kernel buffers and one read buffer may hold.
const FAR_BELOW: u64 = 64 * 1024 * 1024;

/// The process's peak resident memory, in bytes (Linux).
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[tokio::test]
async fn a_huge_body_announced_by_content_length_is_refused_before_reading() {
    let server = HugeBodyServer::start(HUGE).unwrap();
    let before = peak_rss();

    let response = client(&[]).get(server.url()).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let error = read_body_capped(response, DEFAULT_BODY_CAP).await.unwrap_err();

    assert!(matches!(error, BodyError::TooLarge { cap: DEFAULT_BODY_CAP }), "{error:?}");
    assert!(server.bytes_sent() < FAR_BELOW, "{} bytes sent", server.bytes_sent());
    if let (Some(before), Some(after)) = (before, peak_rss()) {
        assert!(after.saturating_sub(before) < FAR_BELOW, "peak RSS grew by {} bytes", after - before);
    }
}

#[tokio::test]
async fn a_huge_chunked_body_is_read_only_up_to_the_cap() {
    let server = HugeBodyServer::start_chunked(HUGE).unwrap();
    let before = peak_rss();

    let response = client(&[]).get(server.url()).send().await.unwrap();
    let error = read_body_capped(response, DEFAULT_BODY_CAP).await.unwrap_err();

    assert!(matches!(error, BodyError::TooLarge { .. }), "{error:?}");
    assert!(server.bytes_sent() < FAR_BELOW, "{} bytes sent", server.bytes_sent());
    if let (Some(before), Some(after)) = (before, peak_rss()) {
        assert!(after.saturating_sub(before) < FAR_BELOW, "peak RSS grew by {} bytes", after - before);
    }
}

#[tokio::test]
async fn a_body_of_exactly_the_cap_is_read_and_one_byte_more_is_not() {
    let cap = 1000;
    for (size, fits) in [(cap as u64, true), (cap as u64 + 1, false)] {
        for server in [HugeBodyServer::start(size).unwrap(), HugeBodyServer::start_chunked(size).unwrap()] {
            let response = client(&[]).get(server.url()).send().await.unwrap();
            let body = read_body_capped(response, cap).await;
            assert_eq!(body.as_ref().map(|body| body.len()).ok(), fits.then_some(cap), "{size}: {body:?}");
        }
    }
}

#[tokio::test]
async fn a_small_body_is_read_whole() {
    let recorder = Recorder::with_answer(Answer::status(400).with_body("{\"code\":\"bad\"}")).unwrap();
    let response = client(&[]).get(recorder.url()).send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(read_body_capped(response, DEFAULT_BODY_CAP).await.unwrap(), "{\"code\":\"bad\"}");
}
