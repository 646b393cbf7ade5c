//! The text edit behind the telemetry switch: set `runtime.dlthub_telemetry` in a TOML document
//! by splicing its text, so that every other byte (comments, spacing, key order, line endings)
//! stays as it was.
//!
//! What is added follows what dlt (tomlkit) writes: a missing key goes after the last key of
//! the `runtime` table; a missing table is appended as `[runtime]` + `dlthub_telemetry = ...`,
//! after a blank line when the document ends with content. New lines use the document's line
//! ending (CRLF stays CRLF).

use std::ops::Range;

use toml_edit::{Document, InlineTable, Item, Table, Value};

const SECTION: &str = "runtime";
const KEY: &str = "dlthub_telemetry";

/// Why the value could not be set without changing the meaning of other keys.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// `runtime` (or `runtime.dlthub_telemetry`) is something a boolean cannot be put in or replace.
    #[error("`{key}` is {found}; it must be a table to hold `runtime.dlthub_telemetry`")]
    Conflict {
        /// The key in the way.
        key: &'static str,
        /// What it is, e.g. `a string` or `an array of tables`.
        found: &'static str,
    },
    /// The edited text did not read back with the new value; nothing is written.
    #[error("the edited file did not read back with runtime.dlthub_telemetry set; left unchanged")]
    Unverified,
}

/// The document's text with `runtime.dlthub_telemetry` set to `enabled`.
pub(crate) fn set_telemetry_value(document: &Document<&str>, enabled: bool) -> Result<String, EditError> {
    let text = document.raw();
    let value = if enabled { "true" } else { "false" };
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let edited = match document.get(SECTION) {
        None => append_table(text, eol, value),
        Some(Item::Table(table)) => set_in_table(text, table, eol, value)?,
        Some(Item::Value(Value::InlineTable(table))) => set_in_inline_table(text, table, value),
        Some(other) => {
            return Err(EditError::Conflict { key: SECTION, found: describe(other) });
        }
    };
    verify(&edited, enabled)?;
    Ok(edited)
}

fn set_in_table(text: &str, table: &Table, eol: &str, value: &str) -> Result<String, EditError> {
    match table.get(KEY) {
        Some(Item::Value(existing)) => Ok(replace_span(text, existing.span(), value)),
        None => Ok(if table.is_dotted() {
            insert_line_after(text, last_value_end(table), eol, &format!("{SECTION}.{KEY} = {value}"))
        } else if let Some(header) = table.span().filter(|_| !table.is_implicit()) {
            let anchor = last_value_end(table).or(Some(header.end));
            insert_line_after(text, anchor, eol, &format!("{KEY} = {value}"))
        } else {
            append_table(text, eol, value)
        }),
        Some(other) => Err(EditError::Conflict { key: "runtime.dlthub_telemetry", found: describe(other) }),
    }
}

fn set_in_inline_table(text: &str, table: &InlineTable, value: &str) -> String {
    match table.get(KEY) {
        Some(existing) => replace_span(text, existing.span(), value),
        None => match last_inline_value_end(table) {
            Some(end) => splice(text, end..end, &format!(", {KEY} = {value}")),
            None => replace_span(text, table.span(), &format!("{{ {KEY} = {value} }}")),
        },
    }
}

/// The end of the last value that is visually inside the table (dotted keys included).
fn last_value_end(table: &Table) -> Option<usize> {
    table.get_values().iter().filter_map(|(_, value)| value.span()).map(|span| span.end).max()
}

fn last_inline_value_end(table: &InlineTable) -> Option<usize> {
    table.get_values().iter().filter_map(|(_, value)| value.span()).map(|span| span.end).max()
}

/// A new line after the line that contains `anchor`; at the end of the text when there is no
/// anchor or no line break after it.
fn insert_line_after(text: &str, anchor: Option<usize>, eol: &str, line: &str) -> String {
    let next_line = anchor
        .and_then(|anchor| text.get(anchor..))
        .and_then(|rest| rest.find('\n'))
        .zip(anchor)
        .map(|(newline, anchor)| anchor + newline + 1);
    match next_line {
        Some(at) => splice(text, at..at, &format!("{line}{eol}")),
        None => {
            let separator = if text.is_empty() || text.ends_with('\n') { "" } else { eol };
            format!("{text}{separator}{line}{eol}")
        }
    }
}

/// Appends `[runtime]` with the key, separated as tomlkit separates a new table.
fn append_table(text: &str, eol: &str, value: &str) -> String {
    format!("{text}{}[{SECTION}]{eol}{KEY} = {value}{eol}", separator_before_table(text, eol))
}

/// Nothing for an empty document or one that ends with blank lines; a blank line after content
/// that ends with one line break; a line break after content that has none.
fn separator_before_table<'a>(text: &str, eol: &'a str) -> &'a str {
    let content_end = text.trim_end_matches([' ', '\t', '\r', '\n']).len();
    let tail = &text[content_end..];
    let ends_with_break = text.ends_with('\n');
    match tail.find('\n') {
        _ if text.is_empty() => "",
        _ if content_end == 0 => {
            if ends_with_break {
                ""
            } else {
                eol
            }
        }
        None => eol,
        Some(first_break) if tail[first_break + 1..].is_empty() => eol,
        Some(_) => {
            if ends_with_break {
                ""
            } else {
                eol
            }
        }
    }
}

fn replace_span(text: &str, span: Option<Range<usize>>, replacement: &str) -> String {
    match span {
        Some(span) => splice(text, span, replacement),
        // Spans come from the parser; without one nothing is changed and `verify` reports it.
        None => text.to_owned(),
    }
}

fn splice(text: &str, range: Range<usize>, replacement: &str) -> String {
    let (Some(before), Some(after)) = (text.get(..range.start), text.get(range.end..)) else {
        return text.to_owned();
    };
    format!("{before}{replacement}{after}")
}

/// The edit is only trusted once the result parses and holds the new value.
fn verify(edited: &str, enabled: bool) -> Result<(), EditError> {
    let document = Document::parse(edited).map_err(|_| EditError::Unverified)?;
    let value = document.get(SECTION).and_then(|runtime| runtime.get(KEY)).and_then(Item::as_bool);
    if value == Some(enabled) { Ok(()) } else { Err(EditError::Unverified) }
}

fn describe(item: &Item) -> &'static str {
    match item {
        Item::None => "nothing",
        Item::Table(_) => "a table",
        Item::ArrayOfTables(_) => "an array of tables",
        Item::Value(Value::String(_)) => "a string",
        Item::Value(Value::Integer(_)) => "an integer",
        Item::Value(Value::Float(_)) => "a float",
        Item::Value(Value::Boolean(_)) => "a boolean",
        Item::Value(Value::Datetime(_)) => "a date-time",
        Item::Value(Value::Array(_)) => "an array",
        Item::Value(Value::InlineTable(_)) => "an inline table",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn disable(text: &str) -> Result<String, EditError> {
        set_telemetry_value(&Document::parse(text).unwrap(), false)
    }

    #[test]
    fn fresh_document_is_exactly_dlts() {
        assert_eq!(disable("").unwrap(), "[runtime]\ndlthub_telemetry = false\n");
        let enabled = set_telemetry_value(&Document::parse("").unwrap(), true).unwrap();
        assert_eq!(enabled, "[runtime]\ndlthub_telemetry = true\n");
    }

    /// Expected outputs are what tomlkit 0.15 (dlt's writer) produced for the same inputs.
    #[test]
    fn appended_table_is_separated_as_tomlkit_does() {
        let cases = [
            ("\n", "\n[runtime]\ndlthub_telemetry = false\n"),
            ("# empty", "# empty\n[runtime]\ndlthub_telemetry = false\n"),
            ("# empty\n", "# empty\n\n[runtime]\ndlthub_telemetry = false\n"),
            ("a = 1\n", "a = 1\n\n[runtime]\ndlthub_telemetry = false\n"),
            ("a = 1", "a = 1\n[runtime]\ndlthub_telemetry = false\n"),
            ("[s]\nk = 1\n\n", "[s]\nk = 1\n\n[runtime]\ndlthub_telemetry = false\n"),
            ("[s]\nk = 1\n# c\n", "[s]\nk = 1\n# c\n\n[runtime]\ndlthub_telemetry = false\n"),
            ("   \n", "   \n[runtime]\ndlthub_telemetry = false\n"),
        ];
        for (before, after) in cases {
            assert_eq!(disable(before).unwrap(), after, "{before:?}");
        }
    }

    /// Expected outputs are what tomlkit 0.15 produced, except that dlt puts the key after
    /// comments that follow the table's last key, and we put it right after that key.
    #[test]
    fn missing_key_goes_after_the_tables_last_key() {
        let cases = [
            ("[runtime]\n", "[runtime]\ndlthub_telemetry = false\n"),
            ("[runtime]", "[runtime]\ndlthub_telemetry = false\n"),
            ("[runtime] # hdr\nlog_level = 1\n", "[runtime] # hdr\nlog_level = 1\ndlthub_telemetry = false\n"),
            ("[runtime]\nlog_level = 1", "[runtime]\nlog_level = 1\ndlthub_telemetry = false\n"),
            (
                "[runtime]\nlog_level = 1\n\n[sources]\nk=1\n",
                "[runtime]\nlog_level = 1\ndlthub_telemetry = false\n\n[sources]\nk=1\n",
            ),
            ("[runtime]\n[sources]\nk=1\n", "[runtime]\ndlthub_telemetry = false\n[sources]\nk=1\n"),
            ("[runtime]\nsub.x = 1\n", "[runtime]\nsub.x = 1\ndlthub_telemetry = false\n"),
            (
                "[runtime]\nlog_level = 1\n\n[runtime.sub]\nx=1\n",
                "[runtime]\nlog_level = 1\ndlthub_telemetry = false\n\n[runtime.sub]\nx=1\n",
            ),
            (
                "[runtime]\nlog_level = 1\n\n# about sources\n[sources]\n",
                "[runtime]\nlog_level = 1\ndlthub_telemetry = false\n\n# about sources\n[sources]\n",
            ),
        ];
        for (before, after) in cases {
            assert_eq!(disable(before).unwrap(), after, "{before:?}");
        }
    }

    #[test]
    fn existing_value_is_replaced_in_place() {
        let cases = [
            ("[runtime]\ndlthub_telemetry=true\n", "[runtime]\ndlthub_telemetry=false\n"),
            ("[runtime]\ndlthub_telemetry = \"true\"  # c\n", "[runtime]\ndlthub_telemetry = false  # c\n"),
            ("[runtime]\ndlthub_telemetry = 1\n", "[runtime]\ndlthub_telemetry = false\n"),
            ("runtime.dlthub_telemetry = true\n", "runtime.dlthub_telemetry = false\n"),
            (
                "runtime = { log_level = \"INFO\", dlthub_telemetry = true }\n",
                "runtime = { log_level = \"INFO\", dlthub_telemetry = false }\n",
            ),
            ("[runtime]\r\ndlthub_telemetry = true\r\n", "[runtime]\r\ndlthub_telemetry = false\r\n"),
        ];
        for (before, after) in cases {
            assert_eq!(disable(before).unwrap(), after, "{before:?}");
        }
    }

    #[test]
    fn dotted_and_inline_tables_gain_the_key_in_their_own_style() {
        let cases = [
            (
                "runtime.log_level = 1\nother = 2\n[x]\ny=1\n",
                "runtime.log_level = 1\nruntime.dlthub_telemetry = false\nother = 2\n[x]\ny=1\n",
            ),
            ("runtime = { log_level = \"INFO\" }\n", "runtime = { log_level = \"INFO\", dlthub_telemetry = false }\n"),
            ("runtime = {}\n", "runtime = { dlthub_telemetry = false }\n"),
            ("[runtime.sub]\nx = 1\n", "[runtime.sub]\nx = 1\n\n[runtime]\ndlthub_telemetry = false\n"),
        ];
        for (before, after) in cases {
            assert_eq!(disable(before).unwrap(), after, "{before:?}");
        }
    }

    #[test]
    fn crlf_documents_get_crlf_lines() {
        let cases = [
            ("[s]\r\nk = 1\r\n", "[s]\r\nk = 1\r\n\r\n[runtime]\r\ndlthub_telemetry = false\r\n"),
            ("[runtime]\r\nlog_level = 1\r\n", "[runtime]\r\nlog_level = 1\r\ndlthub_telemetry = false\r\n"),
            ("[runtime]\r\nlog_level = 1", "[runtime]\r\nlog_level = 1\r\ndlthub_telemetry = false\r\n"),
        ];
        for (before, after) in cases {
            assert_eq!(disable(before).unwrap(), after, "{before:?}");
        }
    }

    #[test]
    fn what_cannot_hold_the_key_is_a_conflict() {
        let cases = [
            ("runtime = \"x\"\n", "runtime", "a string"),
            ("[[runtime]]\na = 1\n", "runtime", "an array of tables"),
            ("[runtime.dlthub_telemetry]\nx = 1\n", "runtime.dlthub_telemetry", "a table"),
            ("[[runtime.dlthub_telemetry]]\nx = 1\n", "runtime.dlthub_telemetry", "an array of tables"),
        ];
        for (before, key, found) in cases {
            assert_eq!(disable(before), Err(EditError::Conflict { key, found }), "{before:?}");
        }
    }
}
