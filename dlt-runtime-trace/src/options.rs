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
    /// Hand what usage telemetry has to send to a detached sender, so that exit never waits
    /// for the network: this process then opens no socket for it at all. `None` sends from
    /// this process (a long-running host). Ignored when `runtime.telemetry_detached_sender`
    /// is false, and (unless it is true) in CI and as PID 1, where a detached process may not
    /// outlive the program.
    pub detached_sender: Option<SenderCommand>,
    /// What the host knows of where it runs that the runtime cannot see: sent in every
    /// message's context.
    pub host_context: HostContext,
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
            detached_sender: None,
            host_context: HostContext::default(),
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

    /// The same options with a detached sender.
    pub fn with_detached_sender(mut self, sender: SenderCommand) -> Self {
        self.detached_sender = Some(sender);
        self
    }
}

/// The program that delivers an outbox when started detached: the command line's hidden
/// `dlt telemetry flush`, for example. It finds its recipient and credentials the way the
/// host did, from the environment it inherits and the same config files, never from its
/// command line (which every local user can read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SenderCommand {
    /// The program, e.g. the installed `dlt`.
    pub program: PathBuf,
    /// Its arguments, e.g. `["telemetry", "flush"]`.
    pub args: Vec<OsString>,
}

impl SenderCommand {
    /// `program` run with `args`.
    pub fn new(program: impl Into<PathBuf>, args: impl IntoIterator<Item = impl Into<OsString>>) -> Self {
        Self { program: program.into(), args: args.into_iter().map(Into::into).collect() }
    }
}
