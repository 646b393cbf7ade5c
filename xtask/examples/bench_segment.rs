//! The Rust side of `cargo xtask bench-vs-dlt`'s delivery rows: tracks N `pipeline_load`
//! messages with dlt-segment, timing each `track` call, then shuts down (which waits until
//! every message is delivered or given up) and prints one JSON object, the same one the Python
//! side (`xtask/python/bench_dlt.py deliver`) prints:
//! `{"messages": N, "delivered_seconds": S, "track_ns": [...]}`.
//!
//! ```sh
//! bench_segment --endpoint http://127.0.0.1:PORT/v1/batch --messages 10000
//! ```
#![allow(clippy::print_stdout, reason = "a command line program reports on stdout")]

use std::process::ExitCode;
use std::time::{Duration, Instant};

use dlt_segment::{SegmentClient, SegmentOptions, Transport};
use dlt_telemetry_model::AnonymousMessage;
use dlt_test_support::pipeline_load_message;

const USAGE: &str = "usage: bench_segment --endpoint URL --messages N";
/// Far beyond what delivery to a loopback endpoint takes; the harness kills a slower run.
const DELIVERY_LIMIT: Duration = Duration::from_secs(300);

fn main() -> ExitCode {
    match parse_args().and_then(|(endpoint, messages)| measure(&endpoint, messages)) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("bench_segment: {message}");
            ExitCode::FAILURE
        }
    }
}

fn parse_args() -> Result<(String, usize), String> {
    let (mut endpoint, mut messages) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--endpoint" => endpoint = Some(value),
            "--messages" => messages = Some(value.parse().map_err(|_| format!("--messages takes a number\n{USAGE}"))?),
            _ => return Err(format!("unknown argument {flag:?}\n{USAGE}")),
        }
    }
    match (endpoint, messages) {
        (Some(endpoint), Some(messages)) if messages > 0 => Ok((endpoint, messages)),
        _ => Err(USAGE.into()),
    }
}

/// Tracks `count` messages, shuts down, and reports as JSON; an error unless the client was
/// done with every message (delivered, or given up after its last attempt) within the limit.
/// How many arrived, the bench counts at the endpoint.
fn measure(endpoint: &str, count: usize) -> Result<String, String> {
    let endpoint = dlt_redact::HttpUrl::parse(endpoint).map_err(|e| format!("--endpoint: {e}"))?;
    let mut options = SegmentOptions::new(endpoint, "dlt/0.1.0");
    options.queue_capacity = count + 1;
    options.shutdown_timeout = DELIVERY_LIMIT;
    let client = SegmentClient::start(options).map_err(|e| format!("cannot start the client: {e}"))?;
    let template = pipeline_load_message();
    let messages: Vec<AnonymousMessage> = (0..count).map(|_| template.clone()).collect();
    let mut track_ns = Vec::with_capacity(count);

    let started = Instant::now();
    for message in messages {
        let call = Instant::now();
        client.track(message);
        track_ns.push(call.elapsed().as_nanos());
    }
    let report = client.shutdown(Instant::now() + DELIVERY_LIMIT);
    let delivered_seconds = started.elapsed().as_secs_f64();

    if !report.drained {
        return Err(format!("not done within {DELIVERY_LIMIT:?} ({:?})", report.stats));
    }
    let track_ns: Vec<String> = track_ns.iter().map(u128::to_string).collect();
    Ok(format!(
        "{{\"messages\": {count}, \"delivered_seconds\": {delivered_seconds}, \"track_ns\": [{}]}}",
        track_ns.join(",")
    ))
}
