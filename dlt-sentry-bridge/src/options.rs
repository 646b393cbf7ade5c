//! The bridge's options: a plain struct, filled by the host from its own configuration.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use dlt_http::NetworkEnv;
use sentry_core::Transport;

use crate::Redactor;
use crate::secret::SentryDsn;

/// The lowest level at which a `tracing` event becomes a Sentry event: dlt's rule is
/// max(WARNING, the host's log level), which the host maps onto these three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum EventLevel {
    /// Warnings and errors become events (log level WARNING or more verbose).
    Warning,
    /// Only errors become events (log level ERROR).
    Error,
    /// No `tracing` event becomes a Sentry event, since `tracing` has no level above ERROR;
    /// panics are still sent (log level CRITICAL).
    Critical,
}

impl EventLevel {
    /// Whether a `tracing` event at `level` becomes a Sentry event.
    pub(crate) fn captures(self, level: &tracing::Level) -> bool {
        match self {
            Self::Warning => *level <= tracing::Level::WARN,
            Self::Error => *level <= tracing::Level::ERROR,
            Self::Critical => false,
        }
    }
}

/// The host environment variables that dlt turns into Sentry tags. Read through a lookup so
/// that callers (and tests) decide where the values come from; empty values count as absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HostEnvironment {
    /// `COMMIT_SHA`: tag `commit_sha` and the release suffix.
    pub commit_sha: Option<String>,
    /// `IMAGE_VERSION`: tag `image_version`.
    pub image_version: Option<String>,
    /// `KUBE_NODE_NAME`: tag `kube_node_name`.
    pub kube_node_name: Option<String>,
    /// `KUBE_POD_NAME`: tag `kube_pod_name`.
    pub kube_pod_name: Option<String>,
    /// `KUBE_POD_NAMESPACE`: tag `kube_pod_namespace`.
    pub kube_pod_namespace: Option<String>,
    /// `GITHUB_USER`: tag `github_user` and the Sentry user name.
    pub github_user: Option<String>,
    /// `GITHUB_REPOSITORY`: tag `github_repository`.
    pub github_repository: Option<String>,
    /// `GITHUB_REPOSITORY_OWNER`: tag `github_repository_owner`, and `github_user` when that is unset.
    pub github_repository_owner: Option<String>,
}

impl HostEnvironment {
    /// Reads the variables through `lookup` (a variable name in, its value out).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let read = |name: &str| lookup(name).filter(|value| !value.is_empty());
        Self {
            commit_sha: read("COMMIT_SHA"),
            image_version: read("IMAGE_VERSION"),
            kube_node_name: read("KUBE_NODE_NAME"),
            kube_pod_name: read("KUBE_POD_NAME"),
            kube_pod_namespace: read("KUBE_POD_NAMESPACE"),
            github_user: read("GITHUB_USER"),
            github_repository: read("GITHUB_REPOSITORY"),
            github_repository_owner: read("GITHUB_REPOSITORY_OWNER"),
        }
    }

    /// Reads the variables from this process's environment.
    pub fn from_process() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// The GitHub user, falling back to the repository owner, as dlt does.
    pub(crate) fn effective_github_user(&self) -> Option<&str> {
        self.github_user.as_deref().or(self.github_repository_owner.as_deref())
    }
}

/// Everything the bridge needs; no config files are read.
#[derive(Clone)]
#[non_exhaustive]
pub struct SentryOptions {
    /// The DSN; `None` means Sentry is off and [`crate::init`] returns a no-op guard.
    pub dsn: Option<SentryDsn>,
    /// The host library's version: the `dlt_version` tag and the release prefix.
    pub library_version: String,
    /// The Sentry environment; unset lets Sentry use its default ("production").
    pub environment: Option<String>,
    /// The share of pipeline transactions sent, 0.0 to 1.0 (values outside are clamped).
    pub traces_sample_rate: f32,
    /// The lowest `tracing` level that becomes a Sentry event.
    pub event_level: EventLevel,
    /// `runtime.pipeline_name`: the `pipeline_name` tag when set.
    pub pipeline_name: Option<String>,
    /// The environment variables that become tags and the user.
    pub host_environment: HostEnvironment,
    /// Secrets besides the DSN to scrub from everything sent (e.g. the Segment write key, the
    /// OTLP header values, passwords the host keeps); the URL rule applies whatever this holds.
    pub extra_secrets: Redactor,
    /// How long closing (or dropping) the guard may wait for pending envelopes; a panic waits
    /// at most 2 s of it.
    pub shutdown_timeout: Duration,
    /// Whether [`crate::init`] installs the panic hook that reports panics as unhandled events.
    pub capture_panics: bool,
    /// Proxies (`HTTPS_PROXY`, `NO_PROXY`, ...) and extra trusted certificates
    /// (`SSL_CERT_FILE`, `SSL_CERT_DIR`) of the HTTP transport; read them with
    /// [`NetworkEnv::from_lookup`]. The default: no proxy, the bundled roots and the OS store.
    pub network: NetworkEnv,
    /// Connect timeout of each HTTP request.
    pub connect_timeout: Duration,
    /// Total timeout of each HTTP request.
    pub request_timeout: Duration,
    /// How many envelopes may wait for the sender; more are dropped and counted.
    pub queue_capacity: usize,
    /// Replaces the HTTP transport (tests, writing envelopes elsewhere); scrubbing still applies.
    ///
    /// This is where sentry-core is a public dependency of this crate: a custom transport
    /// implements its [`Transport`] trait, so this field follows sentry-core's version.
    pub transport: Option<Arc<dyn Transport>>,
}

impl SentryOptions {
    /// Options with Sentry off and dlt's defaults: event level WARNING, all transactions
    /// sampled, a 1 s shutdown timeout, panics captured.
    pub fn new(library_version: impl Into<String>) -> Self {
        Self {
            dsn: None,
            library_version: library_version.into(),
            environment: None,
            traces_sample_rate: 1.0,
            event_level: EventLevel::Warning,
            pipeline_name: None,
            host_environment: HostEnvironment::default(),
            extra_secrets: Redactor::default(),
            shutdown_timeout: Duration::from_secs(1),
            capture_panics: true,
            network: NetworkEnv::default(),
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
            queue_capacity: 30,
            transport: None,
        }
    }

    /// The release: `<library version>_<COMMIT_SHA or empty>`, e.g. `1.31.0_`.
    pub(crate) fn release(&self) -> String {
        format!("{}_{}", self.library_version, self.host_environment.commit_sha.as_deref().unwrap_or(""))
    }

    /// The scope tags of DESIGN §4.2 that have a value, in dlt's order.
    pub(crate) fn tags(&self) -> Vec<(&'static str, String)> {
        let env = &self.host_environment;
        let optional = [
            ("pipeline_name", self.pipeline_name.as_deref()),
            ("commit_sha", env.commit_sha.as_deref()),
            ("image_version", env.image_version.as_deref()),
            ("kube_node_name", env.kube_node_name.as_deref()),
            ("kube_pod_name", env.kube_pod_name.as_deref()),
            ("kube_pod_namespace", env.kube_pod_namespace.as_deref()),
            ("github_user", env.effective_github_user()),
            ("github_repository", env.github_repository.as_deref()),
            ("github_repository_owner", env.github_repository_owner.as_deref()),
        ];
        std::iter::once(("dlt_version", Some(self.library_version.as_str())))
            .chain(optional)
            .filter_map(|(name, value)| value.map(|value| (name, value.to_owned())))
            .collect()
    }

    /// The sample rate clamped to 0.0..=1.0 (NaN counts as 0.0).
    pub(crate) fn clamped_traces_sample_rate(&self) -> f32 {
        if self.traces_sample_rate.is_nan() { 0.0 } else { self.traces_sample_rate.clamp(0.0, 1.0) }
    }
}

impl fmt::Debug for SentryOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            dsn,
            library_version,
            environment,
            traces_sample_rate,
            event_level,
            pipeline_name,
            host_environment,
            extra_secrets,
            shutdown_timeout,
            capture_panics,
            network,
            connect_timeout,
            request_timeout,
            queue_capacity,
            transport,
        } = self;
        f.debug_struct("SentryOptions")
            .field("dsn", dsn)
            .field("library_version", library_version)
            .field("environment", environment)
            .field("traces_sample_rate", traces_sample_rate)
            .field("event_level", event_level)
            .field("pipeline_name", pipeline_name)
            .field("host_environment", host_environment)
            .field("extra_secrets", extra_secrets)
            .field("shutdown_timeout", shutdown_timeout)
            .field("capture_panics", capture_panics)
            .field("network", network)
            .field("connect_timeout", connect_timeout)
            .field("request_timeout", request_timeout)
            .field("queue_capacity", queue_capacity)
            .field("transport", &transport.as_ref().map(|_| "custom"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::HashMap;

    use super::*;

    fn environment(pairs: &[(&str, &str)]) -> HostEnvironment {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        HostEnvironment::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn event_level_decides_which_tracing_levels_are_captured() {
        use tracing::Level;
        assert!(EventLevel::Warning.captures(&Level::WARN));
        assert!(EventLevel::Warning.captures(&Level::ERROR));
        assert!(!EventLevel::Warning.captures(&Level::INFO));
        assert!(!EventLevel::Error.captures(&Level::WARN));
        assert!(EventLevel::Error.captures(&Level::ERROR));
        assert!(!EventLevel::Critical.captures(&Level::ERROR));
    }

    #[test]
    fn tags_follow_dlt_with_github_user_falling_back_to_owner() {
        let mut options = SentryOptions::new("1.31.0");
        options.pipeline_name = Some("logger".into());
        options.host_environment = environment(&[
            ("COMMIT_SHA", "192891"),
            ("IMAGE_VERSION", "scale/v:112"),
            ("KUBE_NODE_NAME", "node_name"),
            ("KUBE_POD_NAME", "pod_name"),
            ("KUBE_POD_NAMESPACE", "namespace"),
            ("GITHUB_REPOSITORY", "dlt-hub/beginners-workshop-2022"),
            ("GITHUB_REPOSITORY_OWNER", "dlt-hub"),
        ]);
        let tags: HashMap<_, _> = options.tags().into_iter().collect();
        assert_eq!(tags.len(), 10);
        assert_eq!(tags["dlt_version"], "1.31.0");
        assert_eq!(tags["pipeline_name"], "logger");
        assert_eq!(tags["commit_sha"], "192891");
        assert_eq!(tags["image_version"], "scale/v:112");
        assert_eq!(tags["kube_pod_namespace"], "namespace");
        assert_eq!(tags["github_user"], "dlt-hub");
        assert_eq!(options.release(), "1.31.0_192891");
    }

    #[test]
    fn absent_and_empty_variables_give_no_tags() {
        let mut options = SentryOptions::new("1.31.0");
        options.host_environment = environment(&[("COMMIT_SHA", ""), ("GITHUB_USER", "rudolfix")]);
        assert_eq!(options.tags(), vec![("dlt_version", "1.31.0".to_owned()), ("github_user", "rudolfix".to_owned())]);
        assert_eq!(options.release(), "1.31.0_");
    }

    #[test]
    fn sample_rate_is_clamped() {
        let mut options = SentryOptions::new("1");
        options.traces_sample_rate = 3.0;
        assert_eq!(options.clamped_traces_sample_rate(), 1.0);
        options.traces_sample_rate = f32::NAN;
        assert_eq!(options.clamped_traces_sample_rate(), 0.0);
    }

    #[test]
    fn debug_redacts_secrets() {
        let mut options = SentryOptions::new("1");
        options.dsn = Some(SentryDsn::parse("https://topsecretkey@sentry.example.com/1").unwrap());
        options.extra_secrets = Redactor::new(["write-key-value"]);
        options.network = NetworkEnv::from_lookup(|name| {
            (name == "HTTPS_PROXY").then(|| "http://proxyuser:proxypa55@proxy.internal:3128".to_owned())
        });
        let shown = format!("{options:?}");
        assert!(!shown.contains("topsecretkey"), "{shown}");
        assert!(!shown.contains("write-key-value"), "{shown}");
        assert!(!shown.contains("proxypa55"), "{shown}");
        assert!(!shown.contains("proxyuser"), "{shown}");
        assert!(shown.contains("http://***@proxy.internal"), "{shown}");
    }
}
