//! [`init`] and the [`SentryGuard`] that closes Sentry within a deadline.

use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use sentry_core::protocol::User;
use sentry_core::{Client, ClientOptions, Hub, Transport};

use crate::layer::SentryLayer;
use crate::options::{EventLevel, SentryOptions};
use crate::panic;
use crate::scrub::Scrubber;
use crate::secret::SentryDsn;
use crate::transport::{Counters, HttpConfig, HttpTransport, ScrubbingTransport, TransportStats};

/// Starts Sentry as dlt does and returns the guard that closes it.
///
/// - Without a DSN: a no-op guard; no thread, no socket.
/// - When the current hub already has a client (the host set Sentry up), that client is
///   kept: dlt's tags, user and a scrubbing event processor are added to its scope. Event
///   processors do not run on transactions, so [`crate::PipelineRunSpan`] scrubs what it
///   builds (names, tags, error messages) as it builds it.
/// - Otherwise a client with the bounded HTTP transport is bound to the current hub.
///
/// Never fails: if the transport cannot start, a warning is logged and Sentry stays off.
pub fn init(options: SentryOptions) -> SentryGuard {
    let Some(dsn) = options.dsn.clone() else {
        return SentryGuard::disabled();
    };
    let hub = Hub::current();
    let mut secrets = options.extra_secrets.clone();
    secrets.extend(dsn.secret_spellings());
    let scrubber = Arc::new(Scrubber::new(secrets));
    match hub.client().filter(|client| client.is_enabled()) {
        Some(host_client) => join_host_client(hub, host_client, &options, scrubber),
        None => start_own_client(hub, &dsn, &options, scrubber),
    }
}

/// Keeps the host's client and adds dlt's scope data and scrubbing to it.
fn join_host_client(
    hub: Arc<Hub>,
    client: Arc<Client>,
    options: &SentryOptions,
    scrubber: Arc<Scrubber>,
) -> SentryGuard {
    tracing::debug!(
        "a Sentry client is already bound by the host; keeping it and adding dlt's tags, user and scrubbing to its scope"
    );
    configure_scope(&hub, options, &scrubber, true);
    let host_captures_panics = client.options().integrations.iter().any(|integration| integration.name() == "panic");
    if options.capture_panics && !host_captures_panics {
        panic::install(&hub, options.shutdown_timeout);
    }
    SentryGuard::active(hub, client, false, None, scrubber, options)
}

/// Builds our own client on the HTTP transport (or the one given) and binds it.
fn start_own_client(hub: Arc<Hub>, dsn: &SentryDsn, options: &SentryOptions, scrubber: Arc<Scrubber>) -> SentryGuard {
    let mut client_options = ClientOptions::new()
        .release(options.release())
        .traces_sample_rate(options.clamped_traces_sample_rate())
        .shutdown_timeout(options.shutdown_timeout);
    let (transport, counters): (Arc<dyn Transport>, Option<Arc<Counters>>) = match &options.transport {
        Some(transport) => (Arc::clone(transport), None),
        None => {
            let config = HttpConfig {
                network: options.network.clone(),
                connect_timeout: options.connect_timeout,
                request_timeout: options.request_timeout,
                queue_capacity: options.queue_capacity,
                user_agent: client_options.user_agent.to_string(),
            };
            match HttpTransport::start(dsn.dsn(), &config) {
                Ok(transport) => {
                    let counters = transport.counters();
                    (Arc::new(transport), Some(counters))
                }
                Err(error) => {
                    let cause = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
                    tracing::warn!(%error, %cause, "Sentry stays off");
                    return SentryGuard::disabled();
                }
            }
        }
    };
    client_options = client_options.transport(Arc::new(ScrubbingTransport::new(transport, Arc::clone(&scrubber))));
    client_options.dsn = Some(dsn.dsn().clone());
    client_options.environment = options.environment.clone().map(Into::into);
    // No host name is sent (DESIGN §6): sentry-core sends none unless told to.
    client_options.server_name = None;
    let client = Arc::new(Client::with_options(client_options));
    hub.bind_client(Some(Arc::clone(&client)));
    configure_scope(&hub, options, &scrubber, false);
    if options.capture_panics {
        panic::install(&hub, options.shutdown_timeout);
    }
    SentryGuard::active(hub, client, true, counters, scrubber, options)
}

/// Sets dlt's tags and user on the hub's scope, scrubbed (the scope's tags also go on
/// transactions, which no event processor sees); for a host client, whose transport we do not
/// own, also a scrubbing event processor.
fn configure_scope(hub: &Hub, options: &SentryOptions, scrubber: &Arc<Scrubber>, add_event_processor: bool) {
    let tags: Vec<_> = options.tags().into_iter().map(|(name, value)| (name, scrubber.scrubbed(&value))).collect();
    let user = options
        .host_environment
        .effective_github_user()
        .map(|username| User { username: Some(scrubber.scrubbed(username)), ..Default::default() });
    let scrubber = add_event_processor.then(|| Arc::clone(scrubber));
    hub.configure_scope(|scope| {
        for (name, value) in &tags {
            scope.set_tag(name, value);
        }
        if user.is_some() {
            scope.set_user(user);
        }
        if let Some(scrubber) = scrubber {
            scope.add_event_processor(move |event| Some(scrubber.scrub_event(event)));
        }
    });
}

/// Keeps Sentry running; shutting it down (or dropping it) sends what is pending within a
/// deadline.
#[must_use = "Sentry is closed as soon as the guard is dropped"]
pub struct SentryGuard {
    active: Option<BoundClient>,
    event_level: EventLevel,
}

/// The client a guard whose Sentry is on keeps running: the bridge's own, or the host's.
struct BoundClient {
    hub: Arc<Hub>,
    client: Arc<Client>,
    owns_client: bool,
    counters: Option<Arc<Counters>>,
    scrubber: Arc<Scrubber>,
    shutdown_timeout: Duration,
    /// The tags this guard set on the scope.
    scope_tags: Vec<&'static str>,
    /// The answer of the first shutdown.
    shut_down: OnceLock<bool>,
}

impl BoundClient {
    /// Closes our own client (unbinding it) or flushes the host's, by `deadline`; once only; later
    /// calls return the first call's answer.
    fn shutdown_by(&self, deadline: Instant) -> bool {
        *self.shut_down.get_or_init(|| {
            let timeout = deadline.saturating_duration_since(Instant::now());
            if !self.owns_client {
                return self.client.flush(Some(timeout));
            }
            let drained = self.client.close(Some(timeout));
            if self.hub.client().is_some_and(|bound| Arc::ptr_eq(&bound, &self.client)) {
                self.hub.bind_client(None);
            }
            // The scope outlives the client: what this guard put there (its breadcrumbs, tags
            // and user) must not travel with the next client bound to the hub, which may
            // belong to another configuration.
            self.hub.configure_scope(|scope| {
                scope.clear_breadcrumbs();
                for name in &self.scope_tags {
                    scope.remove_tag(name);
                }
                scope.set_user(None);
            });
            drained
        })
    }
}

impl SentryGuard {
    /// A guard for Sentry switched off: everything it hands out is a no-op.
    pub fn disabled() -> Self {
        Self { active: None, event_level: EventLevel::Warning }
    }

    fn active(
        hub: Arc<Hub>,
        client: Arc<Client>,
        owns_client: bool,
        counters: Option<Arc<Counters>>,
        scrubber: Arc<Scrubber>,
        options: &SentryOptions,
    ) -> Self {
        Self {
            active: Some(BoundClient {
                hub,
                client,
                owns_client,
                counters,
                scrubber,
                shutdown_timeout: options.shutdown_timeout,
                scope_tags: options.tags().into_iter().map(|(name, _)| name).collect(),
                shut_down: OnceLock::new(),
            }),
            event_level: options.event_level,
        }
    }

    /// Whether Sentry is on (our client or the host's).
    pub fn is_enabled(&self) -> bool {
        self.active.is_some()
    }

    /// Whether the bridge runs its own client; false when off or when it joined the host's.
    pub fn owns_client(&self) -> bool {
        self.active.as_ref().is_some_and(|active| active.owns_client)
    }

    /// The hub and the scrubber of what is built for it, when Sentry is on.
    pub(crate) fn hub_and_scrubber(&self) -> Option<(&Arc<Hub>, &Arc<Scrubber>)> {
        self.active.as_ref().map(|active| (&active.hub, &active.scrubber))
    }

    /// A `tracing` layer that sends events at or above the event level and records INFO and
    /// above as breadcrumbs; a no-op layer when Sentry is off.
    pub fn tracing_layer(&self) -> SentryLayer {
        let target = self.hub_and_scrubber().map(|(hub, scrubber)| (Arc::clone(hub), Arc::clone(scrubber)));
        SentryLayer::new(target, self.event_level)
    }

    /// What the HTTP transport did so far; `None` when off, joined to a host or on a custom transport.
    pub fn stats(&self) -> Option<TransportStats> {
        self.active.as_ref().and_then(|active| active.counters.as_ref()).map(|counters| counters.snapshot())
    }

    /// Sends what is pending, waiting at most `timeout`; true when everything went out.
    pub fn flush(&self, timeout: Duration) -> bool {
        self.active.as_ref().is_none_or(|active| active.client.flush(Some(timeout)))
    }

    /// Sends what is pending and closes our client (a host's client is only flushed),
    /// returning by `deadline`, which may be shared with other work (e.g. Segment's
    /// shutdown). True when everything pending went out in time. An endpoint that refuses the
    /// connection, does not resolve or fails the TLS handshake is not waited for: once a post
    /// meets that, what is still queued is dropped at once (counted in
    /// [`TransportStats::dropped_unreachable`]). Later calls (and dropping the guard) return
    /// the first call's answer without waiting again.
    pub fn shutdown_by(&self, deadline: Instant) -> bool {
        self.active.as_ref().is_none_or(|active| active.shutdown_by(deadline))
    }
}

impl Drop for SentryGuard {
    fn drop(&mut self) {
        if let Some(active) = &self.active {
            let now = Instant::now();
            active.shutdown_by(now.checked_add(active.shutdown_timeout).unwrap_or(now));
        }
    }
}

impl fmt::Debug for SentryGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentryGuard")
            .field("enabled", &self.is_enabled())
            .field("owns_client", &self.owns_client())
            .field("event_level", &self.event_level)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::HashMap;

    use sentry_core::Level;

    use super::*;
    use crate::Redactor;
    use crate::options::HostEnvironment;
    use crate::test_util::CapturingTransport;

    const DSN: &str = "https://public0key@sentry.invalid/42";

    fn options(transport: &Arc<CapturingTransport>) -> SentryOptions {
        let mut options = SentryOptions::new("1.31.0");
        options.dsn = Some(SentryDsn::parse(DSN).unwrap());
        options.capture_panics = false;
        options.transport = Some(transport.clone());
        options.pipeline_name = Some("logger".into());
        let env: HashMap<&str, &str> = [("COMMIT_SHA", "192891"), ("GITHUB_USER", "rudolfix")].into();
        options.host_environment = HostEnvironment::from_lookup(|name| env.get(name).map(|v| (*v).to_owned()));
        options
    }

    /// Runs `body` on a fresh hub of its own, so that tests never share Sentry state.
    fn on_own_hub<R>(body: impl FnOnce(&Arc<Hub>) -> R) -> R {
        let hub = Arc::new(Hub::new_from_top(Hub::current()));
        Hub::run(Arc::clone(&hub), || body(&hub))
    }

    #[test]
    fn without_dsn_nothing_is_bound() {
        on_own_hub(|hub| {
            let guard = init(SentryOptions::new("1.31.0"));
            assert!(!guard.is_enabled());
            assert!(hub.client().is_none());
            assert_eq!(guard.stats(), None);
            assert!(guard.shutdown_by(Instant::now()));
        });
    }

    #[test]
    fn events_carry_release_tags_user_and_no_server_name() {
        let transport = CapturingTransport::new();
        on_own_hub(|hub| {
            let guard = init(options(&transport));
            assert!(guard.owns_client());
            hub.capture_message("hello", Level::Error);
            assert!(guard.shutdown_by(Instant::now() + Duration::from_secs(1)));
            assert!(hub.client().is_none(), "shutdown unbinds our client");
        });
        let event = &transport.events()[0];
        assert_eq!(event.release.as_deref(), Some("1.31.0_192891"));
        assert_eq!(event.server_name, None);
        assert_eq!(event.tags["dlt_version"], "1.31.0");
        assert_eq!(event.tags["pipeline_name"], "logger");
        assert_eq!(event.tags["commit_sha"], "192891");
        assert_eq!(event.tags["github_user"], "rudolfix");
        assert_eq!(event.user.as_ref().unwrap().username.as_deref(), Some("rudolfix"));
    }

    /// The scope outlives a client: a second configuration bound to the same hub gets none of
    /// the first one's breadcrumbs, tags or user.
    #[test]
    fn nothing_of_one_configuration_travels_with_the_next_client() {
        let (first, second) = (CapturingTransport::new(), CapturingTransport::new());
        on_own_hub(|hub| {
            let guard = init(options(&first));
            hub.add_breadcrumb(sentry_core::Breadcrumb { message: Some("first config".into()), ..Default::default() });
            assert!(guard.shutdown_by(Instant::now() + Duration::from_secs(1)));

            let mut plain = SentryOptions::new("2.0.0");
            plain.dsn = Some(SentryDsn::parse(DSN).unwrap());
            plain.capture_panics = false;
            plain.transport = Some(second.clone());
            let guard = init(plain);
            hub.capture_message("second", Level::Error);
            assert!(guard.shutdown_by(Instant::now() + Duration::from_secs(1)));
        });
        let event = &second.events()[0];
        assert!(event.breadcrumbs.is_empty(), "{:?}", event.breadcrumbs);
        for tag in ["pipeline_name", "commit_sha", "github_user"] {
            assert!(!event.tags.contains_key(tag), "{tag}: {:?}", event.tags);
        }
        assert_eq!(event.tags["dlt_version"], "2.0.0");
        assert_eq!(event.user, None);
    }

    #[test]
    fn our_client_scrubs_what_it_sends() {
        let transport = CapturingTransport::new();
        on_own_hub(|hub| {
            let mut options = options(&transport);
            options.extra_secrets = Redactor::new(["segment-write-key"]);
            let guard = init(options);
            hub.add_breadcrumb(sentry_core::Breadcrumb {
                message: Some("using postgres://loader:hunter2@db/dlt".into()),
                ..Default::default()
            });
            hub.capture_message(&format!("{DSN} segment-write-key"), Level::Error);
            assert!(guard.shutdown_by(Instant::now() + Duration::from_secs(1)));
        });
        let json = serde_json::to_string(&transport.events()[0]).unwrap();
        assert!(!json.contains("public0key"), "{json}");
        assert!(!json.contains("segment-write-key"), "{json}");
        assert!(!json.contains("hunter2"), "{json}");
    }

    #[test]
    fn a_host_client_is_kept_and_given_tags_and_scrubbing() {
        let host_transport = CapturingTransport::new();
        let our_transport = CapturingTransport::new();
        on_own_hub(|hub| {
            let host_client = Arc::new(Client::with_options(
                ClientOptions::new().dsn("https://hostkey@host.invalid/1").transport(host_transport.clone()),
            ));
            hub.bind_client(Some(Arc::clone(&host_client)));
            let guard = init(options(&our_transport));
            assert!(guard.is_enabled());
            assert!(!guard.owns_client());
            assert!(Arc::ptr_eq(&hub.client().unwrap(), &host_client));
            hub.capture_message(&format!("leaked {DSN}"), Level::Error);
            assert!(guard.shutdown_by(Instant::now() + Duration::from_secs(1)));
            assert!(hub.client().is_some(), "the host's client stays bound");
        });
        assert!(our_transport.envelopes().is_empty());
        let event = &host_transport.events()[0];
        assert_eq!(event.tags["dlt_version"], "1.31.0");
        assert_eq!(event.message.as_deref(), Some("leaked [Filtered]"));
    }
}
