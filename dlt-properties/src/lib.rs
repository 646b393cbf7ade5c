//! The properties that fuzzing and the property tests check, each written once.
//!
//! A fuzz target is a [`Target`]: its name (the folder of its seeds, `fuzz/seeds/<name>/`, and
//! the name of its libFuzzer binary in `fuzz/`) and its entry point, which takes any bytes,
//! drives the crates through their public API only and says what is wrong when a property does
//! not hold. The property tests (this crate's `tests/`) draw typed cases and call the same
//! checks; `tests/seeds.rs` replays every committed seed through its target's entry point, so
//! CI runs what the fuzzer starts from on every build.
//!
//! - [`config_loader`]: a config or secrets file of any bytes, with a secret planted in it or
//!   in the environment: loading never panics and nothing it returns shows the secret.
//! - [`switch_editor`]: a project `config.toml` of any bytes, switched off and on: never a
//!   panic, a refusal leaves the file as it was, and a successful switch keeps every comment
//!   line and every other key.
//! - [`outbox_reader`]: an `outbox-0.jsonl` of any bytes, inspected and appended to: never a
//!   panic, and the file afterwards holds the new message once, whole, and otherwise only
//!   lines of the old file.
//! - [`text_scrubber`]: any text with a URL password in it: the password never comes out.
//! - [`message_parsing`]: any bytes as a telemetry message: a message that parses survives a
//!   round trip.
//!
//! A libFuzzer binary is one line:
//!
//! ```no_run
//! // fuzz/fuzz_targets/switch_editor.rs, inside libfuzzer_sys::fuzz_target!(|data: &[u8]| ...)
//! # let data: &[u8] = b"";
//! dlt_properties::fuzz(&dlt_properties::SWITCH_EDITOR, data);
//! ```

pub mod config_loader;
pub mod message_parsing;
pub mod outbox_reader;
pub mod switch_editor;
pub mod text_scrubber;
mod toml_checks;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A fuzz target: the name of its seed folder and libFuzzer binary, and its entry point.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    /// `fuzz/seeds/<name>/` holds its seeds; `fuzz/` builds a binary of this name.
    pub name: &'static str,
    /// Checks one input, working in `scratch` (a folder of its own the target may fill and
    /// reuse between inputs): what is wrong when a property does not hold.
    pub check: fn(scratch: &Path, data: &[u8]) -> Result<(), String>,
}

/// See [`config_loader`].
pub const CONFIG_LOADER: Target = Target { name: "config_loader", check: config_loader::check_input };
/// See [`switch_editor`].
pub const SWITCH_EDITOR: Target = Target { name: "switch_editor", check: switch_editor::check_input };
/// See [`outbox_reader`].
pub const OUTBOX_READER: Target = Target { name: "outbox_reader", check: outbox_reader::check_input };
/// See [`text_scrubber`].
pub const TEXT_SCRUBBER: Target = Target { name: "text_scrubber", check: text_scrubber::check_input };
/// See [`message_parsing`].
pub const MESSAGE_PARSING: Target = Target { name: "message_parsing", check: message_parsing::check_input };

/// Every fuzz target.
pub const TARGETS: [Target; 5] = [CONFIG_LOADER, SWITCH_EDITOR, OUTBOX_READER, TEXT_SCRUBBER, MESSAGE_PARSING];

/// What a libFuzzer binary calls with each input: the target's check, working in a folder of
/// this process under the temporary dir (`cargo xtask fuzz` points `TMPDIR` at a folder it
/// removes afterwards). Panics with what is wrong, which makes libFuzzer save the input.
pub fn fuzz(target: &Target, data: &[u8]) {
    static SCRATCH: OnceLock<PathBuf> = OnceLock::new();
    let scratch = SCRATCH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("dlt-fuzz-{}-{}", target.name, std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    });
    if let Err(failure) = (target.check)(scratch, data) {
        panic!("{}: {failure}", target.name);
    }
}

/// Creates `dir` (and its parents) if missing.
fn create_dir(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|error| format!("cannot create {}: {error}", dir.display()))
}

/// Writes `contents` to `path`.
fn write(path: &Path, contents: &[u8]) -> Result<(), String> {
    std::fs::write(path, contents).map_err(|error| format!("cannot write {}: {error}", path.display()))
}

/// Reads `path`.
fn read(path: &Path) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|error| format!("cannot read {}: {error}", path.display()))
}

/// Removes a file, whether or not it is there.
fn remove_file(path: &Path) -> Result<(), String> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
            Err(format!("cannot remove {}: {error}", path.display()))
        }
        _ => Ok(()),
    }
}
