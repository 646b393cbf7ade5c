//! Secrets the secret set used to miss, shown by what reaches the trace file (Sentry and the
//! collector read the same set).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Dirs;
use dlt_runtime_trace::{InitOptions, PipelineIdentity, RuntimeTrace, Step};

const ENV_PASSWORD: &str = "env-pa55word-3";
const FILE_PASSWORD: &str = "file-pa55word-4";

/// dlt reads the credentials of sources and destinations from the environment as readily as from
/// `secrets.toml` (`DESTINATION__POSTGRES__CREDENTIALS__PASSWORD`, `SOURCES__API__API_KEY`). A
/// step error that quotes such a password must not carry it into the trace file.
#[test]
fn a_destination_password_from_the_environment_is_hidden_like_one_from_secrets_toml() {
    let dirs = Dirs::new();
    std::fs::write(dirs.global().join("secrets.toml"), format!("[sources.api]\napi_key = \"{FILE_PASSWORD}\"\n"))
        .unwrap();
    let env = dirs.env(&[("DO_NOT_TRACK", "1"), ("DESTINATION__POSTGRES__CREDENTIALS__PASSWORD", ENV_PASSWORD)]);
    let runtime = RuntimeTrace::init(InitOptions::new("host_under_test", "9.9.9").with_env(env));
    let pipeline = PipelineIdentity::new("tiny").with_destination("postgres", "dlt.destinations.postgres");
    let mut run = runtime.start_pipeline_run(pipeline, Step::Run);
    let error = format!("password authentication failed: tried {ENV_PASSWORD}, then {FILE_PASSWORD}");
    let _ = run.step(Step::Load, |_| Err::<(), _>(std::io::Error::other(error.clone())));
    let finished = run.finish().unwrap();
    let saved = std::fs::read_to_string(finished.saved.unwrap()).unwrap();
    assert!(!saved.contains(FILE_PASSWORD), "the secrets.toml password is hidden: {saved}");
    assert!(!saved.contains(ENV_PASSWORD), "the same kind of password from the environment is kept in clear");
}

/// A connection string in `secrets.toml` whose password holds a space (a passphrase, written
/// raw as people paste them). The whole string is hidden, and so must be its password, taken
/// out of it over the whole value (the URL reading used to stop at the space), for an error
/// that quotes the password alone, or the URL as a driver rebuilt it.
#[test]
fn a_password_holding_a_space_is_hidden_when_quoted_alone() {
    let dirs = Dirs::new();
    std::fs::write(
        dirs.global().join("secrets.toml"),
        "[destination.postgres]\ncredentials = \"postgresql://loader:correct horse battery@db/dlt\"\n",
    )
    .unwrap();
    let runtime =
        RuntimeTrace::init(InitOptions::new("host_under_test", "9.9.9").with_env(dirs.env(&[("DO_NOT_TRACK", "1")])));
    let mut run = runtime.start_pipeline_run(PipelineIdentity::new("tiny"), Step::Run);
    let error = "could not connect to postgresql://loader:correct horse battery@db:5432/dlt (password \"correct horse battery\")";
    let _ = run.step(Step::Load, |_| Err::<(), _>(std::io::Error::other(error)));
    let saved = std::fs::read_to_string(run.finish().unwrap().saved.unwrap()).unwrap();
    assert!(!saved.contains("horse"), "the password is kept in clear: {saved}");
}
