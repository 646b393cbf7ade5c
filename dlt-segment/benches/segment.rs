//! The costs that matter to a host: `track` while the worker is busy (target: under 1 µs
//! median), the opt-out mark check each request makes, a short-lived program's handoff of its
//! message to the outbox (empty, or holding most of its bound), and delivery to a local server
//! (batched, and one message per request a few at once), and what the record of what left costs
//! per delivered batch (the same delivery with and without it). Memory with the endpoint down is
//! measured by `benches/memory.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(missing_docs, reason = "criterion_group! generates an undocumented pub fn")]

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use dlt_redact::HttpUrl;
use dlt_segment::{HandoffTransport, OptOutWatch, OutboxOptions, SegmentClient, SegmentOptions, Transport};
use dlt_telemetry_model::AnonymousMessage;
use dlt_test_support::pipeline_load_message as message;
use dlt_test_support::{HangingServer, Recorder};

/// A local server that answers 200 and keeps nothing: a benchmark sends it more than memory
/// should hold.
fn local_server() -> Recorder {
    let server = Recorder::start().unwrap();
    server.set_recording(false);
    server
}

/// An endpoint that accepts connections and never answers: its worker stays busy in a request.
fn hanging_endpoint(server: &HangingServer) -> HttpUrl {
    HttpUrl::parse(&format!("{}/v1/batch", server.url())).unwrap()
}

fn track_latency(c: &mut Criterion) {
    let mut group = c.benchmark_group("track");
    let template = message();
    let hanging = HangingServer::start().unwrap();

    // The common case: room in the queue while the worker is busy with a request. A fresh
    // client per sample, with room for all of the sample's messages.
    group.bench_function("queue has room, worker busy in a request", |b| {
        b.iter_custom(|iterations| {
            let mut options = SegmentOptions::new(hanging_endpoint(&hanging), "dlt/0.1.0");
            options.queue_capacity = usize::try_from(iterations).unwrap() + 1;
            options.shutdown_timeout = Duration::ZERO;
            let client = SegmentClient::start(options).unwrap();
            client.track(template.clone());
            let messages: Vec<AnonymousMessage> = (0..iterations).map(|_| template.clone()).collect();
            let started = Instant::now();
            for message in messages {
                client.track(message);
            }
            let elapsed = started.elapsed();
            assert_eq!(client.stats().dropped_queue_full, 0);
            elapsed
        });
    });

    // A full queue: the message is dropped, which is most of the cost (see the next benchmark).
    let mut options = SegmentOptions::new(hanging_endpoint(&hanging), "dlt/0.1.0");
    options.shutdown_timeout = Duration::ZERO;
    let stuck = SegmentClient::start(options).unwrap();
    group.bench_function("queue full", |b| {
        b.iter_batched(|| template.clone(), |message| stuck.track(message), BatchSize::SmallInput);
    });
    group.bench_function("for comparison: dropping a message", |b| {
        b.iter_batched(|| template.clone(), drop, BatchSize::SmallInput);
    });

    // The worker sending to a local server as fast as it can; the queue is full part of the time.
    let server = local_server();
    let mut options = SegmentOptions::new(HttpUrl::parse(&format!("{}/v1/batch", server.url())).unwrap(), "dlt/0.1.0");
    options.queue_capacity = 100_000;
    let client = SegmentClient::start(options).unwrap();
    group.bench_function("worker sending to a local server", |b| {
        b.iter_batched(|| template.clone(), |message| client.track(message), BatchSize::SmallInput);
    });
    let stats = client.stats();
    eprintln!(
        "  (sending to a local server: queued {}, sent {}, dropped because full {})",
        stats.queued, stats.sent, stats.dropped_queue_full
    );
    group.finish();
}

/// The check every request makes: has the user opted out since this process started? A `stat`
/// of the mark, and a small read only when it changed.
fn opt_out_check(c: &mut Criterion) {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let mut group = c.benchmark_group("opt-out mark");
    let mut watch = OptOutWatch::new(dir.path());
    group.bench_function("check, no mark", |b| b.iter(|| black_box(watch.mark())));
    dlt_segment::record_opt_out(dir.path(), time::OffsetDateTime::now_utc()).unwrap();
    let mut watch = OptOutWatch::new(dir.path());
    group.bench_function("check, mark unchanged", |b| b.iter(|| black_box(watch.mark())));
    group.finish();
}

/// What a command pays at exit with the detached sender: one message appended to its
/// recipient's outbox, with nothing waiting and with 900 KB (of the 1 MiB bound) waiting.
fn handoff(c: &mut Criterion) {
    let dir = dlt_test_support::private_tempdir().unwrap();
    let endpoint = HttpUrl::parse("http://127.0.0.1:9/v1/batch").unwrap();
    let options = SegmentOptions::new(endpoint, "dlt/0.1.0").with_outbox(OutboxOptions::new(dir.path()));
    let hand_off = |message: AnonymousMessage| {
        let transport = HandoffTransport::new(options.clone()).unwrap();
        transport.track(message);
        assert!(transport.shutdown(Instant::now()).drained);
    };
    hand_off(message());
    let folder = std::fs::read_dir(dir.path().join("outbox")).unwrap().next().unwrap().unwrap().path();
    let outbox = folder.join("outbox-0.jsonl");
    let line = std::fs::read(&outbox).unwrap();
    let mut group = c.benchmark_group("handoff");
    for (label, waiting) in
        [("one message, nothing waiting", 0), ("one message, 900 KB waiting", 900 * 1024 / line.len())]
    {
        let content = line.repeat(waiting);
        let template = message();
        group.bench_function(label, |b| {
            b.iter_batched(
                || {
                    std::fs::write(&outbox, &content).unwrap();
                    template.clone()
                },
                hand_off,
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

fn delivery(c: &mut Criterion) {
    const MESSAGES: usize = 10_000;
    let mut group = c.benchmark_group("delivery");
    group.throughput(Throughput::Elements(MESSAGES as u64));
    group.sample_size(10);
    let server = local_server();
    for (path, label) in [
        ("/v1/batch", "10,000 messages to a local /v1/batch server"),
        ("/track", "10,000 messages, one per request, 4 at once"),
    ] {
        let mut options = SegmentOptions::new(HttpUrl::parse(&format!("{}{path}", server.url())).unwrap(), "dlt/0.1.0");
        options.queue_capacity = MESSAGES;
        let client = SegmentClient::start(options).unwrap();
        let template = message();
        group.bench_function(label, |b| {
            b.iter_custom(|iterations| {
                let mut total = Duration::ZERO;
                for _ in 0..iterations {
                    let messages: Vec<AnonymousMessage> = (0..MESSAGES).map(|_| template.clone()).collect();
                    let started = Instant::now();
                    for message in messages {
                        client.track(message);
                    }
                    assert!(client.flush(Duration::from_secs(60)));
                    total += started.elapsed();
                }
                total
            });
        });
        let stats = client.stats();
        assert_eq!(stats.dropped_queue_full, 0);
        eprintln!("  (delivery: sent {}, retried {})", stats.sent, stats.retried);
    }
    group.finish();
}

/// What the record of what left costs per delivered batch: one message tracked and confirmed by
/// a local server, without an outbox (nothing is recorded) and with one (the confirmed message
/// is appended to the recipient's record and its counts on the worker's thread), the record
/// empty and near its 1 MiB bound (where, now and then, it is rewritten down to 768 KiB). The
/// difference between the first and the others is the record's cost; `track` does not change.
fn sent_record(c: &mut Criterion) {
    let server = local_server();
    let endpoint = HttpUrl::parse(&format!("{}/v1/batch", server.url())).unwrap();
    let template = message();
    let mut group = c.benchmark_group("sent record");
    let dir = dlt_test_support::private_tempdir().unwrap();
    let recorded = SegmentOptions::new(endpoint.clone(), "dlt/0.1.0").with_outbox(OutboxOptions::new(dir.path()));
    let record = dir.path().join("sent").join(recorded.recipient().id()).join("sent.jsonl");
    let cases = [
        ("one message per batch, not recorded", SegmentOptions::new(endpoint, "dlt/0.1.0"), false),
        ("one message per batch, recorded", recorded.clone(), false),
        ("one message per batch, recorded, near the 1 MiB bound", recorded, true),
    ];
    for (label, options, near_bound) in cases {
        let client = SegmentClient::start(options).unwrap();
        client.track(template.clone());
        assert!(client.flush(Duration::from_secs(10)));
        if near_bound {
            let line = std::fs::read(&record).unwrap();
            std::fs::write(&record, line.repeat(1000 * 1024 / line.len())).unwrap();
        }
        group.bench_function(label, |b| {
            b.iter_batched(
                || template.clone(),
                |message| {
                    client.track(message);
                    assert!(client.flush(Duration::from_secs(10)));
                },
                BatchSize::SmallInput,
            );
        });
        let stats = client.stats();
        assert_eq!(stats.sent, stats.queued, "every message confirmed");
    }
    let size = std::fs::metadata(&record).unwrap().len();
    assert!(size <= 1024 * 1024, "the record stays within its bound: {size} bytes");
    group.finish();
}

criterion_group!(benches, track_latency, opt_out_check, handoff, delivery, sent_record);
criterion_main!(benches);
