//! A Segment transport that never blocks the caller, never holds up exit, keeps what it could
//! not send for its recipient only, and stops the moment the user opts out.
//!
//! - [`SegmentClient`]: `track` puts a message on a bounded queue and returns at once (a full
//!   queue drops the message and counts it); one worker thread, with its own current-thread
//!   tokio runtime, sends them. An endpoint whose path ends in `/v1/batch` gets Segment's batch
//!   API within Segment's limits ([`BatchLimits`]); any other URL gets one message per POST,
//!   the way dlt does it, a few at once. Shutdown, explicit or on drop, is bounded by one
//!   deadline, a request in flight included, and never waits for an endpoint that refused or
//!   does not resolve.
//! - [`HandoffTransport`]: for a short-lived program: no thread, no socket; what it is given
//!   goes to the outbox at exit, and [`run_sender`] (started detached) delivers it.
//! - [`RetryPolicy`]: what is retried (408, 429, 5xx but 501 and 505, failures to get an
//!   answer), with exponential backoff, jitter and a capped `Retry-After`; a pure function.
//! - The outbox ([`OutboxOptions`]): what is not delivered is kept as JSON lines on disk, one
//!   folder per [`Recipient`] (endpoint and write key), bounded in bytes and age, and sent
//!   only to that recipient; [`inspect_outboxes`] shows what waits.
//! - The opt-out mark: [`record_opt_out`] (when the user switches telemetry off) writes it and
//!   deletes every outbox; every sender looks at it before each request and before keeping
//!   anything, so nothing recorded before an opt-out is sent or kept, by any process.
//! - [`Transport`]: the interface hosts hold, with [`NoopTransport`] (telemetry off),
//!   [`DebugTransport`] (one JSON line per message, for `runtime.dlthub_telemetry_debug`) and,
//!   with the `test-util` feature, `CapturingTransport` and `ManualClock`.
//! - [`Stats`]: counters a host can read; [`Clock`]: the injected wall clock.
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//!
//! use dlt_redact::HttpUrl;
//! use dlt_segment::{OutboxOptions, SegmentClient, SegmentOptions, Transport, WriteKey};
//! use dlt_telemetry_model::events::{CommandEvent, TelemetrySwitch};
//! use dlt_telemetry_model::{Context, Library, OsInfo, TrackMessage};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let endpoint = HttpUrl::parse(dlt_segment::SEGMENT_BATCH_ENDPOINT)?;
//! let options = SegmentOptions::new(endpoint, "dlt/0.1.0")
//!     .with_write_key(WriteKey::new("my-write-key"))
//!     .with_outbox(OutboxOptions::new("/tmp/dlt/telemetry"));
//! let client = SegmentClient::start(options)?;
//!
//! let context = Context::new(OsInfo::new("Linux", "6.1.0"), Library::new("dlt", "0.1.0")).with_cpu(8);
//! let event = CommandEvent { arguments: TelemetrySwitch { enabled: true }, elapsed: 0.01, success: true };
//! client.track(TrackMessage::from_event(event, "933dd165453d196a58adaf49444e9b4c", context));
//!
//! let report = client.shutdown(Instant::now() + Duration::from_secs(1));
//! println!("sent {}, kept for later {}", report.stats.sent, report.saved_to_outbox);
//! # Ok(())
//! # }
//! ```

mod client;
mod clock;
mod error;
mod handoff;
mod opt_out;
mod options;
mod outbox;
mod recipient;
mod retry;
mod sender;
mod stats;
mod transport;
mod wire;
mod worker;

pub use client::SegmentClient;
#[cfg(feature = "test-util")]
pub use clock::ManualClock;
pub use clock::{Clock, SystemClock};
pub use error::SegmentError;
pub use handoff::HandoffTransport;
pub use opt_out::{OptOutWatch, latest_opt_out, record_opt_out};
pub use options::{SEGMENT_BATCH_ENDPOINT, SegmentOptions, WriteKey};
pub use outbox::{
    DEFAULT_OUTBOX_MAX_AGE, DEFAULT_OUTBOX_MAX_BYTES, DEFAULT_OUTBOX_MAX_TOTAL_BYTES, OutboxOptions, RecipientState,
    inspect_outboxes, purge_outboxes,
};
pub use recipient::Recipient;
pub use retry::{Decision, GiveUp, Outcome, RetryPolicy};
pub use sender::{SenderOutcome, SenderReport, StopSignal, run_sender};
pub use stats::Stats;
#[cfg(feature = "test-util")]
pub use transport::CapturingTransport;
pub use transport::{DebugTransport, NoopTransport, ShutdownReport, Transport};
pub use wire::BatchLimits;

// The README's example runs as a doctest, so the crate's page on crates.io cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
