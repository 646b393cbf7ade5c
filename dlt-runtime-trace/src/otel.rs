//! OpenTelemetry export, from the standard `OTEL_*` variables and `runtime.otlp_endpoint`.

use dlt_config::Config;
use dlt_otel_bridge::{OtelGuard, OtelOptions, OtelStatus};
use dlt_redact::Redactor;
use dlt_telemetry_model::Library;

use crate::issues::StartIssue;

/// The export guard (a no-op one without an endpoint) hiding `secrets` in everything it
/// exports, and what was ignored on the way.
pub(crate) fn start_otel(config: &Config, library: &Library, secrets: &Redactor) -> (OtelGuard, Vec<StartIssue>) {
    let env = config.env();
    let runtime = config.runtime();
    let configured = runtime.otlp_endpoint.value.as_ref().map(|endpoint| endpoint.as_str());
    let (mut options, warnings) = OtelOptions::from_lookup(|name| env.get(name).map(str::to_owned), configured);
    options = options.with_library(library.name.clone(), library.version.clone());
    options.shutdown_timeout = runtime.telemetry_shutdown_timeout.value;
    options.extra_secrets = secrets.clone();
    let issues = warnings.iter().map(|warning| StartIssue::Ignored { message: warning.to_string() }).collect();
    (dlt_otel_bridge::init(options), issues)
}

/// Where traces go, shown with any credentials hidden, when export is on.
pub(crate) fn shown_endpoint(guard: &OtelGuard) -> Option<String> {
    match guard.status() {
        OtelStatus::Exporting { endpoint } => Some(endpoint.to_string()),
        _ => None,
    }
}
