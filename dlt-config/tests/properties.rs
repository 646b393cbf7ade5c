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

use std::collections::BTreeMap;
use std::ops::Range;

use common::{Dirs, ODD_BYTES, write};
use dlt_config::{Config, ConfigError, FileError, SwitchLock, set_telemetry};
use proptest::prelude::*;
use toml_edit::{Document, Item, Table, Value};

/// The part of every planted secret that must never come out.
const MARKER: &str = "Pl4nt3dS3cr3t";
const DSN: &str = "https://f1e2d3Pl4nt3dS3cr3t@o1.ingest.example/42";
const WRITE_KEY: &str = "wk-Pl4nt3dS3cr3t-0123";
const SECRET_KEYS: [&str; 2] = ["sentry_dsn", "dlthub_telemetry_segment_write_key"];
const BOM: &str = "\u{feff}";

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

// --- meaning of a document ------------------------------------------------------------------

/// What a TOML value means: tables and inline tables alike, floats by their bits.
#[derive(Debug, Clone, PartialEq)]
enum Plain {
    String(String),
    Integer(i64),
    Float(u64),
    Boolean(bool),
    Datetime(String),
    Array(Vec<Plain>),
    Table(BTreeMap<String, Plain>),
}

impl Plain {
    fn of_table(table: &Table) -> Self {
        Self::Table(
            table.iter().filter_map(|(key, item)| Self::of_item(item).map(|plain| (key.to_owned(), plain))).collect(),
        )
    }

    fn of_item(item: &Item) -> Option<Self> {
        match item {
            Item::None => None,
            Item::Value(value) => Some(Self::of_value(value)),
            Item::Table(table) => Some(Self::of_table(table)),
            Item::ArrayOfTables(tables) => Some(Self::Array(tables.iter().map(Self::of_table).collect())),
        }
    }

    fn of_value(value: &Value) -> Self {
        match value {
            Value::String(text) => Self::String(text.value().clone()),
            Value::Integer(number) => Self::Integer(*number.value()),
            Value::Float(number) => Self::Float(number.value().to_bits()),
            Value::Boolean(flag) => Self::Boolean(*flag.value()),
            Value::Datetime(datetime) => Self::Datetime(datetime.value().to_string()),
            Value::Array(array) => Self::Array(array.iter().map(Self::of_value).collect()),
            Value::InlineTable(table) => {
                Self::Table(table.iter().map(|(key, value)| (key.to_owned(), Self::of_value(value))).collect())
            }
        }
    }

    /// Without `runtime.dlthub_telemetry`, and without `runtime` when nothing else is in it.
    fn without_telemetry_switch(mut self) -> Self {
        if let Self::Table(root) = &mut self
            && let Some(Self::Table(runtime)) = root.get_mut("runtime")
        {
            runtime.remove("dlthub_telemetry");
            if runtime.is_empty() {
                root.remove("runtime");
            }
        }
        self
    }

    /// Every key and string, each with the path of keys that leads to it.
    fn texts(&self, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
        match self {
            Self::String(text) | Self::Datetime(text) => out.push((path.clone(), text.clone())),
            Self::Array(items) => items.iter().for_each(|item| item.texts(path, out)),
            Self::Table(table) => {
                for (key, value) in table {
                    path.push(key.clone());
                    out.push((path.clone(), key.clone()));
                    value.texts(path, out);
                    path.pop();
                }
            }
            Self::Integer(_) | Self::Float(_) | Self::Boolean(_) => {}
        }
    }
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

/// Whether the file puts the marker anywhere but under a secret key (then showing it is no leak).
fn marker_outside_secrets(file: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(file) else { return false };
    let Ok(document) = Document::parse(text.strip_prefix(BOM).unwrap_or(text)) else { return false };
    let mut texts = Vec::new();
    Plain::of_table(document.as_table()).texts(&mut Vec::new(), &mut texts);
    texts.iter().any(|(path, text)| {
        let under_secret = path.len() >= 2 && path[0] == "runtime" && SECRET_KEYS.contains(&path[1].as_str());
        text.contains(MARKER) && !under_secret
    })
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

        let shown = match Config::load_at(locations, dirs.env(&extra)) {
            Ok(config) => {
                let trace = match config.enable_runtime_trace(Some("p")) {
                    Ok(value) => format!("{value:?}"),
                    Err(error) => format!("{error} {error:?}"),
                };
                format!("{config:?} {:?} {trace}", config.runtime())
            }
            Err(error) => {
                let message = error.to_string();
                prop_assert!(!message.is_empty() && !message.contains('\n'), "not one line: {:?}", message);
                format!("{message} {error:?}")
            }
        };
        if !may_show {
            prop_assert!(!shown.contains(MARKER), "the planted secret is shown: {}", shown);
        }
    }
}

// --- the switch editor ----------------------------------------------------------------------

/// The comment lines of `text`, but those inside the old value (a multi-line string).
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

/// What a successful switch of `original` to `enabled` must have left.
fn check_edit(original: &str, edited: &[u8], enabled: bool) -> Result<(), TestCaseError> {
    let edited = std::str::from_utf8(edited).unwrap();
    prop_assert_eq!(original.starts_with(BOM), edited.starts_with(BOM));
    let original = original.strip_prefix(BOM).unwrap_or(original);
    let edited = edited.strip_prefix(BOM).unwrap_or(edited);
    let before = Document::parse(original).unwrap();
    let after = Document::parse(edited)
        .map_err(|error| TestCaseError::fail(format!("the switched file is not TOML: {error}\n{edited}")))?;

    let value = after.get("runtime").and_then(|runtime| runtime.get("dlthub_telemetry")).and_then(Item::as_bool);
    prop_assert_eq!(value, Some(enabled), "{}", edited);

    let old_value = before.get("runtime").and_then(|runtime| runtime.get("dlthub_telemetry")).and_then(Item::span);
    let comments = comment_lines(original, old_value);
    for line in &comments {
        let kept = edited.split('\n').filter(|other| other.trim_end_matches('\r') == *line).count();
        let had = comments.iter().filter(|comment| *comment == line).count();
        prop_assert!(kept >= had, "comment {:?} lost:\n{}\n---\n{}", line, original, edited);
    }
    prop_assert_eq!(
        Plain::of_table(after.as_table()).without_telemetry_switch(),
        Plain::of_table(before.as_table()).without_telemetry_switch(),
        "keys changed:\n{}\n---\n{}",
        original,
        edited
    );
    Ok(())
}

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
                    prop_assert_eq!(&after, &before, "a refused switch changed the file ({})", error);
                    return Ok(());
                }
            };
            if bytes.is_empty() {
                let listed = report.written.contains(&project) || report.unchanged.contains(&project);
                prop_assert!(after.is_empty() && !listed, "an empty project file was edited: {:?}", report);
            } else {
                prop_assert_eq!(report.unchanged.contains(&project), after == before, "{:?}", report);
                check_edit(std::str::from_utf8(&bytes).unwrap(), &after, enabled)?;
            }
            let global = std::fs::read_to_string(locations.global_config_toml()).unwrap();
            prop_assert_eq!(global, format!("[runtime]\ndlthub_telemetry = {enabled}\n"));
            match Config::load_at(locations.clone(), dirs.env(&[])) {
                Ok(config) => prop_assert_eq!(config.runtime().dlthub_telemetry.value, enabled),
                Err(ConfigError::InvalidValue { key, .. }) => prop_assert_ne!(key, "runtime.dlthub_telemetry"),
                Err(ConfigError::File(error @ (FileError::Malformed { .. } | FileError::NotUtf8 { .. }))) => {
                    return Err(TestCaseError::fail(format!("the loader cannot read what the switch wrote: {error}")));
                }
                Err(_) => {}
            }
        }
    }
}
