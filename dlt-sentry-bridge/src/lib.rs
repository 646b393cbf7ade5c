//! dlt-style Sentry tracing for any Rust data tool, on sentry-core. Of this workspace it uses
//! only the leaf crates `dlt-redact` (the rule for secrets), `dlt-http` (the HTTP client,
//! proxies and trust) and `dlt-pipeline-run` (what names a pipeline run), so it stands
//! alone.
//!
//! - [`init`] starts Sentry from plain [`SentryOptions`] and returns a [`SentryGuard`] that
//!   flushes and closes by a deadline ([`SentryGuard::shutdown_by`]) (without a DSN: a no-op guard, no thread, no socket;
//!   with a host-bound client: that client is kept and given dlt's tags and scrubbing).
//! - [`SentryGuard::tracing_layer`] turns `tracing` events at or above the event level into
//!   Sentry events and INFO and above into breadcrumbs.
//! - Panics become unhandled error events, flushed (for at most 2 s, and never longer than
//!   the shutdown timeout) before the previous panic hook runs.
//! - [`PipelineRunSpan`] and [`StepSpan`] record a pipeline run as a transaction with one
//!   span per step, tagged with its [`PipelineIdentity`] (`pipeline_name`, `destination`,
//!   `dataset_name`); the OpenTelemetry bridge has the same API for its traces.
//! - Everything sent (messages, exceptions, breadcrumbs, tags, extra, user, contexts,
//!   transactions and their spans) is scrubbed of the DSN and its keys,
//!   [`SentryOptions::extra_secrets`] and every URL's user info, query values and fragment
//!   (with [`dlt_redact`]'s rule and Sentry's mask `[Filtered]`): by the bridge's transport
//!   when it runs its own client; with a host's client, by a scope event processor for events
//!   and, for transactions, as [`PipelineRunSpan`] builds them. Breadcrumbs are scrubbed
//!   also as the layer records them: the scope keeps them after the client is closed.
//! - sentry-core is a public dependency only where a host plugs in a transport of its own
//!   ([`SentryOptions::transport`]) and in the `test-util` helpers.
//! - The HTTP transport is a bounded queue and one background thread; it never blocks the
//!   caller and its flush and shutdown return within their timeout. It goes through the
//!   proxies and trusts the certificates of [`SentryOptions::network`] ([`NetworkEnv`]),
//!   follows no redirect and never reads more than 64 KiB of an answer. At shutdown, an
//!   endpoint that refuses connections, does not resolve or fails TLS is tried once: what is
//!   still queued is then dropped and counted ([`TransportStats::dropped_unreachable`]).
//!
//! ```no_run
//! use std::time::{Duration, Instant};
//! use dlt_sentry_bridge::{
//!     EventLevel, HostEnvironment, NetworkEnv, PipelineIdentity, PipelineRunSpan, SentryDsn, SentryOptions,
//! };
//! use tracing_subscriber::layer::SubscriberExt;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut options = SentryOptions::new("1.31.0");
//! options.dsn = Some(SentryDsn::parse("https://public@o1.ingest.sentry.io/42")?);
//! options.event_level = EventLevel::Warning;
//! options.host_environment = HostEnvironment::from_process();
//! options.network = NetworkEnv::from_process(); // HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE, ...
//! let guard = dlt_sentry_bridge::init(options);
//! tracing::subscriber::set_global_default(
//!     tracing_subscriber::registry().with(guard.tracing_layer()),
//! )?;
//!
//! let pipeline = PipelineIdentity::new("chess")
//!     .with_destination("postgres", "dlt.destinations.postgres")
//!     .with_dataset("games");
//! let run = PipelineRunSpan::start(&guard, "run", &pipeline);
//! run.start_step("extract").finish();
//! tracing::warn!("this becomes a Sentry event");
//! // The message is scrubbed: `postgresql://[Filtered]@db/dlt`.
//! run.start_step("load").fail("could not connect to postgresql://loader:Xy;9@db/dlt");
//! run.finish(); // internal_error: a step failed
//! guard.shutdown_by(Instant::now() + Duration::from_secs(1));
//! # Ok(())
//! # }
//! ```

mod guard;
mod layer;
mod options;
mod panic;
mod pipeline;
mod scrub;
mod secret;
#[cfg(any(test, feature = "test-util"))]
pub mod test_util;
mod transport;

pub use guard::{SentryGuard, init};
pub use layer::SentryLayer;
pub use options::{EventLevel, HostEnvironment, SentryOptions};
pub use pipeline::{PipelineRunSpan, StepSpan};
pub use secret::{DsnError, SentryDsn};
pub use transport::TransportStats;

/// Proxies and extra trust for the HTTP transport, for [`SentryOptions::network`].
pub use dlt_http::NetworkEnv;
/// What names a pipeline run, for [`PipelineRunSpan::start`].
pub use dlt_pipeline_run::PipelineIdentity;
/// A set of secrets besides the DSN (a write key, a token), for [`SentryOptions::extra_secrets`].
pub use dlt_redact::Redactor;
/// A string that never prints, as the bridge's options keep secrets.
pub use dlt_redact::Secret;

// The README's example runs as a doctest, so the crate's page on crates.io cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
