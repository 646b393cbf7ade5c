//! How a host starts the runtime trace.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

use dlt_config::Environment;
use dlt_telemetry_model::Library;

/// How a host program starts the runtime trace.
#[non_exhaustive]
pub struct InitOptions {
    /// The host's library name and version: `context.library`, the `User-Agent`, the Sentry
    /// release and `dlt_version` tag, the OpenTelemetry `service.name`.
    pub library: Library,
    /// The environment [`crate::RuntimeTrace::init`] loads the configuration with
    /// (`RUNTIME__*`, `DLT_*`, `DO_NOT_TRACK`, `OTEL_*`, proxies, CI and host markers); the
    /// process environment when `None`. [`crate::RuntimeTrace::start`] uses its
    /// configuration's environment instead. A detached sender gets exactly that environment.
    pub env: Option<Environment>,
    /// Print events to stderr instead of sending them, unless `runtime.dlthub_telemetry_debug`
    /// is configured explicitly. Off by default.
    pub print_events_by_default: bool,
    /// Where printed events go; stderr when `None`.
    pub debug_writer: Option<Box<dyn Write + Send>>,
    /// How usage telemetry reaches its endpoint: from this process, waiting at most the exit
    /// deadline (the default), or through a detached sender ([`Delivery`]).
    pub delivery: Delivery,
    /// What the host knows of where it runs that the runtime cannot see: sent in every
    /// message's context.
    pub host_context: HostContext,
    /// The host shows the first-run notice ([`crate::FirstRunNotice`]) when it is due; the run
    /// that is due then sends nothing. Off by default: a library host never prints.
    pub first_run_notice: bool,
}

/// Facts of a message's context that only the host can know, e.g. a Python host's version
/// and the environments it detects from inside the interpreter (a notebook, Dagster, Prefect).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostContext {
    /// `context.python`: the interpreter's version, e.g. `3.11.7`; omitted when `None`.
    pub python: Option<String>,
    /// `context.exec_info`, in dlt's order, when the host detects it itself (a Python host
    /// sees what the runtime cannot); the runtime's own checks when `None`.
    pub exec_info: Option<Vec<String>>,
}

impl HostContext {
    /// The same facts with the interpreter's version.
    pub fn with_python(mut self, version: impl Into<String>) -> Self {
        self.python = Some(version.into());
        self
    }

    /// The same facts with the environments the host detected, in dlt's order.
    pub fn with_exec_info(mut self, exec_info: Vec<String>) -> Self {
        self.exec_info = Some(exec_info);
        self
    }
}

impl InitOptions {
    /// Options for a host with this name and version, reading the process environment.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self {
            library: Library::new(name, version),
            env: None,
            print_events_by_default: false,
            debug_writer: None,
            delivery: Delivery::Inline,
            host_context: HostContext::default(),
            first_run_notice: false,
        }
    }

    /// The same options reading `env` instead of the process environment.
    pub fn with_env(mut self, env: Environment) -> Self {
        self.env = Some(env);
        self
    }

    /// The same options with facts only the host knows.
    pub fn with_host_context(mut self, host_context: HostContext) -> Self {
        self.host_context = host_context;
        self
    }

    /// The same options handing what is unconfirmed at exit to a detached sender
    /// ([`Delivery::HandOffAtExit`]): exit never waits for the endpoint.
    ///
    /// ```no_run
    /// use std::process::ExitCode;
    ///
    /// use dlt_runtime_trace::{InitOptions, RuntimeTrace, SenderCommand, serve_detached_sender};
    ///
    /// fn main() -> ExitCode {
    ///     // Started as the sender, this program delivers what waits and does nothing else.
    ///     if let Some(code) = serve_detached_sender() {
    ///         return code;
    ///     }
    ///     let mut options = InitOptions::new("my_tool", "0.3.0");
    ///     if let Ok(sender) = SenderCommand::this_program() {
    ///         options = options.with_detached_sender(sender);
    ///     }
    ///     let runtime = RuntimeTrace::init(options);
    ///     // ... the program's work ...
    ///     drop(runtime); // exit costs what it costs with telemetry off
    ///     ExitCode::SUCCESS
    /// }
    /// ```
    pub fn with_detached_sender(self, sender: SenderCommand) -> Self {
        self.with_delivery(Delivery::HandOffAtExit(sender))
    }

    /// The same options for a host that shows the first-run notice when
    /// [`crate::RuntimeTrace::notice`] says it is due: usage telemetry is on, and the notice was
    /// not shown before for this global dir. It is then recorded as shown, and that run's usage
    /// messages are dropped (not kept), so that the user can opt out before anything is sent.
    /// Ask only when the notice will be seen (the command line asks when its standard error is
    /// a terminal).
    pub fn with_first_run_notice(mut self) -> Self {
        self.first_run_notice = true;
        self
    }

    /// The same options delivering usage telemetry as `delivery` says.
    pub fn with_delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }
}

/// How usage telemetry reaches its endpoint.
///
/// A detached sender is used only where it can outlive the program: not when
/// `runtime.telemetry_detached_sender` is false, and (unless it is true) not in CI or as PID 1,
/// where a container or job ends with the program and would kill it. There delivery is
/// [`Delivery::Inline`] whatever is asked.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Delivery {
    /// Sent from this process; at exit it waits, at most `runtime.telemetry_shutdown_timeout`,
    /// for what can still succeed, and keeps the rest in the outbox for the next run.
    #[default]
    Inline,
    /// Sent from this process while it runs; at exit what is not confirmed (requests in flight
    /// included) goes to the outbox at once and this program is started again as the sender to
    /// deliver it. For a host that wants exit to cost what it costs with telemetry off.
    HandOffAtExit(SenderCommand),
    /// Never sent from this process, which opens no socket for it: everything goes to the
    /// outbox at exit and the sender delivers it. For a short-lived program (the command line),
    /// where a request started just before exit would only be abandoned.
    HandOffOnly(SenderCommand),
}

impl Delivery {
    /// The sender this delivery starts, if any.
    pub(crate) fn sender(&self) -> Option<&SenderCommand> {
        match self {
            Self::Inline => None,
            Self::HandOffAtExit(sender) | Self::HandOffOnly(sender) => Some(sender),
        }
    }
}

/// The program that delivers an outbox when started detached: the host's own program (or
/// another one) whose `main` calls [`crate::serve_detached_sender`] first. It is started with
/// the marker [`crate::SENDER_MARKER`] in its environment and its standard streams on the null
/// device; it finds its recipient and credentials the way the host did, from the environment
/// it inherits and the same config files, never from its command line (which every local user
/// can read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderCommand {
    /// The program, e.g. the installed `dlt`.
    pub program: PathBuf,
    /// Its arguments (none for a program that calls `serve_detached_sender` first thing; e.g.
    /// `["-m", "dlt_telemetry.sender"]` for a Python interpreter).
    pub args: Vec<OsString>,
}

impl SenderCommand {
    /// `program` run with `args`.
    pub fn new(program: impl Into<PathBuf>, args: impl IntoIterator<Item = impl Into<OsString>>) -> Self {
        Self { program: program.into(), args: args.into_iter().map(Into::into).collect() }
    }

    /// This very program, with no arguments: its `main` must call
    /// [`crate::serve_detached_sender`] first. Fails when the OS cannot say where the program
    /// is (then send inline: there is nothing to start).
    pub fn this_program() -> std::io::Result<Self> {
        Ok(Self::new(std::env::current_exe()?, Vec::<OsString>::new()))
    }
}
