//! Secrets planted in the configuration and the environment (a write key, a Sentry DSN, an OTLP
//! header token, a proxy password, a password in `secrets.toml`) and credentials in URLs (a user
//! name alone, query values) never reach the terminal or the files the command line keeps: not
//! `dlt telemetry` (text or JSON), not `recipient.json`, not `dlt pipeline <name> trace` (text
//! or JSON) of a trace an older writer kept, not an `error:` line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::Path;

use common::{Machine, stderr, stdout};
use dlt_test_support::{Answer, SENTRY_PUBLIC_KEY, SentryReceiver};

const WRITE_KEY: &str = "segment-wk-5";
const OTLP_TOKEN: &str = "otlp-t0ken-7";
const PROXY_PASSWORD: &str = "pr0xy-pa55";
const FILE_PASSWORD: &str = "pg-pa55word-9";
/// A connection string whose password holds a quote, as a dataset name.
const DATASET: &str = "postgresql://loader:it's9@db";

/// What stdout and stderr of `dlt <args>` say together.
fn printed(machine: &Machine, args: &[&str], vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let output = machine.dlt(args, vars);
    (output.status.code(), format!("{}{}", stdout(&output), stderr(&output)))
}

#[test]
fn a_user_name_and_query_values_are_never_printed_or_kept_in_recipient_json() {
    let machine = Machine::new();
    machine.endpoint.set_answer(Answer::disconnect());
    let base = machine.endpoint.url();
    let endpoint =
        format!("{}/v1/track?api_key=k3y-s3cret&token=t0k3n-s3cret", base.replace("http://", "http://tok_SECRET@"));
    let shown = format!("{}/v1/track?api_key=***&token=***", base.replace("http://", "http://***@"));
    let secrets = ["tok_SECRET", "k3y-s3cret", "t0k3n-s3cret"];
    let vars = [("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", endpoint.as_str())];
    assert!(machine.dlt(&["telemetry"], &vars).status.success());
    assert_eq!(machine.waiting().0, 1, "the refused message waits for its recipient");

    let (code, text) = printed(&machine, &["telemetry"], &vars);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&format!("  endpoint: {shown}, from RUNTIME__DLTHUB_TELEMETRY_ENDPOINT (environment)\n")),
        "{text}"
    );
    assert!(text.contains(&format!("  waiting for {shown}: ")), "{text}");
    let (_, json) = printed(&machine, &["telemetry", "--json"], &vars);
    let status: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(status["telemetry"]["endpoint"], shown.as_str());
    assert_eq!(status["waiting"][0]["endpoint"], shown.as_str());
    for secret in secrets {
        assert!(!text.contains(secret) && !json.contains(secret), "{secret}: {text}{json}");
    }

    let recipients: Vec<_> = fs::read_dir(machine.global().join("telemetry/outbox"))
        .unwrap()
        .map(|folder| folder.unwrap().path().join("recipient.json"))
        .collect();
    assert_eq!(recipients.len(), 1);
    let kept = fs::read_to_string(&recipients[0]).unwrap();
    assert_eq!(serde_json::from_str::<serde_json::Value>(&kept).unwrap()["endpoint"], shown.as_str());
    assert!(secrets.iter().all(|secret| !kept.contains(secret)), "{kept}");

    // A `recipient.json` an older version wrote with the endpoint in clear is shown hidden too.
    fs::write(&recipients[0], serde_json::json!({"endpoint": endpoint, "write_key": false}).to_string()).unwrap();
    let off = [("RUNTIME__DLTHUB_TELEMETRY", "false")];
    let (_, text) = printed(&machine, &["telemetry"], &off);
    let (_, json) = printed(&machine, &["telemetry", "--json"], &off);
    assert!(text.contains(&format!("  waiting for {shown}: 3 message(s)")), "{text}");
    for secret in secrets {
        assert!(!text.contains(secret) && !json.contains(secret), "{secret}: {text}{json}");
    }
}

/// A trace as dlt (Python) or an older version wrote it: the load step failed naming every
/// planted secret, and the dataset and a config value are connection strings.
fn plant_trace(machine: &Machine, dsn: &str) {
    let golden =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/golden/trace/dlt-1.31-pipeline-trace-asdict.json");
    let mut trace: serde_json::Value = serde_json::from_str(&fs::read_to_string(golden).unwrap()).unwrap();
    let last = trace["steps"].as_array().unwrap().len() - 1;
    trace["steps"][last]["step_exception"] = format!(
        "load into {DATASET} failed: token {OTLP_TOKEN} rejected by {dsn}, password {FILE_PASSWORD}, \
         write key {WRITE_KEY}, proxy {PROXY_PASSWORD}"
    )
    .into();
    trace["dataset_name"] = DATASET.into();
    trace["resolved_config_values"] = serde_json::json!([{"key": "credentials", "value": DATASET}]);
    let dir = machine.global().join("pipelines/tiny");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("trace.json"), trace.to_string()).unwrap();
}

#[test]
fn planted_secrets_never_reach_the_terminal() {
    let machine = Machine::new();
    let sentry = SentryReceiver::start().unwrap();
    let dsn = sentry.dsn();
    fs::write(
        machine.global().join("secrets.toml"),
        format!("[destination.postgres.credentials]\npassword = \"{FILE_PASSWORD}\"\n"),
    )
    .unwrap();
    plant_trace(&machine, &dsn);
    let headers = format!("authorization=Bearer%20{OTLP_TOKEN}");
    let proxy = format!("http://proxyuser:{PROXY_PASSWORD}@127.0.0.1:9");
    let vars = [
        ("RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY", WRITE_KEY),
        ("RUNTIME__SENTRY_DSN", dsn.as_str()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
        ("OTEL_EXPORTER_OTLP_HEADERS", headers.as_str()),
        // Only https:// goes through it; the endpoints are http://.
        ("HTTPS_PROXY", proxy.as_str()),
        ("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "0.2"),
    ];
    let never = [WRITE_KEY, SENTRY_PUBLIC_KEY, OTLP_TOKEN, PROXY_PASSWORD, FILE_PASSWORD, "it's9", "loader"];

    let (code, trace) = printed(&machine, &["pipeline", "tiny", "trace"], &vars);
    assert_eq!(code, Some(0), "{trace}");
    // Read back, the DSN has lost its key to the URL rule before the secrets are applied.
    let error = format!(
        "  error: load into postgresql://***@db failed: token *** rejected by {}, password ***, write key ***, proxy ***\n",
        dsn.replace(SENTRY_PUBLIC_KEY, "***")
    );
    assert!(trace.contains(&error), "{trace}");
    assert!(trace.contains("Dataset: postgresql://***@db\n"), "{trace}");
    let (code, json) = printed(&machine, &["pipeline", "tiny", "trace", "--json"], &vars);
    assert_eq!(code, Some(0), "{json}");
    let loaded: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(loaded["resolved_config_values"][0]["value"], "postgresql://***@db");
    let (code, missing) = printed(&machine, &["pipeline", FILE_PASSWORD, "trace"], &vars);
    assert_eq!(code, Some(1), "{missing}");
    assert!(missing.starts_with("error: pipeline \"***\" has no saved trace"), "{missing}");
    let (code, invalid) = printed(&machine, &["pipeline", DATASET, "trace"], &vars);
    assert_eq!(code, Some(2), "{invalid}");
    assert!(invalid.starts_with("error: pipeline name \"postgresql://***@db\" cannot name a directory"), "{invalid}");
    let (_, status) = printed(&machine, &["telemetry"], &vars);
    let (_, status_json) = printed(&machine, &["telemetry", "--json"], &vars);
    for text in [&trace, &json, &missing, &invalid, &status, &status_json] {
        for secret in never {
            assert!(!text.contains(secret), "{secret} printed: {text}");
        }
    }
    assert!(
        fs::read_to_string(machine.global().join("pipelines/tiny/trace.json")).unwrap().contains(FILE_PASSWORD),
        "showing a trace does not rewrite it"
    );
}

/// A connection string typed in the wrong place (an extra argument, a flag's value, a command
/// name): the usage error that quotes it hides its credentials, as every `error:` line does.
/// Help and version are printed as clap prints them.
#[test]
fn a_url_typed_in_the_wrong_place_is_not_echoed_by_a_usage_error() {
    let machine = Machine::new();
    let url = "postgres://loader:Pw0rd-typed@db.internal/x?sslkey=k3y-typed";
    for args in [
        vec!["init", "chess", "duckdb", url],
        vec![url],
        vec![&format!("--disable-telemetry={url}")],
        vec!["pipeline", "chess", "trace", &format!("--json={url}")],
    ] {
        let output = machine.dlt(&args, &[]);
        let error = stderr(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {error}");
        assert!(error.starts_with("error: "), "{args:?}: {error}");
        assert!(error.contains("postgres://***@db.internal/x?sslkey=***"), "{args:?}: {error}");
        for secret in ["Pw0rd-typed", "loader", "k3y-typed"] {
            assert!(!error.contains(secret) && !stdout(&output).contains(secret), "{args:?}: {error}");
        }
        assert!(machine.endpoint.requests().is_empty(), "a usage error sends nothing");
    }
    let help = machine.dlt(&["--help"], &[]);
    assert_eq!(help.status.code(), Some(0));
    assert!(stdout(&help).starts_with("The dlt command line"), "{}", stdout(&help));
    let version = machine.dlt(&["--version"], &[]);
    assert_eq!((version.status.code(), stdout(&version)), (Some(0), format!("dlt {}\n", env!("CARGO_PKG_VERSION"))));
}
