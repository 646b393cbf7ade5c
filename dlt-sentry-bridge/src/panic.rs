//! Panic capture: a process-wide hook that reports a panic as an unhandled error event,
//! flushes it within the client's shutdown timeout, then runs the hook that was there before.

use std::panic::PanicHookInfo;
use std::sync::{Arc, Mutex, Once, PoisonError, Weak};

use sentry_core::protocol::{Event, Exception, Frame, Level, Mechanism, Stacktrace};
use sentry_core::{Client, Hub};

/// The hub of the latest [`install`], used when the panicking thread's hub has no client.
static FALLBACK_HUB: Mutex<Weak<Hub>> = Mutex::new(Weak::new());

/// Installs the hook once per process and makes `hub` the fallback for threads without a client.
pub(crate) fn install(hub: &Arc<Hub>) {
    *FALLBACK_HUB.lock().unwrap_or_else(PoisonError::into_inner) = Arc::downgrade(hub);
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            report(info);
            previous(info);
        }));
    });
}

/// Captures the panic and flushes, if some hub has a live client.
fn report(info: &PanicHookInfo<'_>) {
    let Some((hub, client)) = reporting_hub() else {
        return;
    };
    hub.capture_event(panic_event(info));
    // `None` waits the client's own shutdown timeout (ours: `SentryOptions::shutdown_timeout`).
    client.flush(None);
}

/// The panicking thread's hub if it has a live client, else the fallback hub.
fn reporting_hub() -> Option<(Arc<Hub>, Arc<Client>)> {
    let live_client = |hub: &Hub| hub.client().filter(|client| client.is_enabled());
    let current = Hub::current();
    if let Some(client) = live_client(&current) {
        return Some((current, client));
    }
    let fallback = FALLBACK_HUB.lock().unwrap_or_else(PoisonError::into_inner).upgrade()?;
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
