//! The saved trace of a pipeline's last run: `<data dir>/pipelines/<name>/trace.json`, written
//! atomically and never larger than [`MAX_TRACE_FILE_BYTES`], read only when it is a regular
//! file within that size. Its free text never holds a URL's credentials, as written or as read
//! ([`redact_trace`]). Folders this creates for it are `0700` and a new trace file `0600`
//! (pipeline names and traces are nobody else's business, under a temporary-dir fallback
//! least of all); an existing file keeps its mode.

use std::borrow::Cow;
use std::io;
use std::path::{Path, PathBuf};

use dlt_fs::{Durability, NewFileMode};
use dlt_redact::{MASK, Redactor, hide_url_credentials};
use dlt_telemetry_model::PipelineTrace;
use serde_json::{Map, Value};

/// The file name of a saved trace inside the pipeline's directory.
pub const TRACE_FILE_NAME: &str = "trace.json";
/// The largest trace file written or read: 16 MiB.
pub const MAX_TRACE_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Why a trace could not be saved or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceFileError {
    /// The pipeline name cannot be a directory name.
    #[error(
        "pipeline name {name:?} cannot name a directory: it must be non-empty and contain no path separators, no NUL and not be `.` or `..`"
    )]
    InvalidPipelineName {
        /// The name as given.
        name: String,
    },
    /// Reading or writing the file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Something other than a regular file is there, or it is larger than the cap; nothing of
    /// it was read.
    #[error("{} {reason}", .path.display())]
    Refused {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: dlt_fs::ReadError,
    },
    /// The trace could not be turned into JSON.
    #[error("the trace of pipeline {pipeline_name:?} cannot be written as JSON: {source}")]
    Serialize {
        /// The pipeline.
        pipeline_name: String,
        /// What the serializer found.
        source: serde_json::Error,
    },
    /// The trace would be larger than [`MAX_TRACE_FILE_BYTES`]; the old file is kept.
    #[error(
        "the trace of pipeline {pipeline_name:?} would be {bytes} bytes, more than the {MAX_TRACE_FILE_BYTES} a trace file may hold; not saved"
    )]
    TooLarge {
        /// The pipeline.
        pipeline_name: String,
        /// Its size as JSON.
        bytes: usize,
    },
    /// The file is not a trace.
    #[error("{}: not a pipeline trace: {source}", .path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What the parser found.
        source: serde_json::Error,
    },
}

/// Where the trace of `pipeline_name` is saved under `pipelines_dir`.
pub fn trace_path(pipelines_dir: &Path, pipeline_name: &str) -> Result<PathBuf, TraceFileError> {
    let invalid = pipeline_name.is_empty()
        || pipeline_name == "."
        || pipeline_name == ".."
        || pipeline_name.contains(['/', '\\', '\0']);
    if invalid {
        return Err(TraceFileError::InvalidPipelineName { name: pipeline_name.to_owned() });
    }
    Ok(pipelines_dir.join(pipeline_name).join(TRACE_FILE_NAME))
}

/// Hides `secrets` and every URL's credentials (dlt-redact's rule) in the free text of a
/// trace: the destination's name and type, the dataset's name, each step's name, error and
/// reported info, and fields the model does not know, at any depth. The pipeline's name, which
/// names the trace's folder, only by the URL rule: a name that can name a folder holds no `/`
/// and is left as it is, one that holds a URL cannot and is not shown with its credentials.
/// Left as they are: ids, times and the execution context.
pub fn redact_trace(trace: &mut PipelineTrace, secrets: &Redactor) {
    if let Cow::Owned(hidden) = hide_url_credentials(&trace.pipeline.pipeline_name, MASK) {
        trace.pipeline.pipeline_name = hidden;
    }
    let redact = |text: &mut String| secrets.redact_in_place(text, MASK);
    trace.pipeline.destination_name.iter_mut().for_each(redact);
    trace.pipeline.destination_type.iter_mut().for_each(redact);
    trace.pipeline.dataset_name.iter_mut().for_each(redact);
    redact_map(&mut trace.extra, secrets);
    for step in &mut trace.steps {
        redact(&mut step.step);
        step.step_exception.iter_mut().for_each(redact);
        step.step_info.iter_mut().for_each(|info| redact_value(info, secrets));
        redact_map(&mut step.extra, secrets);
    }
}

fn redact_map(map: &mut Map<String, Value>, secrets: &Redactor) {
    map.values_mut().for_each(|value| redact_value(value, secrets));
}

fn redact_value(value: &mut Value, secrets: &Redactor) {
    match value {
        Value::String(text) => secrets.redact_in_place(text, MASK),
        Value::Array(items) => items.iter_mut().for_each(|item| redact_value(item, secrets)),
        Value::Object(map) => redact_map(map, secrets),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Saves a trace as pretty JSON, atomically (a reader sees the old trace or the new one, never
/// half of one), keeping the old file's permissions (a new file is `0600`, new folders `0700`);
/// returns where. Every URL's credentials in its free text are hidden in the file
/// ([`redact_trace`] with no other secret).
pub fn save_trace(pipelines_dir: &Path, trace: &PipelineTrace) -> Result<PathBuf, TraceFileError> {
    let path = trace_path(pipelines_dir, &trace.pipeline.pipeline_name)?;
    let mut trace = trace.clone();
    redact_trace(&mut trace, &Redactor::default());
    let mut json = serde_json::to_vec_pretty(&trace)
        .map_err(|source| TraceFileError::Serialize { pipeline_name: trace.pipeline.pipeline_name.clone(), source })?;
    json.push(b'\n');
    if u64::try_from(json.len()).unwrap_or(u64::MAX) > MAX_TRACE_FILE_BYTES {
        return Err(TraceFileError::TooLarge {
            pipeline_name: trace.pipeline.pipeline_name.clone(),
            bytes: json.len(),
        });
    }
    let dir = path.parent().unwrap_or(pipelines_dir);
    dlt_fs::create_private_dir_all(dir).map_err(|source| TraceFileError::Io { path: dir.to_owned(), source })?;
    dlt_fs::write_atomic(&path, &json, NewFileMode::Private, Durability::Durable)
        .map_err(|source| TraceFileError::Io { path: path.clone(), source })?;
    Ok(path)
}

/// Reads the saved trace of `pipeline_name`; `Ok(None)` when there is none. Every URL's
/// credentials in its free text are hidden ([`redact_trace`] with no other secret): a trace
/// written by an older version or by dlt (Python) may hold them.
pub fn load_trace(pipelines_dir: &Path, pipeline_name: &str) -> Result<Option<PipelineTrace>, TraceFileError> {
    let path = trace_path(pipelines_dir, pipeline_name)?;
    let bytes = match dlt_fs::read_regular_file(&path, MAX_TRACE_FILE_BYTES) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(None),
        Err(dlt_fs::ReadError::Io(source)) => return Err(TraceFileError::Io { path, source }),
        Err(reason) => return Err(TraceFileError::Refused { path, reason }),
    };
    let mut trace: PipelineTrace =
        serde_json::from_slice(&bytes).map_err(|source| TraceFileError::Malformed { path, source })?;
    redact_trace(&mut trace, &Redactor::default());
    Ok(Some(trace))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// A trace as dlt (Python) 1.31 writes it, with credentials in its free text.
    fn trace_of_an_older_writer() -> Value {
        let golden =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/golden/trace/dlt-1.31-pipeline-trace-asdict.json");
        let mut trace: Value = serde_json::from_str(&std::fs::read_to_string(golden).unwrap()).unwrap();
        trace["steps"][0]["step_exception"] = "cannot reach postgresql://loader:it's9@db/dlt".into();
        trace["steps"][0]["exception_traces"] =
            serde_json::json!([{"message": "GET https://api.example.com/x?token=t0k3n"}]);
        trace["resolved_config_values"] =
            serde_json::json!([{"key": "credentials", "value": "mssql://sa:P@ss'w0rd@host"}]);
        trace["dataset_name"] = "http://tok_SECRET@host/v1/track".into();
        trace
    }

    #[test]
    fn a_trace_is_read_with_every_url_credential_hidden() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("tiny")).unwrap();
        let written = serde_json::to_string(&trace_of_an_older_writer()).unwrap();
        std::fs::write(dir.path().join("tiny/trace.json"), written).unwrap();
        let trace = load_trace(dir.path(), "tiny").unwrap().unwrap();
        let shown = serde_json::to_string(&trace).unwrap();
        for secret in ["loader", "it's9", "t0k3n", "sa:", "P@ss", "w0rd", "tok_SECRET"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert_eq!(trace.steps[0].step_exception.as_deref(), Some("cannot reach postgresql://***@db/dlt"));
        assert_eq!(trace.steps[0].extra["exception_traces"][0]["message"], "GET https://api.example.com/x?token=***");
        assert_eq!(trace.extra["resolved_config_values"][0]["value"], "mssql://***@host");
        assert_eq!(trace.pipeline.dataset_name.as_deref(), Some("http://***@host/v1/track"));
        assert_eq!(trace.pipeline.pipeline_name, "tiny");
    }

    #[test]
    fn a_trace_is_saved_with_every_url_credential_hidden_and_the_secrets_given_to_redact_trace() {
        let dir = tempfile::tempdir().unwrap();
        let mut trace: PipelineTrace = serde_json::from_value(trace_of_an_older_writer()).unwrap();
        trace.steps[1].step_exception = Some("password hunter2-pw rejected".into());
        let path = save_trace(dir.path(), &trace).unwrap();
        let saved = std::fs::read_to_string(&path).unwrap();
        assert!(!saved.contains("it's9") && !saved.contains("P@ss") && !saved.contains("tok_SECRET"), "{saved}");
        assert!(saved.contains("hunter2-pw"), "only the URL rule without a secret set");
        assert_eq!(trace.steps[0].step_exception.as_deref(), Some("cannot reach postgresql://loader:it's9@db/dlt"));

        redact_trace(&mut trace, &Redactor::new(["hunter2-pw", "tiny"]));
        assert_eq!(trace.steps[1].step_exception.as_deref(), Some("password *** rejected"));
        assert_eq!(trace.pipeline.pipeline_name, "tiny", "the pipeline's name names its folder");
    }

    #[test]
    fn a_pipeline_name_holding_a_url_is_not_kept_with_its_credentials() {
        let mut trace: PipelineTrace = serde_json::from_value(trace_of_an_older_writer()).unwrap();
        trace.pipeline.pipeline_name = "s3://db.example/p?api_key=k3y-s3cret&token=a@b".into();
        redact_trace(&mut trace, &Redactor::default());
        assert_eq!(trace.pipeline.pipeline_name, "s3://***@***");
        let error = save_trace(tempfile::tempdir().unwrap().path(), &trace).unwrap_err();
        assert!(matches!(error, TraceFileError::InvalidPipelineName { .. }), "{error}");
        assert!(!error.to_string().contains("s3cret"), "{error}");
    }
}
