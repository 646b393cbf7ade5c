//! OpenTelemetry for any Rust data tool: pipeline runs and commands exported as traces over
//! OTLP/HTTP (protobuf) to the user's own collector, configured by the standard `OTEL_*`
//! variables, joined to the caller's trace by `TRACEPARENT`. Of this workspace it uses only
//! the leaf crates `dlt-redact` (the rule for secrets), `dlt-http` (the HTTP client, proxies
//! and trust) and `dlt-pipeline-run` (what names a pipeline run), so it stands alone.
//!
//! - [`OtelOptions::from_lookup`] reads the OpenTelemetry variables through a lookup (and from
//!   the same lookup the proxy and trust variables, [`OtelOptions::network`]) and returns typed
//!   [`OtelWarning`]s for what it ignored; export is off unless an endpoint is set.
//! - [`init`] starts export and returns an [`OtelGuard`] (without an endpoint, or with
//!   `OTEL_SDK_DISABLED=true`: a no-op guard, no thread, no socket);
//!   [`OtelGuard::shutdown_by`] returns by its deadline even when the collector never answers.
//! - [`PipelineRunSpan`] and [`StepSpan`]: one trace per run, a root span with the run's
//!   [`PipelineIdentity`] as attributes and a child span per step, ERROR with the error message on failure;
//!   the Sentry bridge has the same API for its transactions. Every name exported is in
//!   [`attributes`].
//! - [`CommandSpan`]: one span per command of a command line.
//! - [`OtelGuard::tracing_layer`]: `tracing` events at WARN and above, emitted during a run,
//!   become events of the run's current span.
//! - Delivery runs on the SDK's bounded batch processor, through dlt-http's client (the
//!   proxies and trust of [`NetworkEnv`], no redirects) with retries that stop at the exit
//!   deadline; a collector that refuses connections, does not resolve or fails TLS is not
//!   retried at exit; response bodies are never read past 64 KiB.
//! - Header values, the endpoint's credentials and [`OtelOptions::extra_secrets`] never reach
//!   `Debug` or errors, and every span passes one gate on its way out, whatever built it: its
//!   name, every string attribute, its events and its status message are redacted by
//!   dlt-redact's rule (URL user info, query values and fragments hidden too); so are the
//!   resource's attributes (`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_SERVICE_NAME`).
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! use dlt_otel_bridge::{OtelOptions, PipelineIdentity, PipelineRunSpan};
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (options, warnings) = OtelOptions::from_lookup(|name| std::env::var(name).ok(), None);
//! for warning in &warnings {
//!     eprintln!("warning: {warning}");
//! }
//! let guard = dlt_otel_bridge::init(options.with_library("my_tool", "0.3.0"));
//! tracing::subscriber::set_global_default(tracing_subscriber::registry().with(guard.tracing_layer()))?;
//!
//! let pipeline = PipelineIdentity::new("chess")
//!     .with_destination("duckdb", "dlt.destinations.duckdb")
//!     .with_dataset("games");
//! let run = PipelineRunSpan::start(&guard, "run", &pipeline);
//! let extract = run.start_step("extract");
//! extract.set_rows(1_000);
//! extract.finish();
//! let normalize = run.start_step("normalize");
//! tracing::warn!("schema changed"); // an event of the normalize span
//! normalize.fail("column type conflict");
//! run.finish(); // ERROR: a step failed
//! guard.shutdown_by(Instant::now() + Duration::from_secs(1));
//! # Ok(())
//! # }
//! ```

pub mod attributes;
mod command;
mod endpoint;
mod guard;
mod headers;
mod kv_list;
mod layer;
mod options;
mod pipeline;
mod redact;
mod trace_context;
mod transport;

pub use command::CommandSpan;
/// Proxies and extra trust for the HTTP client, for [`OtelOptions::network`].
pub use dlt_http::NetworkEnv;
/// What names a pipeline run, for [`PipelineRunSpan::start`].
pub use dlt_pipeline_run::PipelineIdentity;
/// A set of secrets to hide in everything exported, for [`OtelOptions::extra_secrets`].
pub use dlt_redact::Redactor;
/// Why an endpoint URL was rejected (it never repeats the value).
pub use dlt_redact::UrlError;
pub use endpoint::OtlpEndpoint;
pub use guard::{OtelGuard, OtelStatus, StartError, init};
pub use headers::{HeaderError, OtlpHeaders};
pub use layer::OtelLayer;
pub use options::{CONFIG_ENDPOINT_KEY, OffReason, OtelOptions, OtelWarning, OtlpCompression, Setting};
pub use pipeline::{PipelineRunSpan, StepSpan};
pub use trace_context::{TraceContextError, TraceParent};
pub use transport::ExportStats;

// The README's example runs as a doctest, so the crate's page on crates.io cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
