//! Command tracking with dlt's rules: an event before or after the command, its arguments,
//! `elapsed` and `success`.

use std::time::Instant;

use dlt_otel_bridge::CommandSpan;
use dlt_telemetry_model::events::{CommandArguments, CommandEvent};

use crate::runtime::RuntimeTrace;

/// When a command's event is sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Track {
    /// Before the command runs, with `success: true` and `elapsed` close to 0 (dlt does this
    /// for commands that may not return, such as `dlt pipeline`).
    Before,
    /// After the command, with its duration and outcome; also when it panics.
    After,
}

/// What counts as success for a command's return value (dlt: an integer must be 0, anything
/// else returned is success, an exception is failure).
pub trait CommandOutcome {
    /// True when the command succeeded.
    fn succeeded(&self) -> bool;
}

impl CommandOutcome for () {
    fn succeeded(&self) -> bool {
        true
    }
}

impl CommandOutcome for bool {
    fn succeeded(&self) -> bool {
        *self
    }
}

impl CommandOutcome for i32 {
    fn succeeded(&self) -> bool {
        *self == 0
    }
}

impl<T: CommandOutcome, E> CommandOutcome for Result<T, E> {
    fn succeeded(&self) -> bool {
        self.as_ref().is_ok_and(CommandOutcome::succeeded)
    }
}

impl RuntimeTrace {
    /// Runs a command and sends `command_<name>` with its arguments, `elapsed` and `success`,
    /// before or after it as `when` says, and records it as one OpenTelemetry span. The
    /// command's result is returned untouched; a panic is reported as a failure and goes on
    /// unwinding.
    pub fn track_command<A, R>(&self, arguments: A, when: Track, command: impl FnOnce() -> R) -> R
    where
        A: CommandArguments,
        R: CommandOutcome,
    {
        let started = Instant::now();
        let span = self.services.as_ref().map(|services| CommandSpan::start(&services.otel, A::COMMAND));
        let result = match when {
            Track::Before => {
                self.track(CommandEvent { arguments, elapsed: started.elapsed().as_secs_f64(), success: true });
                command()
            }
            Track::After => {
                let pending = PendingCommand { runtime: self, arguments: Some(arguments), started };
                let result = command();
                pending.finish(result.succeeded());
                result
            }
        };
        match span {
            Some(span) if result.succeeded() => span.finish(),
            Some(span) => span.fail("the command failed"),
            None => {}
        }
        result
    }
}

/// A command tracked after it runs; if it unwinds, the drop reports it as failed.
struct PendingCommand<'a, A: CommandArguments> {
    runtime: &'a RuntimeTrace,
    arguments: Option<A>,
    started: Instant,
}

impl<A: CommandArguments> PendingCommand<'_, A> {
    fn finish(mut self, success: bool) {
        self.send(success);
    }

    fn send(&mut self, success: bool) {
        if let Some(arguments) = self.arguments.take() {
            let elapsed = self.started.elapsed().as_secs_f64();
            self.runtime.track(CommandEvent { arguments, elapsed, success });
        }
    }
}

impl<A: CommandArguments> Drop for PendingCommand<'_, A> {
    fn drop(&mut self) {
        self.send(false);
    }
}
