//! Memory with the endpoint down: offers 1,000,000 messages to a transport whose endpoint never
//! answers (then to a closed port) and reports RSS after 10,000, 100,000 and 1,000,000. The
//! queue bound holds if RSS stops growing once the queue and one batch are full.
//!
//! `cargo bench -p dlt-segment --bench memory` (Linux: reads `/proc/self/status`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::time::{Duration, Instant};

use dlt_segment::{SegmentClient, SegmentOptions, Transport};
use dlt_test_support::{HangingServer, refusing_url};

/// A `VmHWM` (peak) or `VmRSS` (current) line of `/proc/self/status`, in KiB.
fn status_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| {
            line.strip_prefix(field)?.trim_start_matches(':').trim().strip_suffix("kB")?.trim().parse().ok()
        })
        .unwrap_or(0)
}

fn offer(endpoint: &str, label: &str) {
    let options = SegmentOptions::new(dlt_redact::HttpUrl::parse(endpoint).unwrap(), "dlt/0.1.0");
    println!("{label} (queue {}, batch {}):", options.queue_capacity, options.limits.max_batch_messages);
    let client = SegmentClient::start(options).unwrap();
    let template = dlt_test_support::pipeline_load_message();
    let mut offered = 0;
    for target in [10_000, 100_000, 1_000_000] {
        let started = Instant::now();
        while offered < target {
            client.track(template.clone());
            offered += 1;
        }
        let stats = client.stats();
        println!(
            "  offered {offered:>9} ({:.2?}): queued {:>5}, dropped (queue full) {:>7}; RSS {} KiB, peak {} KiB",
            started.elapsed(),
            stats.queued,
            stats.dropped_queue_full,
            status_kib("VmRSS"),
            status_kib("VmHWM"),
        );
    }
    client.shutdown(Instant::now() + Duration::from_millis(100));
}

fn main() {
    println!("baseline: RSS {} KiB, peak {} KiB", status_kib("VmRSS"), status_kib("VmHWM"));
    let hanging = HangingServer::start().unwrap();
    offer(&format!("{}/v1/batch", hanging.url()), "endpoint never answers");
    offer(&format!("{}/v1/batch", refusing_url().unwrap()), "closed port");
}
