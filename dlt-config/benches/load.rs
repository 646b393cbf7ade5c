//! Loading all four small config files plus the environment (issue: well under a millisecond).

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![allow(missing_docs, reason = "criterion_group! generates an undocumented pub fn")]

use std::ffi::OsString;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use dlt_config::{Config, Environment, Locations};

fn load_four_files_and_env(c: &mut Criterion) {
    let project = tempfile::tempdir().unwrap();
    let global = tempfile::tempdir().unwrap();
    let settings = project.path().join(".dlt");
    std::fs::create_dir_all(&settings).unwrap();
    let files = [
        (
            settings.join("config.toml"),
            "# project\n[runtime]\nlog_level = \"INFO\"\n\n[sources.my_source]\napi_url = \"https://example.com\"\n\n[pipelines.tiny]\nenable_runtime_trace = true\n",
        ),
        (
            settings.join("secrets.toml"),
            "[runtime]\nsentry_dsn = \"https://key@o1.ingest.sentry.example/2\"\n\n[sources.my_source]\napi_key = \"k\"\n",
        ),
        (global.path().join("config.toml"), "[runtime]\ndlthub_telemetry = true\nlog_level = \"ERROR\" # global\n"),
        (global.path().join("secrets.toml"), "[runtime]\ndlthub_telemetry_segment_write_key = \"wk\"\n"),
    ];
    for (path, contents) in &files {
        std::fs::write(path, contents).unwrap();
    }
    let mut pairs: Vec<(String, OsString)> = std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value)))
        .filter(|(name, _)| !name.starts_with("DLT_") && !name.contains("__"))
        .collect();
    pairs.extend([
        ("DLT_PROJECT_DIR".to_owned(), project.path().into()),
        ("DLT_GLOBAL_DIR".to_owned(), global.path().into()),
        ("RUNTIME__DLTHUB_TELEMETRY_DEBUG".to_owned(), "false".into()),
        ("PIPELINES__TINY__ENABLE_RUNTIME_TRACE".to_owned(), "true".into()),
    ]);
    let env = Environment::from_pairs(pairs);
    let locations = Locations::resolve(&env).unwrap();

    c.bench_function("Config::load + enable_runtime_trace (4 files, env)", |b| {
        b.iter(|| {
            let config = Config::load_at(black_box(locations.clone()), black_box(env.clone())).unwrap();
            black_box(config.enable_runtime_trace(Some("tiny")).unwrap())
        });
    });
}

criterion_group!(benches, load_four_files_and_env);
criterion_main!(benches);
