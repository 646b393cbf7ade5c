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
//! - [`RetryPolicy`]: `dlt-http`'s one retry decision with Segment's rules
//!   ([`RetryPolicy::segment`]: 408, 429, 5xx but 501 and 505, and failures to get an answer),
//!   exponential backoff, jitter and a capped `Retry-After`; a pure function.
//! - The outbox ([`OutboxOptions`]): what is not delivered is kept as JSON lines on disk, one
//!   folder per [`Recipient`] (endpoint and write key), bounded in bytes and age, healed when
//!   damaged, and sent only to that recipient; every file of it goes through the file gate
//!   (`dlt_fs::PrivateDir`); [`inspect_outboxes`] shows what waits and what is wrong.
//! - The opt-out mark: [`record_opt_out`] (when the user switches telemetry off) increments its
//!   counter and deletes every outbox; every sender compares it ([`OptOutWatch`]) with the
//!   counter it started with (read before its configuration: [`OutboxOptions::opt_out_baseline`])
//!   before each request and before keeping anything, so nothing
//!   recorded before an opt-out is sent or kept, by any process, whatever the clocks say.
//! - The record of what left ([`inspect_sent`]): every message an endpoint confirmed, exactly as
//!   it was sent, written by the worker that got the confirmation (never on the caller's
//!   thread) beside the outbox, per recipient, bounded to 30 days and 1 MiB, with the counts of
//!   what was delivered and dropped ([`DroppedCounts`]); deleted by [`record_opt_out`].
//! - [`Transport`]: the interface hosts hold, with [`DebugTransport`] (one JSON line per message, for `runtime.dlthub_telemetry_debug`) and,
//!   with the `test-util` feature, `CapturingTransport` and `ManualClock`.
//! - [`Stats`]: counters a host can read; [`Clock`]: the injected wall clock.
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//!
//! use dlt_redact::HttpUrl;
//! use dlt_segment::{OutboxOptions, SegmentClient, SegmentOptions, Transport, WriteKey};
//! use dlt_telemetry_model::events::{CommandEvent, TelemetrySwitch};
//! use dlt_telemetry_model::{AnonymousId, AnonymousMessage, Context, Library, OsInfo, SafeContext};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let endpoint = HttpUrl::parse(dlt_segment::SEGMENT_BATCH_ENDPOINT)?;
//! let options = SegmentOptions::new(endpoint, "dlt/0.1.0")
//!     .with_write_key(WriteKey::new("my-write-key"))
//!     .with_outbox(OutboxOptions::new("/tmp/dlt/telemetry"));
//! let client = SegmentClient::start(options)?;
//!
//! // Every message passes the privacy gate: only names, hashes, ids, numbers and booleans.
//! let context = SafeContext::screen(Context::new(OsInfo::new("Linux", "6.1.0"), Library::new("dlt", "0.1.0")));
//! let event = CommandEvent { arguments: TelemetrySwitch { enabled: true }, elapsed: 0.01, success: true };
//! let anonymous_id = AnonymousId::from_random_bytes(*b"0123456789abcdef");
//! client.track(AnonymousMessage::from_event(event, anonymous_id, &context));
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
mod sender;
mod sent;
mod stats;
mod transport;
mod wire;
mod worker;

pub use client::SegmentClient;
pub use clock::Clock;
#[cfg(feature = "test-util")]
pub use clock::ManualClock;
pub use dlt_http::RetryPolicy;
pub use error::SegmentError;
pub use handoff::HandoffTransport;
pub use opt_out::{OptOutMark, OptOutWatch, read_opt_out, record_opt_out};
pub use options::{SEGMENT_BATCH_ENDPOINT, SegmentOptions, WriteKey};
pub use outbox::{OutboxOptions, RecipientState, inspect_outboxes};
pub use recipient::Recipient;
pub use sender::{SenderOutcome, StopSignal, run_sender};
pub use sent::{DEFAULT_SENT_MAX_AGE, DEFAULT_SENT_MAX_BYTES, DroppedCounts, SentMessage, SentState, inspect_sent};
pub use stats::Stats;
#[cfg(feature = "test-util")]
pub use transport::CapturingTransport;
pub use transport::{DebugTransport, ShutdownReport, Transport};
pub use wire::BatchLimits;

// The README's example runs as a doctest, so the crate's page on crates.io cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
