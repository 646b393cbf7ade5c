//! Panic capture: a process-wide hook that reports a panic as an unhandled error event,
//! flushes it for at most [`PANIC_FLUSH_CAP`] (and never longer than the shutdown timeout),
//! then runs the hook that was there before.

use std::panic::PanicHookInfo;
use std::sync::{Arc, Mutex, Once, PoisonError, Weak};
use std::time::Duration;

use sentry_core::protocol::{Event, Exception, Frame, Level, Mechanism, Stacktrace};
use sentry_core::{Client, Hub};

/// The longest a panic waits for its event to be sent. The hook runs on every panic, caught
/// ones included, so it must not hold a thread for the whole shutdown timeout.
const PANIC_FLUSH_CAP: Duration = Duration::from_secs(2);

/// What the latest [`install`] set up.
struct Installed {
    /// Used when the panicking thread's hub has no client.
    fallback_hub: Weak<Hub>,
    /// How long a panic waits for its event.
    flush_timeout: Duration,
}

static INSTALLED: Mutex<Installed> = Mutex::new(Installed { fallback_hub: Weak::new(), flush_timeout: Duration::ZERO });

/// How long a panic waits for its event: the shutdown timeout, at most [`PANIC_FLUSH_CAP`].
fn panic_flush_timeout(shutdown_timeout: Duration) -> Duration {
    shutdown_timeout.min(PANIC_FLUSH_CAP)
}

/// Installs the hook once per process, makes `hub` the fallback for threads without a client
/// and sets how long a panic waits for its event to be sent.
pub(crate) fn install(hub: &Arc<Hub>, shutdown_timeout: Duration) {
    *INSTALLED.lock().unwrap_or_else(PoisonError::into_inner) =
        Installed { fallback_hub: Arc::downgrade(hub), flush_timeout: panic_flush_timeout(shutdown_timeout) };
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            report(info);
            previous(info);
        }));
    });
}

/// Captures the panic and flushes within the capped timeout, if some hub has a live client.
fn report(info: &PanicHookInfo<'_>) {
    let (fallback, flush_timeout) = {
        let installed = INSTALLED.lock().unwrap_or_else(PoisonError::into_inner);
        (installed.fallback_hub.clone(), installed.flush_timeout)
    };
    let Some((hub, client)) = reporting_hub(&fallback) else {
        return;
    };
    hub.capture_event(panic_event(info));
    client.flush(Some(flush_timeout));
}

/// The panicking thread's hub if it has a live client, else the fallback hub.
fn reporting_hub(fallback: &Weak<Hub>) -> Option<(Arc<Hub>, Arc<Client>)> {
    let live_client = |hub: &Hub| hub.client().filter(|client| client.is_enabled());
    let current = Hub::current();
    if let Some(client) = live_client(&current) {
        return Some((current, client));
    }
    let fallback = fallback.upgrade()?;
    let client = live_client(&fallback)?;
    Some((fallback, client))
}

/// An unhandled error event for the panic: exception type "panic", mechanism
/// `{type: "panic", handled: false}`, the message and where it happened.
fn panic_event(info: &PanicHookInfo<'_>) -> Event<'static> {
    let message = info.payload_as_str().unwrap_or("Box<dyn Any>").to_owned();
    let stacktrace = info.location().map(|location| Stacktrace {
        frames: vec![Frame {
            filename: Some(location.file().to_owned()),
            lineno: Some(location.line().into()),
            colno: Some(location.column().into()),
            in_app: Some(true),
            ..Default::default()
        }],
        ..Default::default()
    });
    Event {
        level: Level::Error,
        exception: vec![Exception {
            ty: "panic".into(),
            value: Some(message),
            stacktrace,
            mechanism: Some(Mechanism { ty: "panic".into(), handled: Some(false), ..Default::default() }),
            ..Default::default()
        }]
        .into(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_waits_the_shutdown_timeout_but_never_more_than_two_seconds() {
        assert_eq!(panic_flush_timeout(Duration::from_secs(600)), Duration::from_secs(2));
        assert_eq!(panic_flush_timeout(Duration::from_secs(2)), Duration::from_secs(2));
        assert_eq!(panic_flush_timeout(Duration::from_millis(300)), Duration::from_millis(300));
        assert_eq!(panic_flush_timeout(Duration::ZERO), Duration::ZERO);
    }
}
