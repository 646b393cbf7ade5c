//! Writes the envelopes the bridge really posts into a directory, one file per HTTP request,
//! so that other tools (e.g. Sentry's Python SDK) can check them: an error event with a
//! breadcrumb, the unhandled event of a real panic, and a pipeline transaction with three
//! step spans (the last one failed). Secrets are planted so the files also show scrubbing.
//!
//! ```text
//! cargo run -p dlt-sentry-bridge --example capture_envelopes -- <dir>
//! ```
//!
//! Prints the path of each file written (`NN-<item types>.envelope`). The panic's default
//! message on stderr is expected.
#![allow(clippy::print_stdout, reason = "the file list is this example's output")]

use std::error::Error;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use dlt_sentry_bridge::{HostEnvironment, PipelineIdentity, PipelineRunSpan, Redactor, SentryDsn, SentryOptions};
use dlt_test_support::{RawEnvelope, SentryReceiver};
use tracing_subscriber::layer::SubscriberExt;

/// The error event, the panic event and the transaction.
const EXPECTED_REQUESTS: usize = 3;

fn main() -> Result<(), Box<dyn Error>> {
    let directory = PathBuf::from(std::env::args_os().nth(1).ok_or("usage: capture_envelopes <output directory>")?);
    std::fs::create_dir_all(&directory)?;
    let server = SentryReceiver::start()?;

    let mut options = SentryOptions::new(env!("CARGO_PKG_VERSION"));
    options.dsn = Some(SentryDsn::parse(&server.dsn())?);
    options.pipeline_name = Some("capture_pipeline".into());
    options.environment = Some("capture".into());
    options.host_environment = HostEnvironment::from_lookup(|name| {
        let value = match name {
            "COMMIT_SHA" => "192891",
            "IMAGE_VERSION" => "scale/v:112",
            "GITHUB_REPOSITORY_OWNER" => "dlt-hub",
            _ => return None,
        };
        Some(value.to_owned())
    });
    options.extra_secrets = Redactor::new(["planted-write-key"]);
    options.shutdown_timeout = Duration::from_secs(5);
    let guard = dlt_sentry_bridge::init(options);

    let subscriber = tracing_subscriber::registry().with(guard.tracing_layer());
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(target: "dlt", "connecting with key planted-write-key");
        tracing::error!(
            target: "dlt",
            table = "users",
            "load failed for postgres://loader:hunter2@db:5432/dlt"
        );
    });

    // A real panic on another thread: the bridge's hook reports and flushes it.
    let panicked = std::thread::spawn(|| panic!("planned panic in capture_envelopes")).join();
    if panicked.is_ok() {
        return Err("the panicking thread did not panic".into());
    }

    let pipeline = PipelineIdentity::new("capture_pipeline")
        .with_destination("duckdb", "dlt.destinations.duckdb")
        .with_dataset("capture_dataset");
    let run = PipelineRunSpan::start(&guard, "run", &pipeline);
    run.start_step("extract").finish();
    run.start_step("normalize").finish();
    run.start_step("load").fail("load failed for postgres://loader:hunter2@db:5432/dlt");
    run.finish();

    if !guard.shutdown_by(Instant::now() + Duration::from_secs(5)) {
        return Err("not every envelope was sent within 5 s".into());
    }
    server.wait_for(EXPECTED_REQUESTS, Duration::from_secs(5));
    let requests = server.requests();
    if requests.len() != EXPECTED_REQUESTS {
        return Err(format!("expected {EXPECTED_REQUESTS} envelopes, received {}", requests.len()).into());
    }
    for (index, request) in requests.iter().enumerate() {
        let kinds = RawEnvelope::parse(&request.body)?.item_types().join("+");
        let path = directory.join(format!("{index:02}-{kinds}.envelope"));
        std::fs::write(&path, &request.body)?;
        println!("{}", path.display());
    }
    Ok(())
}
