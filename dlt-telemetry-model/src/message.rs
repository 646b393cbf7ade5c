//! The Segment track message and its context, as dlt sends them, plus Segment's own fields.

use std::fmt;

use schemars::JsonSchema;
use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};
use time::OffsetDateTime;

/// Event properties: an ordered JSON object. The event's own fields come first, then
/// `event_category` and `event_name`, the order dlt uses.
pub type Properties = Map<String, Value>;

/// Serde for a type whose derived impls are generated with `#[serde(remote = "Self")]`: the
/// input's key order is recorded on parse and kept on output.
macro_rules! key_ordered_serde {
    ($type:ty) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                if self.key_order.is_empty() {
                    return <$type>::serialize(self, serializer);
                }
                let fields = <$type>::serialize(self, serde_json::value::Serializer);
                self.key_order.reorder(fields).map_err(S::Error::custom)?.serialize(serializer)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let (mut value, key_order) = KeyOrder::deserialize(deserializer, <$type>::deserialize)?;
                value.key_order = key_order;
                Ok(value)
            }
        }
    };
}

/// The four event categories dlt sends. The event name on the wire is `<category>_<name>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum EventCategory {
    /// A `dlt` command line invocation.
    Command,
    /// A pipeline step or dataset access.
    Pipeline,
    /// A helper such as the Airflow or dbt integration.
    Helper,
    /// A tool called through dlt's MCP server.
    Mcp,
}

impl EventCategory {
    /// Every category, in the order dlt documents them.
    pub const ALL: [EventCategory; 4] = [Self::Command, Self::Pipeline, Self::Helper, Self::Mcp];

    /// The category as it appears in `event_category` and as the prefix of `event`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Command => "command",
            Self::Pipeline => "pipeline",
            Self::Helper => "helper",
            Self::Mcp => "mcp",
        }
    }

    /// Splits a wire event name `<category>_<name>` into its category and name.
    ///
    /// ```
    /// use dlt_telemetry_model::EventCategory;
    /// assert_eq!(
    ///     EventCategory::split_event("pipeline_access_dataset"),
    ///     Some((EventCategory::Pipeline, "access_dataset"))
    /// );
    /// assert_eq!(EventCategory::split_event("billing_charge"), None);
    /// ```
    pub fn split_event(event: &str) -> Option<(Self, &str)> {
        let (category, name) = event.split_once('_')?;
        let category = Self::ALL.into_iter().find(|c| c.as_str() == category)?;
        (!name.is_empty()).then_some((category, name))
    }
}

impl fmt::Display for EventCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Segment's message type for every message this project sends.
pub const TRACK_TYPE: &str = "track";

/// One anonymous telemetry message: dlt's `anonymousId`, `event`, `properties` and `context`,
/// then the Segment fields dlt leaves to Segment (`type`, `messageId`, `timestamp`, `sentAt`).
///
/// Fields this model does not know are kept in `extra`, and a parsed message remembers the
/// order of its keys, so parsing and serialising again reproduces the input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(remote = "Self")]
#[schemars(
    title = "dlt anonymous telemetry message",
    description = "One Segment `track` message as sent by dlt (Python) or by this project."
)]
pub struct TrackMessage {
    /// A random 32-character hex id, different for every message. It identifies nothing: it is
    /// there because Segment requires an id.
    #[serde(rename = "anonymousId")]
    pub anonymous_id: String,
    /// `<event_category>_<event_name>`, e.g. `pipeline_load` or `command_telemetry.switch`.
    #[schemars(regex(pattern = r"^(command|pipeline|helper|mcp)_.+$"))]
    pub event: String,
    /// What happened: the event's own fields, then `event_category` and `event_name`.
    pub properties: Properties,
    /// Where it happened: CI or not, CPUs, execution environment, OS and library.
    pub context: Context,
    /// Segment's message type, always `track`. Absent in messages sent by dlt (Python).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub message_type: Option<String>,
    /// A UUID that stays the same across retries, so Segment can drop duplicates. Absent in
    /// messages sent by dlt (Python).
    #[serde(rename = "messageId", default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// When the event happened (RFC 3339). Absent in messages sent by dlt (Python).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "time::serde::rfc3339::option")]
    #[schemars(with = "Option<String>", extend("format" = "date-time"))]
    pub timestamp: Option<OffsetDateTime>,
    /// When this attempt to send was made (RFC 3339), refreshed on every retry.
    #[serde(
        rename = "sentAt",
        default,
        skip_serializing_if = "Option::is_none",
        with = "time::serde::rfc3339::option"
    )]
    #[schemars(with = "Option<String>", extend("format" = "date-time"))]
    pub sent_at: Option<OffsetDateTime>,
    /// Segment's user id. Never set by dlt or this project; kept when present.
    #[serde(rename = "userId", default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Fields this model does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// The order of the keys as parsed; empty for messages built in code.
    #[serde(skip)]
    #[schemars(skip)]
    key_order: KeyOrder,
}

impl TrackMessage {
    /// A message for any event of a known category, e.g. a command this model has no type for.
    /// `event_category` and `event_name` are appended to `properties`. Nothing is checked: to
    /// send a message, build it with [`crate::AnonymousMessage`], the privacy gate.
    pub fn new(
        category: EventCategory,
        name: &str,
        mut properties: Properties,
        anonymous_id: impl Into<String>,
        context: Context,
    ) -> Self {
        properties.insert("event_category".into(), category.as_str().into());
        properties.insert("event_name".into(), name.into());
        Self {
            anonymous_id: anonymous_id.into(),
            event: format!("{category}_{name}"),
            properties,
            context,
            message_type: None,
            message_id: None,
            timestamp: None,
            sent_at: None,
            user_id: None,
            extra: Map::new(),
            key_order: KeyOrder::default(),
        }
    }

    /// The category and name this message's `event` is made of, if it has the
    /// `<category>_<name>` form with a known category.
    pub fn category_and_name(&self) -> Option<(EventCategory, &str)> {
        EventCategory::split_event(&self.event)
    }
}

key_ordered_serde!(TrackMessage);

/// The execution context of a message: anonymous facts about where dlt runs.
///
/// Key order as dlt 1.31 sends it; dlt's `python` is omitted by this project (there is no
/// Python) but parsed when present.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(remote = "Self")]
#[schemars(description = "Anonymous facts about the environment the event came from.")]
pub struct Context {
    /// True when one of the well-known CI environment variables is present (`CI`,
    /// `GITHUB_ACTIONS`, `BUILD_ID`, ... whatever their value).
    pub ci_run: bool,
    /// The Python version of dlt (Python). Not sent by this project.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub python: Option<String>,
    /// Number of logical CPUs.
    pub cpu: u32,
    /// Execution environments detected, in a fixed order: `kubernetes`, `docker`, `codespaces`,
    /// `github_actions`, `notebook`, `colab`, `airflow`, `dagster`, `prefect`, `marimo`,
    /// `aws_lambda`, `gcp_cloud_function`, `streamlit`, `claude_code`, `claude_code_cli`,
    /// `cursor`, `codex`.
    pub exec_info: Vec<String>,
    /// The operating system family and kernel release.
    pub os: OsInfo,
    /// The library that sent the event and its version.
    pub library: Library,
    /// The run context: an object `{name}` (dlt 1.30 and later, and this project) or its bare
    /// name as a string (dlt up to 1.28). Absent in dlt 0.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_context: Option<RunContext>,
    /// Name and version of the `dlthub` plugin, when dlt (Python) has it installed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dlthub: Option<Library>,
    /// Fields this model does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
    /// The order of the keys as parsed; empty for contexts built in code.
    #[serde(skip)]
    #[schemars(skip)]
    key_order: KeyOrder,
}

impl Context {
    /// A context of `library` on `os`, in this project's key order: not a CI run, one CPU, no
    /// execution environment, no run context, no `python`, no `dlthub`. The `with_` methods set
    /// the rest.
    pub fn new(os: OsInfo, library: Library) -> Self {
        Self {
            ci_run: false,
            python: None,
            cpu: 1,
            exec_info: Vec::new(),
            os,
            library,
            run_context: None,
            dlthub: None,
            extra: Map::new(),
            key_order: KeyOrder::default(),
        }
    }

    /// The same context, a CI run or not.
    pub fn with_ci_run(mut self, ci_run: bool) -> Self {
        self.ci_run = ci_run;
        self
    }

    /// The same context with this many logical CPUs.
    pub fn with_cpu(mut self, cpu: u32) -> Self {
        self.cpu = cpu;
        self
    }

    /// The same context in these execution environments (in dlt's order).
    pub fn with_exec_info(mut self, exec_info: Vec<String>) -> Self {
        self.exec_info = exec_info;
        self
    }

    /// The same context with a run context.
    pub fn with_run_context(mut self, run_context: RunContext) -> Self {
        self.run_context = Some(run_context);
        self
    }
}

key_ordered_serde!(Context);

/// Operating system facts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OsInfo {
    /// `Linux`, `Darwin` or `Windows`.
    pub name: String,
    /// The kernel release, e.g. `6.1.0-18-amd64`.
    pub version: String,
    /// Fields this model does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl OsInfo {
    /// OS facts from a family name and a kernel release.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self { name: name.into(), version: version.into(), extra: Map::new() }
    }
}

/// A library (or plugin) name and version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Library {
    /// e.g. `dlt`.
    pub name: String,
    /// e.g. `1.31.0`.
    pub version: String,
    /// Fields this model does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Library {
    /// A library from its name and version.
    pub fn new(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self { name: name.into(), version: version.into(), extra: Map::new() }
    }
}

/// The run context, in either of the two shapes dlt has sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
#[non_exhaustive]
pub enum RunContext {
    /// dlt 1.30 and later, and this project: `{"name": "dlt"}`.
    Info(RunContextInfo),
    /// dlt up to 1.28: the bare name, `"dlt"`.
    Name(String),
}

impl RunContext {
    /// The run context's name, whatever its shape.
    pub fn name(&self) -> &str {
        match self {
            Self::Info(info) => &info.name,
            Self::Name(name) => name,
        }
    }
}

/// The object form of the run context.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RunContextInfo {
    /// The host library's name (never a directory name).
    pub name: String,
    /// The workspace profile, for profile-aware dlt (Python) workspaces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Fields this model does not know, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl RunContextInfo {
    /// A run context named after the host library.
    pub fn new(name: impl Into<String>) -> Self {
        Self { name: name.into(), profile: None, extra: Map::new() }
    }
}

/// The order in which a parsed object's keys arrived, so that serialising it again keeps that
/// order. Empty for values built in code, which serialise in their declared field order.
///
/// Key order is presentation, not content: two values differing only in it compare equal.
#[derive(Clone, Debug, Default)]
struct KeyOrder(Vec<String>);

impl PartialEq for KeyOrder {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl KeyOrder {
    /// Parses `T` with its derived deserializer and records the order of the input's keys.
    fn deserialize<'de, D, T>(
        deserializer: D,
        derived: fn(Value) -> Result<T, serde_json::Error>,
    ) -> Result<(T, Self), D::Error>
    where
        D: Deserializer<'de>,
    {
        let object = Map::<String, Value>::deserialize(deserializer)?;
        let order = Self(object.keys().cloned().collect());
        let value = derived(Value::Object(object)).map_err(D::Error::custom)?;
        Ok((value, order))
    }

    /// True for values built in code, which keep their declared field order.
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Puts the serialised fields back into the recorded order; keys not in the record follow,
    /// in declared order.
    fn reorder(&self, fields: Result<Value, serde_json::Error>) -> Result<Map<String, Value>, serde_json::Error> {
        let Value::Object(mut fields) = fields? else {
            return Err(<serde_json::Error as serde::ser::Error>::custom("expected the fields to form a JSON object"));
        };
        let mut ordered = Map::with_capacity(fields.len());
        for key in &self.0 {
            if let Some((key, value)) = fields.shift_remove_entry(key) {
                ordered.insert(key, value);
            }
        }
        ordered.append(&mut fields);
        Ok(ordered)
    }
}
