//! How messages go on the wire: Segment's own fields, one message's JSON, and batch bodies that
//! stay within Segment's limits, counted in bytes exactly as sent.

use dlt_telemetry_model::AnonymousMessage;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Segment's size limits, counted in bytes of JSON as sent.
///
/// The defaults are Segment's published limits, read in decimal units so that every request is
/// accepted: 32 KB per message, 500 KB and 2,500 messages per batch request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchLimits {
    /// A message larger than this is dropped and counted, never sent.
    pub max_message_bytes: usize,
    /// The largest batch request body, envelope included.
    pub max_batch_bytes: usize,
    /// The most messages in one batch request. Also the most messages the worker takes from the
    /// queue at a time, so memory stays bounded by the queue capacity plus one batch.
    pub max_batch_messages: usize,
}

impl BatchLimits {
    /// Segment's limits: 32,000 bytes per message, 500,000 bytes and 2,500 messages per batch.
    pub const SEGMENT: Self = Self { max_message_bytes: 32_000, max_batch_bytes: 500_000, max_batch_messages: 2_500 };
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self::SEGMENT
    }
}

/// A time to the millisecond, as Segment's libraries send it.
pub(crate) fn to_millis(time: OffsetDateTime) -> OffsetDateTime {
    time.replace_millisecond(time.millisecond()).unwrap_or(time)
}

/// Fills what Segment needs and dlt (Python) leaves out, keeping whatever is already set:
/// `type` = `track`, `messageId` (a random UUID v4, kept across retries) and `timestamp`
/// (`now`).
pub(crate) fn fill_segment_fields(message: &mut AnonymousMessage, now: OffsetDateTime) {
    message.fill_segment_fields(uuid::Uuid::new_v4().into_bytes(), now);
}

/// One message as its JSON bytes: compact, keys in the model's order, no trailing newline.
pub(crate) fn encode_message(message: &AnonymousMessage) -> Result<Vec<u8>, serde_json::Error> {
    serde_json::to_vec(message.message())
}

/// What happened to a message offered to a [`BatchBody`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Push {
    /// It is in the batch.
    Added,
    /// It does not fit in this batch; it goes first in the next one.
    Full,
    /// It is larger than any request may carry: drop it.
    TooLarge,
}

const BATCH_OPENING: &[u8] = br#"{"batch":["#;

/// A batch request body, `{"batch":[...],"sentAt":"..."}`, built one encoded message at a time
/// so that its size is known exactly before it is sent.
#[derive(Debug)]
pub(crate) struct BatchBody {
    body: Vec<u8>,
    closing: Vec<u8>,
    messages: usize,
    limits: BatchLimits,
}

impl BatchBody {
    /// An empty batch whose envelope carries `sent_at`.
    pub(crate) fn new(sent_at: OffsetDateTime, limits: BatchLimits) -> Self {
        let closing = match sent_at.format(&Rfc3339) {
            Ok(sent_at) => format!(r#"],"sentAt":"{sent_at}"}}"#).into_bytes(),
            Err(_) => b"]}".to_vec(),
        };
        Self { body: BATCH_OPENING.to_vec(), closing, messages: 0, limits }
    }

    /// Adds one message, encoded by [`encode_message`], if the batch stays within the limits.
    pub(crate) fn push(&mut self, message: &[u8]) -> Push {
        let separator = usize::from(self.messages > 0);
        let size_with_message = self.body.len() + separator + message.len() + self.closing.len();
        let fits = self.messages < self.limits.max_batch_messages && size_with_message <= self.limits.max_batch_bytes;
        if message.len() > self.limits.max_message_bytes || (!fits && self.messages == 0) {
            return Push::TooLarge;
        }
        if !fits {
            return Push::Full;
        }
        if separator == 1 {
            self.body.push(b',');
        }
        self.body.extend_from_slice(message);
        self.messages += 1;
        Push::Added
    }

    /// How many messages the batch holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.messages
    }

    /// True when no message has been added.
    pub(crate) fn is_empty(&self) -> bool {
        self.messages == 0
    }

    /// The size the body has now, envelope included.
    #[cfg(test)]
    pub(crate) fn size(&self) -> usize {
        self.body.len() + self.closing.len()
    }

    /// The finished request body.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.body.extend_from_slice(&self.closing);
        self.body
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use dlt_telemetry_model::{AnonymousId, EventCategory, SegmentBatch};
    use dlt_test_support::{padding, test_context};
    use serde_json::{Map, Value, json};
    use time::macros::datetime;

    use super::*;

    const SENT_AT: OffsetDateTime = datetime!(2026-11-25 14:11:27.412 UTC);

    /// A message without Segment's fields, whose `padding` property is `bytes` longer than
    /// an empty list.
    fn bare_message(bytes: usize) -> AnonymousMessage {
        let mut properties = Map::new();
        properties.insert("padding".into(), padding(bytes));
        let id = AnonymousId::from_random_bytes([0x93; 16]);
        AnonymousMessage::from_properties(EventCategory::Command, "telemetry", properties, id, &test_context()).unwrap()
    }

    fn message(bytes: usize) -> AnonymousMessage {
        let mut message = bare_message(bytes);
        fill_segment_fields(&mut message, datetime!(2026-11-25 14:11:27.305 UTC));
        message.set_sent_at(Some(SENT_AT));
        message
    }

    /// A message whose encoding is exactly `size` bytes.
    fn message_of_size(size: usize) -> Vec<u8> {
        let base = encode_message(&message(0)).unwrap().len();
        let encoded = encode_message(&message(size - base)).unwrap();
        assert_eq!(encoded.len(), size);
        encoded
    }

    #[test]
    fn fills_segment_fields_only_when_missing() {
        let mut message = message(0);
        let id = message.message_id().map(str::to_owned);
        fill_segment_fields(&mut message, datetime!(2030-01-01 0:00 UTC));
        assert_eq!(message.message_id().map(str::to_owned), id);
        assert_eq!(message.timestamp(), Some(datetime!(2026-11-25 14:11:27.305 UTC)));

        let mut bare = bare_message(0);
        assert_eq!(bare.message_id(), None);
        fill_segment_fields(&mut bare, datetime!(2030-01-01 0:00 UTC));
        assert_eq!(bare.message().message_type.as_deref(), Some("track"));
        let id = uuid::Uuid::parse_str(bare.message_id().unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 4);
        assert_eq!(bare.timestamp(), Some(datetime!(2030-01-01 0:00 UTC)));
    }

    #[test]
    fn message_keys_are_dlts_then_segments() {
        let value: Value = serde_json::from_slice(&encode_message(&message(0)).unwrap()).unwrap();
        let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, ["anonymousId", "event", "properties", "context", "type", "messageId", "timestamp", "sentAt"]);
        assert_eq!(value["timestamp"], "2026-11-25T14:11:27.305Z");
        assert_eq!(value["sentAt"], "2026-11-25T14:11:27.412Z");
    }

    #[test]
    fn batch_body_is_the_models_segment_batch() {
        let messages = [message(4), message(5)];
        let mut body = BatchBody::new(SENT_AT, BatchLimits::SEGMENT);
        for message in &messages {
            assert_eq!(body.push(&encode_message(message).unwrap()), Push::Added);
        }
        let size = body.size();
        let bytes = body.finish();
        assert_eq!(bytes.len(), size);
        let batch = messages.iter().map(|message| message.message().clone()).collect();
        let expected = SegmentBatch { batch, sent_at: Some(SENT_AT), extra: Map::new() };
        assert_eq!(bytes, serde_json::to_vec(&expected).unwrap());
        let parsed: SegmentBatch = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(parsed, expected);
        assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap()["sentAt"], json!("2026-11-25T14:11:27.412Z"));
    }

    #[test]
    fn message_of_exactly_the_limit_is_kept_one_byte_more_is_dropped() {
        let limits = BatchLimits::SEGMENT;
        let mut body = BatchBody::new(SENT_AT, limits);
        assert_eq!(body.push(&message_of_size(limits.max_message_bytes + 1)), Push::TooLarge);
        assert!(body.is_empty());
        assert_eq!(body.push(&message_of_size(limits.max_message_bytes)), Push::Added);
        assert_eq!(body.len(), 1);
    }

    #[test]
    fn batch_of_exactly_the_byte_limit_is_one_request_one_byte_more_is_two() {
        let limits = BatchLimits::SEGMENT;
        let envelope = BatchBody::new(SENT_AT, limits).size();
        // Sixteen messages of 30,000 bytes, then one that brings the body to exactly the limit:
        // the envelope, the messages and the 16 commas between them.
        let mut messages: Vec<Vec<u8>> = (0..16).map(|_| message_of_size(30_000)).collect();
        let used = envelope + 16 * 30_000 + 16;
        messages.push(message_of_size(limits.max_batch_bytes - used));

        let mut body = BatchBody::new(SENT_AT, limits);
        for message in &messages {
            assert_eq!(body.push(message), Push::Added);
        }
        assert_eq!(body.size(), limits.max_batch_bytes);
        assert_eq!(body.push(&message_of_size(1_000)), Push::Full);
        assert_eq!(body.finish().len(), limits.max_batch_bytes);

        let last = messages.len() - 1;
        messages[last] = message_of_size(messages[last].len() + 1);
        let mut body = BatchBody::new(SENT_AT, limits);
        let outcomes: Vec<Push> = messages.iter().map(|m| body.push(m)).collect();
        assert_eq!(outcomes.last(), Some(&Push::Full));
        assert_eq!(body.len(), messages.len() - 1);
    }

    #[test]
    fn batch_of_exactly_the_message_limit_is_one_request_one_more_is_two() {
        let limits = BatchLimits::SEGMENT;
        // Real messages are larger than 200 bytes, so 2,500 of them reach the byte limit first;
        // the smallest JSON object shows the count limit alone.
        let mut body = BatchBody::new(SENT_AT, limits);
        for _ in 0..limits.max_batch_messages {
            assert_eq!(body.push(b"{}"), Push::Added);
        }
        assert!(body.size() < limits.max_batch_bytes);
        assert_eq!(body.push(b"{}"), Push::Full);
        assert_eq!(body.len(), 2_500);
    }

    #[test]
    fn a_message_that_cannot_fit_an_empty_batch_is_too_large() {
        let limits = BatchLimits { max_message_bytes: 1_000, max_batch_bytes: 500, max_batch_messages: 10 };
        let mut body = BatchBody::new(SENT_AT, limits);
        assert_eq!(body.push(&[b'x'; 600]), Push::TooLarge);
    }
}
