//! A `tracing` layer: events at or above the event level become Sentry events, INFO and
//! above become breadcrumbs, and anything below INFO returns before any work is done.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use sentry_core::Hub;
use sentry_core::protocol::{Breadcrumb, Event, Level, LogEntry, Value};
use tracing::Subscriber;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer};

use crate::options::EventLevel;
use crate::scrub::Scrubber;

/// The bridge's own log target; its events never feed back into Sentry.
const OWN_TARGET: &str = env!("CARGO_CRATE_NAME");

/// The layer handed out by [`crate::SentryGuard::tracing_layer`].
#[derive(Clone)]
pub struct SentryLayer {
    /// The hub events go to, and the scrubber of the configuration that records them.
    target: Option<(Arc<Hub>, Arc<Scrubber>)>,
    event_level: EventLevel,
}

impl SentryLayer {
    /// A layer reporting to a hub, scrubbing its breadcrumbs as it records them; `None` makes
    /// a no-op layer.
    pub(crate) fn new(target: Option<(Arc<Hub>, Arc<Scrubber>)>, event_level: EventLevel) -> Self {
        Self { target, event_level }
    }
}

impl fmt::Debug for SentryLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentryLayer")
            .field("enabled", &self.target.is_some())
            .field("event_level", &self.event_level)
            .finish()
    }
}

impl<S: Subscriber> Layer<S> for SentryLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _context: Context<'_, S>) {
        let metadata = event.metadata();
        let level = *metadata.level();
        // `tracing` orders more verbose levels as greater: DEBUG and TRACE stop here.
        if level > tracing::Level::INFO {
            return;
        }
        let Some((hub, scrubber)) = &self.target else {
            return;
        };
        if metadata.target().starts_with(OWN_TARGET) {
            return;
        }
        let mut fields = FieldVisitor::default();
        event.record(&mut fields);
        let message = fields.message();
        let sentry_level = sentry_level(level);
        if self.event_level.captures(&level) {
            hub.capture_event(Event {
                level: sentry_level,
                logger: Some(metadata.target().to_owned()),
                logentry: Some(LogEntry { message: message.clone(), params: Vec::new() }),
                extra: fields.values.clone(),
                ..Default::default()
            });
        }
        let mut breadcrumb = Breadcrumb {
            ty: "log".into(),
            category: Some(metadata.target().to_owned()),
            level: sentry_level,
            message: Some(message),
            data: fields.values,
            ..Default::default()
        };
        // A breadcrumb stays in the hub's scope after this client is closed and goes with the
        // events of any later one, which knows other secrets: it is scrubbed now, with the
        // secrets of the configuration that records it.
        scrubber.scrub_breadcrumb(&mut breadcrumb);
        hub.add_breadcrumb(breadcrumb);
    }
}

/// The Sentry level of a `tracing` level at INFO or above.
fn sentry_level(level: tracing::Level) -> Level {
    match level {
        tracing::Level::ERROR => Level::Error,
        tracing::Level::WARN => Level::Warning,
        _ => Level::Info,
    }
}

/// Collects an event's `message` and its other fields.
#[derive(Default)]
struct FieldVisitor {
    message: Option<String>,
    values: BTreeMap<String, Value>,
}

impl FieldVisitor {
    /// The message, or the fields as `name=value` when the event has none.
    fn message(&self) -> String {
        self.message.clone().unwrap_or_else(|| {
            self.values
                .iter()
                .map(|(name, value)| match value {
                    Value::String(text) => format!("{name}={text}"),
                    other => format!("{name}={other}"),
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
    }

    fn insert(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = Some(match value {
                Value::String(text) => text,
                other => other.to_string(),
            });
        } else {
            self.values.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for FieldVisitor {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.insert(field, Value::from(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.insert(field, Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.insert(field, Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.insert(field, Value::from(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.insert(field, Value::from(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.insert(field, Value::from(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;
    use crate::test_util::CapturingTransport;
    use crate::{SentryDsn, SentryOptions, init};

    /// Runs `emit` with a bridge on a capturing transport at `log_level`; returns the transport.
    fn capture(event_level: EventLevel, emit: impl FnOnce()) -> Arc<CapturingTransport> {
        let transport = CapturingTransport::new();
        let mut options = SentryOptions::new("1.31.0");
        options.dsn = Some(SentryDsn::parse("https://public@sentry.invalid/42").unwrap());
        options.event_level = event_level;
        options.capture_panics = false;
        options.transport = Some(transport.clone());
        let hub = Arc::new(Hub::new_from_top(Hub::current()));
        Hub::run(hub, || {
            let guard = init(options);
            let subscriber = tracing_subscriber::registry().with(guard.tracing_layer());
            tracing::subscriber::with_default(subscriber, emit);
            assert!(guard.shutdown_by(std::time::Instant::now() + std::time::Duration::from_secs(1)));
        });
        transport
    }

    #[test]
    fn a_warning_is_an_event_at_log_level_warning_only() {
        let at_warning = capture(EventLevel::Warning, || tracing::warn!(target: "dlt", "disk is slow"));
        let events = at_warning.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].level, Level::Warning);
        assert_eq!(events[0].logger.as_deref(), Some("dlt"));
        assert_eq!(events[0].logentry.as_ref().unwrap().message, "disk is slow");

        let at_error = capture(EventLevel::Error, || tracing::warn!(target: "dlt", "disk is slow"));
        assert!(at_error.events().is_empty());
    }

    #[test]
    fn an_error_is_an_event_with_its_fields_as_extra() {
        let transport =
            capture(EventLevel::Error, || tracing::error!(target: "dlt", table = "users", rows = 3, "load failed"));
        let events = transport.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].level, Level::Error);
        assert_eq!(events[0].extra["table"], Value::from("users"));
        assert_eq!(events[0].extra["rows"], Value::from(3));
    }

    #[test]
    fn info_becomes_a_breadcrumb_and_debug_is_ignored() {
        let transport = capture(EventLevel::Warning, || {
            tracing::debug!(target: "dlt", "too chatty");
            tracing::info!(target: "dlt", "extract started");
            tracing::error!(target: "dlt", "boom");
        });
        let events = transport.events();
        assert_eq!(events.len(), 1);
        let breadcrumbs = &events[0].breadcrumbs.values;
        assert_eq!(breadcrumbs.len(), 1, "{breadcrumbs:?}");
        assert_eq!(breadcrumbs[0].message.as_deref(), Some("extract started"));
        assert_eq!(breadcrumbs[0].category.as_deref(), Some("dlt"));
        assert_eq!(breadcrumbs[0].level, Level::Info);
    }

    #[test]
    fn an_earlier_clients_breadcrumbs_never_reach_a_later_client() {
        let (first, later) = (CapturingTransport::new(), CapturingTransport::new());
        let options = |transport: &Arc<CapturingTransport>, secrets: &[&str]| {
            let mut options = SentryOptions::new("1.31.0");
            options.dsn = Some(SentryDsn::parse("https://public@sentry.invalid/42").unwrap());
            options.capture_panics = false;
            options.extra_secrets = dlt_redact::Redactor::new(secrets);
            options.transport = Some(transport.clone());
            options
        };
        Hub::run(Arc::new(Hub::new_from_top(Hub::current())), || {
            for (transport, secrets, message) in
                [(&first, &["first-s3cret"][..], "connected with first-s3cret"), (&later, &[][..], "boom")]
            {
                let guard = init(options(transport, secrets));
                let subscriber = tracing_subscriber::registry().with(guard.tracing_layer());
                tracing::subscriber::with_default(subscriber, || tracing::error!(target: "dlt", "{message}"));
                assert!(guard.shutdown_by(std::time::Instant::now() + std::time::Duration::from_secs(1)));
            }
        });
        let events = later.events();
        let messages: Vec<_> = events[0].breadcrumbs.values.iter().filter_map(|crumb| crumb.message.clone()).collect();
        assert_eq!(messages, Vec::<String>::new(), "the first guard's shutdown cleared its breadcrumbs");
        assert!(!format!("{:?}", later.envelopes()).contains("first-s3cret"), "{messages:?}");
    }

    #[test]
    fn the_bridges_own_logs_are_not_sent() {
        let transport = capture(EventLevel::Warning, || tracing::error!(target: OWN_TARGET, "transport trouble"));
        assert!(transport.envelopes().is_empty());
    }

    #[test]
    fn a_layer_without_sentry_sends_nothing_even_where_a_client_is_bound() {
        let transport = CapturingTransport::new();
        let client = sentry_core::Client::with_options(
            sentry_core::ClientOptions::new().dsn("https://public@sentry.invalid/1").transport(transport.clone()),
        );
        let hub = Arc::new(Hub::new(Some(Arc::new(client)), Default::default()));
        Hub::run(hub, || {
            let guard = crate::SentryGuard::disabled();
            let subscriber = tracing_subscriber::registry().with(guard.tracing_layer());
            tracing::subscriber::with_default(subscriber, || {
                tracing::error!(target: "dlt", "nobody listens");
            });
        });
        assert!(transport.envelopes().is_empty());
    }
}
