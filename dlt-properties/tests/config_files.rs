//! The `config_loader` and `switch_editor` properties over TOML-like text, in seconds:
//! - a file of such text with a secret planted in it (or a secret in the environment): loading
//!   never panics, an error is one line, and neither an error nor a loaded configuration shows
//!   the secret;
//! - a project `config.toml` of such text, switched off then on: a refusal leaves it as it was;
//!   a switch that succeeds leaves a file that parses, keeps every comment line and every key
//!   but `runtime.dlthub_telemetry`, and the loader reads the new value back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dlt_properties::config_loader::{self, LoadCase, PLANTS, plant};
use dlt_properties::switch_editor;
use proptest::prelude::*;

/// A byte order mark, which the switch must keep.
const BOM: &str = "\u{feff}";

/// Bytes that make TOML interesting: structure, quotes, booleans' letters, line ends, invalid UTF-8.
const ODD_BYTES: &[u8] = b"[]{}=\"'.,#\n\r\t \\01tfyn-+:eE_aZ\xff\xc3\x00";

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

/// A file of TOML-like text, one of the four files, with the secret planted at any byte of it
/// (or in the environment).
fn load_case() -> impl Strategy<Value = LoadCase> {
    (toml_text(), 0usize..4, 0..PLANTS, any::<prop::sample::Index>()).prop_map(|(bytes, file, form, at)| {
        let at = at.index(bytes.len() + 1);
        LoadCase { bytes, file, plant: plant(form), at }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn loading_any_file_never_panics_or_shows_a_planted_secret(case in load_case()) {
        let scratch = tempfile::tempdir().unwrap();
        config_loader::check(scratch.path(), &case).map_err(TestCaseError::fail)?;
    }

    #[test]
    fn switching_any_file_keeps_its_comments_and_other_keys(bytes in toml_text()) {
        let scratch = tempfile::tempdir().unwrap();
        switch_editor::check(scratch.path(), &bytes).map_err(TestCaseError::fail)?;
    }
}
