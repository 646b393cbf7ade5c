//! What the config loader and the switch editor must do with a TOML file, shared by
//! [`crate::config_loader`] and [`crate::switch_editor`]: each check returns what is wrong.

use std::collections::BTreeMap;
use std::ops::Range;

use dlt_config::{Config, ConfigError, FileError};
use toml_edit::{Document, Item, Table, Value};

/// The part of every planted secret that must never come out.
pub(crate) const MARKER: &str = "Pl4nt3dS3cr3t";
/// A Sentry DSN with the marker as its key.
pub(crate) const DSN: &str = "https://f1e2d3Pl4nt3dS3cr3t@o1.ingest.example/42";
/// A Segment write key with the marker in it.
pub(crate) const WRITE_KEY: &str = "wk-Pl4nt3dS3cr3t-0123";
/// The keys under `runtime` whose values are secrets.
const SECRET_KEYS: [&str; 2] = ["sentry_dsn", "dlthub_telemetry_segment_write_key"];
const BOM: &str = "\u{feff}";

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

    /// Without `runtime.dlthub_telemetry`, and without `runtime` when nothing else is in it:
    /// what a switch must keep.
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

    /// Every key and string, each with the path of keys that leads to it (a key's path ends
    /// with the key itself).
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

/// Whether a file puts the marker anywhere but under a secret key: then showing it is no leak
/// (the input wrote it into, say, `runtime.log_level`). A file that is not TOML must be
/// reported without quoting any of it.
pub(crate) fn marker_outside_secrets(file: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(file) else { return false };
    let Ok(document) = Document::parse(text.strip_prefix(BOM).unwrap_or(text)) else { return false };
    let mut texts = Vec::new();
    Plain::of_table(document.as_table()).texts(&mut Vec::new(), &mut texts);
    texts.iter().any(|(path, text)| {
        let under_secret = path.len() >= 2 && path[0] == "runtime" && SECRET_KEYS.contains(&path[1].as_str());
        text.contains(MARKER) && !under_secret
    })
}

/// What loading showed (errors and `Debug` of what loaded) must not hold the marker, unless
/// the file put it outside the secrets; an error is one line.
pub(crate) fn check_load(loaded: Result<Config, ConfigError>, may_show: bool) -> Result<(), String> {
    let shown = match loaded {
        Ok(config) => {
            let trace = match config.enable_runtime_trace(Some("p")) {
                Ok(value) => format!("{value:?}"),
                Err(error) => format!("{error} {error:?}"),
            };
            format!("{config:?} {:?} {trace}", config.runtime())
        }
        Err(error) => {
            let message = error.to_string();
            if message.is_empty() || message.contains('\n') {
                return Err(format!("an error that is not one line: {message:?}"));
            }
            format!("{message} {error:?}")
        }
    };
    if !may_show && shown.contains(MARKER) {
        return Err(format!("the planted secret is shown: {shown}"));
    }
    Ok(())
}

/// The comment lines of `text` (first non-blank character `#`), but those inside the old value
/// (a multi-line string holds lines that look like comments).
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

/// What a successful switch of `original` to `enabled` must have left in `edited`: the byte
/// order mark as it was, TOML, the value set, every comment line and every other key.
pub(crate) fn check_edit(original: &str, edited: &[u8], enabled: bool) -> Result<(), String> {
    let edited = std::str::from_utf8(edited).map_err(|_| "the switched file is not UTF-8".to_owned())?;
    if original.starts_with(BOM) != edited.starts_with(BOM) {
        return Err("the byte order mark was not kept".into());
    }
    let original = original.strip_prefix(BOM).unwrap_or(original);
    let edited = edited.strip_prefix(BOM).unwrap_or(edited);
    let before = Document::parse(original).map_err(|error| format!("a switched file was not TOML: {error}"))?;
    let after = Document::parse(edited).map_err(|error| format!("the switched file is not TOML: {error}\n{edited}"))?;

    let value = after.get("runtime").and_then(|runtime| runtime.get("dlthub_telemetry")).and_then(Item::as_bool);
    if value != Some(enabled) {
        return Err(format!("runtime.dlthub_telemetry is not {enabled}:\n{edited}"));
    }
    let old_value = before.get("runtime").and_then(|runtime| runtime.get("dlthub_telemetry")).and_then(Item::span);
    let comments = comment_lines(original, old_value);
    for line in &comments {
        let kept = edited.split('\n').filter(|other| other.trim_end_matches('\r') == *line).count();
        let had = comments.iter().filter(|comment| *comment == line).count();
        if kept < had {
            return Err(format!("comment line {line:?} lost:\n--- before\n{original}\n--- after\n{edited}"));
        }
    }
    if Plain::of_table(after.as_table()).without_telemetry_switch()
        != Plain::of_table(before.as_table()).without_telemetry_switch()
    {
        return Err(format!("keys changed:\n--- before\n{original}\n--- after\n{edited}"));
    }
    Ok(())
}

/// The loader agrees with the switch: it reads `enabled`, and a file the switch wrote is never
/// one it cannot read (a file it refuses for its size or kind is not the switch's doing).
pub(crate) fn check_read_back(loaded: Result<Config, ConfigError>, enabled: bool) -> Result<(), String> {
    match loaded {
        Ok(config) if config.runtime().dlthub_telemetry.value != enabled => {
            Err(format!("the loader reads {} after a switch to {enabled}", config.runtime().dlthub_telemetry.value))
        }
        Err(ConfigError::InvalidValue { key, .. }) if key == "runtime.dlthub_telemetry" => {
            Err("the loader does not accept the switched value".into())
        }
        Err(ConfigError::File(FileError::Refused { .. })) => Ok(()),
        Err(ConfigError::File(error)) => Err(format!("the loader cannot read what the switch wrote: {error}")),
        _ => Ok(()),
    }
}
