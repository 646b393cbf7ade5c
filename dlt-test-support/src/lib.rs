//! Test servers and environments for dlt's tests: a dev-dependency only, never published.
//!
//! Every server is bound to 127.0.0.1:0, runs on plain threads (usable from sync tests, async
//! tests and tests that spawn the real `dlt` binary), never sends a byte beyond loopback and
//! shuts down on drop, closing its connections and joining its threads.
//!
//! - [`Recorder`]: an HTTP/1.1 endpoint that records every request ([`RecordedRequest`]) before
//!   it answers as told ([`Answer`]: status, headers, body, delay; or a script, a function of the
//!   request), changeable while it runs; with recording off it only counts, for benchmarks.
//! - [`HangingServer`] (never answers; can close its port and keep its connections),
//!   [`refusing_port`] / [`refusing_url`] (nothing listens), [`HugeBodyServer`] (a body of any
//!   size, streamed).
//! - [`ForwardProxy`] and [`ConnectProxy`]: proxies that count what passed through them.
//! - [`TestCa`] and [`TlsRecorder`]: a CA made at test time and the recorder behind TLS.
//! - [`FaultProxy`]: added delay, accept-and-never-read, slow drip, reset ([`Fault`]).
//! - [`SentryReceiver`]: the recorder behind a Sentry DSN; [`RawEnvelope`] decodes envelopes by
//!   the wire format alone.
//! - `OtlpReceiver` (feature `otlp`): the recorder as an OTLP/HTTP collector, its requests
//!   decoded with `opentelemetry-proto` into `ExportedSpan`s.
//! - [`DltEnv`]: temporary dlt dirs and the environment that points dlt at them.
//! - [`private_tempdir`]: a temporary folder the file gate accepts as a telemetry dir.
//! - [`files_under`] and [`snapshot`]: the files a run left, to list or compare.
//! - [`golden_dir`]: the repository's golden data, recorded from dlt (Python).
//! - [`pipeline_load_message`]: a message of the usual size, for benchmarks.
//! - `strategies` (feature `strategies`): proptest strategies several crates draw from.
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use std::time::Duration;
//!
//! use dlt_test_support::{Answer, Recorder};
//!
//! let recorder = Recorder::with_answer(Answer::status(202).with_body("ok"))?;
//! let mut stream = TcpStream::connect(recorder.addr())?;
//! stream.write_all(b"POST /v1/batch HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")?;
//! let mut answer = String::new();
//! stream.read_to_string(&mut answer)?;
//! assert!(answer.starts_with("HTTP/1.1 202 Accepted\r\n"));
//! assert!(recorder.wait_for(1, Duration::from_secs(5)));
//! assert_eq!(recorder.requests()[0].path, "/v1/batch");
//! assert_eq!(recorder.requests()[0].body, b"{}");
//! # Ok::<(), std::io::Error>(())
//! ```

mod endpoints;
mod env;
mod fault;
mod files;
mod http1;
mod messages;
#[cfg(feature = "otlp")]
mod otlp;
mod proxy;
mod recorder;
mod sentry;
mod server;
#[cfg(feature = "strategies")]
pub mod strategies;
mod tls;

use std::path::{Path, PathBuf};

pub use endpoints::{HangingServer, HugeBodyServer, refusing_port, refusing_url};
pub use env::DltEnv;
pub use fault::{Fault, FaultProxy};
pub use files::{files_under, snapshot};
pub use messages::{message_of, padding, pipeline_load_message, test_context};
#[cfg(feature = "otlp")]
pub use otlp::{
    ExportedSpan, OtlpDecodeError, OtlpReceiver, STATUS_ERROR, STATUS_OK, STATUS_UNSET, attribute, decode_export,
    spans_of,
};
pub use proxy::{ConnectProxy, ForwardProxy, ProxiedRequest};
pub use recorder::{Answer, RecordedRequest, Recorder};
pub use sentry::{EnvelopeError, RawEnvelope, RawItem, SENTRY_PROJECT_ID, SENTRY_PUBLIC_KEY, SentryReceiver};
pub use tls::{TestCa, TlsRecorder};

/// A temporary folder only its owner can enter (`0700`), as the file gate requires of a folder
/// it is handed (a telemetry dir, say); removed on drop.
pub fn private_tempdir() -> std::io::Result<tempfile::TempDir> {
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700));
    builder.tempdir()
}

/// `<workspace>/testdata/golden`: payloads and files recorded from dlt (Python).
pub fn golden_dir() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().unwrap_or(crate_dir).join("testdata").join("golden")
}
