//! [`RuntimeTrace`]: reads the configuration, decides what is on, starts Segment and Sentry,
//! sends events and shuts everything down within one deadline.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use dlt_config::{Config, Environment, HttpUrl, Locations, RuntimeConfig};
use dlt_segment::{DebugTransport, OutboxOptions, SegmentClient, SegmentOptions, ShutdownReport, Transport, WriteKey};
use dlt_sentry_bridge::{EventLevel, HostEnvironment, SentryDsn, SentryGuard, SentryLayer, SentryOptions};
use dlt_telemetry_model::{Context, Event, Library, TrackMessage};

use crate::context;
use crate::status::Status;

/// How a host program starts the runtime trace.
pub struct InitOptions {
    /// The host's library name and version: `context.library`, the `User-Agent`, the Sentry
    /// release and `dlt_version` tag.
    pub library: Library,
    /// The environment to read (`RUNTIME__*`, `DLT_*`, `DO_NOT_TRACK`, CI and host markers).
    pub env: Environment,
    /// Print events to stderr instead of sending them, unless `runtime.dlthub_telemetry_debug`
    /// is configured explicitly. Off by default.
    pub debug_unless_configured: bool,
    /// Where the debug sink writes; stderr when `None`.
    pub debug_writer: Option<Box<dyn Write + Send>>,
}

impl InitOptions {
    /// Options for a host with this name and version, reading the process environment.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            library: Library::new(name, version),
            env: Environment::from_process(),
            debug_unless_configured: false,
            debug_writer: None,
        }
    }

    /// The same options reading `env` instead of the process environment.
    pub fn with_env(mut self, env: Environment) -> Self {
        self.env = env;
        self
    }
}

/// The telemetry and tracing of one host process. Dropping it (or [`RuntimeTrace::shutdown`])
/// flushes Segment and Sentry within one deadline, `runtime.telemetry_shutdown_timeout`.
///
/// With the master switch off, or nothing enabled, it holds nothing: no thread, no socket, no
/// file.
#[must_use = "dropping the runtime trace shuts telemetry and tracing down"]
pub struct RuntimeTrace {
    status: Status,
    warnings: Vec<String>,
    active: Option<Active>,
}

/// What runs when the master switch is on.
pub(crate) struct Active {
    pub(crate) config: Config,
    pub(crate) pipelines_dir: PathBuf,
    library: Library,
    env: Environment,
    context: OnceLock<Context>,
    pub(crate) segment: Option<Box<dyn Transport>>,
    pub(crate) sentry: SentryGuard,
    shutdown_timeout: Duration,
}

impl Active {
    /// The execution context, collected on first use.
    pub(crate) fn context(&self) -> &Context {
        self.context.get_or_init(|| context::collect(&self.env, self.library.clone()))
    }

    /// Sends one event with a fresh anonymous id, when usage telemetry is on.
    pub(crate) fn track<E: Event>(&self, event: E) {
        let Some(segment) = &self.segment else { return };
        segment.track(TrackMessage::from_event(event, random_hex_id(), self.context().clone()));
    }
}

/// How the shutdown went.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ShutdownSummary {
    /// Segment's report, when usage telemetry was on.
    pub segment: Option<ShutdownReport>,
    /// Whether Sentry emptied its queue in time, when Sentry was on.
    pub sentry_flushed: Option<bool>,
}

impl RuntimeTrace {
    /// Reads the configuration of the process (files and environment) and starts what it
    /// enables. Never fails: a configuration that cannot be read turns everything off with one
    /// warning (`tracing::warn!`, also in [`RuntimeTrace::warnings`]).
    pub fn init(options: InitOptions) -> Self {
        match Config::load(options.env.clone()) {
            Ok(config) => Self::start(options, config),
            Err(error) => Self::unreadable(error.to_string()),
        }
    }

    /// Starts from a configuration the host has already loaded (and perhaps reported on), so it
    /// is read once; its environment and locations are the ones used.
    pub fn start(options: InitOptions, config: Config) -> Self {
        let locations = &config.locations().clone();
        let master_switch = match config.enable_runtime_trace(None) {
            Ok(master_switch) => master_switch,
            Err(error) => return Self::unreadable(error.to_string()),
        };
        let runtime = config.runtime();
        let debug = if runtime.dlthub_telemetry_debug.is_default() {
            options.debug_unless_configured
        } else {
            runtime.dlthub_telemetry_debug.value
        };
        let status = Status::decide(&config, &master_switch, debug);
        if !status.telemetry {
            purge_outbox(&locations.telemetry_dir().join("outbox"));
        }
        if !status.runtime_trace {
            return Self { status, warnings: Vec::new(), active: None };
        }
        let mut warnings = Vec::new();
        let segment = if status.telemetry {
            start_segment(runtime, &options.library, locations, debug, options.debug_writer)
                .map_err(|warning| {
                    tracing::warn!("{warning}");
                    warnings.push(warning);
                })
                .ok()
        } else {
            None
        };
        let active_env = config.env().clone();
        let sentry = start_sentry(runtime, &options.library, &active_env).unwrap_or_else(|warning| {
            tracing::warn!("{warning}");
            warnings.push(warning);
            SentryGuard::disabled()
        });
        let active = Active {
            shutdown_timeout: runtime.telemetry_shutdown_timeout.value,
            pipelines_dir: locations.pipelines_dir(),
            config,
            library: options.library,
            env: active_env,
            context: OnceLock::new(),
            segment,
            sentry,
        };
        if active.segment.is_some() {
            // Collected here, once, so that no `track` call ever reads a file.
            active.context();
        }
        Self { status, warnings, active: Some(active) }
    }

    /// Everything off, with one warning saying why.
    fn unreadable(error: String) -> Self {
        let warning = format!("telemetry and tracing are off: {error}");
        tracing::warn!("{warning}");
        Self { status: Status::unreadable(error), warnings: vec![warning], active: None }
    }

    /// What is on and which setting decided it.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Warnings raised while starting (an unreadable configuration, a bad DSN); also logged.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// A `tracing` layer that sends warnings and errors to Sentry and keeps INFO and above as
    /// breadcrumbs; inert when Sentry is off. Add it to the host's subscriber.
    pub fn sentry_layer(&self) -> Option<SentryLayer> {
        let active = self.active.as_ref()?;
        active.sentry.is_enabled().then(|| active.sentry.tracing_layer())
    }

    /// Sends one event, e.g. a `pipeline_access_dataset`, when usage telemetry is on.
    pub fn track<E: Event>(&self, event: E) {
        if let Some(active) = &self.active {
            active.track(event);
        }
    }

    /// The parts that run when the master switch is on.
    pub(crate) fn active(&self) -> Option<&Active> {
        self.active.as_ref()
    }

    /// Flushes Segment and Sentry in parallel within `runtime.telemetry_shutdown_timeout`;
    /// what Segment could not deliver goes to the outbox.
    pub fn shutdown(mut self) -> ShutdownSummary {
        self.shut_down()
    }

    fn shut_down(&mut self) -> ShutdownSummary {
        let Some(active) = self.active.take() else {
            return ShutdownSummary { segment: None, sentry_flushed: None };
        };
        let now = Instant::now();
        let deadline = now.checked_add(active.shutdown_timeout).unwrap_or(now);
        let Active { segment, sentry, .. } = active;
        if !sentry.is_enabled() {
            return ShutdownSummary { segment: segment.map(|s| s.shutdown(deadline)), sentry_flushed: None };
        }
        std::thread::scope(|scope| {
            let sentry = scope.spawn(move || sentry.close_by(deadline));
            let segment = segment.map(|s| s.shutdown(deadline));
            ShutdownSummary { segment, sentry_flushed: Some(sentry.join().unwrap_or(false)) }
        })
    }
}

impl Drop for RuntimeTrace {
    fn drop(&mut self) {
        self.shut_down();
    }
}

impl std::fmt::Debug for RuntimeTrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeTrace").field("status", &self.status).finish_non_exhaustive()
    }
}

/// A random 32-hex id (an anonymous id, a transaction or span id), as dlt's `uniq_id()`.
pub(crate) fn random_hex_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Deletes what an earlier run could not send, so nothing queued before an opt-out is ever
/// sent. A missing outbox costs one `stat`.
fn purge_outbox(dir: &Path) {
    if dir.exists()
        && let Err(error) = dlt_segment::purge_outbox(dir)
    {
        tracing::debug!(%error, dir = %dir.display(), "could not delete the telemetry outbox");
    }
}

/// The Segment transport: the debug sink, or a client for the effective endpoint.
fn start_segment(
    runtime: &RuntimeConfig,
    library: &Library,
    locations: &Locations,
    debug: bool,
    debug_writer: Option<Box<dyn Write + Send>>,
) -> Result<Box<dyn Transport>, String> {
    if debug {
        return Ok(Box::new(match debug_writer {
            Some(writer) => DebugTransport::new(writer),
            None => DebugTransport::stderr(),
        }));
    }
    let mut options =
        SegmentOptions::new(effective_endpoint(runtime).as_str(), format!("{}/{}", library.name, library.version))
            .with_outbox(OutboxOptions::new(locations.telemetry_dir().join("outbox")));
    options.shutdown_timeout = runtime.telemetry_shutdown_timeout.value;
    if let Some(key) = &runtime.dlthub_telemetry_segment_write_key.value {
        options = options.with_write_key(WriteKey::new(key.expose()));
    }
    SegmentClient::start(options)
        .map(|client| Box::new(client) as Box<dyn Transport>)
        .map_err(|error| format!("usage telemetry is off: {error}"))
}

/// The Sentry guard, enabled when a DSN is configured.
fn start_sentry(runtime: &RuntimeConfig, library: &Library, env: &Environment) -> Result<SentryGuard, String> {
    let Some(dsn) = &runtime.sentry_dsn.value else {
        return Ok(SentryGuard::disabled());
    };
    let dsn = SentryDsn::parse(dsn.expose()).map_err(|error| {
        format!(
            "Sentry is off: {}: {error}",
            runtime.sentry_dsn.source.describe("runtime.sentry_dsn", &dlt_redact::MASK)
        )
    })?;
    let mut options = SentryOptions::new(library.version.clone());
    options.dsn = Some(dsn);
    options.environment = runtime.sentry_environment.value.clone();
    // The sample rate is checked to lie in 0..=1, where f32 is precise enough.
    #[allow(clippy::cast_possible_truncation)]
    let rate = runtime.sentry_traces_sample_rate.value as f32;
    options.traces_sample_rate = rate;
    options.event_level = EventLevel::from_log_level(runtime.log_level.value.name())
        .map_err(|error| format!("Sentry is off: {error}"))?;
    options.pipeline_name = runtime.pipeline_name.value.clone();
    options.host_environment = HostEnvironment::from_lookup(|name| env.get(name).map(str::to_owned));
    options.extra_secrets = runtime
        .dlthub_telemetry_segment_write_key
        .value
        .iter()
        .map(|key| dlt_sentry_bridge::Secret::new(key.expose()))
        .collect();
    options.shutdown_timeout = runtime.telemetry_shutdown_timeout.value;
    Ok(dlt_sentry_bridge::init(options))
}

/// Where usage events go: the configured endpoint, except that a write key with no explicit
/// endpoint sends to Segment's batch API (DESIGN.md §3).
pub(crate) fn effective_endpoint(runtime: &RuntimeConfig) -> HttpUrl {
    if runtime.dlthub_telemetry_segment_write_key.value.is_some() && runtime.dlthub_telemetry_endpoint.is_default() {
        segment_batch_endpoint()
    } else {
        runtime.dlthub_telemetry_endpoint.value.clone()
    }
}

#[allow(clippy::expect_used, reason = "a constant URL, checked by a test")]
fn segment_batch_endpoint() -> HttpUrl {
    HttpUrl::parse(dlt_segment::SEGMENT_BATCH_ENDPOINT).expect("Segment's batch API is a URL")
}
