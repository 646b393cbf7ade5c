//! A Segment transport that never blocks the caller, never holds up exit, and keeps what it
//! could not send.
//!
//! - [`SegmentClient`]: `track` puts a message on a bounded queue and returns at once (a full
//!   queue drops the message and counts it); one worker thread, with its own current-thread
//!   tokio runtime, sends them. An endpoint whose path ends in `/v1/batch` gets Segment's batch
//!   API within Segment's limits ([`BatchLimits`]); any other URL gets one message per POST,
//!   the way dlt does it. Shutdown, explicit or on drop, is bounded by one deadline, a request
//!   in flight included.
//! - [`RetryPolicy`]: what is retried (408, 429, 5xx but 501 and 505, connection errors,
//!   timeouts), with exponential backoff, jitter and a capped `Retry-After`; a pure function.
//! - [`OutboxOptions`]: what is not delivered by the deadline is kept as JSON lines on disk,
//!   bounded in bytes and age, and sent by the next transport started on the same directory;
//!   [`purge_outbox`] deletes it when telemetry is turned off.
//! - [`Transport`]: the interface hosts hold, with [`NoopTransport`] (telemetry off),
//!   [`DebugTransport`] (one JSON line per message, for `runtime.dlthub_telemetry_debug`) and,
//!   with the `test-util` feature, `CapturingTransport`.
//! - [`Stats`]: counters a host can read.
//! - [`wire`]: how messages are serialised and batched.
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//!
//! use dlt_segment::{OutboxOptions, SegmentClient, SegmentOptions, Transport, WriteKey};
//! use dlt_telemetry_model::events::{CommandEvent, TelemetrySwitch};
//! use dlt_telemetry_model::{Context, Library, OsInfo, TrackMessage};
//!
//! let options = SegmentOptions::new(dlt_segment::SEGMENT_BATCH_ENDPOINT, "dlt/0.1.0")
//!     .with_write_key(WriteKey::new("my-write-key"))
//!     .with_outbox(OutboxOptions::new("/tmp/dlt/telemetry/outbox"));
//! let client = SegmentClient::start(options)?;
//!
//! let context = Context::new(false, 8, vec![], OsInfo::new("Linux", "6.1.0"), Library::new("dlt", "0.1.0"), None);
//! let event = CommandEvent { arguments: TelemetrySwitch { enabled: true }, elapsed: 0.01, success: true };
//! client.track(TrackMessage::from_event(event, "933dd165453d196a58adaf49444e9b4c", context));
//!
//! let report = client.shutdown(Instant::now() + Duration::from_secs(1));
//! println!("sent {}, kept for later {}", report.stats.sent, report.saved_to_outbox);
//! # Ok::<(), dlt_segment::SegmentError>(())
//! ```

mod client;
mod error;
mod options;
mod outbox;
mod retry;
mod stats;
mod transport;
pub mod wire;
mod worker;

pub use client::SegmentClient;
pub use error::SegmentError;
pub use options::{SEGMENT_BATCH_ENDPOINT, SegmentOptions, WriteKey};
pub use outbox::{DEFAULT_OUTBOX_MAX_AGE, DEFAULT_OUTBOX_MAX_BYTES, OutboxOptions, purge_outbox, read_outbox};
pub use retry::{Decision, Failure, Outcome, RetryPolicy, is_retryable, parse_retry_after};
pub use stats::Stats;
#[cfg(feature = "test-util")]
pub use transport::CapturingTransport;
pub use transport::{DebugTransport, NoopTransport, ShutdownReport, Transport};
pub use wire::BatchLimits;
