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
