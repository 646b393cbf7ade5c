//! A host program's view: init, commands, pipeline runs and shutdown, with temporary dirs and
//! loopback servers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::{Captured, Dirs, alone_in_this_process, golden, keys, outbox_messages, schema_failures};
// Linux only: threads are counted through /proc/self/task.
#[cfg(target_os = "linux")]
use common::our_threads;
use dlt_runtime_trace::{
    DecidedBy, FIRST_RUN_NOTICE, HostContext, InitOptions, PipelineIdentity, RuntimeTrace, Step, Track, load_trace,
    save_trace, sent_telemetry, switch_telemetry,
};
use dlt_telemetry_model::events::{Init, PipelineCommand, TelemetryStatus};
use dlt_telemetry_model::{EventCategory, KnownEvent, TrackMessage};
use dlt_test_support::{Answer, HangingServer, RawEnvelope, Recorder, SentryReceiver};

/// Options for a host named `host_under_test` reading only `env`, printing events to `captured`.
fn debug_options(env: dlt_config::Environment, captured: &Captured) -> InitOptions {
    let mut options = InitOptions::new("host_under_test", "9.9.9").with_env(env);
    options.print_events_by_default = true;
    options.debug_writer = Some(Box::new(captured.clone()));
    options
}

fn chess() -> PipelineIdentity {
    PipelineIdentity::new("tiny").with_destination("duckdb", "dlt.destinations.duckdb").with_dataset("tiny_data")
}

/// Runs extract, normalize and load of `chess()`, whose default schema is `tiny`; `fail_at`
/// makes that step fail.
fn run_pipeline(runtime: &RuntimeTrace, fail_at: Option<Step>) {
    let mut run = runtime.start_pipeline_run(chess(), Step::Run);
    run.set_default_schema_name("tiny");
    for step in [Step::Extract, Step::Normalize, Step::Load] {
        let failed = fail_at == Some(step);
        let result =
            run.step(step, |_| if failed { Err(std::io::Error::other(format!("{step} broke"))) } else { Ok(()) });
        if result.is_err() {
            break;
        }
    }
    run.finish();
}

#[test]
fn master_switch_off_starts_nothing_and_sends_nothing() {
    // Counts this process's threads, and uses Sentry's process-wide hub.
    if !alone_in_this_process("master_switch_off_starts_nothing_and_sends_nothing") {
        return;
    }
    let dirs = Dirs::new();
    let segment = HangingServer::start().unwrap();
    let sentry = SentryReceiver::start().unwrap();
    let env = dirs.env(&[
        ("ENABLE_RUNTIME_TRACE", "false"),
        ("RUNTIME__DLTHUB_TELEMETRY", "true"),
        ("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", &segment.url()),
        ("RUNTIME__SENTRY_DSN", &sentry.dsn()),
    ]);
    let runtime = RuntimeTrace::init(InitOptions::new("host_under_test", "9.9.9").with_env(env));
    assert!(!runtime.status().runtime_trace);
    assert!(!runtime.status().telemetry);
    assert!(matches!(runtime.status().decided_by, DecidedBy::MasterSwitch(_)));
    assert!(runtime.sentry_layer().is_none());
    runtime.track_command(TelemetryStatus {}, Track::After, || 0);
    run_pipeline(&runtime, None);
    // Linux only: threads are counted through /proc/self/task.
    #[cfg(target_os = "linux")]
    assert_eq!(our_threads(), Vec::<String>::new(), "no thread may be started");
    let summary = runtime.shutdown();
    assert_eq!((summary.usage, summary.sentry_flushed, summary.otel_flushed), (None, None, None));
    assert_eq!(segment.connections(), 0);
    assert!(sentry.requests().is_empty());
    assert_eq!(dirs.global_files(), Vec::<std::path::PathBuf>::new(), "no trace file, no outbox, nothing");
}

#[test]
fn the_master_switch_of_one_pipeline_stops_only_that_pipeline() {
    let dirs = Dirs::new();
    let captured = Captured::default();
    let env = dirs.env(&[("PIPELINES__TINY__ENABLE_RUNTIME_TRACE", "false")]);
    let runtime = RuntimeTrace::init(debug_options(env, &captured));
    run_pipeline(&runtime, None);
    assert!(captured.messages().is_empty());
    let mut other = chess();
    other.pipeline_name = "other".into();
    let run = runtime.start_pipeline_run(other, Step::Run);
    assert!(run.is_recording());
    run.finish();
    assert_eq!(captured.messages().len(), 1);
    assert!(load_trace(&dirs.global().join("pipelines"), "tiny").unwrap().is_none());
    assert!(load_trace(&dirs.global().join("pipelines"), "other").unwrap().is_some());
}

#[test]
fn an_untyped_event_goes_out_with_its_properties_and_the_hosts_own_context() {
    let dirs = Dirs::new();
    let captured = Captured::default();
    let host = HostContext::default().with_python("3.11.7").with_exec_info(vec!["notebook".into()]);
    let runtime = RuntimeTrace::init(debug_options(dirs.env(&[]), &captured).with_host_context(host));
    let mut properties = serde_json::Map::new();
    properties.insert("format".into(), "parquet".into());
    runtime.track_event(EventCategory::Command, "export", properties);
    assert!(runtime.flush(Duration::from_secs(1)));
    let messages = captured.messages();
    let [message] = messages.as_slice() else { panic!("one message: {messages:?}") };
    assert_eq!(message.event, "command_export");
    assert_eq!(keys(&message.properties), ["format", "event_category", "event_name"]);
    assert_eq!(message.context.python.as_deref(), Some("3.11.7"));
    assert_eq!(message.context.exec_info, ["notebook"]);
    assert!(schema_failures(message).is_empty(), "{:?}", schema_failures(message));
}

#[test]
fn do_not_track_stops_usage_telemetry_but_not_sentry() {
    // Uses Sentry's process-wide hub.
    if !alone_in_this_process("do_not_track_stops_usage_telemetry_but_not_sentry") {
        return;
    }
    let dirs = Dirs::new();
    let segment = HangingServer::start().unwrap();
    let sentry = SentryReceiver::start().unwrap();
    let env = dirs.env(&[
        ("DO_NOT_TRACK", "1"),
        ("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", &segment.url()),
        ("RUNTIME__SENTRY_DSN", &sentry.dsn()),
    ]);
    let runtime = RuntimeTrace::init(InitOptions::new("host_under_test", "9.9.9").with_env(env));
    assert_eq!(runtime.status().decided_by, DecidedBy::DoNotTrack);
    assert!(!runtime.status().telemetry);
    run_pipeline(&runtime, None);
    let summary = runtime.shutdown();
    assert_eq!(summary.usage, None);
    assert_eq!(summary.sentry_flushed, Some(true));
    assert_eq!(segment.connections(), 0);
    assert!(sentry.wait_for(1, Duration::from_secs(5)));
    let requests = sentry.requests();
    let types: Vec<String> = requests
        .iter()
        .flat_map(|request| RawEnvelope::parse(&request.body).unwrap().items.into_iter().map(|item| item.item_type))
        .collect();
    assert_eq!(types, ["transaction"]);
}

#[test]
fn a_bad_config_value_turns_telemetry_off_with_one_warning() {
    let dirs = Dirs::new();
    let segment = HangingServer::start().unwrap();
    let env = dirs.env(&[("RUNTIME__DLTHUB_TELEMETRY", "off"), ("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", &segment.url())]);
    let runtime = RuntimeTrace::init(InitOptions::new("host_under_test", "9.9.9").with_env(env));
    assert!(!runtime.status().telemetry);
    assert!(matches!(runtime.status().decided_by, DecidedBy::ConfigError(_)));
    assert_eq!(runtime.issues().len(), 1);
    assert!(runtime.issues()[0].is_config_error());
    assert!(
        runtime.issues()[0].to_string().contains(r#"RUNTIME__DLTHUB_TELEMETRY="off" (environment)"#),
        "{:?}",
        runtime.issues()
    );
    run_pipeline(&runtime, None);
    drop(runtime);
    assert_eq!(segment.connections(), 0);
}

#[test]
fn a_malformed_config_file_is_named_in_the_warning() {
    let dirs = Dirs::new();
    std::fs::create_dir_all(dirs.project().join(".dlt")).unwrap();
    std::fs::write(dirs.project().join(".dlt/config.toml"), "[runtime\ndlthub_telemetry = true\n").unwrap();
    let runtime = RuntimeTrace::init(InitOptions::new("host_under_test", "9.9.9").with_env(dirs.env(&[])));
    assert_eq!(runtime.issues().len(), 1);
    assert!(runtime.issues()[0].to_string().contains("config.toml:1:"), "{:?}", runtime.issues());
}

#[test]
fn a_pipeline_run_sends_dlts_events_in_order_with_dlts_shape() {
    let dirs = Dirs::new();
    let captured = Captured::default();
    let runtime = RuntimeTrace::init(debug_options(dirs.env(&[]), &captured));
    assert!(runtime.status().debug);
    run_pipeline(&runtime, None);
    drop(runtime);
    let messages = captured.messages();
    let events: Vec<&str> = messages.iter().map(|m| m.event.as_str()).collect();
    assert_eq!(events, ["pipeline_extract", "pipeline_normalize", "pipeline_load", "pipeline_run"]);
    let transaction = &messages[0].properties["transaction_id"];
    let mut elapsed = 0.0;
    for (message, step) in messages.iter().zip(["extract", "normalize", "load", "run"]) {
        assert_eq!(schema_failures(message), Vec::<String>::new());
        assert_eq!(&message.properties["transaction_id"], transaction);
        let this_elapsed = message.properties["elapsed"].as_f64().unwrap();
        assert!(this_elapsed >= elapsed, "elapsed is cumulative");
        elapsed = this_elapsed;
        // The golden capture is dlt's `tiny` -> duckdb, `tiny_data`: same names give same hashes.
        let dlt = golden(&format!("A07_pipeline_run.pipeline_{step}.json"));
        let mut expected_keys = keys(&dlt.properties);
        expected_keys.retain(|key| !matches!(key.as_str(), "extract_data" | "destination_fingerprint"));
        let mut ours = keys(&message.properties);
        ours.retain(|key| !matches!(key.as_str(), "extract_data" | "destination_fingerprint"));
        assert_eq!(ours, expected_keys, "{step}");
        for hashed in ["pipeline_name_hash", "dataset_name_hash", "default_schema_name_hash", "destination_name"] {
            assert_eq!(message.properties[hashed], dlt.properties[hashed], "{step}: {hashed}");
        }
        let mut dlt_context = keys(serde_json::to_value(&dlt.context).unwrap().as_object().unwrap());
        dlt_context.retain(|key| key != "python");
        assert_eq!(keys(serde_json::to_value(&message.context).unwrap().as_object().unwrap()), dlt_context);
        assert_eq!(message.context.library.name, "host_under_test");
        assert_eq!(message.message_type.as_deref(), Some("track"));
        assert!(message.message_id.is_some() && message.timestamp.is_some() && message.sent_at.is_some());
        assert_eq!(message.anonymous_id.len(), 32);
    }
    let ids: std::collections::HashSet<&str> = messages.iter().map(|m| m.anonymous_id.as_str()).collect();
    assert_eq!(ids.len(), 4, "a fresh anonymous id for every message");
}

#[test]
fn a_failing_step_gives_failed_events_a_failed_span_and_a_failed_trace() {
    // Uses Sentry's process-wide hub.
    if !alone_in_this_process("a_failing_step_gives_failed_events_a_failed_span_and_a_failed_trace") {
        return;
    }
    let dirs = Dirs::new();
    let captured = Captured::default();
    let sentry = SentryReceiver::start().unwrap();
    let env = dirs.env(&[("RUNTIME__SENTRY_DSN", &sentry.dsn())]);
    let runtime = RuntimeTrace::init(debug_options(env, &captured));
    run_pipeline(&runtime, Some(Step::Normalize));
    drop(runtime);

    let outcomes: Vec<(String, bool)> =
        captured.messages().iter().map(|m| (m.event.clone(), m.properties["success"].as_bool().unwrap())).collect();
    let expected = [("pipeline_extract", true), ("pipeline_normalize", false), ("pipeline_run", false)];
    assert_eq!(outcomes, expected.map(|(event, success)| (event.to_owned(), success)));

    let trace = load_trace(&dirs.global().join("pipelines"), "tiny").unwrap().unwrap();
    let steps: Vec<(&str, bool)> = trace.steps.iter().map(|s| (s.step.as_str(), s.succeeded())).collect();
    assert_eq!(steps, [("extract", true), ("normalize", false), ("run", false)]);
    assert_eq!(trace.steps[1].step_exception.as_deref(), Some("normalize broke"));

    assert!(sentry.wait_for(1, Duration::from_secs(5)));
    let requests = sentry.requests();
    let transaction = requests
        .iter()
        .flat_map(|r| RawEnvelope::parse(&r.body).unwrap().items)
        .find(|item| item.item_type == "transaction")
        .expect("a transaction");
    let payload = &transaction.payload;
    assert_eq!(payload["transaction"], "run");
    assert_eq!(payload["contexts"]["trace"]["status"], "internal_error");
    assert_eq!(payload["tags"]["pipeline_name"], "tiny");
    let spans: Vec<(&str, &str)> = payload["spans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|span| (span["op"].as_str().unwrap(), span["status"].as_str().unwrap()))
        .collect();
    assert_eq!(spans, [("extract", "ok"), ("normalize", "internal_error")]);
}

#[test]
fn commands_follow_dlts_success_rules() {
    let dirs = Dirs::new();
    let captured = Captured::default();
    let runtime = RuntimeTrace::init(debug_options(dirs.env(&[]), &captured));
    assert_eq!(runtime.track_command(TelemetryStatus {}, Track::After, || 0), 0);
    runtime.track_command(TelemetryStatus {}, Track::After, || 1);
    let failed = runtime.track_command(Init::new("chess", "duckdb"), Track::After, || Err::<(), _>("no such source"));
    assert!(failed.is_err());
    runtime.track_command(PipelineCommand { operation: "trace".into() }, Track::Before, || 1);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.track_command(TelemetryStatus {}, Track::After, || -> i32 { panic!("boom") })
    }));
    assert!(panicked.is_err());
    drop(runtime);

    let messages = captured.messages();
    let outcomes: Vec<(&str, bool)> =
        messages.iter().map(|m| (m.event.as_str(), m.properties["success"].as_bool().unwrap())).collect();
    assert_eq!(
        outcomes,
        [
            ("command_telemetry", true),
            ("command_telemetry", false),
            ("command_init", false),
            ("command_pipeline", true),
            ("command_telemetry", false),
        ]
    );
    let Some(KnownEvent::Init(init)) = KnownEvent::parse(&messages[2]).unwrap() else { panic!("command_init") };
    assert_eq!(init.arguments, Init::new("chess", "duckdb"));
    assert!(init.elapsed >= 0.0);
    assert_eq!(keys(&messages[3].properties), ["operation", "elapsed", "success", "event_category", "event_name"]);
}

#[test]
fn shutdown_is_bounded_when_both_endpoints_hang_and_keeps_the_messages() {
    // Uses Sentry's process-wide hub.
    if !alone_in_this_process("shutdown_is_bounded_when_both_endpoints_hang_and_keeps_the_messages") {
        return;
    }
    let dirs = Dirs::new();
    let segment = HangingServer::start().unwrap();
    let sentry = SentryReceiver::with_answer(Answer::ok().with_delay(Duration::from_secs(3600))).unwrap();
    let env = dirs.env(&[
        ("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", &format!("{}/v1/track", segment.url())),
        ("RUNTIME__SENTRY_DSN", &sentry.dsn()),
        ("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "1"),
    ]);
    let runtime = RuntimeTrace::init(InitOptions::new("host_under_test", "9.9.9").with_env(env));
    assert!(runtime.status().telemetry && runtime.status().sentry_dsn_set);
    run_pipeline(&runtime, None);
    let started = Instant::now();
    let summary = runtime.shutdown();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(2), "shutdown took {took:?}");
    assert_eq!(summary.sentry_flushed, Some(false));
    let segment_report = summary.usage.unwrap();
    assert_eq!(segment_report.saved_to_outbox, 4, "{segment_report:?}");
    let kept = outbox_messages(&dirs.global());
    let events: Vec<&str> = kept.iter().map(|m| m.event.as_str()).collect();
    assert_eq!(events, ["pipeline_extract", "pipeline_normalize", "pipeline_load", "pipeline_run"]);
}

#[test]
fn being_off_in_one_environment_keeps_the_outbox_and_switching_off_deletes_it() {
    let dirs = Dirs::new();
    let closed_port = dlt_test_support::refusing_url().unwrap();
    let env = dirs.env(&[("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", &closed_port)]);
    let runtime = RuntimeTrace::init(InitOptions::new("host_under_test", "9.9.9").with_env(env));
    runtime.track_command(TelemetryStatus {}, Track::After, || 0);
    drop(runtime);
    assert_eq!(outbox_messages(&dirs.global()).len(), 1, "undelivered message kept");

    let off = dirs.env(&[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
    let runtime = RuntimeTrace::init(InitOptions::new("host_under_test", "9.9.9").with_env(off));
    assert!(!runtime.status().telemetry);
    drop(runtime);
    assert_eq!(outbox_messages(&dirs.global()).len(), 1, "off here is not an opt-out: nothing is deleted");

    let locations = dlt_config::Locations::resolve(&dirs.env(&[])).unwrap();
    switch_telemetry(&locations, false).unwrap();
    assert!(outbox_messages(&dirs.global()).is_empty(), "nothing queued before the opt-out may be sent");
    assert!(dirs.global().join("telemetry/opt-out").is_file());
}

#[test]
fn works_inside_a_tokio_runtime_and_sends_for_real() {
    let dirs = Dirs::new();
    let segment = Recorder::start().unwrap();
    let endpoint = format!("{}/v1/track", segment.url());
    let env = dirs.env(&[("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", &endpoint)]);
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    tokio.block_on(async {
        let runtime = RuntimeTrace::init(InitOptions::new("host_under_test", "9.9.9").with_env(env));
        runtime.track_command(TelemetryStatus {}, Track::After, || 0);
        drop(runtime);
    });
    assert!(segment.wait_for(1, Duration::from_secs(5)));
    let requests = segment.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].path, "/v1/track");
    assert_eq!(requests[0].header("user-agent"), Some("host_under_test/9.9.9"));
    let message: TrackMessage = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(message.event, "command_telemetry");
}

#[test]
fn saving_a_trace_is_atomic_for_a_concurrent_reader() {
    let dirs = Dirs::new();
    let captured = Captured::default();
    let runtime = RuntimeTrace::init(debug_options(dirs.env(&[]), &captured));
    run_pipeline(&runtime, None);
    drop(runtime);
    let pipelines = dirs.global().join("pipelines");
    let mut trace = load_trace(&pipelines, "tiny").unwrap().unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        let reader = scope.spawn(|| {
            let mut reads = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let read = load_trace(&pipelines, "tiny").unwrap().expect("a whole trace, never none or half");
                assert_eq!(read.pipeline.pipeline_name, "tiny");
                reads += 1;
            }
            reads
        });
        for round in 0..200 {
            trace.extra.insert("round".into(), round.into());
            save_trace(&pipelines, &trace).unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(reader.join().unwrap() > 0);
    });
    let leftovers: Vec<_> =
        std::fs::read_dir(pipelines.join("tiny")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(leftovers, ["trace.json"]);
}

// Unix only: file modes.
#[cfg(unix)]
#[test]
fn a_new_trace_file_and_its_folders_are_readable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dirs = Dirs::new();
    let captured = Captured::default();
    let data = dirs.global().join("data");
    let runtime = RuntimeTrace::init(debug_options(dirs.env(&[("DLT_DATA_DIR", data.to_str().unwrap())]), &captured));
    run_pipeline(&runtime, None);
    drop(runtime);
    let mode = |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let trace = data.join("pipelines/tiny/trace.json");
    assert_eq!(mode(&trace), 0o600);
    for folder in [data.join("pipelines/tiny"), data.join("pipelines"), data.clone()] {
        assert_eq!(mode(&folder), 0o700, "{}", folder.display());
    }

    std::fs::set_permissions(&trace, std::fs::Permissions::from_mode(0o640)).unwrap();
    let loaded = load_trace(&data.join("pipelines"), "tiny").unwrap().unwrap();
    save_trace(&data.join("pipelines"), &loaded).unwrap();
    assert_eq!(mode(&trace), 0o640, "an existing file keeps its mode");
}

#[test]
fn a_pipeline_name_that_is_not_a_directory_name_is_not_saved() {
    let dirs = Dirs::new();
    let captured = Captured::default();
    let runtime = RuntimeTrace::init(debug_options(dirs.env(&[]), &captured));
    let run = runtime.start_pipeline_run(PipelineIdentity::new("../escape"), Step::Run);
    let finished = run.finish().unwrap();
    assert_eq!(finished.trace.pipeline.pipeline_name, "../escape");
    assert!(finished.saved.is_err());
    drop(runtime);
    assert!(!dirs.root.path().join("escape").exists());
    assert!(dirs.global_files().is_empty(), "{:?}", dirs.global_files());
    assert_eq!(captured.messages().len(), 1, "the event is still sent, with the name hashed");
}

#[test]
fn a_write_key_without_an_explicit_endpoint_goes_to_segment() {
    let dirs = Dirs::new();
    let off = ("RUNTIME__DLTHUB_TELEMETRY", "false");
    let key = ("RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY", "wk_123");
    let endpoint = |vars: &[(&str, &str)]| {
        let runtime = RuntimeTrace::init(InitOptions::new("host_under_test", "9.9.9").with_env(dirs.env(vars)));
        runtime.status().endpoint.clone().unwrap().trim_end_matches('/').to_owned()
    };
    assert_eq!(endpoint(&[off, key]), dlt_segment::SEGMENT_BATCH_ENDPOINT);
    assert_eq!(endpoint(&[off]), dlt_config::DEFAULT_TELEMETRY_ENDPOINT);
    // Explicit, even when equal to the default: used as given.
    let explicit = ("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", dlt_config::DEFAULT_TELEMETRY_ENDPOINT);
    assert_eq!(endpoint(&[off, key, explicit]), dlt_config::DEFAULT_TELEMETRY_ENDPOINT);
}

#[test]
fn the_status_never_shows_endpoint_credentials() {
    let dirs = Dirs::new();
    let env = dirs.env(&[
        ("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", "http://collector:hunter2@127.0.0.1:9/v1/batch"),
        ("RUNTIME__DLTHUB_TELEMETRY", "false"),
    ]);
    let runtime = RuntimeTrace::init(InitOptions::new("host_under_test", "9.9.9").with_env(env));
    assert_eq!(runtime.status().endpoint.as_deref(), Some("http://***@127.0.0.1:9/v1/batch"));
    assert!(!format!("{runtime:?}").contains("hunter2"));
}

#[test]
fn a_host_that_shows_the_notice_sends_nothing_on_that_run_and_one_that_does_not_is_unchanged() {
    let dirs = Dirs::new();
    let segment = Recorder::start().unwrap();
    let endpoint = format!("{}/v1/track", segment.url());
    let env = || dirs.env(&[("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", &endpoint)]);

    // A host that never asks: it sends on its first run, and the notice is never due.
    let quiet = RuntimeTrace::init(InitOptions::new("host_under_test", "9.9.9").with_env(env()));
    let notice = quiet.notice();
    assert!(!notice.due && !notice.shown_before);
    assert_eq!(notice.text, FIRST_RUN_NOTICE);
    quiet.track_command(TelemetryStatus {}, Track::After, || 0);
    drop(quiet);
    assert_eq!(segment.requests().len(), 1);

    // A host that shows it: due once, and that run sends and keeps nothing.
    let asking = || InitOptions::new("host_under_test", "9.9.9").with_env(env()).with_first_run_notice();
    let first = RuntimeTrace::init(asking());
    assert!(first.notice().due && first.status().first_run_notice && first.status().telemetry);
    first.track_command(TelemetryStatus {}, Track::After, || 0);
    drop(first);
    assert_eq!(segment.requests().len(), 1, "the run that shows the notice sends nothing");
    assert!(outbox_messages(&dirs.global()).is_empty(), "and keeps nothing");
    let second = RuntimeTrace::init(asking());
    assert!(!second.notice().due && second.notice().shown_before);
    second.track_command(TelemetryStatus {}, Track::After, || 0);
    drop(second);
    assert_eq!(segment.requests().len(), 2);

    // What the host delivered is on record, exactly as the endpoint received it.
    let config = dlt_config::Config::load(env()).unwrap();
    let sent = sent_telemetry(&config);
    let recorded: Vec<serde_json::Value> =
        sent.recipients.iter().flat_map(|state| &state.messages).map(|sent| sent.message.clone()).collect();
    let received: Vec<serde_json::Value> =
        segment.requests().iter().map(|request| serde_json::from_slice(&request.body).unwrap()).collect();
    assert_eq!(recorded, received);
}
