//! dlt's configuration: where the project and global `config.toml`/`secrets.toml` live, how they
//! are layered with the environment, which source decided each value, and the format-preserving
//! telemetry switch writer.
//!
//! - [`Environment`]: the snapshot of environment variables that everything here reads.
//! - [`Locations`]: the project, settings, global and data dirs (DESIGN.md §2); a temporary-dir
//!   fallback is created private, or used only when verified private on its handle. A project
//!   file that leads out of the project dir through a link is not the project's
//!   ([`OutsideProject`]): its settings are not used (but its opt-out is), and neither the
//!   switch nor [`init_project`] writes to it.
//! - [`Config`]: one loaded value: the environment it was read with, the [`Locations`], the
//!   layered configuration (environment > project `secrets.toml` > global `secrets.toml` >
//!   project `config.toml` > global `config.toml` > defaults), its typed [`RuntimeConfig`] and
//!   the `enable_runtime_trace` master switch, every value [`Sourced`]. For
//!   `runtime.dlthub_telemetry` opt-out wins: any `false` anywhere keeps telemetry off.
//!   [`Config::secrets_file_values`] lists every string of the two `secrets.toml` files, for
//!   hiding them wherever text is shown or sent.
//! - [`Secret`] and [`HttpUrl`] (from `dlt-redact`, the workspace's one rule for secrets): write
//!   keys, DSNs and URLs, never shown with their secret parts.
//! - [`set_telemetry`] under a [`SwitchLock`]: the switch behind `dlt --disable-telemetry` /
//!   `--enable-telemetry`; the lock is in the telemetry dir, reached through the file gate
//!   (`dlt_fs::PrivateDir`).
//! - [`init_project`]: the project's `config.toml` and `secrets.toml` of `dlt init`.
//!
//! Config files are read only when they are regular files of at most 1 MiB.
//!
//! ```
//! use std::ffi::OsStr;
//! use dlt_config::{Config, Environment, Locations, LogLevel, SwitchLock, set_telemetry};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let project = tempfile::tempdir()?;
//! let global = tempfile::tempdir()?;
//! let env = Environment::from_pairs([
//!     ("DLT_PROJECT_DIR", project.path().as_os_str()),
//!     ("DLT_GLOBAL_DIR", global.path().as_os_str()),
//!     ("RUNTIME__LOG_LEVEL", OsStr::new("INFO")),
//! ]);
//! let locations = Locations::resolve(&env)?;
//!
//! set_telemetry(&SwitchLock::acquire(&locations)?, &locations, false)?;
//!
//! let config = Config::load(env)?;
//! let telemetry = &config.runtime().dlthub_telemetry;
//! assert!(!telemetry.value);
//! assert_eq!(telemetry.source.to_string(), locations.global_config_toml().display().to_string());
//! assert_eq!(config.runtime().log_level.value, LogLevel::Info);
//! assert_eq!(config.runtime().log_level.source.to_string(), "RUNTIME__LOG_LEVEL (environment)");
//! assert!(config.enable_runtime_trace(Some("my_pipeline"))?.value);
//! # Ok(())
//! # }
//! ```

mod coerce;
mod config;
mod edit;
mod environment;
mod init;
mod locations;
mod log_level;
mod source;
mod switch;
mod toml_file;

pub use config::{
    Config, ConfigError, DEFAULT_SENTRY_TRACES_SAMPLE_RATE, DEFAULT_SHUTDOWN_TIMEOUT, DEFAULT_TELEMETRY_ENDPOINT,
    DO_NOT_TRACK_VARIABLE, RuntimeConfig,
};
pub use dlt_redact::{HttpUrl, Secret};
pub use edit::EditError;
pub use environment::Environment;
pub use init::{InitError, InitReport, init_project};
pub use locations::{
    CONFIG_FOLDER_VARIABLE, DATA_DIR_VARIABLE, DEFAULT_CONFIG_FOLDER, GLOBAL_DIR_VARIABLE, Locations, LocationsError,
    OutsideProject, PROJECT_DIR_VARIABLE, ROOT_GLOBAL_DIR,
};
pub use log_level::LogLevel;
pub use source::{FileKind, Scope, Source, Sourced, Trust};
pub use switch::{NotSwitched, SwitchError, SwitchLock, SwitchReport, set_telemetry};
pub use toml_file::{FileError, MAX_CONFIG_FILE_BYTES};

// The README's example runs as a doctest, so the crate's page on crates.io cannot go stale.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
