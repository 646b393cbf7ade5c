//! OpenTelemetry export, from the standard `OTEL_*` variables and `runtime.otlp_endpoint`.

use dlt_config::{Config, Source};
use dlt_otel_bridge::{CONFIG_ENDPOINT_KEY, OtelGuard, OtelOptions, OtelStatus, OtlpHeaders};
use dlt_redact::Redactor;
use dlt_telemetry_model::Library;

use crate::credentials::{WithheldCredential, may_travel};
use crate::issues::StartIssue;

/// The export guard (a no-op one without an endpoint) hiding `secrets` in everything it
/// exports, where its endpoint was set, and what was ignored on the way.
pub(crate) fn start_otel(
    config: &Config,
    library: &Library,
    secrets: &Redactor,
) -> (OtelGuard, Source, Vec<StartIssue>) {
    let env = config.env();
    let runtime = config.runtime();
    let configured = runtime.otlp_endpoint.value.as_ref().map(|endpoint| endpoint.as_str());
    let (mut options, warnings) = OtelOptions::from_lookup(|name| env.get(name).map(str::to_owned), configured);
    options = options.with_library(library.name.clone(), library.version.clone());
    options.shutdown_timeout = runtime.telemetry_shutdown_timeout.value;
    options.extra_secrets = secrets.clone();
    let mut issues: Vec<StartIssue> =
        warnings.iter().map(|warning| StartIssue::Ignored { message: warning.to_string() }).collect();
    if let Some(withheld) = withhold_headers(&mut options, config) {
        issues.push(StartIssue::CredentialWithheld(withheld));
    }
    let endpoint_source = match options.endpoint_setting {
        None => Source::Default,
        Some(CONFIG_ENDPOINT_KEY) => runtime.otlp_endpoint.source.clone(),
        Some(variable) => Source::Environment { variable: variable.to_owned() },
    };
    (dlt_otel_bridge::init(options), endpoint_source, issues)
}

/// The OTLP headers (read from the environment) go only to an endpoint set in the environment
/// too: when `runtime.otlp_endpoint` comes from a file, they are dropped and reported.
fn withhold_headers(options: &mut OtelOptions, config: &Config) -> Option<WithheldCredential> {
    let headers = options.headers_setting?;
    if options.endpoint_setting != Some(CONFIG_ENDPOINT_KEY) {
        return None;
    }
    let endpoint_source = &config.runtime().otlp_endpoint.source;
    let headers_source = Source::Environment { variable: headers.to_owned() };
    if may_travel(&headers_source, endpoint_source) {
        return None;
    }
    options.headers = OtlpHeaders::default();
    options.headers_setting = None;
    Some(WithheldCredential {
        credential: headers.to_owned(),
        credential_source: headers_source,
        endpoint: CONFIG_ENDPOINT_KEY.to_owned(),
        endpoint_source: endpoint_source.clone(),
    })
}

/// Where traces go, shown with any credentials hidden, when export is on.
pub(crate) fn shown_endpoint(guard: &OtelGuard) -> Option<String> {
    match guard.status() {
        OtelStatus::Exporting { endpoint } => Some(endpoint.to_string()),
        _ => None,
    }
}
