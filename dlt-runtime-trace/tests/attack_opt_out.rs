//! Attacks on the opt-out from a host's side: a configuration loaded before an opt-out must not
//! let anything recorded after it leave.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Dirs, outbox_messages};
use dlt_config::{Config, Locations};
use dlt_runtime_trace::{InitOptions, RuntimeTrace, Track, switch_telemetry};
use dlt_telemetry_model::events::TelemetryStatus;
use dlt_test_support::Recorder;

/// `RuntimeTrace::start` takes a configuration the host loaded earlier. When the user opts out
/// between that load and the start, the runtime reads the opt-out mark only at start: it
/// remembers the new counter as its own, believes the stale `dlthub_telemetry = true`, and
/// sends what it records after the opt-out. The same window, milliseconds wide, exists in every
/// process (the command line and the detached sender load the configuration, then read the
/// mark), and the switch writes the mark before it edits the files.
#[test]
#[ignore = "finding: the opt-out counter is read after the configuration; see the report"]
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
