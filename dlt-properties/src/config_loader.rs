//! The config loader: any bytes as one of the four files, with a secret planted in that file or
//! in the environment. Loading never panics, an error is one line, and neither an error nor a
//! loaded configuration (its `Debug`, the master switch's answer) shows the secret, unless the
//! file itself put it outside the secret keys.
//!
//! Fuzz input: one control byte, then the file's bytes. The control byte picks how the secret is
//! written (bits 0-2, [`plant`]), which file holds the bytes (bits 3-4) and where in them the
//! secret's lines go (bits 5-7: before, after, or at a line break part-way through).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use dlt_config::{Config, Environment, Locations};

use crate::toml_checks::{DSN, MARKER, WRITE_KEY, check_load, marker_outside_secrets};

/// How many ways of writing the secret [`plant`] knows.
pub const PLANTS: u8 = 8;

/// The secret, as it is written: lines put in the file, or a variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plant {
    /// These lines go in the file.
    File(String),
    /// This variable is set (its name and value); the file holds only the case's bytes.
    Variable(&'static str, String),
}

/// Way `form` (taken modulo [`PLANTS`]) of writing the secret: as TOML of several shapes, as
/// text that is not TOML, as a value of the wrong type, or in the environment.
pub fn plant(form: u8) -> Plant {
    match form % PLANTS {
        0 => Plant::File(format!("[runtime]\nsentry_dsn = \"{DSN}\"\n")),
        1 => Plant::File(format!("runtime.sentry_dsn = '{DSN}'\n")),
        2 => Plant::File(format!("[runtime]\ndlthub_telemetry_segment_write_key = \"\"\"\n{WRITE_KEY}\"\"\"\n")),
        // Not TOML: the parser's message must not quote it.
        3 => Plant::File(format!("[runtime]\nsentry_dsn = {DSN}\n")),
        // The wrong type: the value error must not show it.
        4 => Plant::File(format!("[runtime]\nsentry_dsn = [\"{DSN}\", 1]\n")),
        5 => Plant::File(format!("runtime = {{ dlthub_telemetry_segment_write_key = \"{WRITE_KEY}\" }}\n")),
        6 => Plant::Variable("RUNTIME__SENTRY_DSN", DSN.to_owned()),
        _ => Plant::Variable("RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY", format!("{WRITE_KEY}\n\u{1}\"")),
    }
}

/// One case: a file's bytes, which of the four files they are, and the secret put in them (at
/// byte `at`, on lines of their own) or in the environment.
#[derive(Clone, Debug)]
pub struct LoadCase {
    /// The file's bytes, before the secret is put in.
    pub bytes: Vec<u8>,
    /// Which file: 0 the project `config.toml`, 1 the project `secrets.toml`, 2 the global
    /// `config.toml`, 3 the global `secrets.toml` (taken modulo 4).
    pub file: usize,
    /// How the secret is written.
    pub plant: Plant,
    /// Where a planted line goes: at this byte of `bytes` (the end when beyond it), after a
    /// line break added when the bytes before do not end with one.
    pub at: usize,
}

/// Loads the configuration of `case` in a project and global dir under `scratch`.
pub fn check(scratch: &Path, case: &LoadCase) -> Result<(), String> {
    let (project, global) = (scratch.join("project"), scratch.join("global"));
    let locations = Locations::resolve(&environment(&project, &global, None))
        .map_err(|error| format!("the scratch dirs do not resolve: {error}"))?;
    crate::create_dir(&locations.settings_dir)?;
    crate::create_dir(&locations.global_dir)?;
    let files = [
        locations.project_config_toml(),
        locations.project_secrets_toml(),
        locations.global_config_toml(),
        locations.global_secrets_toml(),
    ];
    for file in &files {
        crate::remove_file(file)?;
    }
    let (contents, variable) = match &case.plant {
        Plant::File(lines) => (with_lines(&case.bytes, lines, case.at), None),
        Plant::Variable(name, value) => (case.bytes.clone(), Some((*name, value.as_str()))),
    };
    crate::write(&files[case.file % files.len()], &contents)?;
    let may_show = variable.is_none() && marker_outside_secrets(&contents);
    check_load(Config::load_at(locations, environment(&project, &global, variable)), may_show)
}

/// The fuzz target's entry point: see the module's docs for the input.
pub fn check_input(scratch: &Path, data: &[u8]) -> Result<(), String> {
    let Some((&control, bytes)) = data.split_first() else { return Ok(()) };
    // The input may write the marker itself; then nothing tells a leak from its own text.
    if bytes.windows(MARKER.len()).any(|window| window == MARKER.as_bytes()) {
        return Ok(());
    }
    let case = LoadCase {
        bytes: bytes.to_vec(),
        file: usize::from((control >> 3) & 0b11),
        plant: plant(control),
        at: line_break(bytes, control >> 5),
    };
    check(&scratch.join("config_loader"), &case)
}

/// A place between lines of `bytes` picked by `pick` (0-7): the start, the end, or the first
/// line break after a point part-way through.
fn line_break(bytes: &[u8], pick: u8) -> usize {
    match pick {
        0 => 0,
        1 => bytes.len(),
        part => {
            let from = bytes.len() * usize::from(part - 1) / 7;
            bytes[from..].iter().position(|&byte| byte == b'\n').map_or(bytes.len(), |newline| from + newline + 1)
        }
    }
}

/// `bytes` with `lines` put at byte `at`, on lines of their own.
fn with_lines(bytes: &[u8], lines: &str, at: usize) -> Vec<u8> {
    let cut = at.min(bytes.len());
    let mut out = bytes[..cut].to_vec();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(lines.as_bytes());
    out.extend_from_slice(&bytes[cut..]);
    out
}

fn environment(project: &Path, global: &Path, extra: Option<(&str, &str)>) -> Environment {
    let mut pairs: Vec<(String, OsString)> = vec![
        ("DLT_PROJECT_DIR".into(), PathBuf::from(project).into()),
        ("DLT_GLOBAL_DIR".into(), PathBuf::from(global).into()),
    ];
    pairs.extend(extra.map(|(name, value)| (name.to_owned(), OsString::from(value))));
    Environment::from_pairs(pairs)
}
