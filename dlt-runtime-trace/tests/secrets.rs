//! One gate for everything that leaves: a host with a write key, a Sentry DSN, an OTLP header
//! token, a proxy password and a password in `secrets.toml` runs a pipeline whose dataset name
//! is a connection string and whose step fails naming all of them, and logs the OTLP token and
//! the DSN's key. Neither the Sentry receiver, nor the OTLP receiver, nor the saved trace gets
//! any of them: a secret of one service never reaches another.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::Dirs;
use dlt_runtime_trace::{InitOptions, PipelineIdentity, RuntimeTrace, Step, load_trace};
use dlt_test_support::{OtlpReceiver, SENTRY_PUBLIC_KEY, SentryReceiver, spans_of};
use tracing_subscriber::layer::SubscriberExt as _;

const WRITE_KEY: &str = "segment-wk-5";
const OTLP_TOKEN: &str = "otlp-t0ken-7";
const PROXY_PASSWORD: &str = "pr0xy-pa55";
const FILE_PASSWORD: &str = "pg-pa55word-9";
/// The dataset: a connection string whose password holds a quote.
const DATASET: &str = "postgresql://loader:it's9@db";

#[test]
fn no_secret_of_one_service_reaches_another_or_the_trace_file() {
    let dirs = Dirs::new();
    let sentry = SentryReceiver::start().unwrap();
    let collector = OtlpReceiver::start().unwrap();
    std::fs::write(
        dirs.global().join("secrets.toml"),
        format!("[destination.postgres.credentials]\npassword = \"{FILE_PASSWORD}\"\n"),
    )
    .unwrap();
    let dsn = sentry.dsn();
    let env = dirs.env(&[
        ("DO_NOT_TRACK", "1"),
        ("RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY", WRITE_KEY),
        ("RUNTIME__SENTRY_DSN", &dsn),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url()),
        ("OTEL_EXPORTER_OTLP_HEADERS", &format!("authorization=Bearer%20{OTLP_TOKEN}")),
        // Only https:// goes through it; the receivers are http://.
        ("HTTPS_PROXY", &format!("http://proxyuser:{PROXY_PASSWORD}@127.0.0.1:9")),
    ]);
    let runtime = RuntimeTrace::init(InitOptions::new("host_under_test", "9.9.9").with_env(env));
    assert!(runtime.issues().is_empty(), "{:?}", runtime.issues());
    let error = format!(
        "load into {DATASET} failed: token {OTLP_TOKEN} rejected by {dsn} (key {SENTRY_PUBLIC_KEY}), \
         password {FILE_PASSWORD}, write key {WRITE_KEY}, proxy {PROXY_PASSWORD}"
    );
    let subscriber = tracing_subscriber::registry().with(runtime.sentry_layer()).with(runtime.otel_layer());
    let finished = tracing::subscriber::with_default(subscriber, || {
        let pipeline = PipelineIdentity::new("tiny")
            .with_destination("postgres", "dlt.destinations.postgres")
            .with_dataset(DATASET);
        let mut run = runtime.start_pipeline_run(pipeline, Step::Run);
        run.step(Step::Extract, |report| {
            tracing::warn!("extract authenticated with {OTLP_TOKEN}");
            tracing::warn!(key = SENTRY_PUBLIC_KEY, "extract reported to {dsn}");
            report.info =
                Some(serde_json::json!({"source": "https://user:src-pa55w0rd@api.example.com/v1?api_key=k3y-1"}));
            Ok::<_, std::io::Error>(())
        })
        .unwrap();
        let _ = run.step(Step::Load, |_| Err::<(), _>(std::io::Error::other(error.clone())));
        run.finish().unwrap()
    });
    let summary = runtime.shutdown();
    assert_eq!(summary.sentry_flushed, Some(true));

    let never = [WRITE_KEY, OTLP_TOKEN, PROXY_PASSWORD, FILE_PASSWORD, "it's9", "loader", "src-pa55w0rd", "k3y-1"];
    // Sentry: the key authenticates the envelope (its header); no item carries it, or any other.
    assert!(sentry.wait_for(3, Duration::from_secs(5)));
    let items: Vec<_> = sentry.envelopes().unwrap().into_iter().flat_map(|envelope| envelope.items).collect();
    let item_types: Vec<&str> = items.iter().map(|item| item.item_type.as_str()).collect();
    assert_eq!(item_types.iter().filter(|kind| **kind == "event").count(), 2, "{item_types:?}");
    for item in &items {
        let payload = item.payload.to_string();
        for secret in never.iter().chain([&SENTRY_PUBLIC_KEY]) {
            assert!(!payload.contains(secret), "{secret} reached Sentry: {payload}");
        }
    }
    let transaction = items.iter().find(|item| item.item_type == "transaction").unwrap();
    assert_eq!(transaction.payload["tags"]["dataset_name"], "postgresql://[Filtered]@db");
    let messages: Vec<&str> = items.iter().filter_map(|item| item.payload["logentry"]["message"].as_str()).collect();
    assert!(messages.contains(&"extract authenticated with [Filtered]"), "{messages:?}");
    for request in sentry.requests() {
        let body = String::from_utf8_lossy(&request.body);
        assert!(never.iter().all(|secret| !body.contains(secret)), "{body}");
    }

    // OpenTelemetry: nothing, anywhere in the requests.
    let requests = collector.requests();
    for request in &requests {
        let body = String::from_utf8_lossy(&request.body);
        for secret in never.iter().chain([&SENTRY_PUBLIC_KEY]) {
            assert!(!body.contains(secret), "{secret} reached the collector: {body}");
        }
    }
    let spans = spans_of(&requests).unwrap();
    let root = spans.iter().find(|span| span.is_root()).unwrap();
    assert_eq!(root.string("dlt.dataset.name"), Some("postgresql://***@db"));
    let extract = spans.iter().find(|span| span.name() == "extract").unwrap();
    let events: Vec<&str> = extract.span.events.iter().map(|event| event.name.as_str()).collect();
    assert_eq!(events, ["extract authenticated with ***", "extract reported to ***"]);

    // The trace, as the run returns it, as saved and as read back.
    let expected = "load into postgresql://***@db failed: token *** rejected by *** (key ***), password ***, \
                    write key ***, proxy ***";
    let load = |trace: &dlt_telemetry_model::PipelineTrace| trace.steps[1].step_exception.clone().unwrap();
    assert_eq!(load(&finished.trace), expected);
    let file = std::fs::read_to_string(finished.saved.as_ref().unwrap()).unwrap();
    for secret in never.iter().chain([&SENTRY_PUBLIC_KEY]) {
        assert!(!file.contains(secret), "{secret} saved in {file}");
    }
    let loaded = load_trace(&dirs.global().join("pipelines"), "tiny").unwrap().unwrap();
    assert_eq!(load(&loaded), expected);
    assert_eq!(loaded.pipeline.dataset_name.as_deref(), Some("postgresql://***@db"));
    assert_eq!(loaded.steps[0].step_info.as_ref().unwrap()["source"], "https://***@api.example.com/v1?api_key=***");
}
