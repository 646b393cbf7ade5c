//! Reading: layering, provenance, dlt's value rules, the master switch, and errors a user can act on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Dirs, ODD_BYTES, mutate, write};
use dlt_config::{
    Config, ConfigError, DEFAULT_TELEMETRY_ENDPOINT, Environment, FileError, FileKind, Locations,
    SEGMENT_BATCH_ENDPOINT, Scope, Source, Sourced,
};

fn load(dirs: &Dirs, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let env = dirs.env(env);
    Config::load(&Locations::resolve(&env).unwrap(), &env)
}

fn file(path: &Path, scope: Scope, kind: FileKind) -> Source {
    Source::File { path: path.to_owned(), scope, kind }
}

fn env_source(variable: &str) -> Source {
    Source::Environment { variable: variable.to_owned() }
}

#[test]
fn nothing_configured_gives_every_default() {
    let dirs = Dirs::new();
    let config = load(&dirs, &[]).unwrap();
    let runtime = config.runtime();
    assert_eq!(runtime.dlthub_telemetry, Sourced::default_value(true));
    assert_eq!(runtime.dlthub_telemetry_endpoint.value.as_str(), DEFAULT_TELEMETRY_ENDPOINT);
    assert!(runtime.dlthub_telemetry_endpoint.is_default());
    assert_eq!(runtime.dlthub_telemetry_segment_write_key, Sourced::default_value(None));
    assert_eq!(runtime.sentry_dsn, Sourced::default_value(None));
    assert_eq!(runtime.log_level, Sourced::default_value("WARNING".to_owned()));
    assert_eq!(runtime.pipeline_name, Sourced::default_value(None));
    assert_eq!(runtime.dlthub_telemetry_debug, Sourced::default_value(false));
    assert_eq!(runtime.telemetry_shutdown_timeout, Sourced::default_value(Duration::from_secs(1)));
    assert_eq!(runtime.sentry_traces_sample_rate, Sourced::default_value(1.0));
    assert_eq!(runtime.sentry_environment, Sourced::default_value(None));
    assert_eq!(runtime.do_not_track, Sourced::default_value(false));
    assert_eq!(runtime.effective_endpoint(), DEFAULT_TELEMETRY_ENDPOINT);
    assert_eq!(config.enable_runtime_trace(Some("tiny")).unwrap(), Sourced::default_value(true));
}

#[test]
fn precedence_is_env_then_secrets_then_config_project_before_global() {
    let dirs = Dirs::new();
    let layers = [
        (dirs.global_config(), Scope::Global, FileKind::Config),
        (dirs.project_config(), Scope::Project, FileKind::Config),
        (dirs.locations().global_secrets_toml(), Scope::Global, FileKind::Secrets),
        (dirs.locations().project_secrets_toml(), Scope::Project, FileKind::Secrets),
    ];
    for (index, (path, ..)) in layers.iter().enumerate() {
        write(path, format!("[runtime]\nlog_level = \"L{index}\"\n"));
    }
    let env = [("RUNTIME__LOG_LEVEL", "ENV")];
    let log_level = load(&dirs, &env).unwrap().runtime().log_level.clone();
    assert_eq!(log_level.value, "ENV");
    assert_eq!(log_level.source, env_source("RUNTIME__LOG_LEVEL"));

    // Peel the layers off from the top: each time the next one down decides.
    for (index, (path, scope, kind)) in layers.iter().enumerate().rev() {
        let log_level = load(&dirs, &[]).unwrap().runtime().log_level.clone();
        assert_eq!(log_level.value, format!("L{index}"));
        assert_eq!(log_level.source, file(path, *scope, *kind));
        std::fs::remove_file(path).unwrap();
    }
    assert!(load(&dirs, &[]).unwrap().runtime().log_level.is_default());
}

#[test]
fn project_and_global_files_merge_key_by_key() {
    let dirs = Dirs::new();
    write(&dirs.global_config(), "[runtime]\ndlthub_telemetry = false\nlog_level = \"ERROR\"\n");
    write(&dirs.project_config(), "[runtime]\nlog_level = \"INFO\"\n");
    let config = load(&dirs, &[]).unwrap();
    let runtime = config.runtime();
    assert!(!runtime.dlthub_telemetry.value);
    assert_eq!(runtime.dlthub_telemetry.source, file(&dirs.global_config(), Scope::Global, FileKind::Config));
    assert_eq!(runtime.log_level.value, "INFO");
    assert_eq!(runtime.log_level.source, file(&dirs.project_config(), Scope::Project, FileKind::Config));
    assert_eq!(runtime.dlthub_telemetry.source.to_string(), dirs.global_config().display().to_string());
}

#[test]
fn only_exact_upper_case_section_variables_count() {
    let dirs = Dirs::new();
    let ignored = [("runtime__dlthub_telemetry", "false"), ("DLTHUB_TELEMETRY", "false"), ("Runtime__Log_Level", "x")];
    let runtime = load(&dirs, &ignored).unwrap().runtime().clone();
    assert_eq!(runtime.dlthub_telemetry, Sourced::default_value(true));
    assert!(runtime.log_level.is_default());

    let runtime = load(&dirs, &[("RUNTIME__DLTHUB_TELEMETRY", "false")]).unwrap().runtime().clone();
    assert_eq!(runtime.dlthub_telemetry, Sourced { value: false, source: env_source("RUNTIME__DLTHUB_TELEMETRY") });
}

#[test]
fn boolean_words_from_the_environment_are_dlts() {
    let dirs = Dirs::new();
    for (word, expected) in [("yes", true), ("T", true), ("1", true), ("No", false), ("f", false), ("0", false)] {
        let runtime = load(&dirs, &[("RUNTIME__DLTHUB_TELEMETRY_DEBUG", word)]).unwrap().runtime().clone();
        assert_eq!(runtime.dlthub_telemetry_debug.value, expected, "{word}");
    }
}

#[test]
fn off_and_empty_are_errors_naming_variable_value_and_expectation() {
    let dirs = Dirs::new();
    let error = load(&dirs, &[("RUNTIME__DLTHUB_TELEMETRY", "off")]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "RUNTIME__DLTHUB_TELEMETRY=\"off\" (environment): expected one of true/false/yes/no/1/0"
    );
    let error = load(&dirs, &[("RUNTIME__DLTHUB_TELEMETRY", "")]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "RUNTIME__DLTHUB_TELEMETRY=\"\" (environment): expected one of true/false/yes/no/1/0"
    );
}

#[test]
fn a_wrong_type_in_a_file_names_key_value_and_file() {
    let dirs = Dirs::new();
    write(&dirs.project_config(), "[runtime]\ndlthub_telemetry = \"off\"\n");
    let error = load(&dirs, &[]).unwrap_err();
    let ConfigError::InvalidValue { key, value, origin, .. } = &error else {
        panic!("unexpected {error:?}");
    };
    assert_eq!(key, "runtime.dlthub_telemetry");
    assert_eq!(value, "\"off\"");
    assert_eq!(origin, &file(&dirs.project_config(), Scope::Project, FileKind::Config));
    assert_eq!(
        error.to_string(),
        format!(
            "runtime.dlthub_telemetry=\"off\" ({}): expected one of true/false/yes/no/1/0",
            dirs.project_config().display()
        )
    );
}

#[test]
fn toml_strings_use_dlts_words_and_toml_booleans_are_native() {
    let dirs = Dirs::new();
    write(&dirs.project_config(), "[runtime]\ndlthub_telemetry = \"no\"\ndlthub_telemetry_debug = true\n");
    let runtime = load(&dirs, &[]).unwrap().runtime().clone();
    assert!(!runtime.dlthub_telemetry.value);
    assert!(runtime.dlthub_telemetry_debug.value);
}

#[test]
fn string_keys_accept_any_scalar() {
    let dirs = Dirs::new();
    let runtime = load(&dirs, &[("RUNTIME__LOG_LEVEL", "10")]).unwrap().runtime().clone();
    assert_eq!(runtime.log_level.value, "10");

    write(&dirs.project_config(), "[runtime]\nlog_level = 10\npipeline_name = true\nsentry_environment = 1.5\n");
    let runtime = load(&dirs, &[]).unwrap().runtime().clone();
    assert_eq!(runtime.log_level.value, "10");
    assert_eq!(runtime.pipeline_name.value.as_deref(), Some("true"));
    assert_eq!(runtime.sentry_environment.value.as_deref(), Some("1.5"));

    write(&dirs.project_config(), "[runtime]\nlog_level = [\"INFO\"]\n");
    let error = load(&dirs, &[]).unwrap_err();
    assert!(error.to_string().ends_with("expected a string"), "{error}");
}

#[test]
fn numbers_come_from_toml_numbers_or_text() {
    let dirs = Dirs::new();
    let env = [("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "2.5"), ("RUNTIME__SENTRY_TRACES_SAMPLE_RATE", "0.25")];
    let runtime = load(&dirs, &env).unwrap().runtime().clone();
    assert_eq!(runtime.telemetry_shutdown_timeout.value, Duration::from_millis(2500));
    assert_eq!(runtime.sentry_traces_sample_rate.value, 0.25);

    write(&dirs.global_config(), "[runtime]\ntelemetry_shutdown_timeout = 3\nsentry_traces_sample_rate = 0\n");
    let runtime = load(&dirs, &[]).unwrap().runtime().clone();
    assert_eq!(runtime.telemetry_shutdown_timeout.value, Duration::from_secs(3));
    assert_eq!(runtime.sentry_traces_sample_rate.value, 0.0);
}

#[test]
fn out_of_range_numbers_are_errors() {
    let dirs = Dirs::new();
    for (variable, value, expected) in [
        ("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "-1", "expected a number of seconds from 0 to 600"),
        ("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "NaN", "expected a number of seconds from 0 to 600"),
        ("RUNTIME__SENTRY_TRACES_SAMPLE_RATE", "1.5", "expected a number from 0 to 1"),
    ] {
        let error = load(&dirs, &[(variable, value)]).unwrap_err();
        assert_eq!(error.to_string(), format!("{variable}={value:?} (environment): {expected}"));
    }
}

#[test]
fn endpoint_must_be_an_http_url() {
    let dirs = Dirs::new();
    // The form in dlt's own docs, which dlt silently drops.
    let value = "telemetry-tracker.services4745.workers.dev";
    let error = load(&dirs, &[("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", value)]).unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "RUNTIME__DLTHUB_TELEMETRY_ENDPOINT={value:?} (environment): expected an http or https URL"
        )),
        "{message}"
    );

    let runtime =
        load(&dirs, &[("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", "http://127.0.0.1:9/track")]).unwrap().runtime().clone();
    assert_eq!(runtime.dlthub_telemetry_endpoint.value.as_str(), "http://127.0.0.1:9/track");
    assert_eq!(runtime.effective_endpoint(), "http://127.0.0.1:9/track");
}

#[test]
fn endpoint_credentials_are_used_but_never_shown() {
    let dirs = Dirs::new();
    let with_password = "http://collector:hunter2@127.0.0.1:9/v1/batch";
    let config = load(&dirs, &[("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", with_password)]).unwrap();
    let endpoint = &config.runtime().dlthub_telemetry_endpoint.value;
    assert_eq!(endpoint.as_str(), with_password, "sent verbatim");
    assert_eq!(endpoint.to_string(), "http://***@127.0.0.1:9/v1/batch");
    assert!(!format!("{config:?}").contains("hunter2"));

    let error = load(&dirs, &[("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", "ftp://collector:hunter2@host/x")]).unwrap_err();
    assert!(!error.to_string().contains("hunter2"), "{error}");
    assert!(error.to_string().contains("ftp://***@host/x"), "{error}");
}

#[test]
fn a_malformed_sentry_dsn_is_an_error_that_does_not_show_it() {
    let dirs = Dirs::new();
    let error = load(&dirs, &[("RUNTIME__SENTRY_DSN", "not-a-dsn-secret")]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "RUNTIME__SENTRY_DSN=*** (environment): expected a Sentry DSN like https://<public key>@<host>/<project id>"
    );
}

#[test]
fn an_exit_deadline_beyond_ten_minutes_is_an_error() {
    let dirs = Dirs::new();
    let error = load(&dirs, &[("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "1e19")]).unwrap_err();
    assert!(error.to_string().contains("expected a number of seconds from 0 to 600"), "{error}");
}

#[test]
fn a_write_key_without_an_explicit_endpoint_goes_to_segment() {
    let dirs = Dirs::new();
    write(&dirs.locations().project_secrets_toml(), "[runtime]\ndlthub_telemetry_segment_write_key = \"wk_123\"\n");
    let config = load(&dirs, &[]).unwrap();
    let runtime = config.runtime();
    assert_eq!(runtime.dlthub_telemetry_segment_write_key.value.as_ref().unwrap().expose(), "wk_123");
    assert_eq!(runtime.effective_endpoint(), SEGMENT_BATCH_ENDPOINT);

    // Explicit, even when equal to the default: used as given.
    let explicit = [("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", DEFAULT_TELEMETRY_ENDPOINT)];
    let config = load(&dirs, &explicit).unwrap();
    assert_eq!(config.runtime().effective_endpoint(), DEFAULT_TELEMETRY_ENDPOINT);
}

#[test]
fn secrets_never_show_in_debug_or_errors() {
    let dirs = Dirs::new();
    let env = [
        ("RUNTIME__SENTRY_DSN", "https://supersecretkey@o1.ingest.sentry.example/2"),
        ("RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY", "supersecretwritekey"),
    ];
    write(&dirs.locations().project_secrets_toml(), "[sources.my_source]\napi_key = \"supersecretapikey\"\n");
    let config = load(&dirs, &env).unwrap();
    let debug = format!("{config:?}");
    assert!(!debug.contains("supersecret"), "{debug}");
    assert!(debug.contains("***"));

    write(&dirs.locations().project_secrets_toml(), "[runtime]\nsentry_dsn = [\"supersecretkey\"]\n");
    let error = load(&dirs, &[]).unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("runtime.sentry_dsn=*** ("), "{message}");
    assert!(!format!("{message} {error:?}").contains("supersecret"));
}

#[test]
fn empty_optional_strings_are_unset_but_remember_who_said_so() {
    let dirs = Dirs::new();
    let runtime =
        load(&dirs, &[("RUNTIME__SENTRY_DSN", ""), ("RUNTIME__PIPELINE_NAME", "")]).unwrap().runtime().clone();
    assert_eq!(runtime.sentry_dsn.value, None);
    assert_eq!(runtime.sentry_dsn.source, env_source("RUNTIME__SENTRY_DSN"));
    assert_eq!(runtime.pipeline_name.value, None);
}

#[test]
fn do_not_track_is_any_value_but_empty_zero_or_false() {
    let dirs = Dirs::new();
    for (value, expected) in [("1", true), ("yes", true), ("true", true), ("0", false), ("FALSE", false), ("", false)] {
        let do_not_track = load(&dirs, &[("DO_NOT_TRACK", value)]).unwrap().runtime().do_not_track.clone();
        assert_eq!(do_not_track.value, expected, "{value:?}");
        assert_eq!(do_not_track.source, env_source("DO_NOT_TRACK"));
    }
}

#[test]
fn unknown_keys_and_sections_are_fine() {
    let dirs = Dirs::new();
    write(
        &dirs.project_config(),
        "name = \"x\"\n[sources.my_source]\napi_url = \"https://example.com\"\n[runtime]\nunknown = [1, 2]\nlog_level = \"INFO\"\n[[destinations]]\nx = 1\n",
    );
    assert_eq!(load(&dirs, &[]).unwrap().runtime().log_level.value, "INFO");
}

#[test]
fn master_switch_most_specific_key_of_a_source_wins() {
    let dirs = Dirs::new();
    write(&dirs.project_config(), "enable_runtime_trace = true\n");
    let config = load(&dirs, &[]).unwrap();
    let top = config.enable_runtime_trace(Some("tiny")).unwrap();
    assert!(top.value);
    assert_eq!(top.source, file(&dirs.project_config(), Scope::Project, FileKind::Config));

    write(&dirs.project_config(), "enable_runtime_trace = true\n[pipelines]\nenable_runtime_trace = false\n");
    let config = load(&dirs, &[]).unwrap();
    assert!(!config.enable_runtime_trace(Some("tiny")).unwrap().value);
    assert!(!config.enable_runtime_trace(None).unwrap().value);

    // The pipeline's own section, even in the global file, beats the project's general keys:
    // both files form one source, as in dlt.
    write(&dirs.global_config(), "[pipelines.tiny]\nenable_runtime_trace = true\n");
    let config = load(&dirs, &[]).unwrap();
    let tiny = config.enable_runtime_trace(Some("tiny")).unwrap();
    assert!(tiny.value);
    assert_eq!(tiny.source, file(&dirs.global_config(), Scope::Global, FileKind::Config));
    assert!(!config.enable_runtime_trace(Some("other")).unwrap().value);
}

#[test]
fn master_switch_environment_forms() {
    let dirs = Dirs::new();
    write(&dirs.project_config(), "[pipelines.my_pipe]\nenable_runtime_trace = true\n");
    for variable in
        ["ENABLE_RUNTIME_TRACE", "PIPELINES__ENABLE_RUNTIME_TRACE", "PIPELINES__MY_PIPE__ENABLE_RUNTIME_TRACE"]
    {
        let config = load(&dirs, &[(variable, "false")]).unwrap();
        let switch = config.enable_runtime_trace(Some("my_pipe")).unwrap();
        assert_eq!(switch, Sourced { value: false, source: env_source(variable) }, "{variable}");
    }
    let ignored = [
        ("PIPELINES__OTHER__ENABLE_RUNTIME_TRACE", "false"),
        ("RUNTIME__ENABLE_RUNTIME_TRACE", "false"),
        ("enable_runtime_trace", "false"),
    ];
    let config = load(&dirs, &ignored).unwrap();
    assert!(config.enable_runtime_trace(Some("my_pipe")).unwrap().value);
    assert!(config.enable_runtime_trace(None).unwrap().value);
}

#[test]
fn master_switch_pipeline_names_are_exact_in_files() {
    let dirs = Dirs::new();
    write(&dirs.project_config(), "[pipelines.\"my.pipe\"]\nenable_runtime_trace = false\n");
    let config = load(&dirs, &[]).unwrap();
    assert!(!config.enable_runtime_trace(Some("my.pipe")).unwrap().value);
    assert!(config.enable_runtime_trace(Some("My.Pipe")).unwrap().value);
}

#[test]
fn master_switch_bad_value_is_an_error_when_asked() {
    let dirs = Dirs::new();
    let config = load(&dirs, &[("PIPELINES__TINY__ENABLE_RUNTIME_TRACE", "off")]).unwrap();
    assert!(config.enable_runtime_trace(Some("other")).unwrap().value);
    let error = config.enable_runtime_trace(Some("tiny")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "PIPELINES__TINY__ENABLE_RUNTIME_TRACE=\"off\" (environment): expected one of true/false/yes/no/1/0"
    );
}

#[test]
fn malformed_toml_names_file_line_and_column() {
    let dirs = Dirs::new();
    write(&dirs.locations().global_secrets_toml(), "[runtime]\nsentry_dsn = \"ok\"\nbroken = \n");
    let error = load(&dirs, &[]).unwrap_err();
    let ConfigError::File(FileError::Malformed { path, line, column, .. }) = &error else {
        panic!("unexpected {error:?}");
    };
    assert_eq!(path, &dirs.locations().global_secrets_toml());
    assert_eq!((*line, *column), (3, 10));
    assert!(
        error
            .to_string()
            .starts_with(&format!("{}:3:10: invalid TOML: ", dirs.locations().global_secrets_toml().display())),
        "{error}"
    );
}

#[test]
fn invalid_utf8_names_file_line_and_column() {
    let dirs = Dirs::new();
    write(&dirs.project_config(), b"# ok\nkey = \"\xff\"\n");
    let error = load(&dirs, &[]).unwrap_err();
    assert_eq!(error.to_string(), format!("{}:2:8: not valid UTF-8 text", dirs.project_config().display()));
}

#[test]
fn unreadable_file_names_file_and_os_reason() {
    let dirs = Dirs::new();
    std::fs::create_dir_all(dirs.project_config()).unwrap();
    let error = load(&dirs, &[]).unwrap_err();
    let ConfigError::File(FileError::Unreadable { path, source }) = &error else {
        panic!("unexpected {error:?}");
    };
    assert_eq!(path, &dirs.project_config());
    assert_eq!(error.to_string(), format!("cannot read {}: {source}", dirs.project_config().display()));
}

// Unix only: environment values as raw bytes.
#[cfg(unix)]
#[test]
fn non_utf8_environment_values_are_errors_not_panics() {
    use std::os::unix::ffi::OsStrExt;
    let dirs = Dirs::new();
    let env = Environment::from_pairs([
        ("DLT_PROJECT_DIR", dirs.project.path().as_os_str()),
        ("DLT_GLOBAL_DIR", dirs.global.path().as_os_str()),
        ("RUNTIME__DLTHUB_TELEMETRY", std::ffi::OsStr::from_bytes(b"tru\xffe")),
    ]);
    let error = Config::load(&Locations::resolve(&env).unwrap(), &env).unwrap_err();
    assert!(error.to_string().starts_with("RUNTIME__DLTHUB_TELEMETRY=\"tru\u{fffd}e\" (environment)"), "{error}");
}

/// Odd bytes in the files and odd values in the environment: loading returns, never panics.
#[test]
fn arbitrary_file_bytes_and_env_values_never_panic() {
    let dirs = Dirs::new();
    let seed_text =
        "# c\n[runtime]\ndlthub_telemetry = true\nlog_level = \"INFO\"\n[pipelines.x]\nenable_runtime_trace = 0\n";
    let mut rng = fastrand::Rng::with_seed(20_261_125);
    let mut outcomes = (0, 0);
    for _ in 0..400 {
        let bytes = mutate(&mut rng, seed_text, 8);
        write(&dirs.project_config(), &bytes);
        let mut env_value = |valid: &[&str]| -> String {
            if rng.bool() {
                valid[rng.usize(..valid.len())].to_owned()
            } else {
                (0..rng.usize(..6)).map(|_| char::from(ODD_BYTES[rng.usize(..ODD_BYTES.len())])).collect()
            }
        };
        let timeout = env_value(&["1", "0.5", " 2 "]);
        let trace = env_value(&["yes", "0", "F"]);
        let result =
            load(&dirs, &[("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", &timeout), ("ENABLE_RUNTIME_TRACE", &trace)]);
        match result {
            Ok(config) => {
                let _ = config.enable_runtime_trace(Some("x"));
                outcomes.0 += 1;
            }
            Err(error) => {
                assert!(!error.to_string().is_empty());
                outcomes.1 += 1;
            }
        }
    }
    // Both paths were exercised.
    assert!(outcomes.0 > 0 && outcomes.1 > 0, "{outcomes:?}");
}
