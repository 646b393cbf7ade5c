//! Reading: layering, provenance, dlt's value rules, the master switch, and errors a user can act on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Dirs, ODD_BYTES, mutate, write};
use dlt_config::{
    Config, ConfigError, DEFAULT_TELEMETRY_ENDPOINT, Environment, FileError, FileKind, LogLevel, Scope, Source, Sourced,
};

fn load(dirs: &Dirs, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
    Config::load(dirs.env(env))
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
    assert_eq!(runtime.log_level, Sourced::default_value(LogLevel::Warning));
    assert_eq!(runtime.pipeline_name, Sourced::default_value(None));
    assert_eq!(runtime.dlthub_telemetry_debug, Sourced::default_value(false));
    assert_eq!(runtime.telemetry_shutdown_timeout, Sourced::default_value(Duration::from_secs(1)));
    assert_eq!(runtime.sentry_traces_sample_rate, Sourced::default_value(1.0));
    assert_eq!(runtime.sentry_environment, Sourced::default_value(None));
    assert_eq!(runtime.do_not_track, Sourced::default_value(false));
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
        write(path, format!("[runtime]\npipeline_name = \"L{index}\"\n"));
    }
    let env = [("RUNTIME__PIPELINE_NAME", "ENV")];
    let pipeline_name = load(&dirs, &env).unwrap().runtime().pipeline_name.clone();
    assert_eq!(pipeline_name.value.as_deref(), Some("ENV"));
    assert_eq!(pipeline_name.source, env_source("RUNTIME__PIPELINE_NAME"));

    // Peel the layers off from the top: each time the next one down decides.
    for (index, (path, scope, kind)) in layers.iter().enumerate().rev() {
        let pipeline_name = load(&dirs, &[]).unwrap().runtime().pipeline_name.clone();
        assert_eq!(pipeline_name.value, Some(format!("L{index}")));
        assert_eq!(pipeline_name.source, file(path, *scope, *kind));
        std::fs::remove_file(path).unwrap();
    }
    assert!(load(&dirs, &[]).unwrap().runtime().pipeline_name.is_default());
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
    assert_eq!(runtime.log_level.value, LogLevel::Info);
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
    let runtime = load(&dirs, &[("RUNTIME__PIPELINE_NAME", "10")]).unwrap().runtime().clone();
    assert_eq!(runtime.pipeline_name.value.as_deref(), Some("10"));

    write(&dirs.project_config(), "[runtime]\npipeline_name = true\nsentry_environment = 1.5\n");
    let runtime = load(&dirs, &[]).unwrap().runtime().clone();
    assert_eq!(runtime.pipeline_name.value.as_deref(), Some("true"));
    assert_eq!(runtime.sentry_environment.value.as_deref(), Some("1.5"));

    write(&dirs.project_config(), "[runtime]\npipeline_name = [\"INFO\"]\n");
    let error = load(&dirs, &[]).unwrap_err();
    assert!(error.to_string().ends_with("expected a string"), "{error}");
}

#[test]
fn log_level_is_checked_whatever_else_is_configured() {
    let dirs = Dirs::new();
    let error = load(&dirs, &[("RUNTIME__LOG_LEVEL", "LOUD")]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "RUNTIME__LOG_LEVEL=\"LOUD\" (environment): expected one of CRITICAL, ERROR, WARNING, INFO, DEBUG (or FATAL, WARN, NOTSET)"
    );
    write(&dirs.project_config(), "[runtime]\nlog_level = 10\n");
    assert!(load(&dirs, &[]).is_err(), "a number is not a level name");
    write(&dirs.project_config(), "[runtime]\nlog_level = \"error\"\n");
    assert_eq!(load(&dirs, &[]).unwrap().runtime().log_level.value, LogLevel::Error);
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
fn endpoint_must_be_an_http_url_and_a_bad_one_is_never_echoed() {
    let dirs = Dirs::new();
    // The form in dlt's own docs, which dlt silently drops; then values that may hold passwords.
    for (value, reason) in [
        ("telemetry-tracker.services4745.workers.dev", "not an absolute URL (expected scheme://host/...)"),
        ("https://u:pa/ss@h/x", ""),
        ("ftp://collector:hunter2@host/x", "the scheme must be http or https"),
        ("http://collector:hunter2@host/x\n", "the URL contains whitespace or control characters"),
    ] {
        let error = load(&dirs, &[("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", value)]).unwrap_err();
        let message = error.to_string();
        assert!(
            message
                .starts_with("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT=*** (environment): expected an http or https URL: "),
            "{message}"
        );
        assert!(message.ends_with(reason), "{message}");
        for part in ["hunter2", "pa/ss", "services4745", "collector"] {
            assert!(!format!("{message} {error:?}").contains(part), "{message}");
        }
    }
    let runtime =
        load(&dirs, &[("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", "http://127.0.0.1:9/track")]).unwrap().runtime().clone();
    assert_eq!(runtime.dlthub_telemetry_endpoint.value.as_str(), "http://127.0.0.1:9/track");
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
}

#[test]
fn otlp_endpoint_is_an_optional_url() {
    let dirs = Dirs::new();
    assert_eq!(load(&dirs, &[]).unwrap().runtime().otlp_endpoint.value, None);
    assert_eq!(load(&dirs, &[("RUNTIME__OTLP_ENDPOINT", "")]).unwrap().runtime().otlp_endpoint.value, None);
    write(&dirs.project_config(), "[runtime]\notlp_endpoint = \"http://127.0.0.1:4318\"\n");
    let otlp = load(&dirs, &[]).unwrap().runtime().otlp_endpoint.clone();
    assert_eq!(otlp.value.unwrap().as_str(), "http://127.0.0.1:4318");
    let error = load(&dirs, &[("RUNTIME__OTLP_ENDPOINT", "localhost:4318")]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "RUNTIME__OTLP_ENDPOINT=*** (environment): expected an http or https URL: not an absolute URL (expected scheme://host/...)"
    );
}

#[test]
fn an_exit_deadline_beyond_ten_minutes_is_an_error() {
    let dirs = Dirs::new();
    let error = load(&dirs, &[("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "1e19")]).unwrap_err();
    assert!(error.to_string().contains("expected a number of seconds from 0 to 600"), "{error}");
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

/// A project file that is one of the user's global files (a link to it) is read as the global
/// file it is, so that a cloned repository cannot make the user's credentials count as its own.
#[cfg(unix)]
#[test]
fn a_project_file_linked_to_a_global_file_counts_as_the_global_one() {
    let dirs = Dirs::new();
    let global_secrets = dirs.locations().global_secrets_toml();
    write(&global_secrets, "[runtime]\ndlthub_telemetry_segment_write_key = \"wk_users_own\"\n");
    let project_secrets = dirs.locations().project_secrets_toml();
    std::fs::create_dir_all(project_secrets.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(&global_secrets, &project_secrets).unwrap();
    let key = load(&dirs, &[]).unwrap().runtime().dlthub_telemetry_segment_write_key.clone();
    assert_eq!(key.source, file(&global_secrets, Scope::Global, FileKind::Secrets));
}

/// A project file that leads out of the project dir (another project's `secrets.toml` through a
/// relative link, a file of the user's) is not the project's: none of its settings is used and
/// its strings are not in the secret set, but a `dlthub_telemetry = false` in it still counts.
#[cfg(unix)]
#[test]
fn a_project_file_that_leads_out_of_the_project_counts_only_for_its_opt_out() {
    let dirs = Dirs::new();
    // Beside the project, as a clone next to the user's other project would be.
    let elsewhere = tempfile::tempdir_in(dirs.project.path().parent().unwrap()).unwrap();
    let other_secrets = elsewhere.path().join("other/.dlt/secrets.toml");
    write(&other_secrets, "[runtime]\ndlthub_telemetry_segment_write_key = \"wk_users_own\"\n");
    let other_config = elsewhere.path().join("shared.toml");
    write(&other_config, "[runtime]\ndlthub_telemetry = false\nlog_level = \"INFO\"\n");
    let locations = dirs.locations();
    std::fs::create_dir_all(&locations.settings_dir).unwrap();
    let relative = Path::new("../..").join(elsewhere.path().file_name().unwrap()).join("other/.dlt/secrets.toml");
    std::os::unix::fs::symlink(&relative, locations.project_secrets_toml()).unwrap();
    std::os::unix::fs::symlink(&other_config, locations.project_config_toml()).unwrap();

    let config = load(&dirs, &[]).unwrap();
    let runtime = config.runtime();
    assert_eq!(
        runtime.dlthub_telemetry_segment_write_key,
        Sourced::default_value(None),
        "the user's key is not the project's"
    );
    assert_eq!(runtime.log_level, Sourced::default_value(LogLevel::Warning), "no setting of the file is used");
    assert!(!runtime.dlthub_telemetry.value, "its opt-out counts");
    assert_eq!(
        runtime.dlthub_telemetry.source,
        file(&locations.project_config_toml(), Scope::Project, FileKind::Config)
    );
    assert!(config.secrets_file_values().is_empty(), "the other file's strings are not the project's secrets");

    // A `true` there is not a setting of the project either: the default decides.
    write(&other_config, "[runtime]\ndlthub_telemetry = true\n");
    assert_eq!(load(&dirs, &[]).unwrap().runtime().dlthub_telemetry, Sourced::default_value(true));

    let project_dir = std::fs::canonicalize(dirs.project.path()).unwrap();
    let outside: Vec<_> = config
        .files_outside_project()
        .iter()
        .map(|o| (o.path.clone(), o.target.clone(), o.project_dir.clone()))
        .collect();
    assert_eq!(
        outside,
        [
            (locations.project_config_toml(), std::fs::canonicalize(&other_config).unwrap(), project_dir.clone()),
            (locations.project_secrets_toml(), std::fs::canonicalize(&other_secrets).unwrap(), project_dir.clone()),
        ]
    );
    let message = config.files_outside_project()[1].to_string();
    assert!(
        message.starts_with(&format!(
            "{} leads to {}, outside the project dir {}: ",
            locations.project_secrets_toml().display(),
            std::fs::canonicalize(&other_secrets).unwrap().display(),
            project_dir.display()
        )),
        "{message}"
    );
}

/// The same for a settings dir that is itself a link out of the project, or that
/// `DLT_CONFIG_FOLDER` puts outside it: both files are outside.
#[cfg(unix)]
#[test]
fn a_settings_dir_outside_the_project_holds_no_file_of_the_project() {
    let elsewhere = tempfile::tempdir().unwrap();
    write(&elsewhere.path().join("config.toml"), "[runtime]\nlog_level = \"INFO\"\n");
    write(&elsewhere.path().join("secrets.toml"), "[runtime]\nsentry_dsn = \"https://k@o.example/1\"\n");
    for through in ["a linked .dlt", "DLT_CONFIG_FOLDER"] {
        let dirs = Dirs::new();
        let folder = elsewhere.path().to_str().unwrap();
        let env: &[(&str, &str)] = if through == "DLT_CONFIG_FOLDER" {
            &[("DLT_CONFIG_FOLDER", folder)]
        } else {
            std::os::unix::fs::symlink(elsewhere.path(), dirs.project.path().join(".dlt")).unwrap();
            &[]
        };
        let config = load(&dirs, env).unwrap();
        assert_eq!(config.runtime().log_level, Sourced::default_value(LogLevel::Warning), "{through}");
        assert_eq!(config.runtime().sentry_dsn, Sourced::default_value(None), "{through}");
        assert_eq!(config.files_outside_project().len(), 2, "{through}");
    }
}

/// Links that stay inside the project are the project's: a project dir that is itself a link,
/// a `.dlt` that links to a folder of the project, a file that links to another of the project.
/// A link to nothing is no file; a link loop is an error naming the file.
#[cfg(unix)]
#[test]
fn links_inside_the_project_are_the_projects_and_broken_ones_are_no_file_or_an_error() {
    let root = tempfile::tempdir().unwrap();
    let real_project = root.path().join("real");
    write(&real_project.join("settings/shared.toml"), "[runtime]\nlog_level = \"INFO\"\n");
    std::os::unix::fs::symlink("settings", real_project.join(".dlt")).unwrap();
    std::os::unix::fs::symlink("shared.toml", real_project.join("settings/config.toml")).unwrap();
    let project_link = root.path().join("project");
    std::os::unix::fs::symlink(&real_project, &project_link).unwrap();
    let global = tempfile::tempdir().unwrap();
    let env = |extra: &[(&str, &std::ffi::OsStr)]| {
        let mut pairs =
            vec![("DLT_PROJECT_DIR", project_link.as_os_str()), ("DLT_GLOBAL_DIR", global.path().as_os_str())];
        pairs.extend_from_slice(extra);
        Environment::from_pairs(pairs)
    };
    let config = Config::load(env(&[])).unwrap();
    assert_eq!(config.runtime().log_level.value, LogLevel::Info);
    assert!(config.files_outside_project().is_empty());

    std::os::unix::fs::symlink("/nonexistent/elsewhere.toml", real_project.join("settings/secrets.toml")).unwrap();
    let config = Config::load(env(&[])).unwrap();
    assert!(config.files_outside_project().is_empty(), "a link to nothing is no file");

    std::fs::remove_file(real_project.join("settings/secrets.toml")).unwrap();
    std::os::unix::fs::symlink("secrets.toml", real_project.join("settings/secrets.toml")).unwrap();
    let error = Config::load(env(&[])).unwrap_err().to_string();
    assert!(
        error.starts_with(&format!("cannot read {}: ", project_link.join(".dlt/secrets.toml").display())),
        "{error}"
    );
}

/// A password pasted under the wrong key of a `secrets.toml` (a boolean, a number, a URL) is
/// never echoed by the error that refuses it: every string of a `secrets.toml` is a secret.
#[test]
fn a_bad_value_in_a_secrets_file_is_never_shown() {
    let dirs = Dirs::new();
    for (contents, key) in [
        ("[runtime]\ndlthub_telemetry = \"supersecret-pw\"\n", "runtime.dlthub_telemetry"),
        ("[runtime]\ntelemetry_shutdown_timeout = \"supersecret-pw\"\n", "runtime.telemetry_shutdown_timeout"),
        ("enable_runtime_trace = \"supersecret-pw\"\n", "enable_runtime_trace"),
        ("[runtime]\nlog_level = \"supersecret-pw\"\n", "runtime.log_level"),
    ] {
        for file in [dirs.locations().project_secrets_toml(), dirs.locations().global_secrets_toml()] {
            write(&file, contents);
            let error = match load(&dirs, &[]) {
                Ok(config) => config.enable_runtime_trace(None).map(drop).unwrap_err(),
                Err(error) => error,
            };
            let message = error.to_string();
            assert!(message.starts_with(&format!("{key}=*** (")), "{message}");
            assert!(!format!("{message} {error:?}").contains("supersecret"), "{message}");
            std::fs::remove_file(&file).unwrap();
        }
    }
    // In a config.toml the value is shown, as dlt shows it.
    write(&dirs.locations().project_config_toml(), "[runtime]\ndlthub_telemetry = \"off\"\n");
    assert!(load(&dirs, &[]).unwrap_err().to_string().starts_with("runtime.dlthub_telemetry=\"off\" ("));
}

#[test]
fn the_string_values_of_both_secrets_files_are_listed_and_never_shown() {
    let dirs = Dirs::new();
    write(
        &dirs.locations().global_secrets_toml(),
        "[destination.postgres.credentials]\npassword = \"global-pw\"\nport = 5432\n",
    );
    write(
        &dirs.locations().project_secrets_toml(),
        concat!(
            "[destination.postgres.credentials]\npassword = \"project-pw\"\n",
            "[sources.api]\ntokens = [\"tok-1\", { inner = \"tok-2\" }]\nenabled = true\n",
            "[[sources.api.keys]]\nkey = \"tok-3\"\n",
        ),
    );
    write(&dirs.global_config(), "[runtime]\npipeline_name = \"not-a-secret\"\n");
    let config = load(&dirs, &[("SOURCES__API__TOKEN", "from-env")]).unwrap();
    let mut values: Vec<&str> = config.secrets_file_values().iter().map(|secret| secret.expose()).collect();
    values.sort_unstable();
    // Both files, also the value the project's file overrides; strings only, from any depth.
    assert_eq!(values, ["global-pw", "project-pw", "tok-1", "tok-2", "tok-3"]);
    let shown = format!("{:?} {config:?}", config.secrets_file_values());
    assert!(!shown.contains("pw") && !shown.contains("tok-"), "{shown}");
    assert!(load(&Dirs::new(), &[]).unwrap().secrets_file_values().is_empty());
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
    assert_eq!(load(&dirs, &[]).unwrap().runtime().log_level.value, LogLevel::Info);
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
fn a_folder_in_place_of_a_file_is_named_and_never_read() {
    let dirs = Dirs::new();
    std::fs::create_dir_all(dirs.project_config()).unwrap();
    let error = load(&dirs, &[]).unwrap_err();
    let ConfigError::File(FileError::Refused { path, .. }) = &error else {
        panic!("unexpected {error:?}");
    };
    assert_eq!(path, &dirs.project_config());
    assert_eq!(error.to_string(), format!("{} is a folder, not a regular file", dirs.project_config().display()));
}

#[cfg(unix)]
#[test]
fn a_fifo_or_a_device_is_refused_before_reading() {
    let dirs = Dirs::new();
    std::fs::create_dir_all(dirs.locations().settings_dir).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(dirs.project_config()).status().unwrap().success());
    let error = load(&dirs, &[]).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{} is a named pipe (FIFO), not a regular file", dirs.project_config().display())
    );
    // `/dev/zero` reads without end: a Linux fact, so the link is made only there.
    #[cfg(target_os = "linux")]
    {
        let secrets = dirs.locations().global_secrets_toml();
        std::os::unix::fs::symlink("/dev/zero", &secrets).unwrap();
        std::fs::remove_file(dirs.project_config()).unwrap();
        let error = load(&dirs, &[]).unwrap_err();
        assert_eq!(error.to_string(), format!("{} is a device, not a regular file", secrets.display()));
    }
}

#[test]
fn a_file_over_one_mib_is_refused_before_reading() {
    let dirs = Dirs::new();
    let mut text = String::from("[runtime]\n");
    while text.len() <= 1024 * 1024 {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    write(&dirs.global_config(), &text);
    let error = load(&dirs, &[]).unwrap_err();
    assert_eq!(error.to_string(), format!("{} is larger than 1 MiB", dirs.global_config().display()));
    text.truncate(1024 * 1024 - 100);
    write(&dirs.global_config(), &text);
    assert!(load(&dirs, &[]).is_ok(), "just under the limit is read");
}

#[test]
fn a_byte_order_mark_crlf_and_an_empty_file_read_as_dlt_reads_them() {
    let dirs = Dirs::new();
    write(&dirs.project_config(), "\u{feff}[runtime]\r\nlog_level = \"ERROR\"\r\n");
    write(&dirs.global_config(), "");
    let runtime = load(&dirs, &[]).unwrap().runtime().clone();
    assert_eq!(runtime.log_level.value, LogLevel::Error);
}

#[test]
fn a_global_dir_that_is_a_file_is_named() {
    let dirs = Dirs::new();
    let file = dirs.global.path().join("not-a-dir");
    write(&file, "x");
    let env = Environment::from_pairs([("DLT_PROJECT_DIR", dirs.project.path()), ("DLT_GLOBAL_DIR", file.as_path())]);
    let error = Config::load(env).unwrap_err();
    assert_eq!(error.to_string(), format!("{} is not a folder (the global dir)", file.display()));
}

#[test]
fn opt_out_wins_over_any_true() {
    let dirs = Dirs::new();
    let project_secrets = dirs.locations().project_secrets_toml();
    write(&dirs.global_config(), "[runtime]\ndlthub_telemetry = false\n");
    write(&dirs.project_config(), "[runtime]\ndlthub_telemetry = true\n");
    write(&project_secrets, "[runtime]\ndlthub_telemetry = true\n");
    let runtime = load(&dirs, &[("RUNTIME__DLTHUB_TELEMETRY", "true")]).unwrap().runtime().clone();
    let global = file(&dirs.global_config(), Scope::Global, FileKind::Config);
    assert_eq!(runtime.dlthub_telemetry, Sourced { value: false, source: global.clone() });
    assert_eq!(runtime.dlthub_telemetry_opt_outs, std::slice::from_ref(&global));

    // The first false in precedence order is the one named.
    write(&project_secrets, "[runtime]\ndlthub_telemetry = \"no\"\n");
    let telemetry = load(&dirs, &[]).unwrap().runtime().dlthub_telemetry.clone();
    assert_eq!(telemetry.source, file(&project_secrets, Scope::Project, FileKind::Secrets));
    let runtime = load(&dirs, &[("RUNTIME__DLTHUB_TELEMETRY", "0")]).unwrap().runtime().clone();
    assert_eq!(runtime.dlthub_telemetry, Sourced { value: false, source: env_source("RUNTIME__DLTHUB_TELEMETRY") });
    assert_eq!(
        runtime.dlthub_telemetry_opt_outs,
        [env_source("RUNTIME__DLTHUB_TELEMETRY"), file(&project_secrets, Scope::Project, FileKind::Secrets), global]
    );

    // Only trues: the highest true decides; nothing set: the default.
    std::fs::remove_file(dirs.global_config()).unwrap();
    std::fs::remove_file(&project_secrets).unwrap();
    let telemetry = load(&dirs, &[("RUNTIME__DLTHUB_TELEMETRY", "yes")]).unwrap().runtime().dlthub_telemetry.clone();
    assert_eq!(telemetry, Sourced { value: true, source: env_source("RUNTIME__DLTHUB_TELEMETRY") });
    let telemetry = load(&dirs, &[]).unwrap().runtime().dlthub_telemetry.clone();
    assert_eq!(
        telemetry,
        Sourced { value: true, source: file(&dirs.project_config(), Scope::Project, FileKind::Config) }
    );

    // A bad value is an error wherever it is, shadowed or not.
    write(&dirs.global_config(), "[runtime]\ndlthub_telemetry = \"off\"\n");
    let error = load(&dirs, &[("RUNTIME__DLTHUB_TELEMETRY", "true")]).unwrap_err();
    assert!(error.to_string().starts_with("runtime.dlthub_telemetry=\"off\" ("), "{error}");
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
    let error = Config::load(env).unwrap_err();
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
