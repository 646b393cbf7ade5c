//! The secrets of the user's own services and configuration, gathered once from the
//! [`Config`]: what every place that shows or sends text hides (Sentry, OpenTelemetry, the
//! trace file, the command line's messages), so that a secret of one service never reaches
//! another.

use dlt_config::Config;
use dlt_otel_bridge::OtlpHeaders;
use dlt_redact::{Redactor, url_credentials};

/// A value found inside another value (a string of a `secrets.toml`, a user name or a
/// password inside a URL) is hidden on its own only when it has at least this many characters:
/// shorter ones (a port, `true`, a one-letter user name) would hide common words everywhere.
/// Inside its URL, the URL rule hides it whatever its length.
pub const MIN_FOUND_SECRET_CHARS: usize = 6;

/// The OpenTelemetry header variables, whose values are secrets.
const HEADER_VARIABLES: [&str; 2] = ["OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS"];
/// The OpenTelemetry endpoint variables, whose URL credentials are secrets.
const ENDPOINT_VARIABLES: [&str; 2] = ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"];
/// The proxy variables (both cases, as the HTTP client reads them), whose credentials are secrets.
const PROXY_VARIABLES: [&str; 6] = ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"];

/// Every secret of the configuration, as one set:
///
/// - the Segment write key, the Sentry DSN (whole, and its keys), and every value of
///   `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_EXPORTER_OTLP_TRACES_HEADERS` (of `Bearer <token>`
///   also the token);
/// - the credentials ([`url_credentials`]) of the endpoints (`runtime.dlthub_telemetry_endpoint`,
///   `runtime.otlp_endpoint`, `OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`)
///   and of the proxies (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, upper or lower case);
/// - every string of the global and the project `secrets.toml` (where dlt keeps the
///   credentials of sources and destinations, which a step's error may quote), and the
///   credentials of the URLs among them.
///
/// A user name or password taken out of a URL, and a string of a `secrets.toml`, counts only
/// with at least [`MIN_FOUND_SECRET_CHARS`] characters. The URL rule applies whatever the set
/// holds.
pub fn secret_set(config: &Config) -> Redactor {
    let runtime = config.runtime();
    let env = config.env();
    // Gathered first and handed to the redactor at once: each `extend` sorts the whole set, and
    // a `secrets.toml` may hold a hundred thousand strings.
    let mut secrets: Vec<String> = Vec::new();
    secrets.extend(runtime.dlthub_telemetry_segment_write_key.value.iter().map(|key| key.expose().to_owned()));
    if let Some(dsn) = &runtime.sentry_dsn.value {
        secrets.extend([dsn.expose().to_owned(), dsn.expose().trim().to_owned()]);
        add_url_credentials(&mut secrets, dsn.expose());
    }
    for raw in HEADER_VARIABLES.into_iter().filter_map(|variable| env.get(variable)) {
        let (headers, _) = OtlpHeaders::parse(raw);
        secrets.extend(headers.secret_values().map(|value| value.expose().to_owned()));
    }
    let endpoints = [Some(runtime.dlthub_telemetry_endpoint.value.as_str())]
        .into_iter()
        .chain([runtime.otlp_endpoint.value.as_ref().map(|endpoint| endpoint.as_str())])
        .flatten()
        .chain(ENDPOINT_VARIABLES.into_iter().chain(PROXY_VARIABLES).filter_map(|variable| env.get(variable)));
    for url in endpoints {
        add_url_credentials(&mut secrets, url);
    }
    for value in config.secrets_file_values() {
        let value = value.expose();
        if long_enough(value) {
            secrets.push(value.to_owned());
        }
        if value.contains("://") {
            add_url_credentials(&mut secrets, value);
        }
    }
    Redactor::new(secrets)
}

/// Adds the credentials of a URL: its whole user info when it holds a `:`, and each part with
/// at least [`MIN_FOUND_SECRET_CHARS`] characters.
fn add_url_credentials(secrets: &mut Vec<String>, url: &str) {
    let credentials = url_credentials(url);
    secrets.extend(credentials.into_iter().filter(|credential| credential.contains(':') || long_enough(credential)));
}

fn long_enough(value: &str) -> bool {
    value.chars().count() >= MIN_FOUND_SECRET_CHARS
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use dlt_config::Environment;
    use dlt_redact::MASK;

    use super::*;

    #[test]
    fn every_secret_of_the_configuration_is_in_the_set_and_nothing_else() {
        let dirs = tempfile::tempdir().unwrap();
        let (global, project) = (dirs.path().join("global"), dirs.path().join("project"));
        std::fs::create_dir_all(project.join(".dlt")).unwrap();
        std::fs::create_dir_all(&global).unwrap();
        std::fs::write(
            global.join("secrets.toml"),
            "[destination.postgres]\ncredentials = \"postgresql://loader:pg-pa55word@db/dlt\"\nport = \"5432\"\n",
        )
        .unwrap();
        std::fs::write(project.join(".dlt/secrets.toml"), "[sources.api]\napi_key = \"api-key-from-file\"\n").unwrap();
        let env = Environment::from_pairs([
            ("DLT_GLOBAL_DIR", global.as_os_str()),
            ("DLT_PROJECT_DIR", project.as_os_str()),
            ("RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY", "wk".as_ref()),
            ("RUNTIME__SENTRY_DSN", "https://dsnpublickey0123@o1.ingest.example/42".as_ref()),
            ("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", "http://tok_SECRET@127.0.0.1:9/v1/track".as_ref()),
            ("RUNTIME__OTLP_ENDPOINT", "http://cfg:otlp-config-pw@127.0.0.1:9".as_ref()),
            ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20otlp-t0ken,x-team=data".as_ref()),
            ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "api-key=traces-key".as_ref()),
            // An `@` in the query does not keep the password out of the set.
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://u:otlp-env-pw@127.0.0.1:9/v1/traces?team=a@b".as_ref()),
            ("https_proxy", "user:pr0xy-pa55@proxy.internal:3128".as_ref()),
            ("ALL_PROXY", "socks5h://all-proxy-user@proxy.internal:1080".as_ref()),
        ]);
        let secrets = secret_set(&dlt_config::Config::load(env).unwrap());
        let hidden = |text: &str| secrets.redact(text, MASK).into_owned();
        for secret in [
            "wk",
            "dsnpublickey0123",
            "tok_SECRET",
            "otlp-config-pw",
            "otlp-t0ken",
            "Bearer otlp-t0ken",
            "data",
            "traces-key",
            "otlp-env-pw",
            "pr0xy-pa55",
            "all-proxy-user",
            "pg-pa55word",
            "api-key-from-file",
        ] {
            assert_eq!(hidden(&format!("<{secret}>")), "<***>", "{secret}");
        }
        // Short values found inside others stay: a port, a one-letter user name.
        assert_eq!(hidden("port 5432, user u, loader"), "port 5432, user u, loader");
        assert_eq!(format!("{secrets:?}").matches("pa55").count(), 0);
    }

    #[test]
    fn nothing_configured_is_an_empty_set() {
        let dirs = tempfile::tempdir().unwrap();
        let env = Environment::from_pairs([
            ("DLT_GLOBAL_DIR", dirs.path().as_os_str()),
            ("DLT_PROJECT_DIR", dirs.path().as_os_str()),
        ]);
        assert!(secret_set(&dlt_config::Config::load(env).unwrap()).has_no_secrets());
    }
}
