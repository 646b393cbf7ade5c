//! A cloned repository's `secrets.toml` must not make `dlt` hang: config files are capped at
//! 1 MiB, and gathering the secrets of such a file must cost about as much as reading it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fmt::Write as _;
use std::fs;
use std::time::{Duration, Instant};

use common::{Machine, stderr, stdout};

/// A project `secrets.toml` just under 1 MiB holding 100,000 strings of 7 characters (each long
/// enough to count as a secret). Every string used to be added to the secret set one at a time,
/// each addition sorting the whole set again: quadratic, so `dlt telemetry` took minutes (10,000
/// strings: 6 s; 20,000: 23 s). Now the set is gathered first and sorted once.
#[test]
fn a_secrets_file_full_of_short_strings_does_not_hang_dlt() {
    let machine = Machine::new();
    let settings = machine.project().join(".dlt");
    fs::create_dir_all(&settings).unwrap();
    let mut contents = String::from("values = [");
    for index in 0..100_000 {
        write!(contents, "\"{index:07}\",").unwrap();
    }
    contents.push_str("]\n");
    assert!(contents.len() < 1024 * 1024, "within the 1 MiB a config file may have");
    fs::write(settings.join("secrets.toml"), contents).unwrap();

    let started = Instant::now();
    let output = machine.dlt(&["telemetry"], &[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("Telemetry is "), "{}", stdout(&output));
    assert!(took < Duration::from_secs(20), "it took {took:?}");
}

/// A secrets file of 20,000 strings, and a trace of 60,000 strings (a load's job list in
/// `step_info`, 1.5 MiB: dlt (Python) writes such traces). Each string used to be searched for
/// every secret, one after the other, so `dlt pipeline <name> trace` took (strings x secrets):
/// 84 s here, minutes with 100,000 secrets. All secrets are now searched in one pass
/// (Aho-Corasick), linear in the text.
#[test]
fn a_large_trace_with_a_large_secrets_file_is_shown_promptly() {
    let machine = Machine::new();
    let settings = machine.project().join(".dlt");
    fs::create_dir_all(&settings).unwrap();
    let mut contents = String::from("values = [");
    for index in 0..20_000 {
        write!(contents, "\"{index:07}\",").unwrap();
    }
    contents.push_str("]\n");
    fs::write(settings.join("secrets.toml"), contents).unwrap();
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/golden/trace/dlt-1.31-pipeline-trace-asdict.json");
    let mut trace: serde_json::Value = serde_json::from_str(&fs::read_to_string(golden).unwrap()).unwrap();
    let jobs: Vec<serde_json::Value> = (0..20_000)
        .map(|index| serde_json::json!({"file": format!("/data/load/{index:06}.parquet"), "table": "players", "state": "completed"}))
        .collect();
    trace["steps"][0]["step_info"] = serde_json::json!({ "jobs": jobs });
    fs::create_dir_all(machine.global().join("pipelines/big")).unwrap();
    fs::write(machine.global().join("pipelines/big/trace.json"), trace.to_string()).unwrap();

    let started = Instant::now();
    let output = machine.dlt(&["pipeline", "big", "trace"], &[("RUNTIME__DLTHUB_TELEMETRY", "false")]);
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(took < Duration::from_secs(10), "it took {took:?}");
}
