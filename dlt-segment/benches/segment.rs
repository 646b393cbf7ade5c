//! The costs that matter to a host: `track` while the worker is busy (target: under 1 µs
//! median), serialising and batching (target: over 100,000 messages/s) and delivery to a local
//! server. Memory with the endpoint down is measured by `examples/memory_bound.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(missing_docs, reason = "criterion_group! generates an undocumented pub fn")]

use std::hint::black_box;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use dlt_segment::wire::{BatchBody, Push, encode_message, fill_segment_fields};
use dlt_segment::{BatchLimits, SegmentClient, SegmentOptions, Transport};
use dlt_telemetry_model::TrackMessage;
use sample::message;
use time::OffsetDateTime;
use tokio::runtime::Runtime;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

mod sample;

/// A local server that answers 200 and records nothing, and the runtime that started it.
fn local_server() -> (Runtime, MockServer) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let server = runtime.block_on(async {
        let server = MockServer::builder().disable_request_recording().start().await;
        Mock::given(method("POST")).respond_with(ResponseTemplate::new(200)).mount(&server).await;
        server
    });
    (runtime, server)
}

/// An endpoint that accepts connections and never answers: its worker stays busy in a request.
fn hanging_endpoint(listener: &TcpListener) -> String {
    format!("http://{}/v1/batch", listener.local_addr().unwrap())
}

fn track_latency(c: &mut Criterion) {
    let mut group = c.benchmark_group("track");
    let template = message();
    let hanging = TcpListener::bind("127.0.0.1:0").unwrap();

    // The common case: room in the queue while the worker is busy with a request. A fresh
    // client per sample, with room for all of the sample's messages.
    group.bench_function("queue has room, worker busy in a request", |b| {
        b.iter_custom(|iterations| {
            let mut options = SegmentOptions::new(hanging_endpoint(&hanging), "dlt/0.1.0");
            options.queue_capacity = usize::try_from(iterations).unwrap() + 1;
            options.shutdown_timeout = Duration::ZERO;
            let client = SegmentClient::start(options).unwrap();
            client.track(template.clone());
            let messages: Vec<TrackMessage> = (0..iterations).map(|_| template.clone()).collect();
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
    let (_runtime, server) = local_server();
    let mut options = SegmentOptions::new(format!("{}/v1/batch", server.uri()), "dlt/0.1.0");
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

fn serialise_and_batch(c: &mut Criterion) {
    const MESSAGES: usize = 10_000;
    let mut group = c.benchmark_group("batching");
    group.throughput(Throughput::Elements(MESSAGES as u64));
    let mut messages: Vec<TrackMessage> = (0..MESSAGES).map(|_| message()).collect();
    let now = OffsetDateTime::now_utc();
    for message in &mut messages {
        fill_segment_fields(message, now);
    }
    group.bench_function("serialise and batch 10,000 messages", |b| {
        b.iter(|| {
            let mut bodies = Vec::new();
            let mut batch = BatchBody::new(now, BatchLimits::SEGMENT);
            for message in &mut messages {
                message.sent_at = Some(now);
                let encoded = encode_message(message).unwrap();
                if batch.push(&encoded) == Push::Full {
                    bodies.push(std::mem::replace(&mut batch, BatchBody::new(now, BatchLimits::SEGMENT)).finish());
                    batch.push(&encoded);
                }
            }
            bodies.push(batch.finish());
            black_box(bodies)
        });
    });
    group.finish();
}

fn delivery(c: &mut Criterion) {
    const MESSAGES: usize = 10_000;
    let mut group = c.benchmark_group("delivery");
    group.throughput(Throughput::Elements(MESSAGES as u64));
    group.sample_size(10);
    let (_runtime, server) = local_server();
    let mut options = SegmentOptions::new(format!("{}/v1/batch", server.uri()), "dlt/0.1.0");
    options.queue_capacity = MESSAGES;
    let client = SegmentClient::start(options).unwrap();
    let template = message();
    group.bench_function("10,000 messages to a local /v1/batch server", |b| {
        b.iter_custom(|iterations| {
            let mut total = Duration::ZERO;
            for _ in 0..iterations {
                let messages: Vec<TrackMessage> = (0..MESSAGES).map(|_| template.clone()).collect();
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
    group.finish();
}

criterion_group!(benches, track_latency, serialise_and_batch, delivery);
criterion_main!(benches);
