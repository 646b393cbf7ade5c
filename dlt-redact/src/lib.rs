//! The one rule for secrets, shared by every crate that shows or sends text: configuration,
//! Segment, Sentry, OpenTelemetry and the command line. It depends on no other crate of this
//! workspace, so the bridges that use it still stand alone.
//!
//! - [`Secret`]: a string that never prints (`Debug` is `Secret(***)`, `Display` is `***`).
//! - [`HttpUrl`]: an absolute `http`/`https` URL, parsed once, sent as given, shown only parsed
//!   and with its password replaced by [`MASK`]. [`parse_url`] and [`display_url`] do the same
//!   for a URL of any scheme (a proxy). A value that does not parse is never echoed: the
//!   [`UrlError`] says what is wrong with it, not what it is. A value whose password the parser
//!   would misread (`https://user:123/secret@host`, an unescaped `/` in the password) is refused.
//! - [`hide_url_credentials`]: in free text, the password of every `scheme://user:password@`
//!   is replaced, up to the last `@` before whitespace or a quote, so that passwords holding
//!   `; , ) ] } / # ? @` are hidden whole.
//! - [`Redactor`]: a fixed list of secret values plus that URL rule, for log lines and error
//!   reports; the caller picks the mask (Sentry's convention is `[Filtered]`).
//!
//! ```
//! use dlt_redact::{HttpUrl, MASK, Redactor, Secret};
//!
//! let write_key = Secret::new("wk-0123456789");
//! assert_eq!(format!("{write_key:?} {write_key}"), "Secret(***) ***");
//!
//! let endpoint = HttpUrl::parse("https://loader:Xy;9@telemetry.example.com/v1/batch")?;
//! assert_eq!(endpoint.to_string(), "https://loader:***@telemetry.example.com/v1/batch");
//! assert_eq!(endpoint.as_str(), "https://loader:Xy;9@telemetry.example.com/v1/batch");
//!
//! let redactor = Redactor::new([write_key.expose()]);
//! let line = "sent with wk-0123456789 to postgresql://loader:Xy;9@db/dlt";
//! assert_eq!(redactor.redact(line, MASK), "sent with *** to postgresql://loader:***@db/dlt");
//! # Ok::<(), dlt_redact::UrlError>(())
//! ```

mod http_url;
mod secret;
mod text;

pub use http_url::{HttpUrl, UrlError, display_url, parse_url};
pub use secret::Secret;
pub use text::{Redactor, hide_url_credentials};

/// What replaces a secret when it is shown.
pub const MASK: &str = "***";

// The README's example runs as a doctest, so the crate's page on crates.io cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
