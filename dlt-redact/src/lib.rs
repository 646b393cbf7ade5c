//! The one rule for secrets, shared by every crate that shows or sends text: configuration,
//! Segment, Sentry, OpenTelemetry and the command line. It depends on no other crate of this
//! workspace, so the bridges that use it still stand alone.
//!
//! - [`Secret`]: a string that never prints (`Debug` is `Secret(***)`, `Display` is `***`).
//! - [`HttpUrl`]: an absolute `http`/`https` URL, parsed once, sent as given, shown only parsed
//!   and with its credentials replaced by [`MASK`]: the whole user info (a user name alone
//!   too: a Sentry DSN's key is its user name), every query value (keys are kept) and the
//!   fragment. [`parse_url`] and [`display_url`] do the same for a URL of any scheme (a
//!   proxy). A value that does not parse is never echoed: the [`UrlError`] says what is wrong
//!   with it, not what it is. A value whose password the parser would misread
//!   (`https://user:123/secret@host`, an unescaped `/` in the password) is refused.
//! - [`hide_url_credentials`]: the same for every `scheme://` in free text. A URL runs to the
//!   next whitespace (quotes and backticks belong to it, as they may to a password), its user
//!   info to the **last** `@` of that stretch, so that user names and passwords holding
//!   `' " ; , ) ] } / # ? @` are hidden whole; query values and the fragment are hidden too.
//!   It over-hides rather than miss (see its docs).
//! - [`Redactor`]: a set of secret values plus that URL rule, the one shape in which secrets
//!   travel from the configuration to every place that shows or sends text (log lines, error
//!   reports, Sentry, OpenTelemetry, trace files); the caller picks the mask (Sentry's
//!   convention is `[Filtered]`); every occurrence of every secret is hidden, all searched in
//!   one pass.
//! - [`url_credentials`] and [`connection_string_passwords`]: the credentials inside one secret
//!   value (a URL's user name and password, read over the whole value, spaces included; the
//!   password of a `key=value` connection string, libpq's or ODBC's), to add to a [`Redactor`]
//!   so that they are hidden also where they appear alone.
//!
//! ```
//! use dlt_redact::{HttpUrl, MASK, Redactor, Secret};
//!
//! let write_key = Secret::new("wk-0123456789");
//! assert_eq!(format!("{write_key:?} {write_key}"), "Secret(***) ***");
//!
//! let endpoint = HttpUrl::parse("https://loader:Xy;9@telemetry.example.com/v1/batch?token=t0k")?;
//! assert_eq!(endpoint.to_string(), "https://***@telemetry.example.com/v1/batch?token=***");
//! assert_eq!(endpoint.as_str(), "https://loader:Xy;9@telemetry.example.com/v1/batch?token=t0k");
//!
//! let redactor = Redactor::new([write_key.expose()]);
//! let line = "sent with wk-0123456789 to postgresql://loader:it's9@db/dlt";
//! assert_eq!(redactor.redact(line, MASK), "sent with *** to postgresql://***@db/dlt");
//! # Ok::<(), dlt_redact::UrlError>(())
//! ```

mod credentials;
mod http_url;
mod secret;
mod text;

pub use credentials::{connection_string_passwords, url_credentials};
pub use http_url::{HttpUrl, UrlError, display_url, parse_url};
pub use secret::Secret;
pub use text::{Redactor, hide_url_credentials};

/// What replaces a secret when it is shown.
pub const MASK: &str = "***";

// The README's example runs as a doctest, so the crate's page on crates.io cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
