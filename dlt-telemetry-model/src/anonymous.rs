//! The privacy gate: the one way a message for the anonymous endpoint is built.
//!
//! An [`AnonymousMessage`] can only hold what DESIGN §4 allows: fixed keys, numbers, booleans,
//! `digest128` hashes, random ids and names that pass the identifier rule. Every constructor
//! screens every value; a transport accepts nothing else, so no route can send a path, a URL,
//! an error message or any other free text, whatever an event type or a caller asks for.
//!
//! The rules, applied to every string the message holds:
//! - a property under a key ending in `_hash` (or `destination_fingerprint`) must be a
//!   `digest128` (20 characters of the standard base64 alphabet);
//! - `transaction_id` and `anonymousId` must be 32 lower-case hex digits, `messageId` a UUID;
//! - any other property must be a *name*: an identifier (`^[A-Za-z_][A-Za-z0-9_]{0,63}$`) or a
//!   dotted path of identifiers (`dlt.destinations.duckdb`), at most 255 characters;
//! - context facts (OS, library and Python versions) must be *tokens*:
//!   `^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$`, which no path, URL, e-mail address or sentence
//!   passes;
//! - property keys must be identifiers (a property with any other key is left out), nesting is
//!   at most four levels deep, and fields the model does not know are left out.
//!
//! The empty string passes every rule (it carries nothing). A value that fails its rule is
//! replaced by [`WITHHELD`], never sent in clear and never hashed (a hash of a password is
//! still derived from it); a message whose ids or event name fail is refused ([`Refused`]).

use std::fmt;

use serde_json::Value;
use time::OffsetDateTime;

use crate::events::Event;
use crate::message::{Context, EventCategory, Library, OsInfo, Properties, RunContext, TRACK_TYPE, TrackMessage};

/// What replaces a value that fails its rule. It is not a name, so it cannot be mistaken for
/// one.
pub const WITHHELD: &str = "<withheld>";

/// The longest identifier: 64 characters, as dlt's source names.
const MAX_IDENTIFIER: usize = 64;
/// The longest dotted name.
const MAX_DOTTED: usize = 255;
/// The longest token (a version, an OS name).
const MAX_TOKEN: usize = 64;
/// How deep lists and objects may nest in properties.
const MAX_DEPTH: usize = 4;

/// An identifier: an ASCII letter or `_`, then letters, digits or `_`; 1 to 64 characters.
///
/// ```
/// use dlt_telemetry_model::anonymous::is_identifier;
/// assert!(is_identifier("chess_pipeline") && is_identifier("DataFrame"));
/// assert!(!is_identifier("/home/alice") && !is_identifier("9lives") && !is_identifier(""));
/// ```
pub fn is_identifier(text: &str) -> bool {
    let bytes = text.as_bytes();
    matches!(bytes.first(), Some(first) if first.is_ascii_alphabetic() || *first == b'_')
        && bytes.len() <= MAX_IDENTIFIER
        && bytes.iter().all(|byte| byte.is_ascii_alphanumeric() || *byte == b'_')
}

/// A dotted path of identifiers, e.g. `dlt.destinations.duckdb`, at most 255 characters; a
/// single identifier is one too.
pub fn is_dotted_name(text: &str) -> bool {
    text.len() <= MAX_DOTTED && text.split('.').all(is_identifier)
}

/// A `digest128`: 20 characters of the standard base64 alphabet.
pub fn is_digest(text: &str) -> bool {
    text.len() == 20 && text.bytes().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'/'))
}

/// A random id as dlt makes them: 32 lower-case hex digits.
pub fn is_hex_id(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

/// A token for context facts such as `6.1.0-18-amd64`, `3.11.7` or `python-dlt`: an ASCII
/// letter or digit, then letters, digits or `. _ + -`; at most 64 characters.
pub fn is_token(text: &str) -> bool {
    let bytes = text.as_bytes();
    matches!(bytes.first(), Some(first) if first.is_ascii_alphanumeric())
        && bytes.len() <= MAX_TOKEN
        && bytes.iter().all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'+' | b'-'))
}

/// A UUID in its hyphenated hex form, as Segment's `messageId`.
fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.bytes().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

/// The anonymous id of one message: 32 hex digits made from 16 random bytes, different for
/// every message. It identifies nothing; Segment requires one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnonymousId([u8; 16]);

impl AnonymousId {
    /// The id made of these random bytes (the caller's random source decides; the model has
    /// none).
    pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }
}

impl fmt::Display for AnonymousId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// Why a message was refused at the gate: what makes it a message cannot be shown safely.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// `event` is not `<category>_<name>` with a known category and a dotted name.
    #[error("the event name is not <category>_<name> with a known category and an identifier name")]
    EventName,
    /// `anonymousId` is not 32 lower-case hex digits.
    #[error("the anonymous id is not 32 hex digits")]
    AnonymousId,
    /// `messageId` is not a UUID.
    #[error("the message id is not a UUID")]
    MessageId,
    /// `type` is not `track`.
    #[error("the message type is not track")]
    MessageType,
}

/// The execution context, screened once: every fact is a token, every execution environment
/// an identifier, and nothing the model does not know is kept.
#[derive(Clone, Debug, PartialEq)]
pub struct SafeContext(Context);

impl SafeContext {
    /// Screens a context (see the [module](self) rules).
    pub fn screen(context: Context) -> Self {
        let Context { ci_run, python, cpu, exec_info, os, library, run_context, dlthub, .. } = context;
        let mut screened = Context::new(screen_os(os), screen_library(library))
            .with_ci_run(ci_run)
            .with_cpu(cpu)
            .with_exec_info(exec_info.into_iter().map(|name| name_or_withheld(name, is_identifier)).collect());
        screened.python = python.map(|version| name_or_withheld(version, is_token));
        screened.run_context = run_context.map(screen_run_context);
        screened.dlthub = dlthub.map(screen_library);
        Self(screened)
    }

    /// The screened context.
    pub fn context(&self) -> &Context {
        &self.0
    }
}

fn screen_os(os: OsInfo) -> OsInfo {
    OsInfo::new(name_or_withheld(os.name, is_token), name_or_withheld(os.version, is_token))
}

fn screen_library(library: Library) -> Library {
    Library::new(name_or_withheld(library.name, is_token), name_or_withheld(library.version, is_token))
}

fn screen_run_context(run_context: RunContext) -> RunContext {
    match run_context {
        RunContext::Info(info) => {
            let mut screened = crate::RunContextInfo::new(name_or_withheld(info.name, is_token));
            screened.profile = info.profile.map(|profile| name_or_withheld(profile, is_identifier));
            RunContext::Info(screened)
        }
        RunContext::Name(name) => RunContext::Name(name_or_withheld(name, is_token)),
    }
}

/// `text` when it passes `rule` (or is empty), else [`WITHHELD`].
fn name_or_withheld(text: String, rule: fn(&str) -> bool) -> String {
    if text.is_empty() || rule(&text) { text } else { WITHHELD.to_owned() }
}

/// A usage message that passed the privacy gate: the only kind of message a transport to the
/// anonymous endpoint accepts. See the [module](self) for the rules.
#[derive(Clone, Debug, PartialEq)]
pub struct AnonymousMessage(TrackMessage);

impl AnonymousMessage {
    /// The message for a typed event, its properties screened.
    pub fn from_event<E: Event>(event: E, anonymous_id: AnonymousId, context: &SafeContext) -> Self {
        let name = if is_dotted_name(E::NAME) { E::NAME } else { WITHHELD };
        Self::build(E::CATEGORY, name, event.into_properties(), anonymous_id, context)
    }

    /// The message for any event of a known category (a host's own, or one of dlt's that this
    /// model has no type for), its properties screened. Refused when `name` is not a dotted
    /// name.
    pub fn from_properties(
        category: EventCategory,
        name: &str,
        properties: Properties,
        anonymous_id: AnonymousId,
        context: &SafeContext,
    ) -> Result<Self, Refused> {
        if !is_dotted_name(name) {
            return Err(Refused::EventName);
        }
        Ok(Self::build(category, name, properties, anonymous_id, context))
    }

    /// Screens a message from elsewhere (read back from an outbox, or built by another
    /// program): every value by the rules; fields the model does not know are left out.
    pub fn screen(message: TrackMessage) -> Result<Self, Refused> {
        let TrackMessage {
            anonymous_id, event, properties, context, message_type, message_id, timestamp, sent_at, ..
        } = message;
        if !is_hex_id(&anonymous_id) {
            return Err(Refused::AnonymousId);
        }
        let Some((category, name)) = EventCategory::split_event(&event).filter(|(_, name)| is_dotted_name(name)) else {
            return Err(Refused::EventName);
        };
        if message_type.as_deref().is_some_and(|kind| kind != TRACK_TYPE) {
            return Err(Refused::MessageType);
        }
        if message_id.as_deref().is_some_and(|id| !is_uuid(id)) {
            return Err(Refused::MessageId);
        }
        let mut screened =
            TrackMessage::new(category, name, Properties::new(), anonymous_id, SafeContext::screen(context).0);
        // The category and name go last, as `TrackMessage::new` puts them, whatever the
        // message said.
        let canonical = std::mem::replace(&mut screened.properties, screen_properties(properties, 0));
        for (key, value) in canonical {
            screened.properties.shift_remove(&key);
            screened.properties.insert(key, value);
        }
        screened.message_type = message_type;
        screened.message_id = message_id;
        screened.timestamp = timestamp;
        screened.sent_at = sent_at;
        Ok(Self(screened))
    }

    fn build(
        category: EventCategory,
        name: &str,
        properties: Properties,
        anonymous_id: AnonymousId,
        context: &SafeContext,
    ) -> Self {
        let properties = screen_properties(properties, 0);
        Self(TrackMessage::new(category, name, properties, anonymous_id.to_string(), context.0.clone()))
    }

    /// The message as it is sent.
    pub fn message(&self) -> &TrackMessage {
        &self.0
    }

    /// The message, to keep or show (it can no longer be sent without passing the gate again).
    pub fn into_message(self) -> TrackMessage {
        self.0
    }

    /// The wire name, e.g. `pipeline_load`.
    pub fn event(&self) -> &str {
        &self.0.event
    }

    /// Fills what Segment needs and dlt (Python) leaves out, keeping what is already set:
    /// `type` = `track`, `messageId` (a UUID v4 made of `random`, kept across retries) and
    /// `timestamp` (`now`).
    pub fn fill_segment_fields(&mut self, random: [u8; 16], now: OffsetDateTime) {
        let message = &mut self.0;
        message.message_type.get_or_insert_with(|| TRACK_TYPE.to_owned());
        message.message_id.get_or_insert_with(|| uuid_v4(random));
        message.timestamp.get_or_insert(now);
    }

    /// Sets `timestamp` (when the event happened) to `now` unless it is set.
    pub fn record_time(&mut self, now: OffsetDateTime) {
        self.0.timestamp.get_or_insert(now);
    }

    /// Sets (or clears) `sentAt`, the time of this attempt to send.
    pub fn set_sent_at(&mut self, sent_at: Option<OffsetDateTime>) {
        self.0.sent_at = sent_at;
    }

    /// Segment's `messageId`, once filled.
    pub fn message_id(&self) -> Option<&str> {
        self.0.message_id.as_deref()
    }

    /// When the event happened, once filled.
    pub fn timestamp(&self) -> Option<OffsetDateTime> {
        self.0.timestamp
    }
}

/// Serialises as the message it holds (there is no way back: a message read from anywhere
/// passes [`AnonymousMessage::screen`] again).
impl serde::Serialize for AnonymousMessage {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// The properties that pass: identifier keys only, every value screened (in place: a value
/// that passes is not copied).
fn screen_properties(mut properties: Properties, depth: usize) -> Properties {
    screen_object(&mut properties, depth);
    properties
}

fn screen_object(properties: &mut Properties, depth: usize) {
    properties.retain(|key, _| is_identifier(key));
    for (key, value) in properties.iter_mut() {
        screen_value(key, value, depth);
    }
}

/// One value under `key`, by the rule for that key.
fn screen_value(key: &str, value: &mut Value, depth: usize) {
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
        Value::String(text) => {
            if !text.is_empty() && !rule_for(key)(text) {
                *text = WITHHELD.to_owned();
            }
        }
        _ if depth >= MAX_DEPTH => *value = Value::String(WITHHELD.to_owned()),
        Value::Array(items) => items.iter_mut().for_each(|item| screen_value(key, item, depth + 1)),
        Value::Object(object) => screen_object(object, depth + 1),
    }
}

/// The rule a string under `key` must pass.
fn rule_for(key: &str) -> fn(&str) -> bool {
    if key.ends_with("_hash") || key == "destination_fingerprint" {
        is_digest
    } else if key == "transaction_id" {
        is_hex_id
    } else {
        is_dotted_name
    }
}

/// A UUID v4 in hyphenated form, its version and variant bits set on `random`.
fn uuid_v4(mut random: [u8; 16]) -> String {
    random[6] = (random[6] & 0x0f) | 0x40;
    random[8] = (random[8] & 0x3f) | 0x80;
    let hex: String = random.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::{Map, json};

    use super::*;
    use crate::events::{CommandEvent, Init};

    fn object(pairs: &[(&str, Value)]) -> Map<String, Value> {
        pairs.iter().map(|(key, value)| ((*key).to_owned(), value.clone())).collect()
    }

    fn context() -> SafeContext {
        SafeContext::screen(Context::new(OsInfo::new("Linux", "6.1.0-18-amd64"), Library::new("dlt", "0.1.0")))
    }

    fn id() -> AnonymousId {
        AnonymousId::from_random_bytes([7; 16])
    }

    #[test]
    fn the_rules() {
        for name in ["a", "_", "chess", "DataFrame", "x1", &"a".repeat(64)] {
            assert!(is_identifier(name), "{name}");
        }
        for not in ["", "1a", "a-b", "a.b", "a b", "é", "/x", &"a".repeat(65)] {
            assert!(!is_identifier(not), "{not}");
        }
        assert!(is_dotted_name("dlt.destinations.duckdb") && is_dotted_name("duckdb"));
        for not in ["a..b", ".a", "a.", "a.1b", "postgres://u:p@h/x", "/home/alice/crm"] {
            assert!(!is_dotted_name(not), "{not}");
        }
        assert!(
            is_digest("e1dMgcCyxFXmc3hy+Q2z")
                && !is_digest("e1dMgcCyxFXmc3hy+Q2")
                && !is_digest("e1dMgcCyxF:mc3hy+Q2z")
        );
        assert!(is_hex_id("39c3b69c858836c36b9b7c6e046eb391") && !is_hex_id("39C3B69C858836C36B9B7C6E046EB391"));
        for token in ["6.1.0-18-amd64", "4.19.128-microsoft-standard", "3.11.7", "python-dlt", "0.2.0a25", "Darwin"] {
            assert!(is_token(token), "{token}");
        }
        for not in ["", "-x", "a b", "/usr", "u@h", "a:b", "https://x", &"1".repeat(65)] {
            assert!(!is_token(not), "{not}");
        }
        assert_eq!(AnonymousId::from_random_bytes([0xab; 16]).to_string(), "ab".repeat(16));
    }

    #[test]
    fn an_event_that_asks_for_free_text_gets_the_marker() {
        let event = CommandEvent {
            arguments: Init::new("/home/alice/crm_src", "postgres://loader:S3cr3t@db.internal/x"),
            elapsed: 0.5,
            success: false,
        };
        let message = AnonymousMessage::from_event(event, id(), &context());
        let properties = &message.message().properties;
        assert_eq!(properties["pipeline_name"], WITHHELD);
        assert_eq!(properties["destination_name"], WITHHELD);
        assert_eq!(properties["event_name"], "init");
        let json = serde_json::to_string(message.message()).unwrap();
        assert!(!json.contains("alice") && !json.contains("S3cr3t"), "{json}");
    }

    #[test]
    fn values_are_screened_by_their_key() {
        let properties = object(&[
            ("pipeline_name_hash", json!("HAaZnBCl4sy0jO0VDVOy")),
            ("dataset_name_hash", json!("my dataset")),
            ("transaction_id", json!("not an id")),
            ("destination_type", json!("dlt.destinations.duckdb")),
            ("elapsed", json!(1.5)),
            ("success", json!(true)),
            ("nothing", json!(null)),
            ("empty", json!("")),
            ("extract_data", json!([{ "name": "players", "data_type": "dict" }, { "name": "a b", "data_type": "x" }])),
            ("bad key!", json!("dropped")),
            ("deep", json!([[[[["x"]]]]])),
        ]);
        let message =
            AnonymousMessage::from_properties(EventCategory::Pipeline, "load", properties, id(), &context()).unwrap();
        let screened = serde_json::to_value(&message.message().properties).unwrap();
        assert_eq!(
            screened,
            json!({
                "pipeline_name_hash": "HAaZnBCl4sy0jO0VDVOy",
                "dataset_name_hash": WITHHELD,
                "transaction_id": WITHHELD,
                "destination_type": "dlt.destinations.duckdb",
                "elapsed": 1.5,
                "success": true,
                "nothing": null,
                "empty": "",
                "extract_data": [{ "name": "players", "data_type": "dict" }, { "name": WITHHELD, "data_type": "x" }],
                "deep": [[[[WITHHELD]]]],
                "event_category": "pipeline",
                "event_name": "load",
            })
        );
    }

    #[test]
    fn a_message_from_elsewhere_is_screened_or_refused() {
        let mut message = TrackMessage::new(
            EventCategory::Command,
            "init",
            object(&[("pipeline_name", json!("C:\\Users\\alice"))]),
            "39c3b69c858836c36b9b7c6e046eb391",
            Context::new(OsInfo::new("Linux", "host.example.com user@host"), Library::new("dlt", "1.0")),
        );
        message.user_id = Some("alice".into());
        message.extra.insert("ip".into(), json!("10.0.0.1"));
        let screened = AnonymousMessage::screen(message.clone()).unwrap();
        let json = serde_json::to_string(screened.message()).unwrap();
        for personal in ["alice", "10.0.0.1", "user@host"] {
            assert!(!json.contains(personal), "{personal} in {json}");
        }
        assert_eq!(screened.message().properties["event_name"], "init");

        let mut bad = message.clone();
        bad.anonymous_id = "alice".into();
        assert_eq!(AnonymousMessage::screen(bad), Err(Refused::AnonymousId));
        let mut bad = message.clone();
        bad.event = "command_/etc/passwd".into();
        assert_eq!(AnonymousMessage::screen(bad), Err(Refused::EventName));
        let mut bad = message.clone();
        bad.message_id = Some("alice@example.com".into());
        assert_eq!(AnonymousMessage::screen(bad), Err(Refused::MessageId));
        let mut bad = message;
        bad.message_type = Some("identify".into());
        assert_eq!(AnonymousMessage::screen(bad), Err(Refused::MessageType));
    }

    #[test]
    fn segment_fields_are_filled_once() {
        let event = CommandEvent { arguments: Init::new("chess", "duckdb"), elapsed: 0.1, success: true };
        let mut message = AnonymousMessage::from_event(event, id(), &context());
        let now = OffsetDateTime::UNIX_EPOCH;
        message.fill_segment_fields([0xff; 16], now);
        let first = message.message_id().unwrap().to_owned();
        assert_eq!(first, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        message.fill_segment_fields([0; 16], now + time::Duration::DAY);
        assert_eq!(message.message_id(), Some(first.as_str()));
        assert_eq!(message.timestamp(), Some(now));
        assert_eq!(message.message().message_type.as_deref(), Some("track"));
        assert!(AnonymousMessage::screen(message.into_message()).is_ok(), "a filled message passes again");
    }
}
