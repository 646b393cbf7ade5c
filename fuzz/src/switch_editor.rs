//! The telemetry switch writer: any bytes as the project `config.toml`, switched off, then on.
//! Never a panic; a refusal leaves the file as it was; a switch that succeeds leaves a file that
//! parses, keeps every comment line and every key but `runtime.dlthub_telemetry`, and
//! `Config::load_at` reads the new value back.

use std::ffi::OsString;
use std::ops::Range;
use std::sync::OnceLock;

use dlt_config::{Config, ConfigError, Environment, FileError, Locations, SwitchLock, set_telemetry};

use crate::toml_tree::Plain;

const BOM: &str = "\u{feff}";

struct Sandbox {
    env: Environment,
    locations: Locations,
}

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let dir = crate::sandbox_dir("switch_editor");
        let env = Environment::from_pairs([
            ("DLT_PROJECT_DIR", OsString::from(dir.join("project"))),
            ("DLT_GLOBAL_DIR", OsString::from(dir.join("global"))),
        ]);
        let locations = Locations::resolve(&env).expect("explicit dirs resolve");
        std::fs::create_dir_all(&locations.settings_dir).expect("settings dir");
        Sandbox { env, locations }
    })
}

/// Switches a project `config.toml` holding `data` off, then on.
pub fn check(data: &[u8]) {
    let sandbox = sandbox();
    let project = sandbox.locations.project_config_toml();
    crate::remove_file(&sandbox.locations.global_config_toml());
    std::fs::write(&project, data).expect("the sandbox is writable");

    for enabled in [false, true] {
        let before = std::fs::read(&project).expect("the project file stays");
        let switched =
            SwitchLock::acquire(&sandbox.locations).and_then(|lock| set_telemetry(&lock, &sandbox.locations, enabled));
        let after = std::fs::read(&project).expect("the project file stays");
        match switched {
            Err(error) => {
                assert_eq!(after, before, "a refused switch changed the file ({error})");
                assert!(!error.to_string().is_empty());
                return;
            }
            Ok(report) => {
                let written = report.written.contains(&project);
                let unchanged = report.unchanged.contains(&project);
                if data.is_empty() {
                    assert!(after.is_empty() && !written && !unchanged, "an empty project file was edited");
                } else {
                    assert!(written != unchanged, "the project file is not in the report: {report:?}");
                    assert_eq!(unchanged, after == before, "the report says {report:?}");
                    check_edit(data, &after, enabled);
                }
                let global = std::fs::read_to_string(sandbox.locations.global_config_toml()).expect("global file");
                assert_eq!(global, format!("[runtime]\ndlthub_telemetry = {enabled}\n"));
                check_read_back(sandbox, enabled);
            }
        }
    }
}

/// What a successful switch of `original` to `enabled` must have left.
fn check_edit(original: &[u8], edited: &[u8], enabled: bool) {
    let original = std::str::from_utf8(original).expect("a switched file was UTF-8");
    let edited = std::str::from_utf8(edited).expect("a switched file stays UTF-8");
    assert_eq!(original.starts_with(BOM), edited.starts_with(BOM), "the byte order mark was not kept");
    let original = original.strip_prefix(BOM).unwrap_or(original);
    let edited = edited.strip_prefix(BOM).unwrap_or(edited);
    let before = toml_edit::Document::parse(original).expect("a switched file was TOML");
    let after = match toml_edit::Document::parse(edited) {
        Ok(after) => after,
        Err(error) => panic!("the switched file is not TOML: {error}\n{edited}"),
    };

    let value =
        after.get("runtime").and_then(|runtime| runtime.get("dlthub_telemetry")).and_then(|item| item.as_bool());
    assert_eq!(value, Some(enabled), "runtime.dlthub_telemetry not set:\n{edited}");

    let old_value =
        before.get("runtime").and_then(|runtime| runtime.get("dlthub_telemetry")).and_then(|item| item.span());
    let comments = comment_lines(original, old_value);
    for line in &comments {
        let kept = edited.split('\n').filter(|edited_line| edited_line.trim_end_matches('\r') == *line).count();
        let had = comments.iter().filter(|comment| *comment == line).count();
        assert!(kept >= had, "comment line {line:?} lost:\n--- before\n{original}\n--- after\n{edited}");
    }

    let kept = Plain::of_table(after.as_table()).without_telemetry_switch();
    let was = Plain::of_table(before.as_table()).without_telemetry_switch();
    assert_eq!(kept, was, "keys changed:\n--- before\n{original}\n--- after\n{edited}");
}

/// The comment lines of `text` (first non-blank character `#`), but those that are part of the
/// old value (a multi-line string holds lines that look like comments).
fn comment_lines(text: &str, old_value: Option<Range<usize>>) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    for line in text.split('\n') {
        let range = start..start + line.len();
        start = range.end + 1;
        let inside_old_value = old_value.as_ref().is_some_and(|old| old.start < range.end + 1 && range.start < old.end);
        let line = line.trim_end_matches('\r');
        if line.trim_start().starts_with('#') && !inside_old_value {
            lines.push(line);
        }
    }
    lines
}

/// The loader agrees with the switch: the value is `enabled`, and a file the switch wrote is
/// never one the loader refuses.
fn check_read_back(sandbox: &Sandbox, enabled: bool) {
    match Config::load_at(sandbox.locations.clone(), sandbox.env.clone()) {
        Ok(config) => assert_eq!(config.runtime().dlthub_telemetry.value, enabled),
        Err(ConfigError::InvalidValue { key, .. }) => {
            assert_ne!(key, "runtime.dlthub_telemetry", "the loader does not accept the switched value")
        }
        Err(ConfigError::File(FileError::Refused { .. })) => {}
        Err(ConfigError::File(error)) => panic!("the loader cannot read what the switch wrote: {error}"),
        Err(_) => {}
    }
}
