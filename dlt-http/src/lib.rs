//! The one way dlt's transports (Segment, Sentry, OTLP, the detached sender) talk HTTP.
//!
//! - [`NetworkEnv`]: proxies (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, lower case
//!   first, as curl reads them) and extra trust (`SSL_CERT_FILE`, `SSL_CERT_DIR`), read through a
//!   lookup the caller hands over, never behind its back. Proxy URLs are parsed and shown by
//!   dlt-redact's one rule for URLs: passwords never show, and an ambiguous value is refused.
//! - [`HttpSettings`] and [`build_client`]: a `reqwest::Client` with redirects off, the proxies
//!   of the [`NetworkEnv`] and no other, timeouts, and certificates always checked against the
//!   bundled roots, the OS store and the configured files ([`HttpError`] when it cannot be built).
//! - [`read_body_capped`]: a response body, never read past a cap ([`DEFAULT_BODY_CAP`]).
//! - [`Failure`]: refused, unresolvable, timeout, TLS or other, to decide what not to retry;
//!   [`parse_retry_after`]: a `Retry-After` (seconds or an HTTP date) as a wait.
//! - [`RetryPolicy::decide`]: the one retry decision of every transport that retries, a pure
//!   function of the [`Attempt`], with each protocol's retryable statuses as data
//!   ([`RetryPolicy::segment`], [`RetryPolicy::otlp`]).
//! - [`spawn_runtime_thread`]: the named background thread with its own current-thread runtime
//!   ([`CurrentThreadRuntime`], which never blocks when dropped, for a thread someone else owns).
//! - [`ensure_crypto_provider`]: rustls with aws-lc-rs, installed once unless the host installed one.
//! - `test_util` (feature `test-util`): resolvers for tests that must never send a DNS query,
//!   and whether the OS certificate store was read.
//!
//! # Which root store
//!
//! The OS store is read with **rustls-native-certs**, not rustls-platform-verifier (which
//! reqwest's rustls features bring, and which this crate bypasses by handing reqwest a finished
//! rustls configuration). The platform verifier, on Linux, reloads and parses the system bundle
//! each time a client is built, takes `SSL_CERT_FILE` / `SSL_CERT_DIR` from the process
//! environment (behind the caller's back, and replacing the OS store instead of adding to it),
//! and has no bundled roots. Here one webpki verifier checks every certificate against a root
//! store made of Mozilla's roots (webpki-roots, so a machine without a CA bundle still works),
//! the OS store (read once per process from the distribution's bundle and certificate folders,
//! as curl and Python find them, at the first certificate a client checks: building a client
//! reads nothing, and plain HTTP never reads it) and the files the [`NetworkEnv`] names (read the first time a
//! client is built with those paths; later clients with the same paths share the verifier).
//! The price: on macOS and Windows the keychain's and the system store's certificates are
//! trusted, but their trust settings (a root distrusted by policy) are not consulted.
//!
//! ```
//! use std::time::Duration;
//!
//! use dlt_http::{Failure, HttpSettings, NetworkEnv, build_client, read_body_capped, spawn_runtime_thread};
//!
//! // Proxies and trust from a lookup (here: none), never from the process behind our back.
//! let network = NetworkEnv::from_lookup(|_| None);
//! let settings = HttpSettings::new(network)
//!     .with_connect_timeout(Duration::from_millis(500))
//!     .with_user_agent("dlt/0.1.0");
//! let client = build_client(&settings)?;
//!
//! // A port nothing listens on: the failure is classified, not retried at exit.
//! let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
//! let sender = spawn_runtime_thread("dlt-example", async move {
//!     match client.get(format!("http://127.0.0.1:{port}/")).send().await {
//!         Ok(response) => read_body_capped(response, dlt_http::DEFAULT_BODY_CAP).await.map(|b| b.len()).ok(),
//!         Err(error) => {
//!             assert_eq!(Failure::of(&error), Failure::Refused);
//!             assert!(!Failure::of(&error).may_succeed_on_retry());
//!             None
//!         }
//!     }
//! })?;
//! assert_eq!(sender.join().ok().flatten(), None);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod body;
mod client;
mod crypto;
mod error;
mod failure;
mod network;
mod retry;
mod runtime;
#[cfg(feature = "test-util")]
pub mod test_util;
mod trust;

pub use body::{BodyError, DEFAULT_BODY_CAP, read_body_capped};
pub use client::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT, HttpSettings, build_client};
pub use crypto::ensure_crypto_provider;
pub use error::{HttpError, ProxyUrlProblem, TrustFileProblem};
pub use failure::{Failure, parse_retry_after};
pub use network::NetworkEnv;
pub use retry::{Attempt, AttemptOutcome, Decision, GiveUp, OTLP_RETRYABLE, RetryPolicy, SEGMENT_RETRYABLE};
pub use runtime::{CurrentThreadRuntime, spawn_runtime_thread};
pub use trust::TRUST_FILE_CAP;

// The README's example runs as a doctest, so the crate's page on crates.io cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
