//! Who a message is for: an endpoint and a write key. Each recipient has its own outbox folder,
//! named by a digest of both, so that a message is only ever sent where it was recorded for.
//! The record of what was sent uses the same id for its folders.

use dlt_fs::{Durability, GateError, PrivateDir};
use dlt_redact::HttpUrl;
use sha3::{Digest as _, Sha3_256};

use crate::options::WriteKey;

/// The recipient of a transport's messages: the endpoint URL (as configured, password
/// included) and the write key. Neither is ever written in clear: the folder name is a digest,
/// and the folder's `recipient.json` holds the endpoint with its password hidden.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recipient {
    id: String,
    shown_endpoint: String,
    has_write_key: bool,
}

impl Recipient {
    /// The recipient of messages sent to `endpoint` with `write_key`.
    pub fn new(endpoint: &HttpUrl, write_key: Option<&WriteKey>) -> Self {
        let mut digest = Sha3_256::new();
        digest.update(b"dlt-segment recipient v1\0");
        digest.update(endpoint.as_str().as_bytes());
        digest.update(b"\0");
        let key = write_key.map(WriteKey::expose).filter(|key| !key.is_empty());
        if let Some(key) = key {
            digest.update(key.as_bytes());
        }
        let id = digest.finalize()[..16].iter().map(|byte| format!("{byte:02x}")).collect();
        Self { id, shown_endpoint: endpoint.to_string(), has_write_key: key.is_some() }
    }

    /// The folder name: 32 hex characters.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The endpoint as it may be shown (password hidden).
    pub fn shown_endpoint(&self) -> &str {
        &self.shown_endpoint
    }

    /// Whether messages go with a write key.
    pub fn has_write_key(&self) -> bool {
        self.has_write_key
    }

    /// What `recipient.json` holds: nothing secret.
    pub(crate) fn description(&self) -> serde_json::Value {
        serde_json::json!({ "endpoint": self.shown_endpoint, "write_key": self.has_write_key })
    }

    /// Writes `recipient.json` into the recipient's folder `dir` (an outbox's or a record's)
    /// unless it is there.
    pub(crate) fn describe_in(&self, dir: &PrivateDir) -> Result<(), GateError> {
        dir.create_new(RECIPIENT_FILE, self.description().to_string().as_bytes(), Durability::Fast).map(drop)
    }
}

/// The file of a recipient's folder that says who the recipient is, nothing secret.
pub(crate) const RECIPIENT_FILE: &str = "recipient.json";
/// `recipient.json` is a line; anything larger is not one.
const RECIPIENT_FILE_MAX_BYTES: u64 = 4096;

/// The `recipient.json` of a folder, as it is (`None` when there is none).
pub(crate) fn read_description(dir: &PrivateDir) -> Result<Option<Vec<u8>>, GateError> {
    dir.read(RECIPIENT_FILE, RECIPIENT_FILE_MAX_BYTES)
}

/// What a `recipient.json` says: the endpoint as shown (`None` when it does not say), and
/// whether a write key is used.
pub(crate) fn parse_description(bytes: Option<&[u8]>) -> (Option<String>, bool) {
    let description: Option<serde_json::Value> = bytes.and_then(|bytes| serde_json::from_slice(bytes).ok());
    let endpoint = description.as_ref().and_then(|d| d["endpoint"].as_str()).map(str::to_owned);
    (endpoint, description.is_some_and(|d| d["write_key"] == true))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn url(text: &str) -> HttpUrl {
        HttpUrl::parse(text).unwrap()
    }

    #[test]
    fn endpoint_and_key_both_make_the_recipient() {
        let a = url("https://a.example/v1/batch");
        let b = url("https://b.example/v1/batch");
        let key = WriteKey::new("wk_1");
        let ids = [
            Recipient::new(&a, None),
            Recipient::new(&a, Some(&key)),
            Recipient::new(&b, None),
            Recipient::new(&b, Some(&WriteKey::new("wk_2"))),
        ]
        .map(|recipient| recipient.id().to_owned());
        for (index, id) in ids.iter().enumerate() {
            assert_eq!(id.len(), 32);
            assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
            assert_eq!(ids.iter().filter(|other| *other == id).count(), 1, "{index}");
        }
        assert_eq!(Recipient::new(&a, Some(&WriteKey::new(""))), Recipient::new(&a, None), "an empty key is no key");
    }

    #[test]
    fn nothing_secret_is_shown() {
        let recipient = Recipient::new(&url("https://u:hunter2@a.example/x"), Some(&WriteKey::new("wk_secret")));
        let shown = format!("{recipient:?} {}", recipient.description());
        assert!(!shown.contains("hunter2") && !shown.contains("wk_secret"), "{shown}");
        assert_eq!(recipient.shown_endpoint(), "https://***@a.example/x");
        assert!(recipient.has_write_key());
    }
}
