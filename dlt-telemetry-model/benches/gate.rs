//! What the privacy gate costs per message: building a typical `pipeline_load` message through
//! it (every property screened), screening a message read back from an outbox (context too),
//! and, for scale, building the same message without the gate's screening.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(missing_docs, reason = "criterion_group! generates an undocumented pub fn")]

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use dlt_telemetry_model::events::{PipelineLoad, PipelineStep};
use dlt_telemetry_model::{
    AnonymousId, AnonymousMessage, Context, Event, EventCategory, Library, OsInfo, RunContext, RunContextInfo,
    SafeContext, TrackMessage,
};

fn context() -> Context {
    Context::new(OsInfo::new("Linux", "6.1.0-18-amd64"), Library::new("dlt", "0.1.0"))
        .with_cpu(8)
        .with_exec_info(vec!["docker".into()])
        .with_run_context(RunContext::Info(RunContextInfo::new("dlt")))
}

fn load() -> PipelineLoad {
    PipelineLoad {
        step: PipelineStep {
            elapsed: 0.905544,
            success: true,
            destination_name: Some("duckdb".into()),
            destination_type: Some("dlt.destinations.duckdb".into()),
            pipeline_name_hash: Some("HAaZnBCl4sy0jO0VDVOy".into()),
            dataset_name_hash: Some("45i9eQF39wFD28VfKOIP".into()),
            default_schema_name_hash: Some("HAaZnBCl4sy0jO0VDVOy".into()),
            transaction_id: "7a2854ba5e862d2a319cfca0a5d578b1".into(),
        },
        destination_fingerprint: Some(String::new()),
    }
}

fn gate(c: &mut Criterion) {
    let mut group = c.benchmark_group("privacy gate");
    let safe_context = SafeContext::screen(context());
    let id = AnonymousId::from_random_bytes([7; 16]);
    group.bench_function("pipeline_load through the gate (what track pays)", |b| {
        b.iter_batched(
            load,
            |event| black_box(AnonymousMessage::from_event(event, id, &safe_context)),
            BatchSize::SmallInput,
        );
    });
    group.bench_function("pipeline_load without screening (for scale)", |b| {
        b.iter_batched(
            load,
            |event| {
                let properties = event.into_properties();
                black_box(TrackMessage::new(EventCategory::Pipeline, "load", properties, id.to_string(), context()))
            },
            BatchSize::SmallInput,
        );
    });
    let line = AnonymousMessage::from_event(load(), id, &safe_context).into_message();
    group.bench_function("an outbox line screened again (context included)", |b| {
        b.iter_batched(|| line.clone(), |message| black_box(AnonymousMessage::screen(message)), BatchSize::SmallInput);
    });
    group.bench_function("the context screened (once per process)", |b| {
        b.iter_batched(context, |context| black_box(SafeContext::screen(context)), BatchSize::SmallInput);
    });
    group.finish();
}

criterion_group!(benches, gate);
criterion_main!(benches);
