//! The composition behind the `enable_runtime_trace` master switch: reads the configuration,
//! collects the execution context, starts Segment and Sentry, tracks commands and pipeline traces.
