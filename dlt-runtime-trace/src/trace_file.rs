//! The saved trace of a pipeline's last run: `<data dir>/pipelines/<name>/trace.json`, written
//! atomically.

use std::fs;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use dlt_telemetry_model::PipelineTrace;

/// The file name of a saved trace inside the pipeline's directory.
pub const TRACE_FILE_NAME: &str = "trace.json";

/// Why a trace could not be saved or read.
#[derive(Debug, thiserror::Error)]
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
    /// The trace could not be turned into JSON.
    #[error("the trace of pipeline {pipeline_name:?} cannot be written as JSON: {source}")]
    Serialize {
        /// The pipeline.
        pipeline_name: String,
        /// What the serializer found.
        source: serde_json::Error,
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

/// Saves a trace as pretty JSON: written to a temporary file beside the target and renamed
/// over it, so a reader sees the old trace or the new one, never half of one.
pub fn save_trace(pipelines_dir: &Path, trace: &PipelineTrace) -> Result<PathBuf, TraceFileError> {
    let path = trace_path(pipelines_dir, &trace.pipeline_name)?;
    let io_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| TraceFileError::Io { path, source }
    };
    let dir = path.parent().unwrap_or(pipelines_dir);
    fs::create_dir_all(dir).map_err(io_error(dir))?;
    let mut temp = tempfile::Builder::new().prefix(".trace-").suffix(".tmp").tempfile_in(dir).map_err(io_error(dir))?;
    let mut json =
        serde_json::to_vec_pretty(trace).map_err(|source| TraceFileError::Malformed { path: path.clone(), source })?;
    json.push(b'\n');
    temp.write_all(&json).map_err(io_error(temp.path()))?;
    temp.as_file().sync_all().map_err(io_error(temp.path()))?;
    temp.persist(&path).map_err(|error| TraceFileError::Io { path: path.clone(), source: error.error })?;
    Ok(path)
}

/// Reads the saved trace of `pipeline_name`; `Ok(None)` when there is none.
pub fn load_trace(pipelines_dir: &Path, pipeline_name: &str) -> Result<Option<PipelineTrace>, TraceFileError> {
    let path = trace_path(pipelines_dir, pipeline_name)?;
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(TraceFileError::Io { path, source }),
    };
    serde_json::from_str(&text).map(Some).map_err(|source| TraceFileError::Malformed { path, source })
}
