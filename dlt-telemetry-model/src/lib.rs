//! The JSON event schemas of dlt's anonymous telemetry and pipeline traces, as serde types.
//!
//! Pure data: no I/O, no threads, no HTTP stack. Depend on this crate alone to read, write or
//! validate dlt telemetry.
//!
//! - [`TrackMessage`] and [`Context`]: one Segment `track` message as dlt sends it, plus
//!   Segment's own fields; unknown fields and key order survive a round trip.
//! - [`events`]: every event this project sends, each its own type ([`Event`]), and
//!   [`KnownEvent`] to read typed properties back from a message.
//! - [`SegmentBatch`]: the envelope of Segment's batch API.
//! - [`PipelineTrace`]: one traced pipeline run, as saved in `trace.json`.
//! - [`schema_files`]: the JSON Schemas (draft 2020-12) committed under `docs/schemas/`.
//! - [`digest128`]: how pipeline, dataset and schema names are hidden.
//!
//! ```
//! use dlt_telemetry_model::events::{CommandEvent, TelemetrySwitch};
//! use dlt_telemetry_model::{Context, Library, OsInfo, TrackMessage};
//!
//! let context = Context::new(OsInfo::new("Linux", "6.1.0"), Library::new("dlt", "0.1.0")).with_cpu(8);
//! let event = CommandEvent { arguments: TelemetrySwitch { enabled: true }, elapsed: 0.01, success: true };
//! let message = TrackMessage::from_event(event, "933dd165453d196a58adaf49444e9b4c", context);
//! assert_eq!(message.event, "command_telemetry.switch");
//! let json = serde_json::to_value(&message).unwrap();
//! assert_eq!(json["properties"]["event_name"], "telemetry.switch");
//! ```

mod batch;
mod digest;
pub mod events;
mod message;
mod schema;
mod trace;

pub use batch::SegmentBatch;
pub use digest::digest128;
pub use events::{Event, KnownEvent};
pub use message::{
    Context, EventCategory, Library, OsInfo, Properties, RunContext, RunContextInfo, TRACK_TYPE, TrackMessage,
};
pub use schema::{SchemaFile, schema_files};
pub use trace::{PipelineStepTrace, PipelineTrace};

// The README's example runs as a doctest, so the crate's page on crates.io cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
