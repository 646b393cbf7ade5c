//! Loopback endpoints, options and messages shared by the integration tests.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code, unreachable_pub)]

use std::path::Path;
use std::time::Duration;

use dlt_redact::HttpUrl;
use dlt_segment::{HandoffTransport, RetryPolicy, SegmentOptions, Transport};
use dlt_telemetry_model::{AnonymousId, AnonymousMessage, EventCategory, TrackMessage};
use dlt_test_support::{HangingServer, Recorder, test_context};
use serde_json::{Map, Value};

/// Every message `server` received, in order, from single or batch requests.
pub fn messages(server: &Recorder) -> Vec<Value> {
    server.requests().iter().flat_map(|request| request.message_values().unwrap()).collect()
}

/// A server that accepts connections and never answers; its URL is a batch endpoint.
pub fn hanging_server() -> (String, HangingServer) {
    let server = HangingServer::start().unwrap();
    (format!("{}/v1/batch", server.url()), server)
}

/// A batch endpoint on a loopback port nothing listens on.
pub fn closed_port_url() -> String {
    format!("{}/v1/batch", dlt_test_support::refusing_url().unwrap())
}

/// Options for tests: quick retries, generous request timeouts (the deadline is what cuts).
pub fn options(endpoint: impl AsRef<str>) -> SegmentOptions {
    let mut options = SegmentOptions::new(HttpUrl::parse(endpoint.as_ref()).unwrap(), "dlt/0.1.0");
    options.retry = RetryPolicy::segment()
        .with_max_attempts(5)
        .with_backoff(Duration::from_millis(10), Duration::from_millis(100))
        .with_max_retry_after(Duration::from_secs(5));
    options.http = options.http.with_request_timeout(Duration::from_secs(30));
    options
}

/// `options` with one request in flight at a time, for tests of the order requests arrive in:
/// of several in flight on their own connections, which one the server reads first is the
/// scheduler's choice, not the sender's.
pub fn one_at_a_time(mut options: SegmentOptions) -> SegmentOptions {
    options.concurrency = 1;
    options
}

/// Every message waiting in the outboxes under `telemetry_dir`, every recipient's and of every
/// opt-out counter, one per line (a message both waiting and claimed counts twice).
pub fn read_outbox(telemetry_dir: &Path) -> std::io::Result<Vec<TrackMessage>> {
    let mut messages = Vec::new();
    let Ok(folders) = std::fs::read_dir(telemetry_dir.join("outbox")) else { return Ok(messages) };
    for folder in folders {
        for file in std::fs::read_dir(folder?.path())? {
            let path = file?.path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let outbox_or_claim = name.starts_with("outbox-") || name.starts_with("claimed-");
            if outbox_or_claim && name.ends_with(".jsonl") {
                for line in std::fs::read_to_string(&path)?.lines().filter(|line| !line.is_empty()) {
                    messages.push(serde_json::from_str(line).unwrap());
                }
            }
        }
    }
    Ok(messages)
}

/// Leaves `messages` in the outbox of the options' recipient, without any network.
pub fn handed_off(mut options: SegmentOptions, messages: impl IntoIterator<Item = AnonymousMessage>) {
    options.queue_capacity = usize::MAX;
    let handoff = HandoffTransport::new(options).unwrap();
    for message in messages {
        handoff.track(message);
    }
    let report = handoff.shutdown(std::time::Instant::now());
    assert_eq!(report.lost, 0);
}

/// A message whose `properties.index` tells it apart.
pub fn message(index: usize) -> AnonymousMessage {
    message_with(index, Map::new())
}

/// A message whose `properties.index` tells it apart, with `extra` properties after it.
pub fn message_with(index: usize, extra: Map<String, Value>) -> AnonymousMessage {
    let mut properties = Map::new();
    properties.insert("index".into(), index.into());
    properties.insert("elapsed".into(), 0.25.into());
    properties.insert("success".into(), true.into());
    properties.extend(extra);
    let id = AnonymousId::from_random_bytes([0x93; 16]);
    AnonymousMessage::from_properties(EventCategory::Command, "telemetry", properties, id, &test_context()).unwrap()
}

/// The `properties.index` of each message, sorted.
pub fn indexes<'a>(messages: impl IntoIterator<Item = &'a Value>) -> Vec<u64> {
    let mut indexes: Vec<u64> = messages.into_iter().map(|m| m["properties"]["index"].as_u64().unwrap()).collect();
    indexes.sort_unstable();
    indexes
}

/// The `properties.index` of each parsed message, sorted.
pub fn message_indexes<'a>(messages: impl IntoIterator<Item = &'a TrackMessage>) -> Vec<u64> {
    let mut indexes: Vec<u64> = messages.into_iter().map(|m| m.properties["index"].as_u64().unwrap()).collect();
    indexes.sort_unstable();
    indexes
}
