//! dlt's telemetry and tracing behind one master switch, for any host program: one
//! [`RuntimeTrace::init`], one guard.
//!
//! - [`RuntimeTrace`]: reads the configuration (files and environment), decides in DESIGN
//!   order (`enable_runtime_trace`, then `DO_NOT_TRACK`, then `runtime.dlthub_telemetry`,
//!   where any `false` wins; see [`Status`]), starts usage telemetry, Sentry and
//!   OpenTelemetry, and shuts them down within one deadline when dropped. With the master
//!   switch off it starts nothing at all. What went wrong is typed: [`StartIssue`].
//! - Usage telemetry is sent from the process, or, with [`InitOptions::with_detached_sender`],
//!   handed to a detached sender at exit ([`run_detached_sender`] is its entry point), so
//!   that a short-lived program never waits for the network.
//! - [`RuntimeTrace::track_command`]: a command's event, before or after it ([`Track`]).
//! - [`RuntimeTrace::start_pipeline_run`]: a [`TracedRun`] of a [`PipelineIdentity`] in
//!   [`Step`]s that sends `pipeline_<step>` events, drives the Sentry transaction and the
//!   OpenTelemetry trace, and saves `pipelines/<name>/trace.json` ([`save_trace`],
//!   [`load_trace`]).
//! - [`secret_set`]: every secret of the configuration (write key, DSN, OTLP headers, endpoint
//!   and proxy credentials, the strings of the `secrets.toml` files and the values of the
//!   variables named like credentials, with what they hold), gathered once by
//!   [`RuntimeTrace::start`] ([`RuntimeTrace::secrets`]) and hidden in everything Sentry and
//!   OpenTelemetry are sent and in every saved trace; a trace is read back with the URL rule
//!   applied again ([`load_trace`]), since an older writer may have kept a secret.
//! - [`switch_telemetry`]: the opt-out switch, which every process honours at once;
//!   [`record_opt_out`] for a switch another program made in the config files.
//! - [`waiting_telemetry`]: what waits to be sent, per recipient, and what is wrong with it;
//!   it looks, never fails, and creates nothing.
//! - [`sent_telemetry`]: what was delivered, per recipient, exactly as it was sent (the last 30
//!   days), with the counts of what was delivered and dropped; it looks, never fails.
//! - [`RuntimeTrace::notice`]: the first-run notice ([`FirstRunNotice`]) for a host to show its
//!   own way; the runtime never prints.
//!
//! ```no_run
//! use dlt_runtime_trace::{InitOptions, PipelineIdentity, RuntimeTrace, Step};
//!
//! let runtime = RuntimeTrace::init(InitOptions::new("my_tool", "0.3.0"));
//! for issue in runtime.issues() {
//!     eprintln!("warning: {issue}");
//! }
//! let mut run = runtime.start_pipeline_run(PipelineIdentity::new("chess_pipeline"), Step::Run);
//! let rows = run.step(Step::Extract, |_report| Ok::<_, std::io::Error>(vec![1, 2, 3]))?;
//! run.step(Step::Normalize, |_| Ok::<_, std::io::Error>(rows.len()))?;
//! run.step(Step::Load, |_| Ok::<_, std::io::Error>(()))?;
//! if let Some(finished) = run.finish() {
//!     println!("trace saved to {:?}", finished.saved);
//! }
//! # Ok::<(), std::io::Error>(())
//! ```

mod command;
mod context;
mod credentials;
mod issues;
mod notice;
mod options;
mod otel;
mod pipeline;
mod runtime;
mod secrets;
mod sender;
mod sentry;
mod shutdown;
mod status;
mod switch;
mod trace_file;
mod usage;

pub use command::{CommandOutcome, Track};
pub use credentials::WithheldCredential;
/// The set of secrets [`secret_set`] and [`RuntimeTrace::secrets`] give.
pub use dlt_redact::Redactor;
pub use dlt_segment::{DroppedCounts, RecipientState, SenderOutcome, SentMessage, SentState, StopSignal};
/// What a pipeline run is about: the pipeline, its destination and its dataset.
pub use dlt_telemetry_model::PipelineIdentity;
pub use issues::{Service, StartIssue};
pub use notice::{FIRST_RUN_NOTICE, FirstRunNotice};
pub use options::{Delivery, HostContext, InitOptions, SenderCommand};
pub use pipeline::{FinishedRun, Step, StepInProgress, StepReport, TracedRun};
pub use runtime::{Keeper, RuntimeTrace};
pub use secrets::{MIN_FOUND_SECRET_CHARS, secret_set};
pub use sender::{SENDER_BOUND, SENDER_MARKER, SenderError, run_detached_sender, serve_detached_sender};
pub use shutdown::ShutdownSummary;
pub use status::{
    DecidedBy, LoggedMessage, SentTelemetry, Status, WaitingTelemetry, sent_telemetry, time_ago, waiting_telemetry,
};
pub use switch::{TelemetrySwitchError, record_opt_out, switch_telemetry};
pub use trace_file::{
    MAX_TRACE_FILE_BYTES, TRACE_FILE_NAME, TraceFileError, load_trace, redact_trace, save_trace, trace_path,
};

// The README's example runs as a doctest, so the crate's page on crates.io cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
