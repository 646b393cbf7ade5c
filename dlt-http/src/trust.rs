//! What clients trust: the bundled roots, the OS store (loaded once per process) and the
//! certificates `SSL_CERT_FILE` and `SSL_CERT_DIR` name.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use dlt_fs::{ReadError, read_regular_file};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{HttpError, TrustFileProblem};
use crate::network::{NetworkEnv, SSL_CERT_DIR, SSL_CERT_FILE};

/// The largest trust file read; a CA bundle is about 200 KiB. Larger files are never read.
pub const TRUST_FILE_CAP: u64 = 8 * 1024 * 1024;

/// Where Linux and BSD distributions keep their CA bundle; the first that exists is read (the
/// list openssl-probe and Go use).
#[cfg(all(unix, not(target_os = "macos")))]
const OS_BUNDLE_FILES: [&str; 12] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem",
    "/etc/ssl/cert.pem",
    "/opt/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/certs/cacert.pem",
    "/usr/local/etc/ssl/cert.pem",
    "/usr/local/share/certs/ca-root-nss.crt",
    "/etc/openssl/certs/ca-certificates.crt",
    "/etc/certs/ca-certificates.crt",
];

/// Folders of single certificates (OpenSSL's `capath`); every one that exists is read.
#[cfg(all(unix, not(target_os = "macos")))]
const OS_CERT_DIRS: [&str; 2] = ["/etc/ssl/certs", "/etc/pki/tls/certs"];

/// How many sets of configured certificate paths keep their verifier (a process uses one or
/// two); beyond that the oldest is dropped.
const CONFIGURED_VERIFIERS: usize = 8;

/// The TLS client configuration for `network`: certificates are always checked, against the
/// bundled roots, the OS store and the configured files. Without configured files the OS store
/// is read at the first handshake ([`DeferredRoots`]), not here: building a client costs its
/// caller no file reads, and a client that never speaks TLS never pays for them.
pub(crate) fn client_config(network: &NetworkEnv) -> Result<rustls::ClientConfig, HttpError> {
    let provider = crate::crypto::provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|error| HttpError::Tls(Box::new(error)))?;
    let builder = if network.cert_file().is_none() && network.cert_dirs().is_empty() {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(DeferredRoots { provider }))
    } else {
        builder.with_webpki_verifier(configured_verifier(network, &provider)?)
    };
    let mut config = builder.with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The webpki verifier over the bundled roots and the OS store, built (and the OS store read)
/// when the first certificate is checked. Signatures are checked with the provider's
/// algorithms, as the webpki verifier checks them.
#[derive(Debug)]
struct DeferredRoots {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for DeferredRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        default_verifier(&self.provider).map_err(|error| rustls::Error::General(error.to_string()))?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// The verifier over the bundled roots and the OS store, built once per process.
fn default_verifier(provider: &Arc<CryptoProvider>) -> Result<Arc<WebPkiServerVerifier>, HttpError> {
    static DEFAULT: OnceLock<Arc<WebPkiServerVerifier>> = OnceLock::new();
    if let Some(verifier) = DEFAULT.get() {
        return Ok(verifier.clone());
    }
    // The shared store itself, not a copy of it.
    let built = verifier(base_roots(), provider)?;
    Ok(DEFAULT.get_or_init(|| built).clone())
}

/// The paths a configured verifier was built from: `SSL_CERT_FILE` and the `SSL_CERT_DIR` folders.
type TrustPaths = (Option<PathBuf>, Vec<PathBuf>);

/// The verifier over the bundled roots, the OS store and the certificates `network` names,
/// built once per process for each set of paths: the files are read the first time those paths
/// are used. A file that cannot be used is reported, and nothing is kept, so it is read (and
/// reported) again the next time.
fn configured_verifier(
    network: &NetworkEnv,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, HttpError> {
    static CONFIGURED: Mutex<Vec<(TrustPaths, Arc<WebPkiServerVerifier>)>> = Mutex::new(Vec::new());
    let cache = || CONFIGURED.lock().unwrap_or_else(PoisonError::into_inner);
    let find = |cached: &[(TrustPaths, Arc<WebPkiServerVerifier>)], key: &TrustPaths| {
        cached.iter().find(|(paths, _)| paths == key).map(|(_, verifier)| verifier.clone())
    };
    let key = (network.cert_file().map(Path::to_path_buf), network.cert_dirs().to_vec());
    if let Some(verifier) = find(&cache(), &key) {
        return Ok(verifier);
    }
    // Read and parse without holding the lock.
    let mut roots = RootCertStore::clone(&base_roots());
    add_configured(&mut roots, network)?;
    let built = verifier(Arc::new(roots), provider)?;
    let mut cached = cache();
    if let Some(verifier) = find(&cached, &key) {
        return Ok(verifier);
    }
    if cached.len() >= CONFIGURED_VERIFIERS {
        cached.remove(0);
    }
    cached.push((key, built.clone()));
    Ok(built)
}

fn verifier(roots: Arc<RootCertStore>, provider: &Arc<CryptoProvider>) -> Result<Arc<WebPkiServerVerifier>, HttpError> {
    WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
        .build()
        .map_err(|error| HttpError::Tls(Box::new(error)))
}

/// The bundled roots and the OS store, once [`base_roots`] has read them.
static BASE: OnceLock<Arc<RootCertStore>> = OnceLock::new();

/// Whether this process has read the OS store.
#[cfg(feature = "test-util")]
pub(crate) fn os_store_read() -> bool {
    BASE.get().is_some()
}

/// The bundled roots (webpki-roots, Mozilla's list) and the OS store, loaded once per process.
fn base_roots() -> Arc<RootCertStore> {
    BASE.get_or_init(|| {
        let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        roots.add_parsable_certificates(os_certificates());
        Arc::new(roots)
    })
    .clone()
}

/// The certificates of the OS store, without duplicates. Never reads `SSL_CERT_FILE` or
/// `SSL_CERT_DIR` from the process: those come from the [`NetworkEnv`].
#[cfg(all(unix, not(target_os = "macos")))]
fn os_certificates() -> Vec<CertificateDer<'static>> {
    let file = OS_BUNDLE_FILES.iter().map(Path::new).find(|path| path.is_file());
    let mut dirs = OS_CERT_DIRS.iter().map(Path::new).filter(|path| path.is_dir());
    // One call for the bundle and the first folder, so a bundle inside that folder is read once.
    let mut certs = rustls_native_certs::load_certs_from_paths(file, dirs.next()).certs;
    for dir in dirs {
        certs.extend(rustls_native_certs::load_certs_from_paths(None, Some(dir)).certs);
    }
    certs.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
    certs.dedup_by(|a, b| a.as_ref() == b.as_ref());
    certs
}

/// The certificates of the keychain (macOS) or the system store (Windows). rustls-native-certs
/// offers no way there to leave out a process's own `SSL_CERT_FILE` / `SSL_CERT_DIR`: when
/// those are set, it loads them instead of the OS store.
#[cfg(not(all(unix, not(target_os = "macos"))))]
fn os_certificates() -> Vec<CertificateDer<'static>> {
    rustls_native_certs::load_native_certs().certs
}

/// Adds `SSL_CERT_FILE` (which must hold at least one usable certificate) and every regular
/// file in the `SSL_CERT_DIR` folders (missing folders are skipped, as OpenSSL does).
fn add_configured(roots: &mut RootCertStore, network: &NetworkEnv) -> Result<(), HttpError> {
    if let Some(path) = network.cert_file() {
        let failed = |problem| HttpError::TrustFile { variable: SSL_CERT_FILE, path: path.to_owned(), problem };
        let bytes = read_trust_file(path).map_err(failed)?;
        let (added, _) = roots.add_parsable_certificates(pem_certificates(&bytes));
        if added == 0 {
            return Err(failed(TrustFileProblem::NoCertificate));
        }
    }
    for dir in network.cert_dirs() {
        let failed = |problem| HttpError::TrustFile { variable: SSL_CERT_DIR, path: dir.clone(), problem };
        match fs::metadata(dir) {
            Err(error) if error.kind() == io::ErrorKind::NotFound => continue,
            Err(error) => return Err(failed(TrustFileProblem::Read(ReadError::Io(error)))),
            Ok(metadata) if !metadata.is_dir() => return Err(failed(TrustFileProblem::NotAFolder)),
            Ok(_) => {}
        }
        let entries = fs::read_dir(dir).map_err(|error| failed(TrustFileProblem::Read(ReadError::Io(error))))?;
        for entry in entries.flatten() {
            // Anything that is not a readable regular file within the cap is skipped, as
            // OpenSSL skips what it cannot use in a `capath` folder.
            if let Ok(bytes) = read_trust_file(&entry.path()) {
                roots.add_parsable_certificates(pem_certificates(&bytes));
            }
        }
    }
    Ok(())
}

fn pem_certificates(bytes: &[u8]) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(bytes).filter_map(Result::ok).collect()
}

/// Reads a regular file (after following links) of at most [`TRUST_FILE_CAP`] bytes, by
/// [`dlt_fs::read_regular_file`]: a FIFO or a device is refused before a byte is read, and
/// opening never blocks.
fn read_trust_file(path: &Path) -> Result<Vec<u8>, TrustFileProblem> {
    read_regular_file(path, TRUST_FILE_CAP).map_err(TrustFileProblem::Read)?.ok_or(TrustFileProblem::NotFound)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn the_base_store_holds_the_bundled_roots_and_the_os_store() {
        let bundled = webpki_roots::TLS_SERVER_ROOTS.len();
        let base = base_roots();
        assert!(base.len() >= bundled);
        #[cfg(target_os = "linux")]
        if Path::new("/etc/ssl/certs/ca-certificates.crt").is_file() {
            assert!(!os_certificates().is_empty());
            assert!(base.len() > bundled, "the OS store added nothing: {} roots", base.len());
        }
        // Loaded once: the same store every time.
        assert!(Arc::ptr_eq(&base, &base_roots()));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("ca.pem");
        rustix::fs::mkfifoat(rustix::fs::CWD, &fifo, rustix::fs::Mode::from_bits_truncate(0o600)).unwrap();
        let not_regular = |path: &Path| match read_trust_file(path) {
            Err(TrustFileProblem::Read(ReadError::NotRegular(kind))) => Some(kind),
            _ => None,
        };
        assert_eq!(not_regular(&fifo), Some(dlt_fs::NotRegular::Fifo));
        assert_eq!(not_regular(dir.path()), Some(dlt_fs::NotRegular::Directory));
        assert!(matches!(read_trust_file(&dir.path().join("none")), Err(TrustFileProblem::NotFound)));
        // The message names the file and what is there.
        let network = NetworkEnv::from_lookup(|name| (name == "SSL_CERT_FILE").then(|| fifo.display().to_string()));
        let error = client_config(&network).unwrap_err().to_string();
        assert_eq!(error, format!("SSL_CERT_FILE={}: is a named pipe (FIFO), not a regular file", fifo.display()));
    }

    #[test]
    fn the_default_verifier_is_built_once() {
        let provider = crate::crypto::provider();
        assert!(Arc::ptr_eq(&default_verifier(&provider).unwrap(), &default_verifier(&provider).unwrap()));
    }

    #[test]
    fn a_configured_verifier_is_built_once_per_set_of_paths_and_a_bad_file_is_reported_each_time() {
        let ca = dlt_test_support::TestCa::new().unwrap();
        let provider = crate::crypto::provider();
        let with = |pairs: Vec<(&'static str, String)>| {
            NetworkEnv::from_lookup(move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.clone()))
        };
        let file = ca.ca_file().display().to_string();
        let first = configured_verifier(&with(vec![("SSL_CERT_FILE", file.clone())]), &provider).unwrap();
        let again = configured_verifier(&with(vec![("SSL_CERT_FILE", file.clone())]), &provider).unwrap();
        assert!(Arc::ptr_eq(&first, &again), "the same paths read and built again");
        let dir = ca.path().display().to_string();
        let other = configured_verifier(&with(vec![("SSL_CERT_FILE", file), ("SSL_CERT_DIR", dir)]), &provider);
        assert!(!Arc::ptr_eq(&first, &other.unwrap()), "other paths share a verifier");

        let bad = ca.path().join("bad.pem");
        fs::write(&bad, "not a certificate\n").unwrap();
        let network = with(vec![("SSL_CERT_FILE", bad.display().to_string())]);
        for _ in 0..2 {
            let error = client_config(&network).unwrap_err().to_string();
            assert_eq!(error, format!("SSL_CERT_FILE={}: holds no usable PEM certificate", bad.display()));
        }
        // A failure is not kept: once the file is fixed, it is used.
        fs::copy(ca.ca_file(), &bad).unwrap();
        assert!(client_config(&network).is_ok());
    }

    #[test]
    fn a_file_over_the_cap_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.pem");
        fs::File::create(&big).unwrap().set_len(TRUST_FILE_CAP + 1).unwrap();
        assert!(matches!(
            read_trust_file(&big),
            Err(TrustFileProblem::Read(ReadError::TooLarge { limit: TRUST_FILE_CAP }))
        ));
        let network = NetworkEnv::from_lookup(|name| (name == "SSL_CERT_FILE").then(|| big.display().to_string()));
        let error = client_config(&network).unwrap_err().to_string();
        assert_eq!(error, format!("SSL_CERT_FILE={}: is larger than 8 MiB", big.display()));
    }

    #[test]
    fn a_cert_file_without_certificates_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        fs::write(&empty, "not a certificate\n").unwrap();
        let network = NetworkEnv::from_lookup(|name| (name == "SSL_CERT_FILE").then(|| empty.display().to_string()));
        let error = client_config(&network).unwrap_err().to_string();
        assert_eq!(error, format!("SSL_CERT_FILE={}: holds no usable PEM certificate", empty.display()));
    }

    /// A handshake in memory of `config` against `server` for `name`, a few rounds at most:
    /// the client, and the first error either side met.
    fn handshake(
        config: rustls::ClientConfig,
        server: Arc<rustls::ServerConfig>,
        name: &str,
    ) -> (rustls::ClientConnection, Result<(), rustls::Error>) {
        let name = ServerName::try_from(name.to_owned()).unwrap();
        let mut client = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
        let mut server = rustls::ServerConnection::new(server).unwrap();
        let mut rounds = || -> Result<(), rustls::Error> {
            for _ in 0..10 {
                if !client.is_handshaking() && !server.is_handshaking() {
                    return Ok(());
                }
                let mut wire = Vec::new();
                client.write_tls(&mut wire).unwrap();
                server.read_tls(&mut wire.as_slice()).unwrap();
                server.process_new_packets()?;
                wire.clear();
                server.write_tls(&mut wire).unwrap();
                client.read_tls(&mut wire.as_slice()).unwrap();
                client.process_new_packets()?;
            }
            Err(rustls::Error::General("the handshake did not finish".to_owned()))
        };
        let result = rounds();
        (client, result)
    }

    fn versions(
        version: &'static rustls::SupportedProtocolVersion,
    ) -> rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier> {
        rustls::ClientConfig::builder_with_provider(crate::crypto::provider())
            .with_protocol_versions(&[version])
            .unwrap()
    }

    fn deferred() -> DeferredRoots {
        DeferredRoots { provider: crate::crypto::provider() }
    }

    /// The deferred verifier offers the schemes the webpki verifier it defers to offers.
    #[test]
    fn the_deferred_verifier_offers_the_webpki_verifiers_schemes() {
        let webpki = default_verifier(&crate::crypto::provider()).unwrap();
        assert_eq!(deferred().supported_verify_schemes(), webpki.supported_verify_schemes());
        assert!(!deferred().requires_raw_public_keys());
        assert_eq!(deferred().root_hint_subjects().is_none(), webpki.root_hint_subjects().is_none());
    }

    /// The deferred verifier's verdict on a certificate is the webpki verifier's, for an
    /// unknown CA, another name, an IP address, a CA certificate presented as the server's own,
    /// and times before and after the certificate's validity.
    #[test]
    fn the_deferred_verifier_judges_certificates_as_the_webpki_verifier() {
        let ca = dlt_test_support::TestCa::new().unwrap();
        // The leaf, as a server presents it.
        let recorded = Arc::new(Mutex::new(None));
        let record = SignaturesChecked { recorded: recorded.clone(), ..SignaturesChecked::default() };
        let config = versions(&rustls::version::TLS13).dangerous().with_custom_certificate_verifier(Arc::new(record));
        let (_, result) = handshake(config.with_no_client_auth(), ca.server_config().unwrap(), "localhost");
        result.unwrap();
        let leaf = recorded.lock().unwrap().clone().unwrap();
        let ca_cert = CertificateDer::from_pem_slice(ca.ca_pem().as_bytes()).unwrap();

        let webpki = default_verifier(&crate::crypto::provider()).unwrap();
        let now = UnixTime::now();
        let past = UnixTime::since_unix_epoch(std::time::Duration::from_secs(86_400));
        let future = UnixTime::since_unix_epoch(std::time::Duration::from_secs(4_000_000_000 * 2));
        let names = ["localhost", "127.0.0.1", "other.test", "::1"];
        for (end_entity, intermediates) in [(&leaf, vec![]), (&leaf, vec![ca_cert.clone()]), (&ca_cert, vec![])] {
            for name in names {
                let name = ServerName::try_from(name).unwrap();
                for time in [now, past, future] {
                    let ours = deferred().verify_server_cert(end_entity, &intermediates, &name, &[], time);
                    let theirs = webpki.verify_server_cert(end_entity, &intermediates, &name, &[], time);
                    let ours = ours.map(|_| ()).unwrap_err();
                    // `Other` errors compare by pointer: compare what they say.
                    assert_eq!(
                        format!("{ours:?}"),
                        format!("{:?}", theirs.map(|_| ()).unwrap_err()),
                        "{name:?} at {time:?}"
                    );
                    assert!(!matches!(ours, rustls::Error::General(_)), "{ours:?}");
                }
            }
        }
        // Garbage is refused too.
        let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
        let name = ServerName::try_from("localhost").unwrap();
        let ours = deferred().verify_server_cert(&garbage, &[], &name, &[], now).map(|_| ());
        let theirs = webpki.verify_server_cert(&garbage, &[], &name, &[], now).map(|_| ());
        assert_eq!(format!("{:?}", ours.unwrap_err()), format!("{:?}", theirs.unwrap_err()));
    }

    /// A client of the deferred store refuses the test CA's leaf over TLS 1.2 and 1.3 alike,
    /// under its own name and another, with the error of a client of the webpki verifier.
    #[test]
    fn the_deferred_store_refuses_an_unknown_ca_over_tls_1_2_and_1_3() {
        let ca = dlt_test_support::TestCa::new().unwrap();
        let webpki = default_verifier(&crate::crypto::provider()).unwrap();
        let unknown = Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer));
        for name in ["localhost", "127.0.0.1", "other.test"] {
            // The configuration clients get (TLS 1.3 with this server).
            let (_, ours) = handshake(
                client_config(&NetworkEnv::from_lookup(|_| None)).unwrap(),
                ca.server_config().unwrap(),
                name,
            );
            assert_eq!(ours, unknown, "{name}");
            for version in [&rustls::version::TLS12, &rustls::version::TLS13] {
                let config = versions(version).dangerous().with_custom_certificate_verifier(Arc::new(deferred()));
                let (_, ours) = handshake(config.with_no_client_auth(), ca.server_config().unwrap(), name);
                let plain = versions(version).with_webpki_verifier(webpki.clone()).with_no_client_auth();
                let (_, theirs) = handshake(plain, ca.server_config().unwrap(), name);
                assert_eq!(ours, unknown, "{version:?} {name}");
                assert_eq!(ours, theirs);
            }
        }
    }

    /// Passes every certificate, and checks the handshake's signatures with [`DeferredRoots`],
    /// comparing each verdict (on the signed message, and on an altered one) with the webpki
    /// verifier's. Records the end entity and how many signatures were checked.
    #[derive(Debug, Default)]
    struct SignaturesChecked {
        recorded: Arc<Mutex<Option<CertificateDer<'static>>>>,
        checked: Arc<Mutex<Vec<&'static str>>>,
    }

    impl SignaturesChecked {
        /// `verify` with [`DeferredRoots`] and with the webpki verifier, on `message` and on a
        /// copy with one bit flipped: the copy fails, and both verdicts agree each time.
        fn compare_signatures(
            &self,
            version: &'static str,
            message: &[u8],
            verify: impl Fn(&dyn ServerCertVerifier, &[u8]) -> Result<HandshakeSignatureValid, rustls::Error>,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            let webpki = default_verifier(&crate::crypto::provider()).unwrap();
            let deferred = deferred();
            let mut altered = message.to_vec();
            altered[message.len() / 2] ^= 1;
            let ours = verify(&deferred, &altered).map(|_| ());
            assert!(ours.is_err(), "an altered {version} message passed");
            assert_eq!(ours, verify(webpki.as_ref(), &altered).map(|_| ()));
            let ours = verify(&deferred, message);
            assert_eq!(ours.as_ref().map(|_| ()).err(), verify(webpki.as_ref(), message).map(|_| ()).err().as_ref());
            self.checked.lock().unwrap().push(version);
            ours
        }
    }

    impl ServerCertVerifier for SignaturesChecked {
        fn verify_server_cert(
            &self,
            end_entity: &CertificateDer<'_>,
            _: &[CertificateDer<'_>],
            _: &ServerName<'_>,
            _: &[u8],
            _: UnixTime,
        ) -> Result<ServerCertVerified, rustls::Error> {
            *self.recorded.lock().unwrap() = Some(end_entity.clone().into_owned());
            Ok(ServerCertVerified::assertion())
        }

        fn verify_tls12_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.compare_signatures("tls12", message, |verifier, message| {
                verifier.verify_tls12_signature(message, cert, dss)
            })
        }

        fn verify_tls13_signature(
            &self,
            message: &[u8],
            cert: &CertificateDer<'_>,
            dss: &DigitallySignedStruct,
        ) -> Result<HandshakeSignatureValid, rustls::Error> {
            self.compare_signatures("tls13", message, |verifier, message| {
                verifier.verify_tls13_signature(message, cert, dss)
            })
        }

        fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
            deferred().supported_verify_schemes()
        }
    }

    /// The deferred verifier's signature checks pass a real handshake's signature, over TLS 1.2
    /// and 1.3, and refuse it over another message, as the webpki verifier does.
    #[test]
    fn the_deferred_verifier_checks_handshake_signatures_as_the_webpki_verifier() {
        let ca = dlt_test_support::TestCa::new().unwrap();
        for (version, expected) in [
            (&rustls::version::TLS12, rustls::ProtocolVersion::TLSv1_2),
            (&rustls::version::TLS13, rustls::ProtocolVersion::TLSv1_3),
        ] {
            let verifier = SignaturesChecked::default();
            let checked = verifier.checked.clone();
            let config = versions(version).dangerous().with_custom_certificate_verifier(Arc::new(verifier));
            let (client, result) = handshake(config.with_no_client_auth(), ca.server_config().unwrap(), "localhost");
            result.unwrap();
            assert_eq!(client.protocol_version(), Some(expected));
            let tag = if expected == rustls::ProtocolVersion::TLSv1_2 { "tls12" } else { "tls13" };
            assert_eq!(*checked.lock().unwrap(), vec![tag]);
        }
    }

    #[test]
    fn missing_cert_dirs_are_skipped_and_a_file_as_cert_dir_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let network = NetworkEnv::from_lookup(|name| (name == "SSL_CERT_DIR").then(|| missing.display().to_string()));
        assert!(client_config(&network).is_ok());
        let file = dir.path().join("file");
        fs::write(&file, "").unwrap();
        let network = NetworkEnv::from_lookup(|name| (name == "SSL_CERT_DIR").then(|| file.display().to_string()));
        assert!(client_config(&network).unwrap_err().to_string().ends_with(": not a folder"));
    }
}
