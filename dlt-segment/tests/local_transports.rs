//! The transports that do not use the network: debug sink, no-op and capturing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dlt_segment::{CapturingTransport, DebugTransport, Transport};
use dlt_telemetry_model::TrackMessage;
use serde_json::Value;
use support::message;

/// A writer the test can read back.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A writer that always fails.
struct Broken;

impl Write for Broken {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::other("broken pipe"))
    }

    fn flush(&mut self) -> io::Result<()> {
        Err(io::Error::other("broken pipe"))
    }
}

#[test]
fn the_debug_sink_writes_each_message_as_sent_on_one_line() {
    let output = Shared::default();
    let sink = DebugTransport::new(Box::new(output.clone()));
    sink.track(message(1));
    sink.track(message(2));
    assert!(sink.flush(Duration::from_secs(1)));
    let report = sink.shutdown(Instant::now());
    assert!(report.drained);
    assert_eq!((report.stats.queued, report.stats.sent), (2, 2));

    let text = String::from_utf8(output.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(text.ends_with('\n'));
    for (line, index) in lines.iter().zip([1, 2]) {
        let value: Value = serde_json::from_str(line).unwrap();
        let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["anonymousId", "event", "properties", "context", "type", "messageId", "timestamp", "sentAt"]);
        assert_eq!(value["properties"]["index"], index);
        let parsed: TrackMessage = serde_json::from_str(line).unwrap();
        assert_eq!(parsed.message_type.as_deref(), Some("track"));
    }
}

#[test]
fn a_failing_debug_writer_is_counted_not_raised() {
    let sink = DebugTransport::new(Box::new(Broken));
    sink.track(message(1));
    assert!(!sink.flush(Duration::from_secs(1)));
    assert_eq!(sink.stats().dropped_undelivered, 1);
}

#[test]
fn the_capturing_transport_keeps_messages_as_they_would_be_sent() {
    let capture = CapturingTransport::new();
    capture.track(message(1));
    let messages = capture.messages();
    assert_eq!(messages.len(), 1);
    assert!(messages[0].message_id.is_some() && messages[0].timestamp.is_some() && messages[0].sent_at.is_some());
    assert_eq!(capture.stats().sent, 1);
}

#[test]
fn a_transport_that_keeps_nothing_pending_flushes_and_shuts_down_at_once() {
    let capture = CapturingTransport::new();
    let transport: &dyn Transport = &capture;
    transport.track(message(1));
    assert!(transport.flush(Duration::ZERO), "the trait's default flush");
    let report = transport.shutdown(Instant::now());
    assert!(report.drained && report.confirmed && !report.sender_needed, "the trait's default shutdown");
    assert_eq!((report.saved_to_outbox, report.lost), (0, 0));
}
