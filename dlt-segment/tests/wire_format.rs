//! What goes over the wire: dlt's shape (golden captures of dlt 1.31), headers, the single and
//! batch APIs and Segment's limits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use dlt_segment::{BatchLimits, OutboxOptions, SegmentClient, Transport, WriteKey};
use dlt_telemetry_model::{AnonymousMessage, TrackMessage};
use dlt_test_support::Recorder;
use serde_json::{Map, Value};
use support::{indexes, message, message_with, messages, one_at_a_time, options};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const SEGMENT_FIELDS: [&str; 4] = ["type", "messageId", "timestamp", "sentAt"];

struct Golden {
    name: String,
    path: String,
    headers: Vec<(String, String)>,
    body_raw: String,
}

impl Golden {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key.eq_ignore_ascii_case(name)).map(|(_, value)| value.as_str())
    }

    /// The write key behind the captured `Authorization: Basic base64(key + ":")`.
    fn write_key(&self) -> Option<WriteKey> {
        let encoded = self.header("Authorization")?.strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(encoded).unwrap()).unwrap();
        Some(WriteKey::new(decoded.strip_suffix(':').unwrap()))
    }
}

fn goldens() -> Vec<Golden> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/golden/segment/dlt-1.31"));
    let mut goldens: Vec<Golden> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let capture: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            Golden {
                name: path.file_name().unwrap().to_string_lossy().into_owned(),
                path: capture["request"]["path"].as_str().unwrap().to_owned(),
                headers: capture["request"]["headers"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|pair| (pair[0].as_str().unwrap().to_owned(), pair[1].as_str().unwrap().to_owned()))
                    .collect(),
                body_raw: capture["body_raw"].as_str().unwrap().to_owned(),
            }
        })
        .collect();
    goldens.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(goldens.len() >= 10, "golden captures missing in {}", dir.display());
    goldens
}

/// The message without Segment's four fields, serialised with its key order.
fn without_segment_fields(message: &Value) -> String {
    let mut message = message.as_object().unwrap().clone();
    for field in SEGMENT_FIELDS {
        message.shift_remove(field);
    }
    serde_json::to_string(&message).unwrap()
}

fn keys(value: &Value) -> Vec<&str> {
    value.as_object().unwrap().keys().map(String::as_str).collect()
}

fn assert_segment_fields(message: &Value) {
    assert_eq!(message["type"], "track");
    let id = uuid::Uuid::parse_str(message["messageId"].as_str().unwrap()).unwrap();
    assert_eq!(id.get_version_num(), 4);
    OffsetDateTime::parse(message["timestamp"].as_str().unwrap(), &Rfc3339).unwrap();
    OffsetDateTime::parse(message["sentAt"].as_str().unwrap(), &Rfc3339).unwrap();
}

#[test]
fn single_endpoint_posts_each_golden_message_as_dlt_does_plus_segment_fields() {
    for golden in goldens() {
        let server = Recorder::start().unwrap();
        let mut options = options(server.url() + &golden.path);
        options.user_agent = golden.header("User-Agent").unwrap().to_owned();
        options.write_key = golden.write_key();
        let client = SegmentClient::start(options).unwrap();
        let sent: TrackMessage = serde_json::from_str(&golden.body_raw).unwrap();
        client.track(AnonymousMessage::screen(sent).unwrap());
        assert!(client.flush(Duration::from_secs(10)), "{}", golden.name);

        let requests = server.requests();
        assert_eq!(requests.len(), 1, "{}", golden.name);
        let request = &requests[0];
        assert_eq!(request.method.as_str(), "POST");
        assert_eq!(request.path, golden.path);
        for header in ["User-Agent", "Content-Type", "Authorization"] {
            assert_eq!(request.header(header), golden.header(header), "{}: header {header}", golden.name);
        }
        let content_length = request.header("Content-Length").unwrap();
        assert_eq!(content_length, request.body.len().to_string());

        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let golden_body: Value = serde_json::from_str(&golden.body_raw).unwrap();
        let dlt_keys = keys(&golden_body);
        let body_keys = keys(&body);
        let (ours, added) = body_keys.split_at(dlt_keys.len());
        assert_eq!(ours, dlt_keys, "{}: dlt's fields first, in dlt's order", golden.name);
        assert_eq!(added, SEGMENT_FIELDS, "{}: then Segment's fields, in order", golden.name);
        assert_eq!(without_segment_fields(&body), serde_json::to_string(&golden_body).unwrap(), "{}", golden.name);
        assert_segment_fields(&body);
    }
}

#[test]
fn batch_endpoint_carries_the_same_messages_in_an_envelope() {
    let goldens = goldens();
    let server = Recorder::start().unwrap();
    let client = SegmentClient::start(one_at_a_time(options(server.url() + "/v1/batch"))).unwrap();
    for golden in &goldens {
        client.track(AnonymousMessage::screen(serde_json::from_str(&golden.body_raw).unwrap()).unwrap());
    }
    assert!(client.flush(Duration::from_secs(10)));

    let requests = server.requests();
    let mut received = Vec::new();
    for request in &requests {
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(keys(&body), ["batch", "sentAt"]);
        let sent_at = body["sentAt"].as_str().unwrap();
        for message in body["batch"].as_array().unwrap() {
            assert_eq!(message["sentAt"], sent_at, "each message carries the attempt's sentAt");
            assert_segment_fields(message);
            received.push(without_segment_fields(message));
        }
    }
    let expected: Vec<String> = goldens
        .iter()
        .map(|golden| serde_json::to_string(&serde_json::from_str::<Value>(&golden.body_raw).unwrap()).unwrap())
        .collect();
    assert_eq!(received, expected, "every message, in order, unchanged");
}

#[test]
fn a_message_keeps_its_message_id_and_timestamp() {
    let server = Recorder::start().unwrap();
    let client = SegmentClient::start(options(server.url() + "/track")).unwrap();
    let mut given = message(1).into_message();
    given.message_id = Some("5f6d3c4e-2b1a-4c8d-9e7f-0a1b2c3d4e5f".into());
    given.timestamp = Some(time::macros::datetime!(2026-11-25 14:11:27.305 UTC));
    client.track(AnonymousMessage::screen(given).unwrap());
    assert!(client.flush(Duration::from_secs(10)));
    let received = messages(&server);
    assert_eq!(received[0]["messageId"], "5f6d3c4e-2b1a-4c8d-9e7f-0a1b2c3d4e5f");
    assert_eq!(received[0]["timestamp"], "2026-11-25T14:11:27.305Z");
}

#[test]
fn a_plain_endpoint_gets_one_message_per_post_in_order() {
    let server = Recorder::start().unwrap();
    let client = SegmentClient::start(one_at_a_time(options(server.url() + "/"))).unwrap();
    for index in 0..5 {
        client.track(message(index));
    }
    assert!(client.flush(Duration::from_secs(10)));
    let requests = server.requests();
    assert_eq!(requests.len(), 5);
    let order: Vec<u64> = requests
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap()["properties"]["index"].as_u64().unwrap())
        .collect();
    assert_eq!(order, [0, 1, 2, 3, 4]);
    assert_eq!(client.stats().sent, 5);
}

/// An outbox large enough for thousands of messages.
fn large_outbox(dir: &std::path::Path) -> OutboxOptions {
    let mut options = OutboxOptions::new(dir);
    options.max_bytes = 64 * 1024 * 1024;
    options.max_total_bytes = options.max_bytes;
    options
}

/// Leaves `count` messages in the outbox of `endpoint` at `dir`; the next transport for it
/// then has them all at once, before anything else.
fn outbox_holding(dir: &std::path::Path, endpoint: &str, count: usize) {
    support::handed_off(options(endpoint).with_outbox(large_outbox(dir)), (0..count).map(message));
}

#[test]
fn batches_hold_at_most_the_message_count_limit() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let server = Recorder::start().unwrap();
    outbox_holding(dir.path(), &(server.url() + "/v1/batch"), 7);
    let mut options = one_at_a_time(options(server.url() + "/v1/batch")).with_outbox(OutboxOptions::new(dir.path()));
    options.limits.max_batch_messages = 3;
    let client = SegmentClient::start(options).unwrap();
    assert!(client.flush(Duration::from_secs(10)));

    let requests = server.requests();
    let sizes: Vec<usize> = requests.iter().map(|r| r.message_values().unwrap().len()).collect();
    assert_eq!(sizes, [3, 3, 1]);
    let order: Vec<u64> = messages(&server).iter().map(|m| m["properties"]["index"].as_u64().unwrap()).collect();
    assert_eq!(order, (0..7).collect::<Vec<_>>());
}

#[test]
fn batches_fill_up_to_the_byte_limit_and_never_past_it() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let server = Recorder::start().unwrap();
    outbox_holding(dir.path(), &(server.url() + "/v1/batch"), 3_000);
    let client =
        SegmentClient::start(options(server.url() + "/v1/batch").with_outbox(large_outbox(dir.path()))).unwrap();
    assert!(client.flush(Duration::from_secs(30)));
    assert_eq!(client.stats().read_from_outbox, 3_000);

    let limit = BatchLimits::SEGMENT.max_batch_bytes;
    let requests = server.requests();
    assert!(requests.len() >= 3, "3,000 messages of about 400 bytes need at least 3 requests");
    let largest_message = messages(&server).iter().map(|m| serde_json::to_vec(m).unwrap().len()).max().unwrap();
    for (number, request) in requests.iter().enumerate() {
        assert!(request.body.len() <= limit, "request {number}: {} bytes", request.body.len());
    }
    // Batches go a few at once, so they may arrive in any order: all but the one that took
    // the rest are full (the next message would not have fitted).
    let partial = requests.iter().filter(|request| request.body.len() + 1 + largest_message <= limit).count();
    assert_eq!(partial, 1, "exactly one request sent before it was full");
    assert_eq!(client.stats().sent, 3_000);
    assert!(indexes(&messages(&server)).into_iter().eq(0..3_000));
}

#[test]
fn a_message_over_the_size_limit_is_dropped_and_counted_never_sent() {
    let server = Recorder::start().unwrap();
    let client = SegmentClient::start(options(server.url() + "/v1/batch")).unwrap();
    client.track(huge_message(1));
    client.track(message(2));
    assert!(client.flush(Duration::from_secs(10)));
    assert_eq!(indexes(&messages(&server)), [2]);
    let stats = client.stats();
    assert_eq!((stats.dropped_too_large, stats.sent), (1, 1));
}

#[test]
fn a_message_over_the_size_limit_is_not_sent_to_a_plain_endpoint_either() {
    let server = Recorder::start().unwrap();
    let client = SegmentClient::start(options(server.url() + "/")).unwrap();
    client.track(huge_message(1));
    assert!(client.flush(Duration::from_secs(10)));
    assert!(server.requests().is_empty());
    assert_eq!(client.stats().dropped_too_large, 1);
}

#[test]
fn fields_the_model_does_not_know_never_leave() {
    let server = Recorder::start().unwrap();
    let client = SegmentClient::start(options(server.url() + "/v1/batch")).unwrap();
    let mut given = message(1).into_message();
    given.extra = Map::from_iter([("integrations".to_owned(), serde_json::json!({"All": true}))]);
    given.user_id = Some("alice".into());
    client.track(AnonymousMessage::screen(given).unwrap());
    assert!(client.flush(Duration::from_secs(10)));
    let received = &messages(&server)[0];
    assert_eq!((received.get("integrations"), received.get("userId")), (None, None), "{received}");
}

/// A message larger than Segment accepts, though every value in it passes the privacy gate.
fn huge_message(index: usize) -> AnonymousMessage {
    let padding = dlt_test_support::padding(BatchLimits::SEGMENT.max_message_bytes);
    message_with(index, Map::from_iter([("padding".to_owned(), padding)]))
}
