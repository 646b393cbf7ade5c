//! [`RuntimeTrace`]: reads the configuration, decides what is on (the master switch first),
//! starts usage telemetry, Sentry and OpenTelemetry, and sends events.

use std::sync::OnceLock;
use std::time::Duration;

use dlt_config::{Config, Environment, Locations};
use dlt_otel_bridge::{OtelGuard, OtelLayer, OtelStatus};
use dlt_redact::Redactor;
use dlt_segment::OptOutMark;
use dlt_sentry_bridge::{SentryGuard, SentryLayer};
use dlt_telemetry_model::{AnonymousId, AnonymousMessage, Event, EventCategory, Library, Properties, SafeContext};

use crate::context;
use crate::credentials::segment_write_key;
use crate::issues::{Service, StartIssue};
use crate::notice::FirstRunNotice;
use crate::options::{HostContext, InitOptions};
use crate::otel::{shown_endpoint, start_otel};
use crate::secrets::secret_set;
use crate::sentry::start_sentry;
use crate::status::Status;
use crate::usage::{UsageTelemetry, load_after_opt_out_mark};

/// The telemetry and tracing of one host process. Dropping it (or [`RuntimeTrace::shutdown`])
/// flushes usage telemetry, Sentry and OpenTelemetry in parallel within one deadline,
/// `runtime.telemetry_shutdown_timeout`.
///
/// With the master switch off, or nothing enabled, it holds nothing: no thread, no socket, no
/// file.
#[must_use = "dropping the runtime trace shuts telemetry and tracing down"]
pub struct RuntimeTrace {
    pub(crate) status: Status,
    issues: Vec<StartIssue>,
    /// The configuration, when it could be read (also with the master switch off).
    pub(crate) config: Option<Config>,
    /// The configuration's secrets, gathered once (empty when it could not be read).
    pub(crate) secrets: Redactor,
    pub(crate) services: Option<Services>,
    /// The notice as this run recorded it, when it asked and usage telemetry is on; otherwise
    /// it is looked up only when asked for (off means no file read).
    notice: Option<FirstRunNotice>,
}

/// What runs when the master switch is on.
pub(crate) struct Services {
    env: Environment,
    library: Library,
    host_context: HostContext,
    context: OnceLock<SafeContext>,
    pub(crate) usage: Option<UsageTelemetry>,
    pub(crate) sentry: SentryGuard,
    pub(crate) otel: OtelGuard,
    pub(crate) shutdown_timeout: Duration,
}

impl Services {
    /// The execution context, collected and screened by the privacy gate once.
    pub(crate) fn context(&self) -> &SafeContext {
        self.context
            .get_or_init(|| SafeContext::screen(context::collect(&self.env, self.library.clone(), &self.host_context)))
    }

    /// Sends one event with a fresh anonymous id, when usage telemetry is on. The message is
    /// built by the privacy gate: only names, hashes, ids, numbers and booleans leave.
    pub(crate) fn track<E: Event>(&self, event: E) {
        self.track_event(E::CATEGORY, E::NAME, event.into_properties());
    }

    /// Sends one event of any name with a fresh anonymous id, when usage telemetry is on.
    fn track_event(&self, category: EventCategory, name: &str, properties: Properties) {
        let Some(usage) = &self.usage else { return };
        let anonymous_id = AnonymousId::from_random_bytes(uuid::Uuid::new_v4().into_bytes());
        match AnonymousMessage::from_properties(category, name, properties, anonymous_id, self.context()) {
            Ok(message) => usage.transport.track(message),
            Err(refused) => tracing::debug!(%refused, "a usage event the privacy gate refuses; not sent"),
        }
    }
}

impl RuntimeTrace {
    /// Reads the configuration of the process (files and the options' environment) and starts
    /// what it enables. Never fails: what went wrong is in [`RuntimeTrace::issues`] (for the
    /// host to show); a configuration that cannot be read turns everything off.
    pub fn init(mut options: InitOptions) -> Self {
        let env = options.env.take().unwrap_or_else(Environment::from_process);
        let locations = match Locations::resolve(&env) {
            Ok(locations) => locations,
            Err(error) => return Self::unreadable(error.to_string()),
        };
        match load_after_opt_out_mark(locations, env) {
            (opt_out_baseline, Ok(config)) => Self::start_under(options, config, opt_out_baseline),
            (_, Err(error)) => Self::unreadable(error.to_string()),
        }
    }

    /// Starts from a configuration the host has already loaded (and perhaps reported on); its
    /// environment and locations are the ones used (`options.env` is not read).
    ///
    /// The user may have opted out since the host loaded it: the opt-out mark is read now, then
    /// the files again. When they no longer allow usage telemetry, the runtime starts from them
    /// as they are now; when they cannot be read any more, everything is off (as in
    /// [`RuntimeTrace::init`]).
    pub fn start(options: InitOptions, config: Config) -> Self {
        match load_after_opt_out_mark(config.locations().clone(), config.env().clone()) {
            (opt_out_baseline, Ok(now))
                if config.runtime().dlthub_telemetry.value && !now.runtime().dlthub_telemetry.value =>
            {
                Self::start_under(options, now, opt_out_baseline)
            }
            (opt_out_baseline, Ok(_)) => Self::start_under(options, config, opt_out_baseline),
            (_, Err(error)) => Self::unreadable(error.to_string()),
        }
    }

    /// Starts what `config` enables; usage telemetry works under `opt_out_baseline`, the
    /// opt-out mark read before the files of `config` ([`load_after_opt_out_mark`]).
    fn start_under(options: InitOptions, config: Config, opt_out_baseline: OptOutMark) -> Self {
        let secrets = secret_set(&config);
        let master_switch = match config.enable_runtime_trace(None) {
            Ok(master_switch) => master_switch,
            Err(error) => return Self::unreadable(error.to_string()),
        };
        let runtime = config.runtime();
        let print_events = if runtime.dlthub_telemetry_debug.is_default() {
            options.print_events_by_default
        } else {
            runtime.dlthub_telemetry_debug.value
        };
        let mut status = Status::decide(&config, &master_switch, print_events);
        let notice = (options.first_run_notice && status.telemetry && !print_events)
            .then(|| FirstRunNotice::record(&config.locations().telemetry_dir()));
        let notice_due = notice.is_some_and(|notice| notice.due);
        status.first_run_notice = notice_due;
        let mut issues: Vec<StartIssue> = config
            .files_outside_project()
            .iter()
            .map(|outside| StartIssue::Ignored { message: outside.to_string() })
            .collect();
        if !status.runtime_trace {
            return Self { status, issues, config: Some(config), secrets, services: None, notice };
        }
        if status.telemetry
            && let Err(withheld) = segment_write_key(runtime)
        {
            issues.push(StartIssue::CredentialWithheld(withheld));
        }
        // The run that shows the first-run notice sends nothing: no transport at all.
        let usage = if status.telemetry && !notice_due {
            UsageTelemetry::start(
                &config,
                opt_out_baseline,
                &options.library,
                print_events,
                options.debug_writer,
                options.delivery,
            )
            .map_err(|issue| issues.push(issue))
            .ok()
        } else {
            None
        };
        let sentry = start_sentry(&config, &options.library, &secrets).unwrap_or_else(|issue| {
            issues.push(issue);
            SentryGuard::disabled()
        });
        let (otel, otlp_endpoint_source, ignored) = start_otel(&config, &options.library, &secrets);
        issues.extend(ignored);
        if let OtelStatus::StartFailed(error) = otel.status() {
            issues.push(StartIssue::Unavailable { service: Service::OpenTelemetry, message: error.to_string() });
        }
        status.credentials_withheld = issues
            .iter()
            .filter_map(|issue| match issue {
                StartIssue::CredentialWithheld(withheld) => Some(withheld.clone()),
                _ => None,
            })
            .collect();
        status.detached_sender = usage.as_ref().is_some_and(UsageTelemetry::hands_off);
        status.otlp_endpoint = shown_endpoint(&otel);
        if status.otlp_endpoint.is_some() {
            status.otlp_endpoint_source = otlp_endpoint_source;
        }
        let services = Services {
            shutdown_timeout: runtime.telemetry_shutdown_timeout.value,
            env: config.env().clone(),
            library: options.library,
            host_context: options.host_context,
            context: OnceLock::new(),
            usage,
            sentry,
            otel,
        };
        if services.usage.is_some() {
            // Collected here, once, so that no `track` call ever reads a file.
            services.context();
        }
        Self { status, issues, config: Some(config), secrets, services: Some(services), notice }
    }

    /// Everything off, with one issue saying why.
    fn unreadable(error: String) -> Self {
        Self {
            status: Status::unreadable(error.clone()),
            issues: vec![StartIssue::Config { message: error }],
            config: None,
            secrets: Redactor::default(),
            services: None,
            notice: None,
        }
    }

    /// What is on and which setting decided it.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// The first-run notice: its text, whether it was shown before for this global dir, and
    /// whether this run is the one to show it (then this run sends no usage telemetry). The
    /// runtime never prints it: a host that can show it asks with
    /// [`InitOptions::with_first_run_notice`] and shows it its own way.
    pub fn notice(&self) -> FirstRunNotice {
        self.notice.unwrap_or_else(|| {
            FirstRunNotice::not_due(self.config.as_ref().map(|config| config.locations().telemetry_dir()).as_deref())
        })
    }

    /// What went wrong while starting, for the host to show: nothing here is logged.
    pub fn issues(&self) -> &[StartIssue] {
        &self.issues
    }

    /// The configuration (its environment and locations too), when it could be read: also with
    /// the master switch off.
    pub fn config(&self) -> Option<&Config> {
        self.config.as_ref()
    }

    /// The secrets of the configuration ([`crate::secret_set`]), gathered once at start; empty
    /// when it could not be read (the URL rule applies anyway). For hiding them in what the host
    /// shows or logs itself.
    pub fn secrets(&self) -> &Redactor {
        &self.secrets
    }

    /// A `tracing` layer that sends warnings and errors to Sentry and keeps INFO and above as
    /// breadcrumbs; `None` when Sentry is off. Add it to the host's subscriber.
    pub fn sentry_layer(&self) -> Option<SentryLayer> {
        let services = self.services.as_ref()?;
        services.sentry.is_enabled().then(|| services.sentry.tracing_layer())
    }

    /// A `tracing` layer that records warnings and errors during a pipeline run as events of
    /// its OpenTelemetry span; `None` when export is off.
    pub fn otel_layer(&self) -> Option<OtelLayer> {
        let services = self.services.as_ref()?;
        services.otel.is_enabled().then(|| services.otel.tracing_layer())
    }

    /// Sends one event, e.g. a `pipeline_access_dataset`, when usage telemetry is on.
    pub fn track<E: Event>(&self, event: E) {
        if let Some(services) = &self.services {
            services.track(event);
        }
    }

    /// Sends one event this crate has no type for (a host's own command, or an event another
    /// implementation of dlt's telemetry produced), when usage telemetry is on: `properties`,
    /// then `event_category` and `event_name`, through the privacy gate
    /// ([`AnonymousMessage::from_properties`]: a value its key's rule refuses goes as
    /// `<withheld>`). Never blocks.
    pub fn track_event(&self, category: EventCategory, name: &str, properties: Properties) {
        if let Some(services) = &self.services {
            services.track_event(category, name, properties);
        }
    }

    /// Waits up to `timeout` for what usage telemetry was given so far to be delivered, or (with
    /// a detached sender) kept in the outbox; true when it was, or when usage telemetry is off.
    pub fn flush(&self, timeout: Duration) -> bool {
        let usage = self.services.as_ref().and_then(|services| services.usage.as_ref());
        usage.is_none_or(|usage| usage.transport.flush(timeout))
    }

    /// A handle for a program's signal handler, usable while the runtime shuts down on
    /// another thread; `None` when usage telemetry is off.
    pub fn keeper(&self) -> Option<Keeper> {
        let usage = self.services.as_ref()?.usage.clone()?;
        Some(Keeper { usage })
    }
}

impl std::fmt::Debug for RuntimeTrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeTrace").field("status", &self.status).finish_non_exhaustive()
    }
}

/// Keeps what usage telemetry holds, for a program about to be killed (the command line's
/// signal handler): [`Keeper::keep_now`] puts it in the outbox at once and starts a detached
/// sender for it when the host asked for one. Nothing waits for the network. The libraries
/// install no signal handler themselves: that is the program's business.
pub struct Keeper {
    usage: UsageTelemetry,
}

impl Keeper {
    /// Keeps everything now; an ongoing shutdown with a later deadline ends at once.
    pub fn keep_now(&self) {
        self.usage.keep_now();
    }
}

impl std::fmt::Debug for Keeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keeper").finish_non_exhaustive()
    }
}

/// A random 32-hex id (an anonymous id, a transaction or span id), as dlt's `uniq_id()`.
pub(crate) fn random_hex_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}
