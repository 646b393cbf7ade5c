//! The bridge alone in a tool of your own: Sentry from a DSN, `tracing` events as Sentry
//! events and breadcrumbs, panics reported, and a pipeline run as a transaction.
//!
//! ```text
//! SENTRY_DSN=https://<key>@<org>.ingest.sentry.io/<project> \
//!     cargo run -p dlt-sentry-bridge --example standalone
//! ```
//!
//! Without `SENTRY_DSN` it runs the same code with Sentry off: nothing is sent, no thread starts.

use std::error::Error;
use std::time::{Duration, Instant};

use dlt_sentry_bridge::{EventLevel, HostEnvironment, PipelineIdentity, PipelineRunSpan, SentryDsn, SentryOptions};
use tracing_subscriber::layer::SubscriberExt;

fn main() -> Result<(), Box<dyn Error>> {
    let mut options = SentryOptions::new(env!("CARGO_PKG_VERSION"));
    options.dsn = match std::env::var("SENTRY_DSN") {
        Ok(dsn) if !dsn.trim().is_empty() => Some(SentryDsn::parse(&dsn)?),
        _ => None,
    };
    options.event_level = EventLevel::Warning;
    options.pipeline_name = Some("standalone".into());
    options.host_environment = HostEnvironment::from_process();
    options.shutdown_timeout = Duration::from_secs(2);
    let guard = dlt_sentry_bridge::init(options);

    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(tracing_subscriber::fmt::layer()).with(guard.tracing_layer()),
    )?;
    tracing::info!(sentry = guard.is_enabled(), "standalone example started");

    let pipeline = PipelineIdentity::new("standalone")
        .with_destination("duckdb", "dlt.destinations.duckdb")
        .with_dataset("example_data");
    let run = PipelineRunSpan::start(&guard, "run", &pipeline);
    for step in ["extract", "normalize", "load"] {
        let span = run.start_step(step);
        tracing::info!(step, "step done");
        span.finish();
    }
    tracing::warn!("a warning: sent as a Sentry event at log level WARNING");
    run.finish();

    let sent_everything = guard.shutdown_by(Instant::now() + Duration::from_secs(2));
    tracing::info!(sent_everything, "standalone example finished");
    Ok(())
}
