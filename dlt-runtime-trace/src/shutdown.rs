//! One deadline for everything: usage telemetry, Sentry and OpenTelemetry are flushed in
//! parallel, and what usage telemetry could not deliver goes to the outbox (and, when the host
//! asked for one, to a detached sender).

use std::thread;
use std::time::Instant;

use dlt_segment::ShutdownReport;

use crate::runtime::{RuntimeTrace, Services};

/// How the shutdown went.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct ShutdownSummary {
    /// Usage telemetry's report, when it was on.
    pub usage: Option<ShutdownReport>,
    /// Whether Sentry emptied its queue in time, when Sentry was on.
    pub sentry_flushed: Option<bool>,
    /// Whether OpenTelemetry exported everything in time, when export was on.
    pub otel_flushed: Option<bool>,
}

impl RuntimeTrace {
    /// Flushes usage telemetry, Sentry and OpenTelemetry in parallel within
    /// `runtime.telemetry_shutdown_timeout`; what usage telemetry could not deliver goes to the
    /// outbox. An endpoint that refuses or does not resolve is not waited for.
    pub fn shutdown(mut self) -> ShutdownSummary {
        self.shut_down()
    }

    fn shut_down(&mut self) -> ShutdownSummary {
        let Some(services) = self.services.take() else {
            return ShutdownSummary { usage: None, sentry_flushed: None, otel_flushed: None };
        };
        let now = Instant::now();
        let deadline = now.checked_add(services.shutdown_timeout).unwrap_or(now);
        let Services { usage, sentry, otel, .. } = services;
        let sentry_on = sentry.is_enabled();
        let otel_on = otel.is_enabled();
        let close_sentry = move || sentry.shutdown_by(deadline);
        let close_otel = move || otel.shutdown_by(deadline);
        let close_usage = || usage.as_ref().map(|usage| usage.shutdown(deadline));
        thread::scope(|scope| {
            // The others run beside usage telemetry; a thread that cannot be started means the
            // work is done in turn instead (still within the deadline each).
            let sentry = sentry_on.then(|| spawn_or_run(scope, named("dlt-sentry-close"), close_sentry));
            let otel = otel_on.then(|| spawn_or_run(scope, named("dlt-otel-close"), close_otel));
            let usage = close_usage();
            ShutdownSummary {
                usage,
                sentry_flushed: sentry.map(Finished::wait),
                otel_flushed: otel.map(Finished::wait),
            }
        })
    }
}

impl Drop for RuntimeTrace {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Work running on a scoped thread, or already done on this one.
enum Finished<'scope> {
    Running(thread::ScopedJoinHandle<'scope, bool>),
    Done(bool),
}

impl Finished<'_> {
    fn wait(self) -> bool {
        match self {
            Self::Running(handle) => handle.join().unwrap_or(false),
            Self::Done(result) => result,
        }
    }
}

fn named(name: &str) -> thread::Builder {
    thread::Builder::new().name(name.to_owned())
}

/// Runs `work` on a new scoped thread, or here when no thread can be started.
fn spawn_or_run<'scope, 'env>(
    scope: &'scope thread::Scope<'scope, 'env>,
    builder: thread::Builder,
    work: impl FnOnce() -> bool + Send + 'scope,
) -> Finished<'scope> {
    // A failed spawn drops the closure it was given; the work waits in a slot instead, so that
    // it can still run here.
    let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(work)));
    let for_thread = std::sync::Arc::clone(&slot);
    let spawned = builder.spawn_scoped(scope, move || {
        let work = for_thread.lock().ok().and_then(|mut slot| slot.take());
        work.is_some_and(|work| work())
    });
    match spawned {
        Ok(handle) => Finished::Running(handle),
        Err(_) => {
            let work = slot.lock().ok().and_then(|mut slot| slot.take());
            Finished::Done(work.is_some_and(|work| work()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_runs_here_when_no_thread_can_be_started() {
        // No system gives a thread a stack of half the address space.
        let impossible = thread::Builder::new().stack_size(usize::MAX / 2);
        let ran_on = thread::scope(|scope| {
            let here = thread::current().id();
            spawn_or_run(scope, impossible, move || thread::current().id() == here).wait()
        });
        assert!(ran_on, "the work ran on the calling thread");
        let ran_elsewhere = thread::scope(|scope| {
            let here = thread::current().id();
            spawn_or_run(scope, named("elsewhere"), move || thread::current().id() != here).wait()
        });
        assert!(ran_elsewhere);
    }
}
