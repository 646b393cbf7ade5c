//! [`init`] and the [`OtelGuard`] that shuts export down by a deadline.

use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use opentelemetry::trace::{SpanId, TraceContextExt as _, TracerProvider as _};
use opentelemetry::{Context, InstrumentationScope, KeyValue};
use opentelemetry_otlp::{Protocol, RetryPolicy, WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::resource::TelemetryResourceDetector;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, RandomIdGenerator, Sampler, SdkTracer, SdkTracerProvider, SpanLimits,
};

use crate::attributes::SERVICE_VERSION;
use crate::endpoint::OtlpEndpoint;
use crate::layer::OtelLayer;
use crate::options::{OffReason, OtelOptions};
use crate::redact::{ExportRedactor, RedactingExporter};
use crate::transport::{ClientConfig, Counters, ExitSignal, ExportStats, MAX_EXPORT_TIMEOUT, OtlpHttpClient};

/// The instrumentation scope of every span the bridge makes.
const SCOPE_NAME: &str = env!("CARGO_PKG_NAME");

/// Why export could not start; the bridge then stays off. Carries no URL and no header.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The HTTP client could not be built: a proxy variable that is not a usable URL, a trust
    /// file that cannot be read, TLS setup. Names the variable, never a password.
    #[error("could not build the HTTP client for OTLP export: {0}")]
    HttpClient(#[source] dlt_http::HttpError),
    /// The runtime of the HTTP client could not be built.
    #[error("could not build the runtime of the OTLP HTTP client")]
    Runtime(#[source] std::io::Error),
    /// The OTLP exporter rejected its configuration.
    #[error("the OTLP exporter could not be configured")]
    Exporter,
    /// The batch processor's thread could not be started.
    #[error("could not start the OpenTelemetry batch thread")]
    Thread,
}

/// Whether the bridge exports, and where to or why not.
#[derive(Debug)]
#[non_exhaustive]
pub enum OtelStatus {
    /// Spans go to this endpoint (shown with its credentials hidden).
    Exporting {
        /// The traces URL.
        endpoint: OtlpEndpoint,
    },
    /// Off by configuration.
    Off(OffReason),
    /// On by configuration, but export could not start.
    StartFailed(StartError),
}

impl fmt::Display for OtelStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exporting { endpoint } => write!(f, "exporting to {endpoint}"),
            Self::Off(OffReason::NoEndpoint) => f.write_str("off (no endpoint set)"),
            Self::Off(OffReason::SdkDisabled) => f.write_str("off (OTEL_SDK_DISABLED=true)"),
            Self::Off(OffReason::UnsupportedProtocol) => f.write_str("off (protocol other than http/protobuf)"),
            Self::StartFailed(error) => write!(f, "off ({error})"),
        }
    }
}

/// Starts OTLP export and returns the guard that shuts it down.
///
/// Never fails: when export is off by configuration, or cannot start, the guard is a no-op
/// (no thread, no socket) and [`OtelGuard::status`] says why.
pub fn init(options: OtelOptions) -> OtelGuard {
    let endpoint = match options.export_endpoint() {
        Ok(endpoint) => endpoint,
        Err(reason) => return OtelGuard { exporting: None, status: OtelStatus::Off(reason) },
    };
    match Exporting::start(&options, endpoint) {
        Ok(exporting) => OtelGuard {
            exporting: Some(Arc::new(exporting)),
            status: OtelStatus::Exporting { endpoint: endpoint.clone() },
        },
        Err(error) => OtelGuard { exporting: None, status: OtelStatus::StartFailed(error) },
    }
}

/// Keeps export running; shutting it down (or dropping it) exports what is pending within
/// a deadline.
#[must_use = "export stops as soon as the guard is dropped"]
pub struct OtelGuard {
    exporting: Option<Arc<Exporting>>,
    status: OtelStatus,
}

impl OtelGuard {
    /// A guard with export off: everything it hands out is a no-op.
    pub fn disabled() -> Self {
        Self { exporting: None, status: OtelStatus::Off(OffReason::NoEndpoint) }
    }

    /// Whether spans are exported.
    pub fn is_enabled(&self) -> bool {
        self.exporting.is_some()
    }

    /// Whether the bridge exports, and where to or why not.
    pub fn status(&self) -> &OtelStatus {
        &self.status
    }

    /// A `tracing` layer that records WARN and ERROR events emitted while a pipeline run is
    /// active as events of the run's current span; a no-op layer when export is off.
    pub fn tracing_layer(&self) -> OtelLayer {
        OtelLayer::new(self.exporting.clone())
    }

    /// What the exporter did so far; `None` when export is off.
    pub fn stats(&self) -> Option<ExportStats> {
        self.exporting.as_ref().map(|exporting| exporting.counters.snapshot())
    }

    /// Exports what is pending and stops, returning by `deadline` even when the collector
    /// accepts and never answers; a refused connection is not retried. True when everything
    /// pending was accepted in time. Later calls (and dropping the guard) return the first
    /// call's answer without waiting again.
    pub fn shutdown_by(&self, deadline: Instant) -> bool {
        self.exporting.as_ref().is_none_or(|exporting| exporting.shutdown_by(deadline))
    }

    /// The export state for spans and layers.
    pub(crate) fn exporting(&self) -> Option<&Arc<Exporting>> {
        self.exporting.as_ref()
    }
}

impl Drop for OtelGuard {
    fn drop(&mut self) {
        if let Some(exporting) = &self.exporting {
            let now = Instant::now();
            exporting.shutdown_by(now.checked_add(exporting.shutdown_timeout).unwrap_or(now));
        }
    }
}

impl fmt::Debug for OtelGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtelGuard").field("status", &self.status).finish()
    }
}

/// The state shared by the guard, the spans and the layer while export is on.
pub(crate) struct Exporting {
    pub(crate) tracer: SdkTracer,
    provider: SdkTracerProvider,
    /// The caller's span (from `TRACEPARENT`), or an empty context.
    pub(crate) parent: Context,
    pub(crate) current_spans: CurrentSpans,
    pub(crate) redactor: ExportRedactor,
    pub(crate) library_name: String,
    exit: ExitSignal,
    counters: Arc<Counters>,
    shutdown_timeout: Duration,
    /// The answer of the first shutdown.
    shut_down: OnceLock<bool>,
}

impl Exporting {
    /// Builds the HTTP client, the OTLP exporter, the batch processor and the tracer.
    fn start(options: &OtelOptions, endpoint: &OtlpEndpoint) -> Result<Self, StartError> {
        let mut secrets = options.extra_secrets.clone();
        secrets.extend(options.headers.secret_values().map(|secret| secret.expose().to_owned()));
        secrets.extend(endpoint.credentials());
        let redactor = ExportRedactor::new(secrets);
        // Each request is bounded by the export timeout and the exit deadline (the client's
        // own per-request deadline); reqwest's timeout only backs that up.
        let settings = dlt_http::HttpSettings::new(options.network.clone())
            .with_request_timeout(options.export_timeout.clamp(Duration::from_millis(1), MAX_EXPORT_TIMEOUT));
        let http = dlt_http::build_client(&settings).map_err(StartError::HttpClient)?;
        let (exit, exit_receiver) = ExitSignal::new();
        let counters = Arc::new(Counters::default());
        let user_agent = match &options.library_version {
            Some(version) => format!("{}/{version}", options.library_name),
            None => options.library_name.clone(),
        };
        let client = OtlpHttpClient::new(ClientConfig {
            http,
            url: endpoint.url().clone(),
            headers: options.headers.clone(),
            compression: options.compression,
            export_timeout: options.export_timeout,
            user_agent,
            exit: exit_receiver,
            counters: Arc::clone(&counters),
        })
        .map_err(StartError::Runtime)?;
        // The exporter never sees the credentials: our client posts to the full URL itself.
        let mut exporter_url = endpoint.url().clone();
        let _ = exporter_url.set_username("");
        let _ = exporter_url.set_password(None);
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(exporter_url.as_str())
            .with_protocol(Protocol::HttpBinary)
            .with_timeout(options.export_timeout)
            .with_http_client(client)
            // Retries are the client's: it knows about refused connections and the exit deadline.
            .with_retry_policy(RetryPolicy::disabled())
            .build()
            .map_err(|_| StartError::Exporter)?;
        let batch = BatchConfigBuilder::default()
            .with_max_queue_size(options.max_queue_size.max(1))
            .with_max_export_batch_size(options.max_export_batch_size.max(1))
            .with_scheduled_delay(options.scheduled_delay)
            .build();
        // The SDK panics when it cannot spawn its thread; that must not reach the host.
        let processor = std::panic::catch_unwind(AssertUnwindSafe(|| {
            BatchSpanProcessor::builder(RedactingExporter::new(exporter, redactor.clone()))
                .with_batch_config(batch)
                .build()
        }))
        .map_err(|_| StartError::Thread)?;
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            // The specification's default: follow the caller's sampling decision, else record.
            .with_sampler(Sampler::ParentBased(Box::new(Sampler::AlwaysOn)))
            .with_id_generator(RandomIdGenerator::default())
            .with_span_limits(SpanLimits::default())
            .with_resource(resource(options))
            .build();
        let tracer = provider.tracer_with_scope(
            InstrumentationScope::builder(SCOPE_NAME).with_version(env!("CARGO_PKG_VERSION")).build(),
        );
        let parent = match &options.parent {
            Some(parent) => Context::new().with_remote_span_context(parent.span_context().clone()),
            None => Context::new(),
        };
        Ok(Self {
            tracer,
            provider,
            parent,
            current_spans: CurrentSpans::default(),
            redactor,
            library_name: options.library_name.clone(),
            exit,
            counters,
            shutdown_timeout: options.shutdown_timeout,
            shut_down: OnceLock::new(),
        })
    }

    /// Raises the exit signal, then shuts the provider down within what is left until
    /// `deadline`. True when it finished in time and no batch failed meanwhile.
    fn shutdown_by(&self, deadline: Instant) -> bool {
        *self.shut_down.get_or_init(|| {
            self.exit.raise(deadline);
            let failed_before = self.counters.snapshot().batches_failed;
            let timeout = deadline.saturating_duration_since(Instant::now());
            let finished = self.provider.shutdown_with_timeout(timeout).is_ok();
            finished && self.counters.snapshot().batches_failed == failed_before
        })
    }
}

/// The resource: `telemetry.sdk.*`, the resource attributes, `service.version` and `service.name`.
fn resource(options: &OtelOptions) -> Resource {
    let mut builder = Resource::builder_empty().with_detector(Box::new(TelemetryResourceDetector)).with_attributes(
        options.resource_attributes.iter().map(|(key, value)| KeyValue::new(key.clone(), value.clone())),
    );
    if let Some(version) = options.effective_service_version() {
        builder = builder.with_attribute(KeyValue::new(SERVICE_VERSION, version.to_owned()));
    }
    builder.with_service_name(options.effective_service_name().to_owned()).build()
}

/// The current span (the root or a running step) of each pipeline run in progress, by the
/// run's id. `tracing` events go to the current span of the most recently started run.
#[derive(Default)]
pub(crate) struct CurrentSpans {
    next_id: AtomicU64,
    runs: Mutex<Vec<(u64, Context)>>,
}

impl CurrentSpans {
    /// Registers a run whose current span is in `root`; returns its id.
    pub(crate) fn register(&self, root: Context) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().push((id, root));
        id
    }

    /// Makes `current` the run's current span.
    pub(crate) fn set_current(&self, id: u64, current: Context) {
        // The replaced context is dropped after the lock is released (a span may end on drop).
        let _replaced = self.replace(id, None, current);
    }

    /// Makes `current` the run's current span again if the span `ended` still is.
    pub(crate) fn restore(&self, id: u64, ended: SpanId, current: Context) {
        let _replaced = self.replace(id, Some(ended), current);
    }

    fn replace(&self, id: u64, only_if: Option<SpanId>, current: Context) -> Option<Context> {
        let mut runs = self.lock();
        let entry = runs.iter_mut().find(|(run, span)| {
            *run == id && only_if.is_none_or(|ended| span.span().span_context().span_id() == ended)
        })?;
        Some(std::mem::replace(&mut entry.1, current))
    }

    /// Forgets a finished run.
    pub(crate) fn remove(&self, id: u64) {
        let removed = {
            let mut runs = self.lock();
            let index = runs.iter().position(|(run, _)| *run == id);
            index.map(|index| runs.remove(index))
        };
        drop(removed);
    }

    /// The current span of the most recently started run, if any run is active.
    pub(crate) fn current(&self) -> Option<Context> {
        self.lock().last().map(|(_, current)| current.clone())
    }

    fn lock(&self) -> MutexGuard<'_, Vec<(u64, Context)>> {
        self.runs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn everything_handed_out_can_cross_threads() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<OtelGuard>();
        send_sync::<crate::PipelineRunSpan>();
        send_sync::<crate::StepSpan>();
        send_sync::<crate::CommandSpan>();
        send_sync::<OtelLayer>();
    }

    #[test]
    fn off_by_configuration_is_a_no_op_guard() {
        let guard = init(OtelOptions::new());
        assert!(!guard.is_enabled());
        assert_eq!(guard.stats(), None);
        assert_eq!(guard.status().to_string(), "off (no endpoint set)");
        assert!(guard.shutdown_by(Instant::now()));

        let mut options = OtelOptions::new();
        options.endpoint = Some(OtlpEndpoint::from_base("http://127.0.0.1:9").unwrap());
        options.sdk_disabled = true;
        let guard = init(options);
        assert!(matches!(guard.status(), OtelStatus::Off(OffReason::SdkDisabled)));
        assert!(!guard.is_enabled());
    }

    #[test]
    fn the_status_hides_the_endpoint_password() {
        let mut options = OtelOptions::new();
        options.endpoint = Some(OtlpEndpoint::from_base("http://user:pa55word@127.0.0.1:9").unwrap());
        let guard = init(options);
        assert!(guard.is_enabled());
        let shown = format!("{} {guard:?}", guard.status());
        assert!(!shown.contains("pa55word"), "{shown}");
        assert!(shown.contains("exporting to http://***@127.0.0.1:9/v1/traces"), "{shown}");
        assert!(guard.shutdown_by(Instant::now() + Duration::from_secs(1)));
    }

    #[test]
    fn the_resource_follows_the_precedence_of_the_options() {
        let mut options = OtelOptions::new().with_library("dlt", "1.31.0");
        options.resource_attributes = vec![("team".into(), "data".into()), ("service.version".into(), "9".into())];
        let resource = resource(&options);
        let get = |key: &'static str| resource.get(&opentelemetry::Key::new(key)).map(|value| value.to_string());
        assert_eq!(get("service.name").as_deref(), Some("dlt"));
        assert_eq!(get("service.version").as_deref(), Some("9"));
        assert_eq!(get("team").as_deref(), Some("data"));
        assert_eq!(get("telemetry.sdk.language").as_deref(), Some("rust"));
    }
}
