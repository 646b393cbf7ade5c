//! The TLS crypto provider: aws-lc-rs, installed once per process unless the host installed one.
//!
//! aws-lc-rs rather than ring: it offers post-quantum key exchange (X25519MLKEM768, preferred by
//! default), it is rustls's and reqwest's default (a host on their defaults compiles one crypto
//! library, not two), and rustls deprecates ring's provider for lacking post-quantum algorithms.
//! The price is a C build (a C compiler; no CMake or NASM on Linux, macOS or Windows x86-64);
//! docs/architecture.md has the figures.

use std::sync::{Arc, Once};

use rustls::crypto::CryptoProvider;

/// Installs aws-lc-rs as rustls's process-wide crypto provider, once. A provider the host
/// installed first is kept. reqwest is built without a provider of its own, so this runs before
/// any client is built; [`build_client`](crate::build_client) calls it, and so may any code that
/// builds a rustls config itself.
pub fn ensure_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An error means a provider is installed already: the host's, which is kept.
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    });
}

/// The process-wide provider, installing aws-lc-rs's first if there is none.
pub(crate) fn provider() -> Arc<CryptoProvider> {
    ensure_crypto_provider();
    CryptoProvider::get_default().cloned().unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Arc;

    use rustls::{ClientConnection, NamedGroup, ServerConnection};

    use crate::NetworkEnv;

    /// The reason for aws-lc-rs: a client of ours and a server offering it agree on the hybrid
    /// post-quantum key exchange, not on X25519 alone.
    #[test]
    fn the_key_exchange_is_post_quantum() {
        let ca = dlt_test_support::TestCa::new().unwrap();
        let cert_file = ca.ca_file().display().to_string();
        let network = NetworkEnv::from_lookup(move |name| (name == "SSL_CERT_FILE").then(|| cert_file.clone()));
        let config = crate::trust::client_config(&network).unwrap();
        let mut client = ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
        let mut server = ServerConnection::new(ca.server_config().unwrap()).unwrap();

        // The handshake in memory: each side reads what the other wrote, a few rounds at most.
        for _ in 0..10 {
            if !client.is_handshaking() && !server.is_handshaking() {
                break;
            }
            let mut wire = Vec::new();
            client.write_tls(&mut wire).unwrap();
            server.read_tls(&mut wire.as_slice()).unwrap();
            server.process_new_packets().unwrap();
            wire.clear();
            server.write_tls(&mut wire).unwrap();
            client.read_tls(&mut wire.as_slice()).unwrap();
            client.process_new_packets().unwrap();
        }
        assert!(!client.is_handshaking(), "the handshake did not finish");
        let group = client.negotiated_key_exchange_group().map(|group| group.name());
        assert_eq!(group, Some(NamedGroup::X25519MLKEM768));
    }
}
