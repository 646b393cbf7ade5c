//! Validating JSON files (messages, batches, dlt captures, outbox lines) against the committed
//! schemas.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use jsonschema::Validator;
use serde_json::Value;

/// One way a file failed: the file, where in it (a line and/or a JSON pointer) and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Failure {
    pub(crate) file: PathBuf,
    pub(crate) location: String,
    pub(crate) reason: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if !self.location.is_empty() {
            write!(f, " at {}", self.location)?;
        }
        write!(f, ": {}", self.reason)
    }
}

/// Validators built from the committed message and batch schemas.
pub(crate) struct Validators {
    message: Validator,
    batch: Validator,
}

impl Validators {
    /// Compiles `message.schema.json` and `batch.schema.json` from `schemas_dir`.
    pub(crate) fn load(schemas_dir: &Path) -> Result<Self, String> {
        let compile = |name: &str| -> Result<Validator, String> {
            let path = schemas_dir.join(name);
            let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let schema: Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
            jsonschema::draft202012::new(&schema).map_err(|e| format!("{}: not a valid schema: {e}", path.display()))
        };
        Ok(Self { message: compile("message.schema.json")?, batch: compile("batch.schema.json")? })
    }

    /// Validates a file: a JSON document (a message, a batch with `batch`, or a capture with
    /// `request` and `body`), or with a `.jsonl` name, one message per line.
    pub(crate) fn validate_file(&self, file: &Path) -> Vec<Failure> {
        let failure = |location: String, reason: String| Failure { file: file.to_path_buf(), location, reason };
        let text = match fs::read_to_string(file) {
            Ok(text) => text,
            Err(e) => return vec![failure(String::new(), format!("cannot read: {e}"))],
        };
        let documents: Vec<(String, &str)> = if file.extension().is_some_and(|ext| ext == "jsonl") {
            text.lines()
                .enumerate()
                .filter(|(_, line)| !line.trim().is_empty())
                .map(|(index, line)| (format!("line {}", index + 1), line))
                .collect()
        } else {
            vec![(String::new(), text.as_str())]
        };
        let mut failures = Vec::new();
        for (line, document) in documents {
            match serde_json::from_str::<Value>(document) {
                Ok(json) => failures.extend(self.validate_document(&json).into_iter().map(|(pointer, reason)| {
                    failure([line.as_str(), pointer.as_str()].join(" ").trim().to_owned(), reason)
                })),
                Err(e) => failures.push(failure(line, format!("not JSON: {e}"))),
            }
        }
        failures
    }

    /// `(JSON pointer, reason)` for each way `json` fails its schema.
    fn validate_document(&self, json: &Value) -> Vec<(String, String)> {
        let (validator, instance, prefix) = match json {
            Value::Object(object) if object.contains_key("batch") => (&self.batch, json, ""),
            Value::Object(object) if object.contains_key("request") && object.contains_key("body") => {
                (&self.message, &json["body"], "/body")
            }
            _ => (&self.message, json, ""),
        };
        validator
            .iter_errors(instance)
            .map(|error| (format!("{prefix}{}", error.instance_path()), error.to_string()))
            .collect()
    }
}

/// The files to validate under `path`: the file itself, or every `.json` and `.jsonl` file
/// below a directory, sorted. An explicitly named file is validated whatever its extension.
pub(crate) fn files_under(path: &Path) -> Result<Vec<PathBuf>, String> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let entries = fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| format!("{}: {e}", path.display()))?.path();
        if entry.is_dir() {
            files.extend(files_under(&entry)?);
        } else if entry.extension().is_some_and(|ext| ext == "json" || ext == "jsonl") {
            files.push(entry);
        }
    }
    files.sort();
    Ok(files)
}
