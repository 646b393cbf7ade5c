//! The settings of a client, and the one function that builds it.

use std::fmt;
use std::time::Duration;

use reqwest::header::HeaderValue;

use crate::error::HttpError;
use crate::network::NetworkEnv;

/// How long connecting (TCP, proxy and TLS handshake) may take unless the caller says otherwise.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a whole request may take (connecting to the end of the body) unless the caller says
/// otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What [`build_client`] needs: timeouts, an optional user agent, the proxies and trust of a
/// [`NetworkEnv`] and, with the `test-util` feature, a resolver.
#[derive(Clone)]
pub struct HttpSettings {
    connect_timeout: Duration,
    request_timeout: Duration,
    user_agent: Option<String>,
    network: NetworkEnv,
    #[cfg(feature = "test-util")]
    resolver: Option<std::sync::Arc<dyn reqwest::dns::Resolve>>,
}

impl HttpSettings {
    /// The default timeouts, no user agent, and `network`'s proxies and trust.
    pub fn new(network: NetworkEnv) -> Self {
        Self {
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            user_agent: None,
            network,
            #[cfg(feature = "test-util")]
            resolver: None,
        }
    }

    /// Sets how long connecting may take (TCP, proxy, TLS handshake).
    #[must_use]
    pub fn with_connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Sets how long a whole request may take, body included.
    #[must_use]
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Replaces the proxies and trust with `network`'s, keeping the timeouts and the user agent
    /// (for a transport whose options carry its [`NetworkEnv`] apart from the rest).
    ///
    /// ```
    /// use dlt_http::{HttpSettings, NetworkEnv};
    ///
    /// let network = NetworkEnv::from_lookup(|name| (name == "HTTPS_PROXY").then(|| "http://proxy:3128".into()));
    /// let settings = HttpSettings::default().with_user_agent("dlt/0.1.0").with_network(network.clone());
    /// assert_eq!(settings.network(), &network);
    /// assert_eq!(settings.user_agent(), Some("dlt/0.1.0"));
    /// ```
    #[must_use]
    pub fn with_network(mut self, network: NetworkEnv) -> Self {
        self.network = network;
        self
    }

    /// Sets the `User-Agent` header of every request.
    #[must_use]
    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// Resolves host names with `resolver` instead of the system's resolver, for tests that must
    /// never send a DNS query (see [`test_util`](crate::test_util)).
    #[cfg(feature = "test-util")]
    #[must_use]
    pub fn with_resolver(mut self, resolver: std::sync::Arc<dyn reqwest::dns::Resolve>) -> Self {
        self.resolver = Some(resolver);
        self
    }

    /// How long connecting may take.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// How long a whole request may take.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// The `User-Agent`, when set.
    pub fn user_agent(&self) -> Option<&str> {
        self.user_agent.as_deref()
    }

    /// The proxies and trust.
    pub fn network(&self) -> &NetworkEnv {
        &self.network
    }
}

impl Default for HttpSettings {
    /// No proxy and no extra trust: hosts pass [`NetworkEnv::from_process`] to [`HttpSettings::new`].
    fn default() -> Self {
        Self::new(NetworkEnv::default())
    }
}

impl fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("HttpSettings");
        debug
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("user_agent", &self.user_agent)
            .field("network", &self.network);
        #[cfg(feature = "test-util")]
        debug.field("resolver", &self.resolver.as_ref().map(|_| "custom"));
        debug.finish()
    }
}

/// Builds the HTTP client every transport uses.
///
/// - Redirects are not followed: a redirect would carry the request's credentials elsewhere.
/// - Proxies come only from the [`NetworkEnv`] (reqwest's own discovery of environment and
///   system proxies is off), `NO_PROXY` included.
/// - Certificates are always checked, against the bundled roots (webpki-roots), the OS store
///   (loaded once per process) and `SSL_CERT_FILE` / `SSL_CERT_DIR` when set (read once per
///   process for each set of paths; a file that cannot be used is an error each time).
/// - TLS is rustls with aws-lc-rs ([`ensure_crypto_provider`](crate::ensure_crypto_provider) runs first).
pub fn build_client(settings: &HttpSettings) -> Result<reqwest::Client, HttpError> {
    let tls = crate::trust::client_config(&settings.network)?;
    let mut builder = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.request_timeout)
        .tls_backend_preconfigured(tls);
    for proxy in settings.network.proxies()? {
        builder = builder.proxy(proxy);
    }
    if let Some(user_agent) = &settings.user_agent {
        let value = HeaderValue::from_str(user_agent).map_err(|_| HttpError::InvalidUserAgent)?;
        builder = builder.user_agent(value);
    }
    #[cfg(feature = "test-util")]
    if let Some(resolver) = &settings.resolver {
        builder = builder.dns_resolver(resolver.clone());
    }
    builder.build().map_err(HttpError::Client)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn with_network_replaces_only_the_network() {
        let proxied = NetworkEnv::from_lookup(|name| (name == "ALL_PROXY").then(|| "http://proxy:3128".into()));
        let settings = HttpSettings::new(NetworkEnv::default())
            .with_connect_timeout(Duration::from_millis(250))
            .with_request_timeout(Duration::from_secs(3))
            .with_user_agent("dlt/0.1.0")
            .with_network(proxied.clone());
        assert_eq!(settings.network(), &proxied);
        assert!(settings.network().has_proxy());
        assert_eq!(settings.connect_timeout(), Duration::from_millis(250));
        assert_eq!(settings.request_timeout(), Duration::from_secs(3));
        assert_eq!(settings.user_agent(), Some("dlt/0.1.0"));
        // The client it builds uses the new network: an unusable proxy is now an error.
        let unusable = NetworkEnv::from_lookup(|name| (name == "ALL_PROXY").then(|| "socks5://proxy:1080".into()));
        assert!(build_client(&settings).is_ok());
        assert!(matches!(build_client(&settings.with_network(unusable)), Err(HttpError::InvalidProxy { .. })));
    }
}
