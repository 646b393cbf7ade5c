//! The Segment batch envelope (`POST /v1/batch`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::message::TrackMessage;

/// Several messages in one request to Segment's batch API.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[schemars(
    title = "Segment batch",
    description = "Several track messages in one request to a Segment-compatible `/v1/batch` endpoint."
)]
pub struct SegmentBatch {
    /// The messages, oldest first.
    pub batch: Vec<TrackMessage>,
    /// When this attempt to send was made (RFC 3339).
    #[serde(
        rename = "sentAt",
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schemars(with = "Option<String>", extend("format" = "date-time"))]
    pub sent_at: Option<OffsetDateTime>,
    /// Fields this model does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}
