//! Every attribute and event name the bridge exports, in one place: the OpenTelemetry
//! semantic-convention names where one exists, `dlt.*` for ours.

/// Resource: the service (semantic convention).
pub const SERVICE_NAME: &str = "service.name";
/// Resource: the service's version (semantic convention).
pub const SERVICE_VERSION: &str = "service.version";

/// Span event of a failure (semantic convention).
pub const EXCEPTION_EVENT: &str = "exception";
/// The failure's message, on the [`EXCEPTION_EVENT`] (semantic convention).
pub const EXCEPTION_MESSAGE: &str = "exception.message";
/// Source file of a log event (semantic convention).
pub const CODE_FILE_PATH: &str = "code.file.path";
/// Source line of a log event (semantic convention).
pub const CODE_LINE_NUMBER: &str = "code.line.number";

/// The pipeline's name, in clear (the collector is the user's own).
pub const PIPELINE_NAME: &str = "dlt.pipeline.name";
/// The destination's name.
pub const DESTINATION_NAME: &str = "dlt.destination.name";
/// The dataset's name.
pub const DATASET_NAME: &str = "dlt.dataset.name";
/// The step a span stands for: `extract`, `normalize`, `load`, or the run's outer step (`run`).
pub const STEP_NAME: &str = "dlt.step.name";
/// Rows the step processed, when the host knows.
pub const STEP_ROWS: &str = "dlt.step.rows";
/// Seconds from the start of the run to the end of the step, as dlt's `elapsed`.
pub const STEP_ELAPSED: &str = "dlt.step.elapsed";
/// The command a command span stands for, e.g. `telemetry`.
pub const COMMAND_NAME: &str = "dlt.command.name";
/// Prefix of a command's arguments, e.g. `dlt.command.argument.operation`.
pub const COMMAND_ARGUMENT_PREFIX: &str = "dlt.command.argument.";
/// Level of a `tracing` event recorded as a span event (`WARN`, `ERROR`).
pub const LOG_LEVEL: &str = "dlt.log.level";
/// Target of a `tracing` event recorded as a span event.
pub const LOG_TARGET: &str = "dlt.log.target";
/// Prefix of a `tracing` event's fields, e.g. `dlt.log.field.table`.
pub const LOG_FIELD_PREFIX: &str = "dlt.log.field.";
