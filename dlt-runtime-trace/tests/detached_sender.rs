//! The detached sender's loop as a program started as the sender runs it
//! (`run_detached_sender`), and every way it ends: what waits delivered (`Emptied`), another
//! sender already at work (`AlreadyRunning`), a stop signal (`Stopped`), an opt-out while it
//! delivers (`OptedOut`), and telemetry off in its own environment (nothing looked at). The time
//! bound (`BoundSpent`) is `dlt-segment`'s `the_bound_ends_a_sender_whose_endpoint_never_answers`
//! (with a clock moved instead of 30 s waited) and, for the real `dlt`, `dlt-cli`'s
//! `sender_lifecycle.rs`. Also: a host whose sender cannot be started loses no exit time and no
//! message.
#![cfg(unix)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant, SystemTime};

use common::{Dirs, outbox_messages};
use dlt_config::{Config, Locations};
use dlt_runtime_trace::{
    Delivery, InitOptions, RuntimeTrace, SenderCommand, SenderOutcome, StopSignal, Track, run_detached_sender,
    switch_telemetry, waiting_telemetry,
};
use dlt_telemetry_model::Library;
use dlt_telemetry_model::events::TelemetryStatus;
use dlt_test_support::{Answer, Recorder, snapshot};

fn library() -> Library {
    Library::new("host_under_test", "9.9.9")
}

/// The variable that sends usage telemetry to `endpoint`, one message per request.
fn endpoint_var(endpoint: &Recorder) -> (&'static str, String) {
    ("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", format!("{}/v1/track", endpoint.url()))
}

/// Leaves `count` messages in the outbox of the recipient `vars` name, as a host that hands
/// off does, with a "sender" that does nothing (so that they wait).
fn leave_in_outbox(dirs: &Dirs, vars: &[(&str, &str)], count: usize) {
    let idle_sender = SenderCommand::new("/usr/bin/true", Vec::<String>::new());
    let options = InitOptions::new("host_under_test", "9.9.9")
        .with_env(dirs.env(vars))
        .with_delivery(Delivery::HandOffOnly(idle_sender));
    let runtime = RuntimeTrace::init(options);
    for _ in 0..count {
        runtime.track_command(TelemetryStatus {}, Track::After, || 0);
    }
    let report = runtime.shutdown().usage.unwrap();
    assert_eq!((report.saved_to_outbox, report.lost), (count as u64, 0), "{report:?}");
}

/// Whether a sender holds one of the outboxes now.
fn sender_running(dirs: &Dirs) -> bool {
    let config = Config::load(dirs.env(&[])).unwrap();
    waiting_telemetry(&config).recipients.iter().any(|recipient| recipient.sender_running)
}

#[test]
fn with_telemetry_off_in_its_own_environment_the_sender_sends_nothing_and_touches_no_file() {
    let dirs = Dirs::new();
    let endpoint = Recorder::start().unwrap();
    let (name, url) = endpoint_var(&endpoint);
    leave_in_outbox(&dirs, &[(name, &url)], 1);
    let before = snapshot(&dirs.global()).unwrap();
    for off in [
        ("DO_NOT_TRACK", "1"),
        ("RUNTIME__DLTHUB_TELEMETRY", "false"),
        ("ENABLE_RUNTIME_TRACE", "false"),
        ("RUNTIME__DLTHUB_TELEMETRY_DEBUG", "true"),
    ] {
        let outcome = run_detached_sender(&library(), dirs.env(&[(name, &url), off]), &StopSignal::new()).unwrap();
        assert_eq!(outcome, None, "{off:?}: nothing was looked at");
        assert_eq!(snapshot(&dirs.global()).unwrap(), before, "{off:?}: no lock taken, no file claimed or written");
    }
    assert!(endpoint.requests().is_empty());

    // The same sender with telemetry on delivers the message: there was something to send.
    let outcome = run_detached_sender(&library(), dirs.env(&[(name, &url)]), &StopSignal::new()).unwrap();
    assert_eq!(outcome, Some(SenderOutcome::Emptied));
    assert_eq!(endpoint.requests().len(), 1);
    assert!(outbox_messages(&dirs.global()).is_empty());
}

#[test]
fn a_second_sender_for_the_same_recipient_finds_it_already_running_and_the_first_stops_on_its_signal() {
    let dirs = Dirs::new();
    let endpoint = Recorder::with_answer(Answer::ok().with_delay(Duration::from_secs(3600))).unwrap();
    let (name, url) = endpoint_var(&endpoint);
    leave_in_outbox(&dirs, &[(name, &url)], 1);
    let stop = StopSignal::new();
    let first = std::thread::spawn({
        let (env, stop) = (dirs.env(&[(name, &url)]), stop.clone());
        move || run_detached_sender(&library(), env, &stop)
    });
    assert!(endpoint.wait_for(1, Duration::from_secs(10)), "the first sender is delivering");

    let second = run_detached_sender(&library(), dirs.env(&[(name, &url)]), &StopSignal::new()).unwrap();
    assert_eq!(second, Some(SenderOutcome::AlreadyRunning));
    assert_eq!(endpoint.requests().len(), 1, "the second sender sent nothing");
    assert!(sender_running(&dirs), "the first still holds the outbox");

    let stopped = Instant::now();
    stop.stop();
    assert_eq!(first.join().unwrap().unwrap(), Some(SenderOutcome::Stopped));
    let took = stopped.elapsed();
    assert!(took < Duration::from_secs(2), "a stopped sender returns within about a second, not {took:?}");
    assert_eq!(outbox_messages(&dirs.global()).len(), 1, "the undelivered message is back in the outbox");
    assert!(!sender_running(&dirs));
}

#[test]
fn an_opt_out_while_the_sender_delivers_ends_it_with_nothing_more_sent_or_kept() {
    let dirs = Dirs::new();
    // Four requests at once are held for three seconds, every later one is answered at once:
    // a sender that missed the opt-out would send the two behind them.
    let endpoint = Recorder::start().unwrap();
    endpoint.push_answers(std::iter::repeat_n(Answer::ok().with_delay(Duration::from_secs(3)), 4));
    let (name, url) = endpoint_var(&endpoint);
    leave_in_outbox(&dirs, &[(name, &url)], 6);
    let sender = std::thread::spawn({
        let env = dirs.env(&[(name, &url)]);
        move || run_detached_sender(&library(), env, &StopSignal::new())
    });
    assert!(endpoint.wait_for(1, Duration::from_secs(10)), "the sender is delivering");

    let opting_out = SystemTime::now();
    switch_telemetry(&Locations::resolve(&dirs.env(&[])).unwrap(), false).unwrap();
    assert_eq!(sender.join().unwrap().unwrap(), Some(SenderOutcome::OptedOut));
    assert!(endpoint.requests_sent_since(opting_out).is_empty(), "nothing is sent after the opt-out");
    assert!(outbox_messages(&dirs.global()).is_empty(), "and nothing it held is kept");
    assert!(!sender_running(&dirs));
}

/// A host whose sender cannot be started (its program is gone: an upgrade removed it, say)
/// exits as fast as ever and keeps what it has for the next run, for either hand-off; the
/// control shows that the same host does start a sender that can be started.
#[test]
fn a_sender_that_cannot_be_started_costs_no_exit_time_and_the_next_run_sends_what_waits() {
    let dirs = Dirs::new();
    let endpoint = Recorder::with_answer(Answer::ok().with_delay(Duration::from_secs(3600))).unwrap();
    let (name, url) = endpoint_var(&endpoint);
    let host = |delivery: Delivery| {
        let options = InitOptions::new("host_under_test", "9.9.9").with_env(dirs.env(&[(name, &url)]));
        RuntimeTrace::init(options.with_delivery(delivery))
    };

    let started_file = dirs.root.path().join("sender-started");
    let touch = SenderCommand::new("/usr/bin/touch", [started_file.as_os_str()]);
    let runtime = host(Delivery::HandOffOnly(touch));
    runtime.track_command(TelemetryStatus {}, Track::After, || 0);
    drop(runtime);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !started_file.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(started_file.exists(), "control: a sender that can be started is started");

    let missing = SenderCommand::new(dirs.root.path().join("no-such-sender"), Vec::<String>::new());
    // The message the control left, then one more for each run.
    for (delivery, waiting) in [(Delivery::HandOffOnly(missing.clone()), 2), (Delivery::HandOffAtExit(missing), 3)] {
        let runtime = host(delivery.clone());
        runtime.track_command(TelemetryStatus {}, Track::After, || 0);
        let exiting = Instant::now();
        let report = runtime.shutdown().usage.unwrap();
        let took = exiting.elapsed();
        assert!(took < Duration::from_secs(1), "{delivery:?}: exit took {took:?}");
        assert!(report.sender_needed && report.lost == 0, "{delivery:?}: a sender was asked for: {report:?}");
        assert_eq!(outbox_messages(&dirs.global()).len(), waiting, "{delivery:?}: nothing is lost");
        assert!(!sender_running(&dirs), "{delivery:?}");
    }

    // The next run, sending inline to the endpoint now answering, delivers them.
    endpoint.set_answer(Answer::ok());
    let since = SystemTime::now();
    let runtime = host(Delivery::Inline);
    drop(runtime);
    let delivered: usize =
        endpoint.requests_sent_since(since).iter().map(|request| request.track_messages().unwrap().len()).sum();
    assert_eq!(delivered, 3);
    assert!(outbox_messages(&dirs.global()).is_empty());
}
