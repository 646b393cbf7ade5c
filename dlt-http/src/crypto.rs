//! The TLS crypto provider: ring, installed once per process unless the host installed one.

use std::sync::{Arc, Once};

use rustls::crypto::CryptoProvider;

/// Installs ring as rustls's process-wide crypto provider, once. A provider the host installed
/// first is kept. reqwest is built without a provider of its own, so this runs before any
/// client is built; [`build_client`](crate::build_client) calls it, and so may any code that
/// builds a rustls config itself.
pub fn ensure_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An error means a provider is installed already: the host's, which is kept.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The process-wide provider, installing ring's first if there is none.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    ensure_crypto_provider();
    CryptoProvider::get_default().cloned().unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()))
}
