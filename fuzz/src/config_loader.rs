//! The config loader: any bytes as one of the four files, with a secret planted in that file or
//! in the environment. Loading never panics, and neither an error nor a loaded configuration
//! (its `Debug`, the master switch's answer) shows the secret.
//!
//! Input: one control byte, then the file's bytes. The control byte picks how the secret is
//! written (bits 0-2), which file holds the bytes (bits 3-4) and where in them the secret's
//! lines go (bits 5-7: before, after, or at a line break part-way through).

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::OnceLock;

use dlt_config::{Config, Environment, Locations};

use crate::toml_checks::{DSN, MARKER, WRITE_KEY, check_load, marker_outside_secrets};

/// The secret, as the control byte writes it: in a file (the lines to insert) or in a variable.
enum Plant {
    File(String),
    Variable(&'static str, String),
}

fn plant(form: u8) -> Plant {
    match form & 0b111 {
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

struct Sandbox {
    project: PathBuf,
    global: PathBuf,
    locations: Locations,
}

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let dir = crate::sandbox_dir("config_loader");
        let (project, global) = (dir.join("project"), dir.join("global"));
        let env = environment(&project, &global, None);
        let locations = Locations::resolve(&env).expect("explicit dirs resolve");
        std::fs::create_dir_all(&locations.settings_dir).expect("settings dir");
        std::fs::create_dir_all(&locations.global_dir).expect("global dir");
        Sandbox { project, global, locations }
    })
}

fn environment(project: &std::path::Path, global: &std::path::Path, extra: Option<(&str, &str)>) -> Environment {
    let mut pairs: Vec<(String, OsString)> =
        vec![("DLT_PROJECT_DIR".into(), project.into()), ("DLT_GLOBAL_DIR".into(), global.into())];
    pairs.extend(extra.map(|(name, value)| (name.to_owned(), OsString::from(value))));
    Environment::from_pairs(pairs)
}

/// The file's bytes with the planted lines inserted where `at` (0-7) says.
fn with_plant(bytes: &[u8], lines: &str, at: u8) -> Vec<u8> {
    let cut = match at {
        0 => 0,
        1 => bytes.len(),
        part => {
            let from = bytes.len() * usize::from(part - 1) / 7;
            bytes[from..].iter().position(|&byte| byte == b'\n').map_or(bytes.len(), |newline| from + newline + 1)
        }
    };
    let mut out = bytes[..cut].to_vec();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    out.extend_from_slice(lines.as_bytes());
    out.extend_from_slice(&bytes[cut..]);
    out
}

/// Loads a configuration made of `data` (see the module's docs for the layout).
pub fn check(data: &[u8]) {
    let Some((&control, bytes)) = data.split_first() else { return };
    if bytes.windows(MARKER.len()).any(|window| window == MARKER.as_bytes()) {
        return;
    }
    let sandbox = sandbox();
    let files = [
        sandbox.locations.project_config_toml(),
        sandbox.locations.project_secrets_toml(),
        sandbox.locations.global_config_toml(),
        sandbox.locations.global_secrets_toml(),
    ];
    files.iter().for_each(|file| crate::remove_file(file));
    let (contents, variable) = match plant(control) {
        Plant::File(lines) => (with_plant(bytes, &lines, control >> 5), None),
        Plant::Variable(name, value) => (bytes.to_vec(), Some((name, value))),
    };
    let file = &files[usize::from((control >> 3) & 0b11)];
    std::fs::write(file, &contents).expect("the sandbox is writable");
    let may_show = variable.is_none() && marker_outside_secrets(&contents);

    let env =
        environment(&sandbox.project, &sandbox.global, variable.as_ref().map(|(name, value)| (*name, value.as_str())));
    if let Err(failure) = check_load(Config::load_at(sandbox.locations.clone(), env), may_show) {
        panic!("{failure}");
    }
}
