//! The bridge's options: a plain struct, filled from the standard `OTEL_*` variables through a
//! lookup (never the process environment behind the caller's back), or by hand.

use std::fmt;
use std::time::Duration;

use dlt_http::NetworkEnv;
use dlt_redact::Redactor;

use crate::endpoint::OtlpEndpoint;
use crate::headers::OtlpHeaders;
use crate::kv_list;
use crate::trace_context::TraceParent;

/// The specification's default export timeout (`OTEL_EXPORTER_OTLP_TIMEOUT`).
const DEFAULT_EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// The specification's default `OTEL_BSP_MAX_QUEUE_SIZE`.
const DEFAULT_MAX_QUEUE_SIZE: usize = 2048;
/// The specification's default `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`.
const DEFAULT_MAX_EXPORT_BATCH_SIZE: usize = 512;
/// The specification's default `OTEL_BSP_SCHEDULE_DELAY`.
const DEFAULT_SCHEDULED_DELAY: Duration = Duration::from_secs(5);
/// The service name the specification uses when none is known.
const UNKNOWN_SERVICE: &str = "unknown_service";
/// The one protocol this bridge speaks.
const HTTP_PROTOBUF: &str = "http/protobuf";

/// Where a setting came from, named in warnings: an environment variable or the config key.
pub type Setting = &'static str;

/// The config key that names an endpoint for users who configure by file.
pub const CONFIG_ENDPOINT_KEY: Setting = "runtime.otlp_endpoint";

/// A setting that was ignored, for the host to show as it sees fit. Names the variable, never
/// its value (which may hold a token or a password).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OtelWarning {
    /// The endpoint is not an `http://` or `https://` URL: nothing is exported.
    #[error("{setting} is not an http:// or https:// URL; OpenTelemetry export stays off")]
    InvalidEndpoint {
        /// The variable or key that held it.
        setting: Setting,
    },
    /// The protocol is not `http/protobuf`, the only one this exporter speaks: nothing is exported.
    #[error("{setting} names a protocol other than http/protobuf; OpenTelemetry export stays off")]
    UnsupportedProtocol {
        /// The variable that held it.
        setting: Setting,
    },
    /// Some members of the header list were malformed and left out.
    #[error("{setting}: {skipped} malformed header(s) left out")]
    MalformedHeaders {
        /// The variable that held them.
        setting: Setting,
        /// How many members were left out.
        skipped: usize,
    },
    /// The resource attributes were malformed; all of them are ignored, as the specification says.
    #[error("{setting} is not a list of key=value pairs; it is ignored")]
    MalformedResourceAttributes {
        /// The variable that held them.
        setting: Setting,
    },
    /// The compression is neither `gzip` nor `none`; requests are sent uncompressed.
    #[error("{setting} is neither gzip nor none; requests are sent uncompressed")]
    UnsupportedCompression {
        /// The variable that held it.
        setting: Setting,
    },
    /// A duration or size is not a positive whole number; its default is used.
    #[error("{setting} is not a positive whole number; the default is used")]
    InvalidNumber {
        /// The variable that held it.
        setting: Setting,
    },
    /// A boolean is neither `true` nor `false`; it counts as false, as the specification says.
    #[error("{setting} is neither true nor false; it counts as false")]
    InvalidBoolean {
        /// The variable that held it.
        setting: Setting,
    },
    /// `TRACEPARENT` is not a W3C traceparent: the run starts a trace of its own.
    #[error("TRACEPARENT is not a W3C traceparent; it is ignored")]
    InvalidTraceParent,
    /// `TRACESTATE` is not a W3C tracestate: the caller's trace is joined without it.
    #[error("TRACESTATE is not a W3C tracestate; it is ignored")]
    InvalidTraceState,
}

/// Why nothing is exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum OffReason {
    /// No endpoint is set (the default).
    NoEndpoint,
    /// `OTEL_SDK_DISABLED=true`.
    SdkDisabled,
    /// The protocol asked for is not `http/protobuf`.
    UnsupportedProtocol,
}

/// The request body compression.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtlpCompression {
    /// Uncompressed (the default).
    #[default]
    None,
    /// `Content-Encoding: gzip`.
    Gzip,
}

/// Everything the bridge needs; no file or variable is read behind the caller's back.
#[derive(Clone)]
#[non_exhaustive]
pub struct OtelOptions {
    /// The traces URL; `None` keeps export off.
    pub endpoint: Option<OtlpEndpoint>,
    /// Where the endpoint came from: the variable, or [`CONFIG_ENDPOINT_KEY`] (so that a host can
    /// tell how far it trusts it).
    pub endpoint_setting: Option<Setting>,
    /// `OTEL_SDK_DISABLED=true`: export off whatever else is set.
    pub sdk_disabled: bool,
    /// A protocol other than `http/protobuf` was asked for: export off.
    pub unsupported_protocol: bool,
    /// Headers sent with every request (secret values).
    pub headers: OtlpHeaders,
    /// The variable the headers came from.
    pub headers_setting: Option<Setting>,
    /// Secrets besides the header values and the endpoint's credentials to hide in
    /// everything exported (e.g. the Segment write key, the Sentry DSN, passwords the host
    /// keeps); the URL rule applies whatever this holds.
    pub extra_secrets: Redactor,
    /// Request body compression.
    pub compression: OtlpCompression,
    /// How long one export (all its attempts) may take; at exit also capped by the deadline.
    pub export_timeout: Duration,
    /// `OTEL_SERVICE_NAME`; when unset, `service.name` from the resource attributes, else the library name.
    pub service_name: Option<String>,
    /// `OTEL_RESOURCE_ATTRIBUTES`, in order.
    pub resource_attributes: Vec<(String, String)>,
    /// The host library's name: the default `service.name` and the span name prefix of commands.
    pub library_name: String,
    /// The host library's version: `service.version` unless the resource attributes set one.
    pub library_version: Option<String>,
    /// The caller's span (`TRACEPARENT`, `TRACESTATE`) that runs and commands join.
    pub parent: Option<TraceParent>,
    /// Proxies (`HTTPS_PROXY`, `NO_PROXY`, ...) and extra trusted certificates
    /// (`SSL_CERT_FILE`, `SSL_CERT_DIR`) of the HTTP client. The default: no proxy, the
    /// bundled roots and the OS store; [`from_lookup`](Self::from_lookup) reads them from its
    /// lookup.
    pub network: NetworkEnv,
    /// How long dropping the guard may wait for pending spans.
    pub shutdown_timeout: Duration,
    /// Spans that may wait for export; more are dropped.
    pub max_queue_size: usize,
    /// Spans per request at most.
    pub max_export_batch_size: usize,
    /// How often queued spans are exported while the host runs.
    pub scheduled_delay: Duration,
}

impl OtelOptions {
    /// Options with export off and the specification's defaults.
    pub fn new() -> Self {
        Self {
            endpoint: None,
            endpoint_setting: None,
            sdk_disabled: false,
            unsupported_protocol: false,
            headers: OtlpHeaders::default(),
            headers_setting: None,
            extra_secrets: Redactor::default(),
            compression: OtlpCompression::None,
            export_timeout: DEFAULT_EXPORT_TIMEOUT,
            service_name: None,
            resource_attributes: Vec::new(),
            library_name: UNKNOWN_SERVICE.to_owned(),
            library_version: None,
            parent: None,
            network: NetworkEnv::default(),
            shutdown_timeout: Duration::from_secs(1),
            max_queue_size: DEFAULT_MAX_QUEUE_SIZE,
            max_export_batch_size: DEFAULT_MAX_EXPORT_BATCH_SIZE,
            scheduled_delay: DEFAULT_SCHEDULED_DELAY,
        }
    }

    /// Reads the OpenTelemetry variables through `lookup` (a name in, its value out; empty
    /// values count as unset), with `config_endpoint` (`runtime.otlp_endpoint`, a base URL
    /// like `OTEL_EXPORTER_OTLP_ENDPOINT`) as the fallback endpoint. The `OTEL_*` variables win.
    /// The proxy and trust variables of [`network`](Self::network) come from the same lookup.
    ///
    /// When export is off for want of an endpoint, or by `OTEL_SDK_DISABLED=true`, nothing else
    /// is read and no warning is given.
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        config_endpoint: Option<&str>,
    ) -> (Self, Vec<OtelWarning>) {
        let read = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let mut options = Self::new();
        let mut warnings = Vec::new();

        let disabled = read_bool(&read, "OTEL_SDK_DISABLED", &mut warnings);
        if disabled {
            options.sdk_disabled = true;
            return (options, Vec::new());
        }
        let endpoint = if let Some(raw) = read("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            Some((OtlpEndpoint::traces_url(&raw), "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
        } else if let Some(raw) = read("OTEL_EXPORTER_OTLP_ENDPOINT") {
            Some((OtlpEndpoint::from_base(&raw), "OTEL_EXPORTER_OTLP_ENDPOINT"))
        } else {
            config_endpoint
                .filter(|raw| !raw.trim().is_empty())
                .map(|raw| (OtlpEndpoint::from_base(raw), CONFIG_ENDPOINT_KEY))
        };
        match endpoint {
            None => return (options, Vec::new()),
            Some((Ok(endpoint), setting)) => {
                options.endpoint = Some(endpoint);
                options.endpoint_setting = Some(setting);
            }
            Some((Err(_), setting)) => warnings.push(OtelWarning::InvalidEndpoint { setting }),
        }
        options.network = NetworkEnv::from_lookup(&lookup);

        if let Some((protocol, setting)) = read_signal(&read, "PROTOCOL")
            && protocol.trim() != HTTP_PROTOBUF
        {
            options.unsupported_protocol = true;
            warnings.push(OtelWarning::UnsupportedProtocol { setting });
        }
        if let Some((raw, setting)) = read_signal(&read, "HEADERS") {
            let (headers, skipped) = OtlpHeaders::parse(&raw);
            options.headers = headers;
            options.headers_setting = Some(setting);
            if skipped > 0 {
                warnings.push(OtelWarning::MalformedHeaders { setting, skipped });
            }
        }
        if let Some((raw, setting)) = read_signal(&read, "COMPRESSION") {
            match raw.trim().to_ascii_lowercase().as_str() {
                "gzip" => options.compression = OtlpCompression::Gzip,
                "none" => options.compression = OtlpCompression::None,
                _ => warnings.push(OtelWarning::UnsupportedCompression { setting }),
            }
        }
        if let Some((raw, setting)) = read_signal(&read, "TIMEOUT") {
            match parse_positive(&raw) {
                Some(millis) => options.export_timeout = Duration::from_millis(millis),
                None => warnings.push(OtelWarning::InvalidNumber { setting }),
            }
        }
        options.service_name = read("OTEL_SERVICE_NAME").map(|name| name.trim().to_owned());
        if let Some(raw) = read("OTEL_RESOURCE_ATTRIBUTES") {
            match kv_list::parse(&raw).into_iter().collect::<Result<Vec<_>, _>>() {
                Ok(attributes) => options.resource_attributes = attributes,
                Err(_) => {
                    warnings.push(OtelWarning::MalformedResourceAttributes { setting: "OTEL_RESOURCE_ATTRIBUTES" })
                }
            }
        }
        let mut number = |name: Setting| {
            let raw = read(name)?;
            let value = parse_positive(&raw);
            if value.is_none() {
                warnings.push(OtelWarning::InvalidNumber { setting: name });
            }
            value
        };
        if let Some(size) = number("OTEL_BSP_MAX_QUEUE_SIZE") {
            options.max_queue_size = usize::try_from(size).unwrap_or(usize::MAX);
        }
        if let Some(size) = number("OTEL_BSP_MAX_EXPORT_BATCH_SIZE") {
            options.max_export_batch_size = usize::try_from(size).unwrap_or(usize::MAX);
        }
        if let Some(millis) = number("OTEL_BSP_SCHEDULE_DELAY") {
            options.scheduled_delay = Duration::from_millis(millis);
        }
        if let Some(raw) = read("TRACEPARENT") {
            match TraceParent::parse(&raw) {
                Ok(mut parent) => {
                    if let Some(state) = read("TRACESTATE")
                        && parent.set_trace_state(&state).is_err()
                    {
                        warnings.push(OtelWarning::InvalidTraceState);
                    }
                    options.parent = Some(parent);
                }
                Err(_) => warnings.push(OtelWarning::InvalidTraceParent),
            }
        }
        (options, warnings)
    }

    /// Sets the host library's name and version (the default `service.name` and the
    /// `service.version`).
    pub fn with_library(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.library_name = name.into();
        self.library_version = Some(version.into()).filter(|version| !version.is_empty());
        self
    }

    /// Why nothing will be exported, or `None` when spans go to [`endpoint`](Self::endpoint).
    pub fn off_reason(&self) -> Option<OffReason> {
        self.export_endpoint().err()
    }

    /// The endpoint spans go to, or why nothing will be exported.
    pub(crate) fn export_endpoint(&self) -> Result<&OtlpEndpoint, OffReason> {
        if self.sdk_disabled {
            Err(OffReason::SdkDisabled)
        } else if self.unsupported_protocol {
            Err(OffReason::UnsupportedProtocol)
        } else {
            self.endpoint.as_ref().ok_or(OffReason::NoEndpoint)
        }
    }

    /// The `service.name` exported: `OTEL_SERVICE_NAME`, else `service.name` from the
    /// resource attributes, else the library name.
    pub fn effective_service_name(&self) -> &str {
        self.service_name
            .as_deref()
            .or_else(|| self.resource_attribute("service.name"))
            .unwrap_or(self.library_name.as_str())
    }

    /// The `service.version` exported: from the resource attributes, else the library version.
    pub fn effective_service_version(&self) -> Option<&str> {
        self.resource_attribute("service.version").or(self.library_version.as_deref())
    }

    fn resource_attribute(&self, key: &str) -> Option<&str> {
        self.resource_attributes.iter().rev().find(|(name, _)| name == key).map(|(_, value)| value.as_str())
    }
}

impl Default for OtelOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// Reads `OTEL_EXPORTER_OTLP_TRACES_<suffix>`, else `OTEL_EXPORTER_OTLP_<suffix>`, with the name that held it.
fn read_signal(read: &impl Fn(&str) -> Option<String>, suffix: &str) -> Option<(String, Setting)> {
    let (signal, generic) = match suffix {
        "PROTOCOL" => ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"),
        "HEADERS" => ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"),
        "COMPRESSION" => ("OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION"),
        "TIMEOUT" => ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"),
        _ => return None,
    };
    read(signal).map(|value| (value, signal)).or_else(|| read(generic).map(|value| (value, generic)))
}

/// The specification's booleans: `true` (any case) is true; unset, empty and `false` are false;
/// anything else is false with a warning.
fn read_bool(read: &impl Fn(&str) -> Option<String>, name: Setting, warnings: &mut Vec<OtelWarning>) -> bool {
    let Some(raw) = read(name) else { return false };
    let value = raw.trim();
    if value.eq_ignore_ascii_case("true") {
        return true;
    }
    if !value.eq_ignore_ascii_case("false") {
        warnings.push(OtelWarning::InvalidBoolean { setting: name });
    }
    false
}

fn parse_positive(raw: &str) -> Option<u64> {
    raw.trim().parse::<u64>().ok().filter(|value| *value > 0)
}

impl fmt::Debug for OtelOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            endpoint,
            endpoint_setting,
            sdk_disabled,
            unsupported_protocol,
            headers,
            headers_setting,
            extra_secrets,
            compression,
            export_timeout,
            service_name,
            resource_attributes,
            library_name,
            library_version,
            parent,
            network,
            shutdown_timeout,
            max_queue_size,
            max_export_batch_size,
            scheduled_delay,
        } = self;
        f.debug_struct("OtelOptions")
            .field("endpoint", endpoint)
            .field("endpoint_setting", endpoint_setting)
            .field("sdk_disabled", sdk_disabled)
            .field("unsupported_protocol", unsupported_protocol)
            .field("headers", headers)
            .field("headers_setting", headers_setting)
            .field("extra_secrets", extra_secrets)
            .field("compression", compression)
            .field("export_timeout", export_timeout)
            .field("service_name", service_name)
            .field("resource_attributes", resource_attributes)
            .field("library_name", library_name)
            .field("library_version", library_version)
            .field("parent", parent)
            .field("network", network)
            .field("shutdown_timeout", shutdown_timeout)
            .field("max_queue_size", max_queue_size)
            .field("max_export_batch_size", max_export_batch_size)
            .field("scheduled_delay", scheduled_delay)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::HashMap;

    use super::*;

    fn from(pairs: &[(&str, &str)], config_endpoint: Option<&str>) -> (OtelOptions, Vec<OtelWarning>) {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        OtelOptions::from_lookup(|name| map.get(name).cloned(), config_endpoint)
    }

    fn endpoint(options: &OtelOptions) -> String {
        options.endpoint.as_ref().unwrap().url().to_string()
    }

    #[test]
    fn off_without_an_endpoint_and_silent_about_the_rest() {
        let (options, warnings) = from(&[("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"), ("TRACEPARENT", "junk")], None);
        assert_eq!(options.off_reason(), Some(OffReason::NoEndpoint));
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn the_traces_endpoint_wins_and_is_used_as_is() {
        let (options, warnings) = from(
            &[
                ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://traces:4318/custom"),
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318"),
            ],
            Some("http://config:4318"),
        );
        assert!(warnings.is_empty());
        assert_eq!(endpoint(&options), "http://traces:4318/custom");
        assert_eq!(options.off_reason(), None);
    }

    #[test]
    fn the_generic_endpoint_beats_the_config_endpoint_and_both_get_the_path() {
        let (options, _) = from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://generic:4318/")], Some("http://config:4318"));
        assert_eq!(endpoint(&options), "http://generic:4318/v1/traces");
        let (options, _) = from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "")], Some("http://config:4318/otlp"));
        assert_eq!(endpoint(&options), "http://config:4318/otlp/v1/traces");
    }

    #[test]
    fn an_invalid_endpoint_keeps_export_off_without_echoing_it() {
        let (options, warnings) =
            from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318/secret-token")], Some("http://config:4318"));
        assert_eq!(options.off_reason(), Some(OffReason::NoEndpoint));
        assert_eq!(warnings, [OtelWarning::InvalidEndpoint { setting: "OTEL_EXPORTER_OTLP_ENDPOINT" }]);
        let shown = warnings[0].to_string();
        assert!(!shown.contains("secret-token"), "{shown}");
    }

    #[test]
    fn sdk_disabled_wins_over_everything() {
        let (options, warnings) = from(
            &[("OTEL_SDK_DISABLED", "TRUE"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), ("TRACEPARENT", "x")],
            None,
        );
        assert_eq!(options.off_reason(), Some(OffReason::SdkDisabled));
        assert!(options.endpoint.is_none());
        assert!(warnings.is_empty());
        let (options, warnings) =
            from(&[("OTEL_SDK_DISABLED", "yes"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318")], None);
        assert_eq!(options.off_reason(), None);
        assert_eq!(warnings, [OtelWarning::InvalidBoolean { setting: "OTEL_SDK_DISABLED" }]);
    }

    #[test]
    fn another_protocol_is_one_warning_and_no_export() {
        let (options, warnings) =
            from(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"), ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")], None);
        assert_eq!(options.off_reason(), Some(OffReason::UnsupportedProtocol));
        assert_eq!(warnings, [OtelWarning::UnsupportedProtocol { setting: "OTEL_EXPORTER_OTLP_PROTOCOL" }]);
        let (options, warnings) = from(
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
                ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
            ],
            None,
        );
        assert_eq!(options.off_reason(), None);
        assert!(warnings.is_empty());
    }

    #[test]
    fn headers_compression_and_timeout_follow_the_specification() {
        let (options, warnings) = from(
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=s3cr3t%21,broken"),
                ("OTEL_EXPORTER_OTLP_COMPRESSION", "GZIP"),
                ("OTEL_EXPORTER_OTLP_TIMEOUT", "2500"),
            ],
            None,
        );
        assert_eq!(options.headers.names().collect::<Vec<_>>(), ["api-key"]);
        assert_eq!(options.compression, OtlpCompression::Gzip);
        assert_eq!(options.export_timeout, Duration::from_millis(2500));
        assert_eq!(warnings, [OtelWarning::MalformedHeaders { setting: "OTEL_EXPORTER_OTLP_HEADERS", skipped: 1 }]);
        let shown = format!("{options:?}");
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }

    #[test]
    fn bad_values_fall_back_to_defaults_with_one_warning_each() {
        let (options, warnings) = from(
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("OTEL_EXPORTER_OTLP_COMPRESSION", "zstd"),
                ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "-1"),
                ("OTEL_BSP_MAX_QUEUE_SIZE", "lots"),
                ("OTEL_RESOURCE_ATTRIBUTES", "team=data,broken"),
            ],
            None,
        );
        assert_eq!(options.compression, OtlpCompression::None);
        assert_eq!(options.export_timeout, DEFAULT_EXPORT_TIMEOUT);
        assert_eq!(options.max_queue_size, DEFAULT_MAX_QUEUE_SIZE);
        assert!(options.resource_attributes.is_empty());
        assert_eq!(
            warnings,
            [
                OtelWarning::UnsupportedCompression { setting: "OTEL_EXPORTER_OTLP_COMPRESSION" },
                OtelWarning::InvalidNumber { setting: "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT" },
                OtelWarning::MalformedResourceAttributes { setting: "OTEL_RESOURCE_ATTRIBUTES" },
                OtelWarning::InvalidNumber { setting: "OTEL_BSP_MAX_QUEUE_SIZE" },
            ]
        );
    }

    #[test]
    fn service_name_and_version_precedence() {
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs,deployment.environment.name=prod%20eu"),
        ];
        let (options, _) = from(&env, None);
        let options = options.with_library("dlt", "1.31.0");
        assert_eq!(options.effective_service_name(), "from-attrs");
        assert_eq!(options.effective_service_version(), Some("1.31.0"));
        assert_eq!(options.resource_attributes[1], ("deployment.environment.name".to_owned(), "prod eu".to_owned()));
        let (options, _) = from(&[env[0], env[1], ("OTEL_SERVICE_NAME", "from-env")], None);
        assert_eq!(options.effective_service_name(), "from-env");
        let (options, _) = from(&[env[0]], None);
        assert_eq!(options.effective_service_name(), "unknown_service");
        assert_eq!(options.with_library("dlt", "").effective_service_name(), "dlt");
    }

    #[test]
    fn proxies_and_trust_come_from_the_same_lookup_and_never_show_a_password() {
        let (options, warnings) = from(
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
                ("HTTPS_PROXY", "http://loader:pr0xy-pa55@proxy.internal:3128"),
                ("no_proxy", "localhost"),
                ("SSL_CERT_FILE", "/etc/corp/ca.pem"),
            ],
            None,
        );
        assert!(warnings.is_empty());
        assert!(options.network.has_proxy());
        assert_eq!(options.network.cert_file(), Some(std::path::Path::new("/etc/corp/ca.pem")));
        let shown = format!("{options:?}");
        assert!(!shown.contains("pr0xy-pa55"), "{shown}");
        assert!(!shown.contains("loader"), "{shown}");
        assert!(shown.contains("http://***@proxy.internal:3128"), "{shown}");
        let (options, _) = from(&[("HTTPS_PROXY", "http://proxy.internal:3128")], None);
        assert!(!options.network.has_proxy(), "export off: nothing else is read");
    }

    #[test]
    fn traceparent_and_tracestate_are_read_and_invalid_ones_ignored() {
        let endpoint = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318");
        let parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        let (options, warnings) = from(&[endpoint, ("TRACEPARENT", parent), ("TRACESTATE", "a=1")], None);
        assert!(warnings.is_empty());
        assert_eq!(options.parent.as_ref().unwrap().trace_id(), "0af7651916cd43dd8448eb211c80319c");
        let (options, warnings) = from(&[endpoint, ("TRACEPARENT", parent), ("TRACESTATE", "=")], None);
        assert!(options.parent.is_some());
        assert_eq!(warnings, [OtelWarning::InvalidTraceState]);
        let (options, warnings) = from(&[endpoint, ("TRACEPARENT", "00-xyz")], None);
        assert!(options.parent.is_none());
        assert_eq!(warnings, [OtelWarning::InvalidTraceParent]);
    }
}
