//! [`PipelineIdentity`]: what identifies a pipeline run.

/// What identifies a pipeline run: the pipeline's name, its destination and its dataset. Build
/// it with [`PipelineIdentity::new`] and the `with_*` methods (fields may be added).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct PipelineIdentity {
    /// The pipeline's name (in clear: the trace stays on the user's machine).
    pub pipeline_name: String,
    /// The destination's short name, e.g. `duckdb`, when the pipeline has one. Not in traces
    /// written by dlt (Python).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub destination_name: Option<String>,
    /// The destination's type, e.g. `dlt.destinations.duckdb`, when the pipeline has one. Not
    /// in traces written by dlt (Python).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub destination_type: Option<String>,
    /// The dataset's name, when the pipeline has one. Not in traces written by dlt (Python).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub dataset_name: Option<String>,
}

impl PipelineIdentity {
    /// A pipeline with only a name.
    pub fn new(pipeline_name: impl Into<String>) -> Self {
        Self { pipeline_name: pipeline_name.into(), ..Self::default() }
    }

    /// The same pipeline with a destination: its short name and its type.
    #[must_use]
    pub fn with_destination(mut self, name: impl Into<String>, destination_type: impl Into<String>) -> Self {
        self.destination_name = Some(name.into());
        self.destination_type = Some(destination_type.into());
        self
    }

    /// The same pipeline with a dataset.
    #[must_use]
    pub fn with_dataset(mut self, name: impl Into<String>) -> Self {
        self.dataset_name = Some(name.into());
        self
    }
}
