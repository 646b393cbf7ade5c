//! A certificate authority made at test time, and the recorder behind TLS with its leaf.

use std::fs;
use std::io;
use std::net::TcpStream;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};

use crate::recorder::{Recorder, RecorderState};
use crate::server::{Ctx, Server};

/// A CA made at test time and a leaf it signed for `localhost` and `127.0.0.1` (`CA:FALSE`,
/// `serverAuth`: webpki refuses a CA certificate used as a server's). The CA's PEM is written
/// to a file of its own, for `SSL_CERT_FILE`, in a folder of its own, for `SSL_CERT_DIR`.
pub struct TestCa {
    dir: tempfile::TempDir,
    ca_pem: String,
    leaf: CertificateDer<'static>,
    leaf_key: Vec<u8>,
}

impl TestCa {
    /// Makes the CA and its leaf, and writes `ca.pem`.
    pub fn new() -> io::Result<Self> {
        let (ca_pem, leaf, leaf_key) = make_certificates().map_err(io::Error::other)?;
        let dir = tempfile::tempdir()?;
        fs::create_dir(dir.path().join("certs"))?;
        fs::write(dir.path().join("certs").join("ca.pem"), &ca_pem)?;
        Ok(Self { dir, ca_pem, leaf, leaf_key })
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The file holding only the CA certificate: a value for `SSL_CERT_FILE`.
    pub fn ca_file(&self) -> PathBuf {
        self.ca_dir().join("ca.pem")
    }

    /// The folder holding only [`ca_file`](Self::ca_file): a value for `SSL_CERT_DIR`.
    pub fn ca_dir(&self) -> PathBuf {
        self.dir.path().join("certs")
    }

    /// A server configuration presenting the leaf (for `localhost` and `127.0.0.1`).
    pub fn server_config(&self) -> io::Result<Arc<ServerConfig>> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(self.leaf_key.clone()));
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .and_then(|builder| builder.with_no_client_auth().with_single_cert(vec![self.leaf.clone()], key))
            .map_err(io::Error::other)?;
        Ok(Arc::new(config))
    }

    /// The folder the CA's files are in (removed on drop).
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa").field("ca_file", &self.ca_file()).finish_non_exhaustive()
    }
}

fn make_certificates() -> Result<(String, CertificateDer<'static>, Vec<u8>), rcgen::Error> {
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "dlt test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let mut leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?;
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.distinguished_name.push(DnType::CommonName, "localhost");
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.use_authority_key_identifier_extension = true;
    let leaf_key = KeyPair::generate()?;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;
    Ok((ca_cert.pem(), leaf_cert.der().clone(), leaf_key.serialize_der()))
}

/// The [`Recorder`] behind TLS, presenting a [`TestCa`]'s leaf; `url()` is
/// `https://127.0.0.1:<port>`. Handshakes that fail (an untrusted CA) are counted, and no
/// request is recorded for them. Derefs to the recorder for everything else.
pub struct TlsRecorder {
    recorder: Recorder,
}

impl TlsRecorder {
    /// Starts the recorder, answering `200 OK`, with `ca`'s leaf.
    pub fn start(ca: &TestCa) -> io::Result<Self> {
        let config = ca.server_config()?;
        let state = Arc::new(RecorderState::default());
        let served = state.clone();
        let server = Server::start("tls-recorder", move |stream: TcpStream, ctx: &Ctx| {
            let Ok(connection) = ServerConnection::new(config.clone()) else { return };
            let mut tls = StreamOwned::new(connection, stream);
            while tls.conn.is_handshaking() {
                if tls.conn.complete_io(&mut tls.sock).is_err() {
                    served.handshake_failures.add(1);
                    return;
                }
            }
            served.serve(&mut tls, ctx);
            tls.conn.send_close_notify();
            let _ = tls.conn.complete_io(&mut tls.sock);
        })?;
        Ok(Self { recorder: Recorder::around(state, "https", server) })
    }

    /// True once `count` handshakes failed (the client did not trust the certificate, ...);
    /// false when `timeout` passed first. The count is taken on the server's thread, maybe after
    /// the client has gone, so there is no getter to race with.
    pub fn wait_for_handshake_failures(&self, count: usize, timeout: Duration) -> bool {
        self.recorder.state.handshake_failures.wait_for(count, timeout)
    }
}

impl Deref for TlsRecorder {
    type Target = Recorder;

    fn deref(&self) -> &Recorder {
        &self.recorder
    }
}

impl std::fmt::Debug for TlsRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsRecorder").field("url", &self.url()).finish_non_exhaustive()
    }
}
