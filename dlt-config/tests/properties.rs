//! Property tests of the config loader and the switch editor, the `config_loader` and
//! `switch_editor` fuzz targets' properties in seconds:
//! - a file of TOML-like text with a secret planted in it (or a secret in the environment):
//!   loading never panics, an error is one line, and neither an error nor a loaded
//!   configuration shows the secret;
//! - a project `config.toml` of such text, switched off then on: a refusal leaves it as it was;
//!   a switch that succeeds leaves a file that parses, keeps every comment line and every key
//!   but `runtime.dlthub_telemetry`, and the loader reads the new value back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[allow(dead_code, reason = "the helpers are shared with the other test files")]
mod common;

#[path = "support/toml_checks.rs"]
mod toml_checks;

use common::{Dirs, ODD_BYTES, write};
use dlt_config::{Config, SwitchLock, set_telemetry};
use proptest::prelude::*;
use toml_checks::{BOM, DSN, WRITE_KEY, check_edit, check_load, check_read_back, marker_outside_secrets};

// --- TOML-like text -------------------------------------------------------------------------

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "dlthub_telemetry",
            "runtime.dlthub_telemetry",
            "log_level",
            "runtime.log_level",
            "sentry_dsn",
            "telemetry_shutdown_timeout",
            "enable_runtime_trace",
            "pipelines.p.enable_runtime_trace",
            "\"quoted.key\"",
            "'lit'",
            "runtime",
        ])
        .prop_map(str::to_owned),
        "[a-z_]{1,8}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "true",
            "false",
            "\"true\"",
            "'no'",
            "1",
            "-0",
            "2.5",
            "1e9",
            "nan",
            "\"INFO\"",
            "[1, \"a\"]",
            "[]",
            "{ a = 1 }",
            "{}",
            "1979-05-27T07:32:00Z",
            "\"\"\"\n# not a comment\n\"\"\"",
            "'''\nx'''",
            "{ dlthub_telemetry = true }",
        ])
        .prop_map(str::to_owned),
        "\"[ -~&&[^\"\\\\]]{0,10}\"",
    ]
}

fn toml_line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (key(), value()).prop_map(|(key, value)| format!("{key} = {value}")),
        2 => prop::sample::select(vec![
            "[runtime]",
            "[runtime] # the runtime",
            "[runtime.sub]",
            "[[runtime]]",
            "[[sources.items]]",
            "[sources.x]",
            "[pipelines.p]",
            "runtime = { log_level = \"INFO\" }",
            "",
            "   ",
        ])
        .prop_map(str::to_owned),
        2 => "#[ -~]{0,12}".prop_map(|comment| comment),
        1 => "  # [ -~]{0,8}",
    ]
}

/// TOML-like text: lines of keys, tables and comments with LF or CRLF, maybe a byte order
/// mark, maybe no last line break, maybe an odd byte inserted.
fn toml_text() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::collection::vec(toml_line(), 0..10),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        proptest::option::weighted(0.2, (any::<prop::sample::Index>(), prop::sample::select(ODD_BYTES))),
    )
        .prop_map(|(lines, crlf, bom, last_break, odd)| {
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = lines.join(eol);
            if last_break && !text.is_empty() {
                text.push_str(eol);
            }
            if bom {
                text.insert_str(0, BOM);
            }
            let mut bytes = text.into_bytes();
            if let Some((at, byte)) = odd {
                bytes.insert(at.index(bytes.len() + 1), byte);
            }
            bytes
        })
}

// --- the config loader ----------------------------------------------------------------------

/// How the secret is written: the lines put in the file, or a variable.
fn plant() -> impl Strategy<Value = Result<String, (&'static str, String)>> {
    prop::sample::select(vec![
        Ok(format!("[runtime]\nsentry_dsn = \"{DSN}\"\n")),
        Ok(format!("runtime.sentry_dsn = '{DSN}'\n")),
        Ok(format!("[runtime]\ndlthub_telemetry_segment_write_key = \"\"\"\n{WRITE_KEY}\"\"\"\n")),
        Ok(format!("[runtime]\nsentry_dsn = {DSN}\n")),
        Ok(format!("[runtime]\nsentry_dsn = [\"{DSN}\", 1]\n")),
        Ok(format!("runtime = {{ dlthub_telemetry_segment_write_key = \"{WRITE_KEY}\" }}\n")),
        Err(("RUNTIME__SENTRY_DSN", DSN.to_owned())),
        Err(("RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY", format!("{WRITE_KEY}\n\u{1}\""))),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn loading_any_file_never_panics_or_shows_a_planted_secret(
        bytes in toml_text(),
        plant in plant(),
        file in 0usize..4,
        at in any::<prop::sample::Index>(),
    ) {
        let dirs = Dirs::new();
        let locations = dirs.locations();
        let files = [
            locations.project_config_toml(),
            locations.project_secrets_toml(),
            locations.global_config_toml(),
            locations.global_secrets_toml(),
        ];
        let (contents, variable) = match plant {
            Ok(lines) => {
                let cut = at.index(bytes.len() + 1);
                let mut contents = bytes[..cut].to_vec();
                contents.push(b'\n');
                contents.extend_from_slice(lines.as_bytes());
                contents.extend_from_slice(&bytes[cut..]);
                (contents, None)
            }
            Err((name, value)) => (bytes, Some((name, value))),
        };
        write(&files[file], &contents);
        let may_show = variable.is_none() && marker_outside_secrets(&contents);
        let extra: Vec<(&str, &str)> = variable.iter().map(|(name, value)| (*name, value.as_str())).collect();

        check_load(Config::load_at(locations, dirs.env(&extra)), may_show).map_err(TestCaseError::fail)?;
    }
}

// --- the switch editor ----------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn switching_any_file_keeps_its_comments_and_other_keys(bytes in toml_text()) {
        let dirs = Dirs::new();
        let locations = dirs.locations();
        let project = locations.project_config_toml();
        write(&project, &bytes);
        for enabled in [false, true] {
            let before = std::fs::read(&project).unwrap();
            let switched = SwitchLock::acquire(&locations).and_then(|lock| set_telemetry(&lock, &locations, enabled));
            let after = std::fs::read(&project).unwrap();
            let report = match switched {
                Ok(report) => report,
                Err(error) => {
                    prop_assert!(enabled, "switching off never fails for the project's file ({})", error);
                    prop_assert_eq!(&after, &before, "a refused switch changed the file ({})", error);
                    return Ok(());
                }
            };
            if let Some(not_switched) = &report.not_switched {
                prop_assert!(!enabled, "{:?}", report);
                prop_assert_eq!(&not_switched.path, &project);
                prop_assert_eq!(&after, &before, "a file the opt-out could not switch changed");
                let global = std::fs::read_to_string(locations.global_config_toml()).unwrap();
                prop_assert_eq!(global, "[runtime]\ndlthub_telemetry = false\n", "the global file is switched off all the same");
                return Ok(());
            }
            if bytes.is_empty() {
                let listed = report.written.contains(&project) || report.unchanged.contains(&project);
                prop_assert!(after.is_empty() && !listed, "an empty project file was edited: {:?}", report);
            } else {
                prop_assert_eq!(report.unchanged.contains(&project), after == before, "{:?}", report);
                check_edit(std::str::from_utf8(&bytes).unwrap(), &after, enabled).map_err(TestCaseError::fail)?;
            }
            let global = std::fs::read_to_string(locations.global_config_toml()).unwrap();
            prop_assert_eq!(global, format!("[runtime]\ndlthub_telemetry = {enabled}\n"));
            check_read_back(Config::load_at(locations.clone(), dirs.env(&[])), enabled).map_err(TestCaseError::fail)?;
        }
    }
}
