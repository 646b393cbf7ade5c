//! Reading one TOML file: errors that name the file, line and column, and the file's contents
//! as a figment provider that remembers which file it was.

use std::io;
use std::path::{Path, PathBuf};

use figment::value::{Dict, Map, Value};
use figment::{Metadata, Profile, Provider};
use toml_edit::{Document, Item, Table};

use crate::source::{FileKind, Scope, Source};

/// The largest config or secrets file read: anything larger is not a hand-written TOML file.
pub const MAX_CONFIG_FILE_BYTES: u64 = 1024 * 1024;

/// A TOML file that could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file exists but could not be read (permissions, I/O).
    #[error("cannot read {}: {source}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The OS reason.
        source: io::Error,
    },
    /// Something other than a regular file is there (a folder, a FIFO, a device), or it is
    /// larger than [`MAX_CONFIG_FILE_BYTES`]; nothing of it was read.
    #[error("{} {reason}", path.display())]
    Refused {
        /// The file.
        path: PathBuf,
        /// What is wrong, e.g. `is a named pipe (FIFO), not a regular file`.
        reason: dlt_fs::ReadError,
    },
    /// The file is not UTF-8 text.
    #[error("{}:{line}:{column}: not valid UTF-8 text", path.display())]
    NotUtf8 {
        /// The file.
        path: PathBuf,
        /// 1-based line of the first invalid byte.
        line: usize,
        /// 1-based column (in characters) of the first invalid byte.
        column: usize,
    },
    /// The file is not valid TOML. The offending text is not repeated: it may hold a secret.
    #[error("{}:{line}:{column}: invalid TOML: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column (in characters) of the error.
        column: usize,
        /// What the parser expected.
        message: String,
    },
}

/// A UTF-8 byte order mark, which some editors put first. dlt reads such files; so do we.
pub(crate) const BOM: &str = "\u{feff}";

/// The text of the file, or `None` when there is no such file. Only a regular file of at most
/// [`MAX_CONFIG_FILE_BYTES`] is read; a byte order mark is kept (see [`without_bom`]).
pub(crate) fn read_text(path: &Path) -> Result<Option<String>, FileError> {
    let bytes = match dlt_fs::read_regular_file(path, MAX_CONFIG_FILE_BYTES) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(None),
        Err(dlt_fs::ReadError::Io(source)) => return Err(FileError::Unreadable { path: path.to_owned(), source }),
        Err(reason) => return Err(FileError::Refused { path: path.to_owned(), reason }),
    };
    String::from_utf8(bytes).map(Some).map_err(|error| {
        let valid = &error.as_bytes()[..error.utf8_error().valid_up_to()];
        let (line, column) = line_and_column(&String::from_utf8_lossy(valid), valid.len());
        FileError::NotUtf8 { path: path.to_owned(), line, column }
    })
}

/// The text without a leading byte order mark, and the mark (empty when there is none).
pub(crate) fn without_bom(text: &str) -> (&str, &str) {
    match text.strip_prefix(BOM) {
        Some(rest) => (BOM, rest),
        None => ("", text),
    }
}

/// Parses the text of `path` (without a byte order mark), keeping the spans of every item (the
/// switch edits by span).
pub(crate) fn parse<'a>(path: &Path, text: &'a str) -> Result<Document<&'a str>, FileError> {
    Document::parse(text).map_err(|error| {
        let offset = error.span().map_or(0, |span| span.start);
        let (line, column) = line_and_column(text, offset);
        FileError::Malformed {
            path: path.to_owned(),
            line,
            column,
            message: error.message().trim().replace('\n', "; "),
        }
    })
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    let line = before.matches('\n').count() + 1;
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// One loaded file as a figment provider. Its metadata names the file, so that a merged value
/// can be traced back to the file that set it.
#[derive(Clone)]
pub(crate) struct LoadedFile {
    path: PathBuf,
    scope: Scope,
    kind: FileKind,
    contents: Dict,
}

impl LoadedFile {
    /// Reads and parses `path`; `None` when there is no such file.
    pub(crate) fn load(path: PathBuf, scope: Scope, kind: FileKind) -> Result<Option<Self>, FileError> {
        let Some(text) = read_text(&path)? else {
            return Ok(None);
        };
        let document = parse(&path, without_bom(&text).1)?;
        let contents = table_to_dict(document.as_table());
        Ok(Some(Self { path, scope, kind, contents }))
    }
}

impl LoadedFile {
    /// Every string value of the file, in tables and arrays at any depth (keys are not values).
    pub(crate) fn string_values(&self) -> Vec<String> {
        let mut found = Vec::new();
        let mut pending: Vec<&Value> = self.contents.values().collect();
        while let Some(value) = pending.pop() {
            match value {
                Value::String(_, text) => found.push(text.clone()),
                Value::Array(_, items) => pending.extend(items),
                Value::Dict(_, table) => pending.extend(table.values()),
                _ => {}
            }
        }
        found
    }
}

impl Provider for LoadedFile {
    fn metadata(&self) -> Metadata {
        Metadata::from(file_label(self.scope, self.kind), self.path.as_path())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.contents.clone()))
    }
}

const FILES: [(Scope, FileKind); 4] = [
    (Scope::Project, FileKind::Config),
    (Scope::Project, FileKind::Secrets),
    (Scope::Global, FileKind::Config),
    (Scope::Global, FileKind::Secrets),
];

fn file_label(scope: Scope, kind: FileKind) -> &'static str {
    match (scope, kind) {
        (Scope::Project, FileKind::Config) => "project config.toml",
        (Scope::Project, FileKind::Secrets) => "project secrets.toml",
        (Scope::Global, FileKind::Config) => "global config.toml",
        (Scope::Global, FileKind::Secrets) => "global secrets.toml",
    }
}

/// The file a figment value came from, from the metadata that [`LoadedFile`] gave it.
pub(crate) fn source_of(metadata: &Metadata) -> Option<Source> {
    let path = metadata.source.as_ref()?.file_path()?.to_owned();
    let (scope, kind) = FILES.into_iter().find(|&(scope, kind)| file_label(scope, kind) == metadata.name)?;
    Some(Source::File { path, scope, kind })
}

fn table_to_dict(table: &Table) -> Dict {
    table.iter().filter_map(|(key, item)| item_to_value(item).map(|value| (key.to_owned(), value))).collect()
}

fn item_to_value(item: &Item) -> Option<Value> {
    match item {
        Item::None => None,
        Item::Value(value) => Some(toml_to_value(value)),
        Item::Table(table) => Some(Value::from(table_to_dict(table))),
        Item::ArrayOfTables(tables) => {
            Some(Value::from(tables.iter().map(|table| Value::from(table_to_dict(table))).collect::<Vec<_>>()))
        }
    }
}

fn toml_to_value(value: &toml_edit::Value) -> Value {
    match value {
        toml_edit::Value::String(text) => Value::from(text.value().as_str()),
        toml_edit::Value::Integer(number) => Value::from(*number.value()),
        toml_edit::Value::Float(number) => Value::from(*number.value()),
        toml_edit::Value::Boolean(flag) => Value::from(*flag.value()),
        toml_edit::Value::Datetime(datetime) => Value::from(datetime.value().to_string()),
        toml_edit::Value::Array(array) => Value::from(array.iter().map(toml_to_value).collect::<Vec<_>>()),
        toml_edit::Value::InlineTable(table) => {
            Value::from(table.iter().map(|(key, value)| (key.to_owned(), toml_to_value(value))).collect::<Dict>())
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        assert_eq!(line_and_column("abc", 0), (1, 1));
        assert_eq!(line_and_column("a\nbé c", 6), (2, 4));
        assert_eq!(line_and_column("a\n", 99), (2, 1));
    }

    #[test]
    fn malformed_names_line_and_column_but_not_the_text() {
        let error = parse(Path::new("/p/secrets.toml"), "ok = 1\nkey = s3cr3t\n").expect_err("unquoted string");
        let FileError::Malformed { line, column, .. } = &error else {
            panic!("unexpected {error:?}");
        };
        assert_eq!((*line, *column), (2, 7));
        let message = error.to_string();
        assert!(message.starts_with("/p/secrets.toml:2:7: invalid TOML: "), "{message}");
        assert!(!message.contains("s3cr3t"), "{message}");
    }

    #[test]
    fn every_label_maps_back_to_its_file() {
        for (scope, kind) in FILES {
            let metadata = Metadata::from(file_label(scope, kind), Path::new("/x.toml"));
            assert_eq!(source_of(&metadata), Some(Source::File { path: PathBuf::from("/x.toml"), scope, kind }));
        }
    }
}
