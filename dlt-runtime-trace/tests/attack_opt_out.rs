//! Attacks on the opt-out from a host's side: a configuration loaded before an opt-out must not
//! let anything recorded after it leave.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Dirs, outbox_messages};
use dlt_config::{Config, Locations};
use dlt_runtime_trace::{
    DecidedBy, InitOptions, RuntimeTrace, StartIssue, TelemetrySwitchError, Track, switch_telemetry,
};
use dlt_telemetry_model::events::TelemetryStatus;
use dlt_test_support::Recorder;

/// `RuntimeTrace::start` takes a configuration the host loaded earlier. When the user opts out
/// between that load and the start, a runtime that read the opt-out mark only at start would
/// remember the new counter as its own, believe the stale `dlthub_telemetry = true`, and send
/// what it records after the opt-out. It reads the mark, then the files again.
#[test]
fn a_host_that_loaded_its_configuration_before_an_opt_out_sends_nothing() {
    let dirs = Dirs::new();
    let endpoint = Recorder::start().unwrap();
    let url = format!("{}/v1/track", endpoint.url());
    let env = dirs.env(&[("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", url.as_str())]);
    let config = Config::load(env.clone()).unwrap();
    assert!(config.runtime().dlthub_telemetry.value, "telemetry is on when the host loads its configuration");

    switch_telemetry(&Locations::resolve(&env).unwrap(), false).unwrap();

    let runtime = RuntimeTrace::start(InitOptions::new("host_under_test", "9.9.9"), config);
    runtime.track_command(TelemetryStatus {}, Track::After, || 0);
    // Inline delivery: the drop waits for what can be delivered, so the requests are in.
    drop(runtime);
    assert_eq!(endpoint.requests().len(), 0, "requests sent after the opt-out");
    assert!(outbox_messages(&dirs.global()).is_empty());
}

/// The switch edits the files before it records the opt-out: every process reads the mark
/// before its configuration, so one that read the files from before the edit holds the counter
/// from before it. Seen here with a mark that cannot be written (a folder in its place): the
/// global file is switched off all the same, and the error names the telemetry dir.
#[test]
fn the_switch_edits_the_files_before_it_records_the_opt_out() {
    let dirs = Dirs::new();
    let locations = Locations::resolve(&dirs.env(&[])).unwrap();
    switch_telemetry(&locations, true).unwrap();
    std::fs::create_dir(locations.telemetry_dir().join("opt-out")).unwrap();
    let error = switch_telemetry(&locations, false).unwrap_err();
    assert!(matches!(error, TelemetrySwitchError::OptOut { .. }), "{error:?}");
    assert!(error.to_string().contains(&locations.telemetry_dir().display().to_string()), "{error}");
    let global = std::fs::read_to_string(locations.global_config_toml()).unwrap();
    assert!(global.contains("dlthub_telemetry = false"), "the files come first: {global}");
}

/// An opt-out is recorded also when the global file cannot be edited: the processes running now
/// stop. (A project file that cannot be edited does not keep the global one from being switched.)
#[test]
fn an_opt_out_the_files_refuse_is_recorded_all_the_same() {
    let dirs = Dirs::new();
    let locations = Locations::resolve(&dirs.env(&[])).unwrap();
    std::fs::write(locations.global_config_toml(), "[runtime\n").unwrap();
    let error = switch_telemetry(&locations, false).unwrap_err();
    assert!(error.is_config_error(), "{error:?}");
    assert!(error.to_string().contains(&locations.global_config_toml().display().to_string()), "{error}");
    let mark = std::fs::read_to_string(locations.telemetry_dir().join("opt-out")).unwrap();
    assert!(mark.contains("\"counter\""), "the opt-out is recorded: {mark}");
}

/// A configuration the host loaded, whose files are broken by the time it starts the runtime:
/// when unsure, do not track. Everything is off and the issue names the file, as with `init`.
#[test]
fn a_host_whose_files_cannot_be_read_any_more_at_start_starts_nothing() {
    let dirs = Dirs::new();
    let env = dirs.env(&[]);
    let config = Config::load(env.clone()).unwrap();
    let global_config = Locations::resolve(&env).unwrap().global_config_toml();
    std::fs::write(&global_config, "[runtime]\ndlthub_telemetry = maybe\n").unwrap();
    let runtime = RuntimeTrace::start(InitOptions::new("host_under_test", "9.9.9"), config);
    assert!(!runtime.status().telemetry && !runtime.status().runtime_trace);
    assert!(matches!(runtime.status().decided_by, DecidedBy::ConfigError(_)));
    let [StartIssue::Config { message }] = runtime.issues() else { panic!("{:?}", runtime.issues()) };
    assert!(message.contains(&global_config.display().to_string()), "{message}");
}
