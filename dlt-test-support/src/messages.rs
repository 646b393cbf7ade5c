//! Messages of the usual shape, for benchmarks and tests that need realistic traffic.

use dlt_telemetry_model::events::{PipelineLoad, PipelineStep};
use dlt_telemetry_model::{Context, Library, OsInfo, RunContext, RunContextInfo, TrackMessage};

/// A `pipeline_load` message of the usual size (about 800 bytes of JSON once sent); the Python
/// side of `cargo xtask bench-vs-dlt` sends the same properties.
pub fn pipeline_load_message() -> TrackMessage {
    let context = Context::new(OsInfo::new("Linux", "6.1.0-18-amd64"), Library::new("dlt", "0.1.0"))
        .with_cpu(8)
        .with_exec_info(vec!["docker".into()])
        .with_run_context(RunContext::Info(RunContextInfo::new("dlt")));
    let event = PipelineLoad {
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
    };
    TrackMessage::from_event(event, "933dd165453d196a58adaf49444e9b4c", context)
}
