//! A small real pipeline under a runtime trace, the way a host program adopts this crate.
//!
//! It extracts a bundled JSON-lines file of chess players, normalises the rows (nested objects
//! flattened into `parent__child` columns, a column type inferred for each) and loads them as
//! JSON lines into `<data dir>/pipelines/<name>/load/<dataset>/players.jsonl`.
//!
//! Configuration is read like any host reads it (`.dlt/config.toml`, `RUNTIME__*` variables).
//! It opts in to the detached sender (one line at the top of `main`): exit never waits for the
//! telemetry endpoint.
//! Unless `runtime.dlthub_telemetry_debug` is set explicitly, events are printed to stderr as
//! JSON lines instead of being sent; `RUNTIME__DLTHUB_TELEMETRY_DEBUG=false` sends them to
//! `runtime.dlthub_telemetry_endpoint`, and `RUNTIME__SENTRY_DSN` sends the run to Sentry.
//!
//! ```sh
//! cargo run --example traced_pipeline -- --pipeline-name chess_pipeline --dataset-name chess_data
//! cargo run --example traced_pipeline -- --fail-at normalize
//! ```
#![allow(clippy::print_stdout, reason = "a command line program reports on stdout")]

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use dlt_runtime_trace::{
    FinishedRun, InitOptions, PipelineIdentity, RuntimeTrace, SenderCommand, Step, StepReport, serve_detached_sender,
};
use dlt_telemetry_model::PipelineTrace;
use dlt_telemetry_model::events::ExtractedData;
use serde_json::{Map, Value, json};
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// The bundled source data.
const SOURCE_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/chess_players.jsonl");
/// The one table this pipeline loads.
const TABLE: &str = "players";
const USAGE: &str =
    "usage: traced_pipeline [--pipeline-name NAME] [--dataset-name NAME] [--fail-at extract|normalize|load]";

/// The command line.
struct Args {
    pipeline_name: String,
    dataset_name: String,
    fail_at: Option<String>,
}

impl Args {
    fn parse() -> Result<Self, String> {
        let mut args =
            Self { pipeline_name: "chess_pipeline".into(), dataset_name: "chess_data".into(), fail_at: None };
        let mut argv = std::env::args().skip(1);
        while let Some(flag) = argv.next() {
            let mut value = || argv.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
            match flag.as_str() {
                "--pipeline-name" => args.pipeline_name = value()?,
                "--dataset-name" => args.dataset_name = value()?,
                "--fail-at" => {
                    let step = value()?;
                    if !["extract", "normalize", "load"].contains(&step.as_str()) {
                        return Err(format!("--fail-at must be extract, normalize or load, not {step:?}\n{USAGE}"));
                    }
                    args.fail_at = Some(step);
                }
                "--help" | "-h" => return Err(USAGE.into()),
                other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
            }
        }
        Ok(args)
    }
}

/// A step's failure, as the trace records it.
#[derive(Debug)]
struct StepError(String);

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StepError {}

impl StepError {
    fn io(what: &str, path: &Path, error: io::Error) -> Self {
        Self(format!("{what} {}: {error}", path.display()))
    }
}

/// Fails the step when `--fail-at` names it.
fn fail_if_asked(args: &Args, step: &str) -> Result<(), StepError> {
    match &args.fail_at {
        Some(fail_at) if fail_at == step => Err(StepError(format!("failure requested by --fail-at {step}"))),
        _ => Ok(()),
    }
}

/// Reads the source file: one JSON object per line.
fn extract(args: &Args, report: &mut StepReport) -> Result<Vec<Map<String, Value>>, StepError> {
    fail_if_asked(args, "extract")?;
    let path = Path::new(SOURCE_FILE);
    let text = fs::read_to_string(path).map_err(|e| StepError::io("cannot read", path, e))?;
    let mut rows = Vec::new();
    for (index, line) in text.lines().enumerate().filter(|(_, line)| !line.trim().is_empty()) {
        match serde_json::from_str(line) {
            Ok(Value::Object(row)) => rows.push(row),
            Ok(_) => return Err(StepError(format!("{}:{}: not a JSON object", path.display(), index + 1))),
            Err(error) => return Err(StepError(format!("{}:{}: {error}", path.display(), index + 1))),
        }
    }
    report.extract_data = Some(vec![ExtractedData { name: TABLE.into(), data_type: "resource".into() }]);
    report.info = Some(json!({"rows": rows.len(), "source": path.display().to_string()}));
    Ok(rows)
}

/// Normalised rows and the columns they have, with a type for each.
struct Table {
    rows: Vec<Map<String, Value>>,
    columns: BTreeMap<String, &'static str>,
}

/// Flattens nested objects into `parent__child` columns and infers each column's type from its
/// first non-null value; a value of another type fails the step.
fn normalize(args: &Args, rows: Vec<Map<String, Value>>, report: &mut StepReport) -> Result<Table, StepError> {
    fail_if_asked(args, "normalize")?;
    let mut table = Table { rows: Vec::with_capacity(rows.len()), columns: BTreeMap::new() };
    for (index, row) in rows.into_iter().enumerate() {
        let mut flat = Map::new();
        flatten("", row, &mut flat);
        for (column, value) in &flat {
            let Some(data_type) = data_type(value) else { continue };
            let known = table.columns.entry(column.clone()).or_insert(data_type);
            if *known != data_type {
                return Err(StepError(format!(
                    "row {}: column {column} is {data_type}, earlier rows made it {known}",
                    index + 1
                )));
            }
        }
        table.rows.push(flat);
    }
    report.info = Some(json!({"rows": table.rows.len(), "columns": table.columns}));
    Ok(table)
}

fn flatten(prefix: &str, object: Map<String, Value>, into: &mut Map<String, Value>) {
    for (key, value) in object {
        let column = if prefix.is_empty() { key } else { format!("{prefix}__{key}") };
        match value {
            Value::Object(nested) => flatten(&column, nested, into),
            value => {
                into.insert(column, value);
            }
        }
    }
}

fn data_type(value: &Value) -> Option<&'static str> {
    match value {
        Value::Null => None,
        Value::Bool(_) => Some("bool"),
        Value::Number(number) if number.is_i64() || number.is_u64() => Some("bigint"),
        Value::Number(_) => Some("double"),
        Value::String(_) => Some("text"),
        Value::Array(_) | Value::Object(_) => Some("json"),
    }
}

/// Writes the rows as JSON lines, atomically: a temporary file renamed into place.
fn load(args: &Args, table: &Table, destination: &Path, report: &mut StepReport) -> Result<PathBuf, StepError> {
    fail_if_asked(args, "load")?;
    fs::create_dir_all(destination).map_err(|e| StepError::io("cannot create", destination, e))?;
    let path = destination.join(format!("{TABLE}.jsonl"));
    let mut lines = Vec::new();
    for row in &table.rows {
        serde_json::to_writer(&mut lines, row).map_err(|e| StepError(e.to_string()))?;
        lines.push(b'\n');
    }
    dlt_fs::write_atomic(&path, &lines, dlt_fs::NewFileMode::Shared, dlt_fs::Durability::Durable)
        .map_err(|e| StepError::io("cannot write", &path, e))?;
    report.destination_fingerprint = Some(String::new());
    report.info = Some(json!({"rows": table.rows.len(), "file": path.display().to_string()}));
    Ok(path)
}

/// Runs extract, normalize and load as one trace whose outer step is `run`.
fn run_pipeline(runtime: &RuntimeTrace, args: &Args, destination: &Path) -> Option<FinishedRun> {
    let pipeline = PipelineIdentity::new(args.pipeline_name.clone())
        .with_destination("filesystem", "dlt.destinations.filesystem")
        .with_dataset(args.dataset_name.clone());
    let mut run = runtime.start_pipeline_run(pipeline, Step::Run);
    let loaded = (|| {
        run.set_default_schema_name("chess");
        let rows = run.step(Step::Extract, |report| extract(args, report))?;
        let table = run.step(Step::Normalize, |report| normalize(args, rows, report))?;
        run.step(Step::Load, |report| load(args, &table, destination, report))
    })();
    match loaded {
        Ok(path) => println!("Loaded {TABLE} into {}", path.display()),
        Err(error) => println!("The pipeline failed: {error}"),
    }
    run.finish()
}

/// Prints the steps of the trace, one per line.
fn print_summary(trace: &PipelineTrace) {
    let outcome = if trace.succeeded() { "COMPLETED" } else { "FAILED" };
    let seconds = |end: Option<time::OffsetDateTime>, start: time::OffsetDateTime| {
        end.map_or(0.0, |end| (end - start).as_seconds_f64())
    };
    println!(
        "Pipeline {} run {outcome} in {:.3} s with {} steps:",
        trace.pipeline.pipeline_name,
        seconds(trace.finished_at, trace.started_at),
        trace.steps.len()
    );
    for step in &trace.steps {
        let state = if step.succeeded() { "ok" } else { "FAILED" };
        let rows = step.step_info.as_ref().and_then(|info| info.get("rows")).map(|rows| format!(", {rows} rows"));
        let detail = step.step_exception.as_deref().map(|e| format!(": {e}")).or(rows).unwrap_or_default();
        println!("  {:<10} {state:<6} {:.3} s{detail}", step.step, seconds(step.finished_at, step.started_at));
    }
}

fn main() -> ExitCode {
    // Started again as the detached sender after an earlier run: deliver, and nothing else.
    if let Some(code) = serve_detached_sender() {
        return code;
    }
    let args = match Args::parse() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let mut options = InitOptions::new("traced_pipeline", env!("CARGO_PKG_VERSION"));
    options.print_events_by_default = true;
    // Exit never waits for the telemetry endpoint: what is not confirmed then is delivered by
    // this program started again, detached (inline instead in CI and as PID 1).
    if let Ok(sender) = SenderCommand::this_program() {
        options = options.with_detached_sender(sender);
    }
    let runtime = RuntimeTrace::init(options);
    let log = tracing_subscriber::fmt::layer()
        .with_writer(io::stderr)
        .with_filter(tracing_subscriber::filter::LevelFilter::WARN);
    tracing_subscriber::registry().with(log).with(runtime.sentry_layer()).with(runtime.otel_layer()).init();
    for issue in runtime.issues() {
        eprintln!("warning: {issue}");
    }

    let pipelines = match runtime.config() {
        Some(config) => config.locations().pipelines_dir(),
        None => std::env::temp_dir().join("traced_pipeline"),
    };
    let destination = pipelines.join(&args.pipeline_name).join("load").join(&args.dataset_name);
    let finished = run_pipeline(&runtime, &args, &destination);
    let status = runtime.status();
    match &finished {
        Some(finished) => {
            print_summary(&finished.trace);
            match &finished.saved {
                Ok(path) => println!("Trace saved to {}", path.display()),
                Err(error) => println!("Trace not saved: {error}"),
            }
        }
        None => println!("Tracing is off ({}): no trace was recorded.", status.decided_by),
    }
    let telemetry = match (status.telemetry, status.debug) {
        (false, _) => format!("off ({})", status.decided_by),
        (true, true) => "on, printed to stderr (runtime.dlthub_telemetry_debug)".into(),
        (true, false) => format!("on, sent to {}", status.endpoint.as_deref().unwrap_or("?")),
    };
    println!("Telemetry: {telemetry}");
    let failed = finished.as_ref().is_some_and(|finished| !finished.trace.succeeded());
    drop(runtime);
    if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
