//! Sentry, from the configuration: the bridge's options, and what makes them unusable.

use dlt_config::{Config, LogLevel};
use dlt_redact::Redactor;
use dlt_sentry_bridge::{EventLevel, HostEnvironment, SentryDsn, SentryGuard, SentryOptions};
use dlt_telemetry_model::Library;

use crate::issues::StartIssue;
use crate::usage::network;

/// The Sentry guard, enabled when a DSN is configured, scrubbing `secrets` from everything it
/// sends. A DSN that does not parse is a configuration error naming where it came from (never
/// its value); the bridge is the one place that parses DSNs.
pub(crate) fn start_sentry(config: &Config, library: &Library, secrets: &Redactor) -> Result<SentryGuard, StartIssue> {
    let runtime = config.runtime();
    let Some(dsn) = &runtime.sentry_dsn.value else {
        return Ok(SentryGuard::disabled());
    };
    let dsn = SentryDsn::parse(dsn.expose()).map_err(|error| StartIssue::Config {
        message: format!("{}: {error}", runtime.sentry_dsn.source.describe("runtime.sentry_dsn", &dlt_redact::MASK)),
    })?;
    let env = config.env();
    let mut options = SentryOptions::new(library.version.clone());
    options.dsn = Some(dsn);
    options.environment = runtime.sentry_environment.value.clone();
    // The sample rate is checked to lie in 0..=1, where f32 is precise enough.
    #[allow(clippy::cast_possible_truncation)]
    let rate = runtime.sentry_traces_sample_rate.value as f32;
    options.traces_sample_rate = rate;
    options.event_level = event_level(runtime.log_level.value);
    options.pipeline_name = runtime.pipeline_name.value.clone();
    options.host_environment = HostEnvironment::from_lookup(|name| env.get(name).map(str::to_owned));
    options.network = network(config);
    options.extra_secrets = secrets.clone();
    options.shutdown_timeout = runtime.telemetry_shutdown_timeout.value;
    Ok(dlt_sentry_bridge::init(options))
}

/// dlt's rule for Sentry events: max(WARNING, the log level).
fn event_level(log_level: LogLevel) -> EventLevel {
    match log_level {
        LogLevel::Debug | LogLevel::Info | LogLevel::Warning => EventLevel::Warning,
        LogLevel::Error => EventLevel::Error,
        LogLevel::Critical => EventLevel::Critical,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentry_events_start_at_warning_or_the_log_level_if_higher() {
        let cases = [
            (LogLevel::Debug, EventLevel::Warning),
            (LogLevel::Info, EventLevel::Warning),
            (LogLevel::Warning, EventLevel::Warning),
            (LogLevel::Error, EventLevel::Error),
            (LogLevel::Critical, EventLevel::Critical),
        ];
        for (log_level, expected) in cases {
            assert_eq!(event_level(log_level), expected, "{log_level}");
        }
    }
}
