//! The JSON event schemas of dlt's anonymous telemetry and pipeline traces, as serde types.
//!
//! Pure data: no I/O, no threads, no HTTP stack. Depend on this crate alone to read, write or
//! validate dlt telemetry.
//!
//! - [`TrackMessage`] and [`Context`]: one Segment `track` message as dlt sends it, plus
//!   Segment's own fields; unknown fields and key order survive a round trip.
//! - [`anonymous`]: the privacy gate. An [`AnonymousMessage`] is the only kind of message a
//!   transport to the anonymous endpoint accepts, and every way to make one screens every
//!   value: names pass an identifier rule, hashes are `digest128`s, anything else is
//!   [`anonymous::WITHHELD`].
//! - [`events`]: every event this project sends, each its own type ([`Event`]), and
//!   [`KnownEvent`] to read typed properties back from a message.
//! - [`SegmentBatch`]: the envelope of Segment's batch API.
//! - [`PipelineTrace`]: one traced pipeline run, as saved in `trace.json`, and the
//!   [`PipelineIdentity`] it is the run of.
//! - [`schema_files`]: the JSON Schemas (draft 2020-12) committed under `docs/schemas/`.
//! - [`digest128`]: how pipeline, dataset and schema names are hidden.
//!
//! ```
//! use dlt_telemetry_model::events::{CommandEvent, TelemetrySwitch};
//! use dlt_telemetry_model::{AnonymousId, AnonymousMessage, Context, Library, OsInfo, SafeContext};
//!
//! let context = Context::new(OsInfo::new("Linux", "6.1.0"), Library::new("dlt", "0.1.0")).with_cpu(8);
//! let context = SafeContext::screen(context);
//! let event = CommandEvent { arguments: TelemetrySwitch { enabled: true }, elapsed: 0.01, success: true };
//! let message = AnonymousMessage::from_event(event, AnonymousId::from_random_bytes([7; 16]), &context);
//! assert_eq!(message.event(), "command_telemetry.switch");
//! let json = serde_json::to_value(message.message()).unwrap();
//! assert_eq!(json["properties"]["event_name"], "telemetry.switch");
//! ```

pub mod anonymous;
mod batch;
mod digest;
pub mod events;
mod message;
mod schema;
mod trace;

pub use anonymous::{AnonymousId, AnonymousMessage, SafeContext};
pub use batch::SegmentBatch;
pub use digest::digest128;
/// What identifies a pipeline run (`dlt-pipeline-run`), flattened into [`PipelineTrace`].
pub use dlt_pipeline_run::PipelineIdentity;
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
