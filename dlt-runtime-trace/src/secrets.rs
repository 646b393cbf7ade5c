//! The secrets of the user's own services and configuration, gathered once from the
//! [`Config`]: what every place that shows or sends text hides (Sentry, OpenTelemetry, the
//! trace file, the command line's messages), so that a secret of one service never reaches
//! another.
//!
//! dlt reads the credentials of sources and destinations from the environment as readily as
//! from `secrets.toml` (`DESTINATION__POSTGRES__CREDENTIALS__PASSWORD`,
//! `SOURCES__API__API_KEY`, `DESTINATION__BIGQUERY__CREDENTIALS` holding a whole JSON object or
//! URL), so a variable named like a credential (a part of its name, split at `__`, holding
//! `CREDENTIALS`, `PASSWORD`, `SECRET`, `TOKEN`, `API_KEY` or `PRIVATE_KEY`) is taken exactly
//! as a string of a `secrets.toml`: the value, and the credentials inside it.

use dlt_config::Config;
use dlt_otel_bridge::OtlpHeaders;
use dlt_redact::{Redactor, connection_string_passwords, url_credentials};

/// A value found inside another value (a string of a `secrets.toml`, a variable named like a
/// credential, a user name or a password inside a URL) is hidden on its own only when it has at
/// least this many characters: shorter ones (a port, `true`, a one-letter user name) would hide
/// common words everywhere. Inside its URL, the URL rule hides it whatever its length.
pub const MIN_FOUND_SECRET_CHARS: usize = 6;

/// An environment variable whose name, split at `__`, has a part holding one of these words
/// (case ignored) holds a credential; so does a key of a JSON object inside a secret value.
const CREDENTIAL_WORDS: [&str; 6] = ["CREDENTIALS", "PASSWORD", "SECRET", "TOKEN", "API_KEY", "PRIVATE_KEY"];

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
///   credentials of sources and destinations, which a step's error may quote), and the value of
///   every variable of the configuration's environment whose name, split at `__`, has a part
///   holding `CREDENTIALS`, `PASSWORD`, `SECRET`, `TOKEN`, `API_KEY` or `PRIVATE_KEY` (case
///   ignored): each with the credentials inside it, read over the whole value (spaces
///   included): those of a URL, the password of a `key=value` connection string
///   ([`connection_string_passwords`]), and, in a JSON object, every string under a key named
///   like a credential (with the credentials inside every other string).
///
/// A user name or password taken out of a URL or a connection string, a string of a
/// `secrets.toml` and the value of a variable count only with at least
/// [`MIN_FOUND_SECRET_CHARS`] characters (a string and a value besides the whitespace around
/// them, which is also hidden without it). The URL rule applies whatever the set holds.
pub fn secret_set(config: &Config) -> Redactor {
    let runtime = config.runtime();
    let env = config.env();
    // Gathered first and handed to the redactor at once: each `extend` builds the search for
    // the whole set again, and a `secrets.toml` may hold a hundred thousand strings.
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
        add_secret_value(&mut secrets, value.expose());
    }
    // A value that is not UTF-8 cannot be quoted in text as it is.
    for (_, value) in env.vars().filter(|(name, _)| names_a_credential(name)) {
        if let Some(value) = value.to_str() {
            add_secret_value(&mut secrets, value);
        }
    }
    Redactor::new(secrets)
}

/// Whether a variable's name (split at `__`) or a JSON key names a credential: a part holds one
/// of the [`CREDENTIAL_WORDS`], case ignored.
fn names_a_credential(name: &str) -> bool {
    let name = name.to_ascii_uppercase();
    name.split("__").any(|part| CREDENTIAL_WORDS.iter().any(|word| part.contains(word)))
}

/// Adds a value that is a secret as a whole (a string of a `secrets.toml`, a variable named like
/// a credential): itself, and without the whitespace around it (a pasted token's newline),
/// when that has at least [`MIN_FOUND_SECRET_CHARS`] characters; and the credentials inside it.
fn add_secret_value(secrets: &mut Vec<String>, value: &str) {
    let trimmed = value.trim();
    if long_enough(trimmed) {
        secrets.extend([value, trimmed].map(str::to_owned));
    }
    add_credentials_inside(secrets, value);
}

/// Adds the credentials inside one value, read whole: those of a URL, the password of a
/// connection string, and, when the value is a JSON object or array, every string under a key
/// named like a credential as a secret value, and the credentials inside every other string.
fn add_credentials_inside(secrets: &mut Vec<String>, value: &str) {
    if value.contains("://") {
        add_url_credentials(secrets, value);
    }
    secrets.extend(connection_string_passwords(value).into_iter().filter(|password| long_enough(password)));
    if value.trim_start().starts_with(['{', '['])
        && let Ok(json) = serde_json::from_str::<serde_json::Value>(value)
    {
        add_json_strings(secrets, &json, false);
    }
}

/// Adds the strings of a JSON value: whole when under a key named like a credential (`named`),
/// else only the credentials inside them.
fn add_json_strings(secrets: &mut Vec<String>, json: &serde_json::Value, named: bool) {
    match json {
        serde_json::Value::String(text) if named => add_secret_value(secrets, text),
        serde_json::Value::String(text) => add_credentials_inside(secrets, text),
        serde_json::Value::Array(items) => items.iter().for_each(|item| add_json_strings(secrets, item, named)),
        serde_json::Value::Object(entries) => {
            for (key, item) in entries {
                add_json_strings(secrets, item, named || names_a_credential(key));
            }
        }
        _ => {}
    }
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

    use std::ffi::OsStr;

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
        assert_each_hidden(
            &secrets,
            &[
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
            ],
        );
        // Short values found inside others stay: a port, a one-letter user name.
        assert_eq!(hidden("port 5432, user u, loader"), "port 5432, user u, loader");
        assert_eq!(format!("{secrets:?}").matches("pa55").count(), 0);
    }

    /// Checks that each value is hidden where it stands alone.
    fn assert_each_hidden(secrets: &Redactor, values: &[&str]) {
        for value in values {
            assert_eq!(secrets.redact(&format!("<{value}>"), MASK), "<***>", "{value}");
        }
    }

    /// The set of a configuration read with these files and variables.
    fn set_of(secrets_toml: &str, variables: &[(&str, &OsStr)]) -> Redactor {
        let dirs = tempfile::tempdir().unwrap();
        std::fs::write(dirs.path().join("secrets.toml"), secrets_toml).unwrap();
        let mut pairs = vec![("DLT_GLOBAL_DIR", dirs.path().as_os_str()), ("DLT_PROJECT_DIR", dirs.path().as_os_str())];
        pairs.extend_from_slice(variables);
        secret_set(&dlt_config::Config::load(Environment::from_pairs(pairs)).unwrap())
    }

    #[test]
    fn variables_named_like_credentials_are_secrets_with_what_they_hold() {
        let json = r#"{"project_id": "my-project", "private_key": "-----BEGIN KEY-----\nMIIE\n-----END KEY-----\n",
            "client": {"refresh_token": "refresh-t0ken"}, "extra": ["postgresql://u:json pass@db"]}"#;
        let variables: [(&str, &OsStr); 16] = [
            ("DESTINATION__POSTGRES__CREDENTIALS__PASSWORD", "env-pa55word".as_ref()),
            ("DESTINATION__POSTGRES__CREDENTIALS__HOST", "db.internal".as_ref()),
            ("DESTINATION__POSTGRES__CREDENTIALS__PORT", "5432".as_ref()),
            ("SOURCES__API__API_KEY", "api-k3y-env".as_ref()),
            ("sources__github__access_token", "ghp_lower".as_ref()),
            ("PGPASSWORD", "pg-env-pass".as_ref()),
            ("SOURCES__API__USE_TOKEN", "true".as_ref()),
            ("SOURCES__API__SECRET", "  \n\t  ".as_ref()),
            ("SOURCES__K8S__TOKEN", "tok-pasted\n".as_ref()),
            ("DESTINATION__BIGQUERY__CREDENTIALS", json.as_ref()),
            ("DESTINATION__MSSQL__CREDENTIALS", "Server=db;Uid=loader;Pwd={odbc;pa55};".as_ref()),
            ("DESTINATION__PG2__CREDENTIALS", "postgresql://loader:url pass phrase@db/dlt".as_ref()),
            // Not named like a credential, however long: not a secret.
            ("RUNTIME__LOG_LEVEL", "WARNING".as_ref()),
            ("PWD", "/home/loader/project".as_ref()),
            ("SOURCES__API__BASE_URL", "https://api.example.com".as_ref()),
            ("API__KEY", "split-at-the-parts".as_ref()),
        ];
        let secrets = set_of("", &variables);
        let hidden = |text: &str| secrets.redact(text, MASK).into_owned();
        assert_each_hidden(
            &secrets,
            &[
                "env-pa55word",
                "db.internal",
                "api-k3y-env",
                "ghp_lower",
                "tok-pasted",
                "pg-env-pass",
                json,
                "-----BEGIN KEY-----\nMIIE\n-----END KEY-----\n",
                "refresh-t0ken",
                "json pass",
                "odbc;pa55",
                "url pass phrase",
            ],
        );
        // A value read as JSON is hidden also as a quoted string spells it.
        assert_eq!(hidden(r#"'-----BEGIN KEY-----\nMIIE\n-----END KEY-----\n'"#), "'***'");
        let kept =
            "5432 true   \n\t   WARNING /home/loader/project https://api.example.com split-at-the-parts my-project";
        assert_eq!(hidden(kept), kept);
    }

    #[test]
    fn a_secret_value_gives_the_credentials_it_holds_read_whole() {
        let secrets_toml = r#"
            [destination.postgres]
            credentials = "host=db user=loader password='libpq pa55' dbname=dlt"
            [destination.mssql]
            credentials = "Driver={ODBC 18};Server=db;UID=loader;PWD=odbc pa55;"
            [destination.pg]
            credentials = "postgresql://loader:correct horse battery@db/dlt?sslpassword=ssl-pa55"
            [destination.short]
            credentials = "host=db password=abc"
            [sources.api]
            credentials = '{"token": "tok-from-json", "host": "api.example.com"}'
        "#;
        let secrets = set_of(secrets_toml, &[]);
        let hidden = |text: &str| secrets.redact(text, MASK).into_owned();
        assert_each_hidden(
            &secrets,
            &[
                "libpq pa55",
                "odbc pa55",
                "correct horse battery",
                "loader:correct horse battery",
                "ssl-pa55",
                "tok-from-json",
            ],
        );
        // A password shorter than the minimum is hidden only inside its value; a JSON string
        // under a key that names no credential is not a secret on its own.
        assert_eq!(hidden("abc, api.example.com"), "abc, api.example.com");
    }

    #[cfg(unix)]
    #[test]
    fn a_credential_variable_that_is_not_utf8_is_left_out() {
        use std::os::unix::ffi::OsStrExt;
        let secrets = set_of("", &[("SOURCES__API__TOKEN", OsStr::from_bytes(b"tok-\xff-env"))]);
        assert!(secrets.has_no_secrets());
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
