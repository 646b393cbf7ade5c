//! The properties behind the fuzz targets, one module per target. Each `check` takes the
//! fuzzer's bytes, drives the crates through their public API only, and panics when a property
//! does not hold (libFuzzer then saves the input under `fuzz/artifacts/<target>/`).
//!
//! - [`config_loader`]: a config or secrets file of any bytes, with a secret planted in it:
//!   loading never panics and nothing it returns shows the secret.
//! - [`switch_editor`]: a project `config.toml` of any bytes, switched off and on: never a
//!   panic, and a successful switch keeps every comment line and every other key.
//! - [`outbox_reader`]: an `outbox-0.jsonl` of any bytes, inspected and appended to: never a
//!   panic, and the file afterwards holds the new message once, whole, and otherwise only
//!   lines of the old file.
//! - [`text_scrubber`]: any text with a URL password in it: the password never comes out.
//! - [`message_parsing`]: any bytes as a telemetry message: a message that parses survives a
//!   round trip.
//!
//! The targets that touch files work in a folder under the temporary dir, one per process;
//! `cargo xtask fuzz` points `TMPDIR` at a folder it removes afterwards.

pub mod config_loader;
pub mod message_parsing;
pub mod outbox_reader;
pub mod switch_editor;
pub mod text_scrubber;
// The checks are shared with the property tests of dlt-config and dlt-redact.
#[path = "../../dlt-redact/tests/support/embedded_password.rs"]
mod embedded_password;
#[path = "../../dlt-config/tests/support/toml_checks.rs"]
mod toml_checks;

use std::path::{Path, PathBuf};

/// A fresh folder for this process and target under the temporary dir.
fn sandbox_dir(target: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dlt-fuzz-{target}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the temporary dir is writable");
    dir
}

/// Removes a file, whether or not it is there.
fn remove_file(path: &Path) {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            panic!("cannot remove {}: {error}", path.display())
        }
        _ => {}
    }
}
