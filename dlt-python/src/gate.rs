//! The one way an event from Python reaches the transports.

use dlt_runtime_trace::RuntimeTrace;
use dlt_telemetry_model::{EventCategory, Properties};

/// Hands one event from Python to `runtime`: every `track` of the Python package, and every
/// event of dlt (Python) once `dlt_telemetry.install()` ran, passes here and only here. An
/// unknown category is dropped. The properties, as converted (see [`crate::convert`]), pass the
/// privacy gate in [`RuntimeTrace::track_event`] like every other event.
pub(crate) fn route_event(runtime: &RuntimeTrace, category: &str, name: &str, properties: Properties) {
    let Some(category) = EventCategory::ALL.into_iter().find(|known| known.as_str() == category) else {
        return;
    };
    if name.is_empty() {
        return;
    }
    runtime.track_event(category, name, properties);
}
