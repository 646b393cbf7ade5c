//! A Sentry stand-in: the [`Recorder`] behind a DSN, and envelopes decoded by the wire format
//! alone (not by the Sentry SDK under test).

use std::io;
use std::ops::Deref;

use crate::recorder::{Answer, Recorder};

/// The public key in the DSN of every [`SentryReceiver`].
pub const SENTRY_PUBLIC_KEY: &str = "loopbackpublickey";
/// The project id in the DSN of every [`SentryReceiver`]; envelopes go to `/api/42/envelope/`.
pub const SENTRY_PROJECT_ID: u32 = 42;

/// A loopback Sentry: a [`Recorder`] that answers `200 {}` unless told otherwise, with the DSN
/// that points at it. Derefs to the recorder for its address, answers, requests and counts.
/// Shut down on drop.
///
/// ```
/// use dlt_test_support::{RawEnvelope, SentryReceiver};
///
/// let sentry = SentryReceiver::start()?;
/// assert!(sentry.dsn().starts_with("http://loopbackpublickey@127.0.0.1:"));
/// assert!(sentry.dsn().ends_with("/42"));
/// assert!(sentry.envelopes()?.is_empty());
///
/// let envelope = RawEnvelope::parse(b"{\"event_id\":\"e1\"}\n{\"type\":\"event\",\"length\":2}\n{}\n")?;
/// assert_eq!(envelope.item_types(), ["event"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct SentryReceiver {
    recorder: Recorder,
}

impl SentryReceiver {
    /// Starts one that accepts every envelope (`200 OK`, body `{}`).
    pub fn start() -> io::Result<Self> {
        Self::with_answer(Answer::ok().with_header("Content-Type", "application/json").with_body("{}"))
    }

    /// Starts one that answers every request with `answer` (a 429 with `Retry-After`, a delay
    /// that outlasts the client, ...).
    pub fn with_answer(answer: Answer) -> io::Result<Self> {
        Ok(Self { recorder: Recorder::with_answer(answer)? })
    }

    /// `http://loopbackpublickey@127.0.0.1:<port>/42`.
    pub fn dsn(&self) -> String {
        format!("http://{SENTRY_PUBLIC_KEY}@{}/{SENTRY_PROJECT_ID}", self.recorder.addr())
    }

    /// Every request body decoded as an envelope, in arrival order.
    pub fn envelopes(&self) -> Result<Vec<RawEnvelope>, EnvelopeError> {
        self.requests().iter().map(|request| RawEnvelope::parse(&request.body)).collect()
    }
}

impl Deref for SentryReceiver {
    type Target = Recorder;

    fn deref(&self) -> &Recorder {
        &self.recorder
    }
}

impl std::fmt::Debug for SentryReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentryReceiver").field("url", &self.recorder.url()).finish_non_exhaustive()
    }
}

/// An envelope as it was on the wire: a JSON header line, then per item a JSON item header and
/// a payload of `length` bytes (or up to the next newline when the header has no `length`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RawEnvelope {
    /// The envelope header (`event_id`, `dsn`, `sent_at`, `trace`, ...).
    pub header: serde_json::Value,
    /// The items, in order.
    pub items: Vec<RawItem>,
}

/// One envelope item as it was on the wire.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RawItem {
    /// The item header's `type`: `event`, `transaction`, `session`, ...
    pub item_type: String,
    /// The whole item header.
    pub header: serde_json::Value,
    /// The payload, parsed as JSON.
    pub payload: serde_json::Value,
}

/// Why a body is not a well-formed envelope.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// A part is not JSON.
    #[error("the {part} is not valid JSON")]
    InvalidJson {
        /// Which part: envelope header, item header or item payload.
        part: &'static str,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// An item header has no `type`.
    #[error("an item header has no type")]
    MissingItemType,
    /// An item's `length` runs past the end of the body.
    #[error("an item is shorter than its length says")]
    Truncated,
}

impl RawEnvelope {
    /// Decodes `body` by the envelope wire format.
    pub fn parse(body: &[u8]) -> Result<Self, EnvelopeError> {
        let mut rest = body;
        let header = parse_json(next_line(&mut rest), "envelope header")?;
        let mut items = Vec::new();
        while !rest.is_empty() {
            let line = next_line(&mut rest);
            if line.is_empty() && rest.is_empty() {
                break;
            }
            let item_header = parse_json(line, "item header")?;
            let payload = match item_header.get("length").and_then(serde_json::Value::as_u64) {
                Some(length) => {
                    let length = usize::try_from(length)
                        .ok()
                        .filter(|length| *length <= rest.len())
                        .ok_or(EnvelopeError::Truncated)?;
                    let (payload, after) = rest.split_at(length);
                    rest = after.strip_prefix(b"\n").unwrap_or(after);
                    payload
                }
                None => next_line(&mut rest),
            };
            let item_type = item_header
                .get("type")
                .and_then(serde_json::Value::as_str)
                .ok_or(EnvelopeError::MissingItemType)?
                .to_owned();
            items.push(RawItem { item_type, header: item_header, payload: parse_json(payload, "item payload")? });
        }
        Ok(Self { header, items })
    }

    /// The `type` of each item, in order.
    pub fn item_types(&self) -> Vec<&str> {
        self.items.iter().map(|item| item.item_type.as_str()).collect()
    }

    /// The payloads of the items of type `item_type` (`event`, `transaction`), in order.
    pub fn payloads(&self, item_type: &str) -> Vec<&serde_json::Value> {
        self.items.iter().filter(|item| item.item_type == item_type).map(|item| &item.payload).collect()
    }
}

/// Takes the bytes up to the next newline (or the end) off `rest`.
fn next_line<'a>(rest: &mut &'a [u8]) -> &'a [u8] {
    let end = rest.iter().position(|byte| *byte == b'\n').unwrap_or(rest.len());
    let (line, after) = rest.split_at(end);
    *rest = after.get(1..).unwrap_or_default();
    line
}

fn parse_json(bytes: &[u8], part: &'static str) -> Result<serde_json::Value, EnvelopeError> {
    serde_json::from_slice(bytes).map_err(|source| EnvelopeError::InvalidJson { part, source })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn items_with_and_without_length_are_read() {
        let body = b"{\"event_id\":\"e1\"}\n{\"type\":\"event\",\"length\":13}\n{\"a\":\"b\\nc\"}\n{\"type\":\"session\"}\n{\"s\":1}";
        let envelope = RawEnvelope::parse(body).unwrap();
        assert_eq!(envelope.header["event_id"], "e1");
        assert_eq!(envelope.item_types(), ["event", "session"]);
        assert_eq!(envelope.payloads("event")[0]["a"], "b\nc");
        assert_eq!(envelope.payloads("session")[0]["s"], 1);
    }

    #[test]
    fn malformed_envelopes_are_errors() {
        assert!(matches!(RawEnvelope::parse(b"not json"), Err(EnvelopeError::InvalidJson { .. })));
        assert!(matches!(RawEnvelope::parse(b"{}\n{\"length\":2}\n{}"), Err(EnvelopeError::MissingItemType)));
        assert!(matches!(
            RawEnvelope::parse(b"{}\n{\"type\":\"event\",\"length\":99}\n{}"),
            Err(EnvelopeError::Truncated)
        ));
        assert_eq!(RawEnvelope::parse(b"{}\n").unwrap().items, []);
    }
}
