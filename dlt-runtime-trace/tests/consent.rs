//! Consent is absolute: an opt-out reaches a host that is running (even one shutting down),
//! and nothing recorded before it is ever sent or kept, even after telemetry is switched on
//! again. The opt-out is made through the files, as another process would make it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::{Dirs, outbox_messages};
use dlt_config::Locations;
use dlt_runtime_trace::{InitOptions, RuntimeTrace, Track, switch_telemetry};
use dlt_telemetry_model::events::TelemetryStatus;
use dlt_test_support::{Answer, RecordedRequest, Recorder};

fn host(dirs: &Dirs, vars: &[(&str, &str)]) -> RuntimeTrace {
    RuntimeTrace::init(InitOptions::new("host_under_test", "9.9.9").with_env(dirs.env(vars)))
}

fn events(requests: &[RecordedRequest]) -> Vec<String> {
    requests.iter().flat_map(|request| request.track_messages().unwrap()).map(|m| m.event).collect()
}

#[test]
fn an_opt_out_reaches_a_host_that_is_shutting_down_and_nothing_from_before_is_ever_sent() {
    let dirs = Dirs::new();
    // The first four requests are answered two seconds late, every later one at once: without
    // the opt-out, the messages waiting behind the first four would go well within the 5 s
    // deadline, after the opt-out.
    let endpoint = Recorder::start().unwrap();
    endpoint.push_answers(std::iter::repeat_n(Answer::ok().with_delay(Duration::from_secs(2)), 4));
    let url = format!("{}/v1/track", endpoint.url());
    let vars = [("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", url.as_str()), ("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "5")];
    let runtime = host(&dirs, &vars);
    for _ in 0..6 {
        runtime.track_command(TelemetryStatus {}, Track::After, || 0);
    }
    // Up to four requests at once, each held by the endpoint, and at least two messages wait
    // their turn (how many went in the first round depends on how fast they were recorded).
    assert!(endpoint.wait_for(1, Duration::from_secs(10)));

    let locations = Locations::resolve(&dirs.env(&[])).unwrap();
    let (switched_off, summary) = std::thread::scope(|scope| {
        let shutting_down = scope.spawn(|| runtime.shutdown());
        switch_telemetry(&locations, false).unwrap();
        (SystemTime::now(), shutting_down.join().unwrap())
    });
    // By `sentAt`: the server may read a request of the first round only now.
    assert!(endpoint.requests_sent_since(switched_off).is_empty(), "no request after the opt-out");
    assert_eq!(summary.usage.unwrap().saved_to_outbox, 0, "nothing kept: {summary:?}");
    assert!(outbox_messages(&dirs.global()).is_empty());

    // Switched on again, and the endpoint answers now: only what is recorded from now on goes.
    switch_telemetry(&locations, true).unwrap();
    endpoint.set_answer(Answer::ok());
    let since = SystemTime::now();
    let runtime = host(&dirs, &vars);
    runtime.track_command(dlt_telemetry_model::events::Init::new("chess", "duckdb"), Track::After, || 0);
    let started = Instant::now();
    drop(runtime);
    assert!(started.elapsed() < Duration::from_secs(6));
    let after: Vec<String> = events(&endpoint.requests_sent_since(since));
    assert_eq!(after, ["command_init"], "nothing from before the opt-out arrives");
}

#[test]
fn a_host_started_before_an_opt_out_sends_nothing_more() {
    let dirs = Dirs::new();
    let endpoint = Recorder::start().unwrap();
    let url = format!("{}/v1/batch", endpoint.url());
    let runtime = host(&dirs, &[("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", url.as_str())]);
    runtime.track_command(TelemetryStatus {}, Track::After, || 0);
    assert!(endpoint.wait_for(1, Duration::from_secs(10)), "on: it is sent");

    switch_telemetry(&Locations::resolve(&dirs.env(&[])).unwrap(), false).unwrap();
    runtime.track_command(TelemetryStatus {}, Track::After, || 0);
    let summary = runtime.shutdown();
    assert_eq!(endpoint.requests().len(), 1, "nothing after the opt-out");
    assert_eq!(summary.usage.unwrap().stats.dropped_opted_out, 1);
    assert!(outbox_messages(&dirs.global()).is_empty());
}
