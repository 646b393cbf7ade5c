//! Anonymous usage telemetry: which transport (printed, handed off to a detached sender, or
//! sent from this process), its options from the configuration, and starting the sender.

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use dlt_config::{Config, ConfigError, Environment, HttpUrl, Locations, RuntimeConfig};
use dlt_http::NetworkEnv;
use dlt_segment::{
    DebugTransport, HandoffTransport, OptOutMark, OutboxOptions, SegmentClient, SegmentError, SegmentOptions,
    ShutdownReport, Transport, WriteKey,
};
use dlt_telemetry_model::Library;

use crate::context::is_ci_run;
use crate::credentials::segment_write_key;
use crate::issues::{Service, StartIssue};
use crate::options::{Delivery, SenderCommand};
use crate::sender::{SENDER_MARKER, marker_of};

/// The usage telemetry of a process: its transport and, when it hands off, the sender to start.
#[derive(Clone)]
pub(crate) struct UsageTelemetry {
    pub(crate) transport: Arc<dyn Transport>,
    sender: Option<Arc<SenderLaunch>>,
}

/// What starts a detached sender: the program, the environment it inherits and the marker
/// that tells it what it is.
struct SenderLaunch {
    command: SenderCommand,
    env: Environment,
    marker: String,
}

impl UsageTelemetry {
    /// Starts the transport: the debug sink, a hand-off to a detached sender, or a client that
    /// sends from this process, under the opt-out mark read before `config`.
    pub(crate) fn start(
        config: &Config,
        opt_out_baseline: OptOutMark,
        library: &Library,
        print_events: bool,
        debug_writer: Option<Box<dyn Write + Send>>,
        delivery: Delivery,
    ) -> Result<Self, StartIssue> {
        if print_events {
            let transport = match debug_writer {
                Some(writer) => DebugTransport::new(writer),
                None => DebugTransport::stderr(),
            };
            return Ok(Self { transport: Arc::new(transport), sender: None });
        }
        let options = segment_options(config, opt_out_baseline, library);
        let setting = config.runtime().telemetry_detached_sender.value;
        let detached = detaches(setting, is_ci_run(config.env()), std::process::id());
        let delivery = if detached { delivery } else { Delivery::Inline };
        let sender = delivery.sender().map(|command| {
            Arc::new(SenderLaunch { command: command.clone(), env: config.env().clone(), marker: marker_of(library) })
        });
        let transport: Arc<dyn Transport> = match delivery {
            Delivery::HandOffOnly(_) => Arc::new(HandoffTransport::new(options).map_err(start_issue)?),
            _ => Arc::new(SegmentClient::start(options).map_err(start_issue)?),
        };
        Ok(Self { transport, sender })
    }

    /// Whether undelivered messages go to a detached sender.
    pub(crate) fn hands_off(&self) -> bool {
        self.sender.is_some()
    }

    /// Delivers or keeps what is left by `deadline`, then starts a sender when the outbox
    /// holds messages nobody is delivering. With a detached sender nothing is waited for: what
    /// is not confirmed now goes to the outbox for it.
    pub(crate) fn shutdown(&self, deadline: Instant) -> ShutdownReport {
        let deadline = if self.hands_off() { Instant::now() } else { deadline };
        let report = self.transport.shutdown(deadline);
        self.start_sender_if_needed(&report);
        report
    }

    /// Keeps what is held in the outbox now and starts a sender for it: for a program that is
    /// about to be killed.
    pub(crate) fn keep_now(&self) {
        self.shutdown(Instant::now());
    }

    fn start_sender_if_needed(&self, report: &ShutdownReport) {
        let Some(launch) = self.sender.as_ref().filter(|_| report.sender_needed) else { return };
        if let Err(error) = spawn_detached(launch) {
            tracing::debug!(%error, program = %launch.command.program.display(), "could not start the telemetry sender; the next run sends what waits");
        }
    }
}

/// Whether a detached sender may be used: `runtime.telemetry_detached_sender` (`setting`)
/// decides when set; otherwise not in CI and not as PID 1 (`pid` is this process's id), where a
/// detached process may not outlive the program.
fn detaches(setting: Option<bool>, ci: bool, pid: u32) -> bool {
    setting.unwrap_or(!ci && pid != 1)
}

/// Reads the opt-out mark, then the configuration, in this order. A switch edits the files
/// first and records the opt-out after, so a configuration read before an opt-out's edit comes
/// with the mark from before it, and every sender, comparing the mark with this one, sees the
/// opt-out (see `dlt_segment::OutboxOptions::opt_out_baseline`).
pub(crate) fn load_after_opt_out_mark(
    locations: Locations,
    env: Environment,
) -> (OptOutMark, Result<Config, ConfigError>) {
    let mark = dlt_segment::read_opt_out(&locations.telemetry_dir());
    (mark, Config::load_at(locations, env))
}

/// The Segment options a configuration asks for: shared by a host and its detached sender, so
/// that both speak to the same recipient with the same credentials and network settings. The
/// write key goes along only when the endpoint may have it (see [`crate::credentials`]). The
/// outbox works under `opt_out_baseline`, the mark read before `config`
/// ([`load_after_opt_out_mark`]).
pub(crate) fn segment_options(config: &Config, opt_out_baseline: OptOutMark, library: &Library) -> SegmentOptions {
    let runtime = config.runtime();
    let mut options = SegmentOptions::new(effective_endpoint(runtime), format!("{}/{}", library.name, library.version))
        .with_outbox(OutboxOptions::new(config.locations().telemetry_dir()).with_opt_out_baseline(opt_out_baseline));
    options.shutdown_timeout = runtime.telemetry_shutdown_timeout.value;
    options.http = options.http.with_network(network(config));
    if let Ok(Some(key)) = segment_write_key(runtime) {
        options = options.with_write_key(WriteKey::new(key.clone()));
    }
    options
}

fn start_issue(error: SegmentError) -> StartIssue {
    match error {
        SegmentError::HttpClient(_) | SegmentError::InvalidWriteKey => {
            StartIssue::Config { message: error.to_string() }
        }
        other => StartIssue::Unavailable { service: Service::UsageTelemetry, message: other.to_string() },
    }
}

/// The proxies and extra trust the configuration's environment names, for every transport.
pub(crate) fn network(config: &Config) -> NetworkEnv {
    NetworkEnv::from_lookup(|name| config.env().get(name).map(str::to_owned))
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

/// Starts the sender detached: its standard streams on the null device (so it never holds a
/// shell, a pipe or a CI log), exactly the configuration's environment plus the sender marker,
/// and a process group of its own from the moment it exists (on Unix: no hang-up or Ctrl-C
/// meant for the command's group reaches it; on Windows: no console). Nothing waits for it.
fn spawn_detached(launch: &SenderLaunch) -> std::io::Result<()> {
    let mut process = Command::new(&launch.command.program);
    process
        .args(&launch.command.args)
        .env_clear()
        .envs(launch.env.vars())
        .env(SENDER_MARKER, &launch.marker)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        process.process_group(0);
    }
    #[cfg(windows)]
    {
        use std::os::windows::process::CommandExt as _;
        const DETACHED_PROCESS: u32 = 0x0000_0008;
        const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
        process.creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP);
    }
    let sender = process.spawn()?;
    #[cfg(unix)]
    run_nicer(&sender);
    Ok(())
}

/// Sending is background work: the sender runs ten steps nicer than the program that started
/// it, so that it does not take a core from that program's last instructions or from the
/// user's next command. Best effort: without the right to, it keeps its priority.
#[cfg(unix)]
fn run_nicer(sender: &std::process::Child) {
    use rustix::process::{Pid, getpriority_process, setpriority_process};
    let own = getpriority_process(None).unwrap_or(0);
    let _ = setpriority_process(Some(Pid::from_child(sender)), own.saturating_add(10).min(19));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detached_sender_is_used_outside_ci_and_not_as_pid_1_unless_the_setting_decides() {
        let (outside_ci, in_ci, pid_1, other_pid) = (false, true, 1, 4242);
        assert!(detaches(None, outside_ci, other_pid));
        assert!(!detaches(None, in_ci, other_pid), "in CI the job may end with the program");
        assert!(!detaches(None, outside_ci, pid_1), "a container ends with its PID 1");
        assert!(!detaches(None, in_ci, pid_1));
        for (ci, pid) in [(outside_ci, other_pid), (in_ci, other_pid), (outside_ci, pid_1), (in_ci, pid_1)] {
            assert!(detaches(Some(true), ci, pid), "the setting wins: {ci} {pid}");
            assert!(!detaches(Some(false), ci, pid), "the setting wins: {ci} {pid}");
        }
    }
}
