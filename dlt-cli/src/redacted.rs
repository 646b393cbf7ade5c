//! What the command line writes to stderr (log lines, and its `error:`, `warning:` and `note:`
//! lines) and the trace it shows, with the configuration's secrets hidden
//! ([`RuntimeTrace::secrets`], installed once the configuration is read). Before that, and in
//! the detached sender, the URL rule alone applies: a URL's user info, query values and
//! fragment are hidden in every line.

use std::fmt::Display;
use std::io::{self, Write};
use std::sync::OnceLock;

use dlt_runtime_trace::{Redactor, RuntimeTrace, redact_trace};
use dlt_telemetry_model::PipelineTrace;
use tracing_subscriber::fmt::MakeWriter;

/// What replaces a secret in what the command line writes.
const MASK: &str = "***";

/// The configuration's secrets, once known.
static SECRETS: OnceLock<Redactor> = OnceLock::new();

/// Hides the runtime's secrets in everything written from now on; later calls change nothing.
pub(crate) fn install(runtime: &RuntimeTrace) {
    let _ = SECRETS.set(runtime.secrets().clone());
}

fn with_secrets<T>(use_them: impl FnOnce(&Redactor) -> T) -> T {
    match SECRETS.get() {
        Some(secrets) => use_them(secrets),
        None => use_them(&Redactor::default()),
    }
}

/// Writes `<label>: <message>` as one line to stderr, secrets hidden (quietly nothing if stderr
/// is closed).
pub(crate) fn eprint_line(label: &str, message: impl Display) {
    let line = format!("{label}: {message}\n");
    let _ = with_secrets(|secrets| io::stderr().write_all(secrets.redact(&line, MASK).as_bytes()));
}

/// What clap says about a command line it refused (or `--help`, `--version`), as clap prints
/// it, unless it quotes a URL with credentials (a connection string typed in the wrong place):
/// then with the URL rule applied, without colours. Gives the exit code.
pub(crate) fn usage_error(error: &clap::Error) -> u8 {
    let text = error.to_string();
    let _ = match with_secrets(|secrets| secrets.redact(&text, MASK).into_owned()) {
        hidden if hidden == text => error.print(),
        hidden => io::stderr().write_all(hidden.as_bytes()),
    };
    u8::try_from(error.exit_code()).unwrap_or(2)
}

/// The trace with the secrets hidden in its free text.
pub(crate) fn trace(mut trace: PipelineTrace) -> PipelineTrace {
    with_secrets(|secrets| redact_trace(&mut trace, secrets));
    trace
}

/// Standard error for the `tracing` log layer: each event's text is kept until the layer is
/// done with it, then written at once with the secrets hidden.
pub(crate) struct Stderr;

impl<'a> MakeWriter<'a> for Stderr {
    type Writer = RedactedEvent<io::Stderr>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactedEvent { text: Vec::new(), out: io::stderr() }
    }
}

/// The text of one log event, written to `out` with the secrets hidden when dropped.
pub(crate) struct RedactedEvent<W: Write> {
    text: Vec<u8>,
    out: W,
}

impl<W: Write> Write for RedactedEvent<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<W: Write> Drop for RedactedEvent<W> {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.text);
        let _ = with_secrets(|secrets| self.out.write_all(secrets.redact(&text, MASK).as_bytes()));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// Where a test's log events end up.
    #[derive(Clone, Default)]
    struct Written(Arc<Mutex<Vec<u8>>>);

    impl Write for Written {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn log_events_are_written_whole_with_url_credentials_hidden() {
        let written = Written::default();
        let out = written.clone();
        let layer = tracing_subscriber::fmt::layer()
            .without_time()
            .with_target(false)
            .with_writer(move || RedactedEvent { text: Vec::new(), out: out.clone() });
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
            tracing::warn!(endpoint = "http://tok_SECRET@host/v1/track?api_key=k3y", "could not reach");
            tracing::warn!("connection postgresql://loader:it's9@db refused");
        });
        let text = String::from_utf8(written.0.lock().unwrap().clone()).unwrap();
        // The closing quote of the field belongs to the URL (only whitespace ends one): it is
        // hidden with the query's value.
        assert_eq!(
            text,
            " WARN could not reach endpoint=\"http://***@host/v1/track?api_key=***\n WARN connection postgresql://***@db refused\n"
        );
    }
}
