//! Messages of the usual shape, for benchmarks and tests that need realistic traffic, built
//! through the privacy gate as every sent message is.

use dlt_telemetry_model::events::{PipelineLoad, PipelineStep};
use dlt_telemetry_model::{
    AnonymousId, AnonymousMessage, Context, Event, Library, OsInfo, RunContext, RunContextInfo, SafeContext,
};
use serde_json::Value;

/// The context tests and benchmarks send: Linux, 8 CPUs, docker, the `dlt` library.
pub fn test_context() -> SafeContext {
    SafeContext::screen(
        Context::new(OsInfo::new("Linux", "6.1.0-18-amd64"), Library::new("dlt", "0.1.0"))
            .with_cpu(8)
            .with_exec_info(vec!["docker".into()])
            .with_run_context(RunContext::Info(RunContextInfo::new("dlt"))),
    )
}

/// The message of `event` in [`test_context`], with a fresh anonymous id.
pub fn message_of<E: Event>(event: E) -> AnonymousMessage {
    AnonymousMessage::from_event(
        event,
        AnonymousId::from_random_bytes(fastrand::u128(..).to_le_bytes()),
        &test_context(),
    )
}

/// A `pipeline_load` message of the usual size (about 800 bytes of JSON once sent); the Python
/// side of `cargo xtask bench-vs-dlt` sends the same properties.
pub fn pipeline_load_message() -> AnonymousMessage {
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
    message_of(event)
}

/// A property value that passes the privacy gate and whose JSON is exactly `bytes` longer
/// than an empty list's (`[]`): a list of dotted names. For messages of a given size. `bytes`
/// is 0 or at least 4.
pub fn padding(bytes: usize) -> Value {
    assert!(bytes == 0 || bytes >= 4, "padding of {bytes} bytes cannot be made");
    if bytes == 0 {
        return Value::Array(Vec::new());
    }
    // Each item costs its length plus two quotes, and every item but the first a comma:
    // `bytes` = sum(lengths) + 3 * items - 1, with items of 1 to 255 characters.
    let items = (bytes + 1).div_ceil(258);
    let mut total = bytes + 1 - 3 * items;
    let names = (0..items)
        .map(|index| {
            let rest = items - index - 1;
            let length = (total - rest).min(255);
            total -= length;
            Value::String(dotted_name(length))
        })
        .collect();
    Value::Array(names)
}

/// A dotted name of `length` characters: `x`s with a dot after every 63rd.
fn dotted_name(length: usize) -> String {
    (0..length).map(|index| if index % 64 == 63 && index + 1 < length { '.' } else { 'x' }).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn padding_is_exact_and_passes_the_gate() {
        for bytes in [0, 4, 5, 257, 258, 259, 1_000, 32_000] {
            let value = padding(bytes);
            assert_eq!(serde_json::to_string(&value).unwrap().len(), bytes + 2, "{bytes}");
            for item in value.as_array().unwrap() {
                assert!(dlt_telemetry_model::anonymous::is_dotted_name(item.as_str().unwrap()), "{item}");
            }
        }
    }
}
