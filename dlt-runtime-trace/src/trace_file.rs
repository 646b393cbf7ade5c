//! The saved trace of a pipeline's last run: `<data dir>/pipelines/<name>/trace.json`, written
//! atomically and never larger than [`MAX_TRACE_FILE_BYTES`], read only when it is a regular
//! file within that size. Folders this creates for it are `0700` and a new trace file `0600`
//! (pipeline names and traces are nobody else's business, under a temporary-dir fallback
//! least of all); an existing file keeps its mode.

use std::io;
use std::path::{Path, PathBuf};

use dlt_fs::{NewFileMode, Sync};
use dlt_telemetry_model::PipelineTrace;

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

/// Saves a trace as pretty JSON, atomically (a reader sees the old trace or the new one, never
/// half of one), keeping the old file's permissions (a new file is `0600`, new folders `0700`);
/// returns where.
pub fn save_trace(pipelines_dir: &Path, trace: &PipelineTrace) -> Result<PathBuf, TraceFileError> {
    let path = trace_path(pipelines_dir, &trace.pipeline_name)?;
    let mut json = serde_json::to_vec_pretty(trace)
        .map_err(|source| TraceFileError::Serialize { pipeline_name: trace.pipeline_name.clone(), source })?;
    json.push(b'\n');
    if u64::try_from(json.len()).unwrap_or(u64::MAX) > MAX_TRACE_FILE_BYTES {
        return Err(TraceFileError::TooLarge { pipeline_name: trace.pipeline_name.clone(), bytes: json.len() });
    }
    let dir = path.parent().unwrap_or(pipelines_dir);
    dlt_fs::create_private_dir_all(dir).map_err(|source| TraceFileError::Io { path: dir.to_owned(), source })?;
    dlt_fs::write_atomic(&path, &json, NewFileMode::Private, Sync::Durable)
        .map_err(|source| TraceFileError::Io { path: path.clone(), source })?;
    Ok(path)
}

/// Reads the saved trace of `pipeline_name`; `Ok(None)` when there is none.
pub fn load_trace(pipelines_dir: &Path, pipeline_name: &str) -> Result<Option<PipelineTrace>, TraceFileError> {
    let path = trace_path(pipelines_dir, pipeline_name)?;
    let bytes = match dlt_fs::read_regular_file(&path, MAX_TRACE_FILE_BYTES) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Ok(None),
        Err(dlt_fs::ReadError::Io(source)) => return Err(TraceFileError::Io { path, source }),
        Err(reason) => return Err(TraceFileError::Refused { path, reason }),
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|source| TraceFileError::Malformed { path, source })
}
