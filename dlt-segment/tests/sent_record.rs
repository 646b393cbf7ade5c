//! The record of what left, written by the worker: each message of a confirmed batch exactly as
//! the endpoint received it, nothing it did not confirm, and the counts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use dlt_redact::HttpUrl;
use dlt_segment::{OutboxOptions, SegmentClient, SegmentOptions, Transport, inspect_sent};
use dlt_test_support::{Answer, Recorder, pipeline_load_message};
use serde_json::Value;

#[test]
fn the_record_holds_each_confirmed_batch_element_as_sent_and_nothing_unconfirmed() {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let endpoint = Recorder::start().unwrap();
    let url = HttpUrl::parse(&format!("{}/v1/batch", endpoint.url())).unwrap();
    let options = SegmentOptions::new(url, "dlt/0.1.0").with_outbox(OutboxOptions::new(dir.path()));
    let client = SegmentClient::start(options).unwrap();

    for _ in 0..3 {
        client.track(pipeline_load_message());
    }
    assert!(client.flush(Duration::from_secs(10)));
    let confirmed: Vec<Value> = endpoint
        .requests()
        .iter()
        .flat_map(|request| request.json().unwrap()["batch"].as_array().unwrap().clone())
        .collect();
    assert_eq!(confirmed.len(), 3);

    endpoint.set_answer(Answer::status(400));
    client.track(pipeline_load_message());
    client.track(pipeline_load_message());
    assert!(client.flush(Duration::from_secs(10)));
    endpoint.set_answer(Answer::status(500));
    client.track(pipeline_load_message());
    assert!(endpoint.wait_for(endpoint.requests().len() + 1, Duration::from_secs(10)), "the 500 was answered");
    let report = client.shutdown(Instant::now() + Duration::from_millis(300));
    assert_eq!(report.saved_to_outbox, 1, "the unconfirmed message waits");

    let states = inspect_sent(dir.path()).unwrap();
    assert_eq!(states.len(), 1);
    let state = &states[0];
    let recorded: Vec<&Value> = state.messages.iter().map(|sent| &sent.message).collect();
    assert_eq!(recorded, confirmed.iter().collect::<Vec<_>>(), "exactly the confirmed elements, as received");
    assert_eq!(state.delivered, 3);
    let dropped: Vec<(&str, u64)> = state.dropped.by_reason().into_iter().filter(|(_, count)| *count > 0).collect();
    assert_eq!(dropped, [("rejected", 2)]);
    assert_eq!(state.endpoint.as_deref(), Some(format!("{}/v1/batch", endpoint.url()).as_str()));
    assert_eq!(report.stats.sent, 3);
}
