//! Every event this project sends, each its own type, in one auditable place.
//!
//! An event turns into properties by destructuring itself field by field, so a new field does
//! not compile until someone decides how it is sent; parsing and the JSON Schemas are derived
//! from the same types, and a round-trip test keeps the three in step.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::message::{EventCategory, Properties, TrackMessage};

/// A typed telemetry event: its category, its name and how its fields become properties.
pub trait Event {
    /// The event's category (the prefix of the wire name).
    const CATEGORY: EventCategory;
    /// The event's name within its category, e.g. `load` or `telemetry.switch`.
    const NAME: &'static str;
    /// The event's own fields, in the order dlt sends them.
    fn into_properties(self) -> Properties;
}

/// The wire name `<category>_<name>` of an event type, e.g. `pipeline_load`.
pub fn event_name<E: Event>() -> String {
    format!("{}_{}", E::CATEGORY, E::NAME)
}

/// The arguments of one `dlt` command: they name the command and come first in its event.
pub trait CommandArguments {
    /// The command's name, e.g. `init`; the event is `command_<COMMAND>`.
    const COMMAND: &'static str;
    /// Appends the arguments to the properties, in the order dlt sends them.
    fn write_properties(self, properties: &mut Properties);
}

/// A finished (or, for commands tracked before they run, starting) `dlt` command.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
pub struct CommandEvent<A> {
    /// The command's own arguments.
    #[serde(flatten)]
    pub arguments: A,
    /// Seconds the command took. For commands tracked before they run, the time spent before
    /// the event was sent (close to 0).
    pub elapsed: f64,
    /// False when the command failed (a non-zero exit or an error). Commands tracked before
    /// they run always report true.
    pub success: bool,
}

impl<A: CommandArguments> Event for CommandEvent<A> {
    const CATEGORY: EventCategory = EventCategory::Command;
    const NAME: &'static str = A::COMMAND;

    fn into_properties(self) -> Properties {
        let Self { arguments, elapsed, success } = self;
        let mut properties = Properties::new();
        arguments.write_properties(&mut properties);
        properties.insert("elapsed".into(), elapsed.into());
        properties.insert("success".into(), success.into());
        properties
    }
}

/// `dlt telemetry`: shows whether telemetry is on. No arguments.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
pub struct TelemetryStatus {}

impl CommandArguments for TelemetryStatus {
    const COMMAND: &'static str = "telemetry";

    fn write_properties(self, _: &mut Properties) {
        let Self {} = self;
    }
}

/// `dlt --enable-telemetry` (this project) or `--disable-telemetry` (dlt 1.31 only: this
/// project sends nothing when telemetry is switched off).
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
pub struct TelemetrySwitch {
    /// The new state: true when telemetry was switched on.
    pub enabled: bool,
}

impl CommandArguments for TelemetrySwitch {
    const COMMAND: &'static str = "telemetry.switch";

    fn write_properties(self, properties: &mut Properties) {
        let Self { enabled } = self;
        properties.insert("enabled".into(), enabled.into());
    }
}

/// `dlt init <source> <destination>`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, JsonSchema)]
pub struct Init {
    /// The source as typed, e.g. `chess` (this project and dlt 0.2).
    #[serde(default)]
    pub pipeline_name: Option<String>,
    /// The destination as typed, e.g. `duckdb` (this project and dlt 0.2).
    #[serde(default)]
    pub destination_name: Option<String>,
    /// The source as typed, under the name dlt 0.3 and later use.
    #[serde(default)]
    pub source_name: Option<String>,
    /// The destination as typed, under the name dlt 0.3 and later use.
    #[serde(default)]
    pub destination_type: Option<String>,
}

impl Init {
    /// The arguments this project sends: source and destination as typed, under dlt 0.2's names
    /// (the names of the documentation's example).
    pub fn new(source: impl Into<String>, destination: impl Into<String>) -> Self {
        Self {
            pipeline_name: Some(source.into()),
            destination_name: Some(destination.into()),
            source_name: None,
            destination_type: None,
        }
    }
}

impl CommandArguments for Init {
    const COMMAND: &'static str = "init";

    fn write_properties(self, properties: &mut Properties) {
        let Self { pipeline_name, destination_name, source_name, destination_type } = self;
        let named = [
            ("pipeline_name", pipeline_name),
            ("destination_name", destination_name),
            ("source_name", source_name),
            ("destination_type", destination_type),
        ];
        for (key, value) in named {
            if let Some(value) = value {
                properties.insert(key.into(), value.into());
            }
        }
    }
}

/// `dlt pipeline <name> <operation>`; tracked before the operation runs, as dlt does.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
pub struct PipelineCommand {
    /// The operation, e.g. `trace`, `info`, `drop`.
    pub operation: String,
}

impl CommandArguments for PipelineCommand {
    const COMMAND: &'static str = "pipeline";

    fn write_properties(self, properties: &mut Properties) {
        let Self { operation } = self;
        properties.insert("operation".into(), operation.into());
    }
}

/// Properties shared by the four pipeline step events.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
pub struct PipelineStep {
    /// Seconds from the start of the trace (the outermost step, usually `run`) to the end of
    /// this step. Cumulative, not the step's own duration.
    pub elapsed: f64,
    /// False when the step failed.
    pub success: bool,
    /// The destination's short name, e.g. `duckdb`; null when the pipeline has none.
    pub destination_name: Option<String>,
    /// The destination's type, e.g. `dlt.destinations.duckdb`; null when the pipeline has none.
    /// Absent before dlt 0.4.
    #[serde(default)]
    pub destination_type: Option<String>,
    /// `digest128` of the pipeline name. Absent before dlt 0.4.
    #[serde(default)]
    pub pipeline_name_hash: Option<String>,
    /// `digest128` of the dataset name; null when there is no dataset. Absent before dlt 0.4.
    #[serde(default)]
    pub dataset_name_hash: Option<String>,
    /// `digest128` of the default schema name; null before a schema exists. Absent before
    /// dlt 0.4.
    #[serde(default)]
    pub default_schema_name_hash: Option<String>,
    /// A random 32-character hex id shared by all the steps of one trace.
    pub transaction_id: String,
}

impl PipelineStep {
    /// The shared properties in dlt's order, then the step's own property when it has a value.
    fn into_properties_with(self, own: Option<(&str, Value)>) -> Properties {
        let mut properties = Properties::new();
        let Self {
            elapsed,
            success,
            destination_name,
            destination_type,
            pipeline_name_hash,
            dataset_name_hash,
            default_schema_name_hash,
            transaction_id,
        } = self;
        properties.insert("elapsed".into(), elapsed.into());
        properties.insert("success".into(), success.into());
        properties.insert("destination_name".into(), destination_name.into());
        properties.insert("destination_type".into(), destination_type.into());
        properties.insert("pipeline_name_hash".into(), pipeline_name_hash.into());
        properties.insert("dataset_name_hash".into(), dataset_name_hash.into());
        properties.insert("default_schema_name_hash".into(), default_schema_name_hash.into());
        properties.insert("transaction_id".into(), transaction_id.into());
        if let Some((key, value)) = own {
            properties.insert(key.into(), value);
        }
        properties
    }
}

/// One item of what was extracted: a named source or resource, or the type of unnamed data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ExtractedData {
    /// The source or resource name; empty for plain data.
    pub name: String,
    /// `source`, `resource`, or the type of plain data (e.g. `dict`, `DataFrame`).
    pub data_type: String,
}

impl From<ExtractedData> for Value {
    fn from(item: ExtractedData) -> Self {
        let ExtractedData { name, data_type } = item;
        serde_json::json!({ "name": name, "data_type": data_type })
    }
}

/// The extract step of a pipeline trace finished.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
pub struct PipelineExtract {
    /// The shared step properties.
    #[serde(flatten)]
    pub step: PipelineStep,
    /// What was extracted, when the host reports it.
    #[serde(default)]
    pub extract_data: Option<Vec<ExtractedData>>,
}

impl Event for PipelineExtract {
    const CATEGORY: EventCategory = EventCategory::Pipeline;
    const NAME: &'static str = "extract";

    fn into_properties(self) -> Properties {
        let Self { step, extract_data } = self;
        step.into_properties_with(extract_data.map(|items| ("extract_data", items.into())))
    }
}

/// The normalize step of a pipeline trace finished.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
pub struct PipelineNormalize {
    /// The shared step properties.
    #[serde(flatten)]
    pub step: PipelineStep,
}

impl Event for PipelineNormalize {
    const CATEGORY: EventCategory = EventCategory::Pipeline;
    const NAME: &'static str = "normalize";

    fn into_properties(self) -> Properties {
        let Self { step } = self;
        step.into_properties_with(None)
    }
}

/// The load step of a pipeline trace finished.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
pub struct PipelineLoad {
    /// The shared step properties.
    #[serde(flatten)]
    pub step: PipelineStep,
    /// A hash of selected destination settings, when the host reports it (`""` for local
    /// destinations such as duckdb).
    #[serde(default)]
    pub destination_fingerprint: Option<String>,
}

impl Event for PipelineLoad {
    const CATEGORY: EventCategory = EventCategory::Pipeline;
    const NAME: &'static str = "load";

    fn into_properties(self) -> Properties {
        let Self { step, destination_fingerprint } = self;
        step.into_properties_with(
            destination_fingerprint.map(|fingerprint| ("destination_fingerprint", fingerprint.into())),
        )
    }
}

/// A whole `run` (extract, normalize and load) finished.
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
pub struct PipelineRun {
    /// The shared step properties.
    #[serde(flatten)]
    pub step: PipelineStep,
}

impl Event for PipelineRun {
    const CATEGORY: EventCategory = EventCategory::Pipeline;
    const NAME: &'static str = "run";

    fn into_properties(self) -> Properties {
        let Self { step } = self;
        step.into_properties_with(None)
    }
}

/// The first access to a pipeline's dataset (once per pipeline object, success or not).
#[derive(Clone, Debug, PartialEq, Deserialize, JsonSchema)]
pub struct PipelineAccessDataset {
    /// False when opening the dataset failed.
    pub success: bool,
    /// The destination's short name; null when the pipeline has none.
    pub destination_name: Option<String>,
    /// The destination's type; null when the pipeline has none.
    pub destination_type: Option<String>,
    /// `digest128` of the pipeline name.
    pub pipeline_name_hash: Option<String>,
    /// `digest128` of the dataset name; null when there is no dataset.
    pub dataset_name_hash: Option<String>,
    /// `digest128` of the default schema name; null before a schema exists.
    pub default_schema_name_hash: Option<String>,
    /// `digest128` of the schema asked for (or the default one); null when none.
    pub requested_schema_name_hash: Option<String>,
}

impl Event for PipelineAccessDataset {
    const CATEGORY: EventCategory = EventCategory::Pipeline;
    const NAME: &'static str = "access_dataset";

    fn into_properties(self) -> Properties {
        let Self {
            success,
            destination_name,
            destination_type,
            pipeline_name_hash,
            dataset_name_hash,
            default_schema_name_hash,
            requested_schema_name_hash,
        } = self;
        let mut properties = Properties::new();
        properties.insert("success".into(), success.into());
        properties.insert("destination_name".into(), destination_name.into());
        properties.insert("destination_type".into(), destination_type.into());
        properties.insert("pipeline_name_hash".into(), pipeline_name_hash.into());
        properties.insert("dataset_name_hash".into(), dataset_name_hash.into());
        properties.insert("default_schema_name_hash".into(), default_schema_name_hash.into());
        properties.insert("requested_schema_name_hash".into(), requested_schema_name_hash.into());
        properties
    }
}

/// Declares the known events once: the [`KnownEvent`] enum, its parser and the list the JSON
/// Schemas are generated from.
macro_rules! known_events {
    ($($variant:ident($event:ty) = $description:literal,)+) => {
        /// A message's event with typed properties, for the events this model knows.
        #[derive(Clone, Debug, PartialEq)]
        pub enum KnownEvent {
            $(#[doc = $description] $variant($event),)+
        }

        impl KnownEvent {
            /// The typed event of a message: `Ok(None)` for an event this model has no type
            /// for, an error when a known event's properties do not have their documented types.
            pub fn parse(message: &TrackMessage) -> Result<Option<Self>, serde_json::Error> {
                $(
                    if message.event == event_name::<$event>() {
                        let properties = Value::Object(message.properties.clone());
                        return serde_json::from_value(properties).map(|e| Some(Self::$variant(e)));
                    }
                )+
                Ok(None)
            }
        }

        /// Calls `visit` with the wire name, a description and the properties schema of every
        /// known event.
        pub(crate) fn visit_known_events(mut visit: impl FnMut(String, &'static str, schemars::Schema)) {
            let mut generator = crate::schema::generator();
            $(visit(event_name::<$event>(), $description, generator.root_schema_for::<$event>());)+
        }
    };
}

known_events! {
    Telemetry(CommandEvent<TelemetryStatus>) =
        "`dlt telemetry` ran: it shows whether telemetry is on. Sent after the command.",
    TelemetrySwitch(CommandEvent<TelemetrySwitch>) =
        "Telemetry was switched by `--enable-telemetry` (this project) or `--disable-telemetry` (dlt 1.31 only). Sent after the switch.",
    Init(CommandEvent<Init>) =
        "`dlt init <source> <destination>` ran. Sent after the command, with the source and destination as typed.",
    Pipeline(CommandEvent<PipelineCommand>) =
        "`dlt pipeline <name> <operation>` is about to run. Sent before the operation, so `success` is always true.",
    PipelineExtract(PipelineExtract) =
        "The extract step of a traced pipeline run finished (or failed).",
    PipelineNormalize(PipelineNormalize) =
        "The normalize step of a traced pipeline run finished (or failed).",
    PipelineLoad(PipelineLoad) =
        "The load step of a traced pipeline run finished (or failed).",
    PipelineRun(PipelineRun) =
        "A whole pipeline run (extract, normalize, load) finished (or failed). Sent after the step events.",
    PipelineAccessDataset(PipelineAccessDataset) =
        "A pipeline's dataset was opened for the first time by this pipeline object (whether it worked or not).",
}
