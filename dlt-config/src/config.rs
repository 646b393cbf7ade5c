//! The layered configuration: the four TOML files and the environment, typed, with the source
//! of every value.

use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::value::Value;

use crate::coerce::{Expected, Raw};
use crate::environment::Environment;
use crate::locations::{Locations, LocationsError, OutsideProject, ProjectFile};
use crate::log_level::LogLevel;
use crate::source::{FileKind, Scope, Source, Sourced};
use crate::toml_file::{FileError, LoadedFile, source_of};
use dlt_redact::{HttpUrl, MASK, Secret};

/// Where anonymous telemetry goes unless configured otherwise.
pub const DEFAULT_TELEMETRY_ENDPOINT: &str = "https://telemetry.scalevector.ai";
/// The default exit deadline shared by usage telemetry, Sentry and OpenTelemetry.
pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);
/// The default share of pipeline runs sent to Sentry as transactions.
pub const DEFAULT_SENTRY_TRACES_SAMPLE_RATE: f64 = 1.0;
/// The ecosystem's opt-out variable, honoured for usage telemetry.
pub const DO_NOT_TRACK_VARIABLE: &str = "DO_NOT_TRACK";

const RUNTIME_SECTION: &str = "runtime";
const PIPELINES_SECTION: &str = "pipelines";
const ENABLE_RUNTIME_TRACE: &str = "enable_runtime_trace";

/// A configuration that cannot be used. The message is one line a user can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Where configuration lives could not be worked out.
    #[error(transparent)]
    Locations(#[from] LocationsError),
    /// A dir that must be a folder is something else.
    #[error("{} is not a folder ({what})", path.display())]
    NotAFolder {
        /// The path.
        path: PathBuf,
        /// Which dir it is, e.g. `the global dir`.
        what: &'static str,
    },
    /// A file could not be read or parsed.
    #[error(transparent)]
    File(#[from] FileError),
    /// A value has the wrong type or is out of range,
    /// e.g. `RUNTIME__DLTHUB_TELEMETRY="off" (environment): expected one of true/false/yes/no/1/0`.
    #[error("{}: expected {expected}", .origin.describe(.key, .value))]
    InvalidValue {
        /// The dotted key, e.g. `runtime.dlthub_telemetry`.
        key: String,
        /// The value as configured (`***` for a secret).
        value: String,
        /// The file or variable that holds it.
        origin: Source,
        /// What would have been accepted.
        expected: Expected,
    },
}

/// The `runtime` section (DESIGN.md §2), every key with its default and its source.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RuntimeConfig {
    /// `runtime.dlthub_telemetry`: anonymous usage telemetry; default true. Opt-out wins: it is
    /// true only when no file and no variable says false, and then its source is the one that
    /// said false first in precedence order.
    pub dlthub_telemetry: Sourced<bool>,
    /// Every source that says `runtime.dlthub_telemetry` is false, in precedence order: what
    /// keeps usage telemetry off after the global file was switched on.
    pub dlthub_telemetry_opt_outs: Vec<Source>,
    /// `runtime.dlthub_telemetry_endpoint`: an http(s) URL, sent to verbatim, shown without its
    /// user info, query values and fragment.
    pub dlthub_telemetry_endpoint: Sourced<HttpUrl>,
    /// `runtime.dlthub_telemetry_segment_write_key`: your own Segment source; an empty value is unset.
    pub dlthub_telemetry_segment_write_key: Sourced<Option<Secret>>,
    /// `runtime.sentry_dsn`: enables Sentry; an empty value is unset. Whether it is a valid DSN
    /// is decided by the Sentry bridge, the one place that parses DSNs.
    pub sentry_dsn: Sourced<Option<Secret>>,
    /// `runtime.log_level`: default `WARNING`; also the Sentry event level.
    pub log_level: Sourced<LogLevel>,
    /// `runtime.pipeline_name`: a Sentry tag; an empty value is unset.
    pub pipeline_name: Sourced<Option<String>>,
    /// `runtime.dlthub_telemetry_debug`: print events to stderr instead of sending them; default false.
    pub dlthub_telemetry_debug: Sourced<bool>,
    /// `runtime.telemetry_shutdown_timeout`: the exit deadline, in seconds; default 1.
    pub telemetry_shutdown_timeout: Sourced<Duration>,
    /// `runtime.sentry_traces_sample_rate`: from 0 to 1; default 1.
    pub sentry_traces_sample_rate: Sourced<f64>,
    /// `runtime.sentry_environment`: the Sentry environment; an empty value is unset.
    pub sentry_environment: Sourced<Option<String>>,
    /// `DO_NOT_TRACK` (environment only): true when set to anything but empty, `0` or `false`.
    pub do_not_track: Sourced<bool>,
    /// `runtime.telemetry_detached_sender`: hand what is undelivered at exit to a detached
    /// sender instead of waiting; `None` (not configured) lets the host decide (the CLI: on).
    pub telemetry_detached_sender: Sourced<Option<bool>>,
    /// `runtime.otlp_endpoint`: where OpenTelemetry traces go, for users who configure dlt by
    /// file; the standard `OTEL_EXPORTER_OTLP_*` variables win over it.
    pub otlp_endpoint: Sourced<Option<HttpUrl>>,
}

impl RuntimeConfig {
    fn resolve(layers: &Layers) -> Result<Self, ConfigError> {
        let (dlthub_telemetry, dlthub_telemetry_opt_outs) =
            layers.opt_out_wins(&[RUNTIME_SECTION, "dlthub_telemetry"])?;
        Ok(Self {
            dlthub_telemetry,
            dlthub_telemetry_opt_outs,
            dlthub_telemetry_endpoint: layers.setting(
                &[&[RUNTIME_SECTION, "dlthub_telemetry_endpoint"]],
                Visibility::Hidden,
                default_endpoint(),
                Raw::to_http_url,
            )?,
            dlthub_telemetry_segment_write_key: layers.runtime_secret("dlthub_telemetry_segment_write_key")?,
            sentry_dsn: layers.runtime_secret("sentry_dsn")?,
            log_level: layers.runtime_key("log_level", LogLevel::default(), Raw::to_log_level)?,
            pipeline_name: layers.runtime_key("pipeline_name", None, Raw::to_optional_text)?,
            dlthub_telemetry_debug: layers.runtime_key("dlthub_telemetry_debug", false, Raw::to_bool)?,
            telemetry_shutdown_timeout: layers.runtime_key(
                "telemetry_shutdown_timeout",
                DEFAULT_SHUTDOWN_TIMEOUT,
                Raw::to_seconds,
            )?,
            sentry_traces_sample_rate: layers.runtime_key(
                "sentry_traces_sample_rate",
                DEFAULT_SENTRY_TRACES_SAMPLE_RATE,
                Raw::to_fraction,
            )?,
            sentry_environment: layers.runtime_key("sentry_environment", None, Raw::to_optional_text)?,
            do_not_track: do_not_track(&layers.env),
            telemetry_detached_sender: layers
                .runtime_key("telemetry_detached_sender", None, |raw| raw.to_bool().map(Some))?,
            otlp_endpoint: layers.setting(&[&[RUNTIME_SECTION, "otlp_endpoint"]], Visibility::Hidden, None, |raw| {
                raw.to_optional_text()?.map(|_| raw.to_http_url()).transpose()
            })?,
        })
    }
}

fn do_not_track(env: &Environment) -> Sourced<bool> {
    match env.get_os(DO_NOT_TRACK_VARIABLE) {
        Some(value) => {
            let value = value.to_string_lossy();
            let value = value.trim();
            Sourced {
                value: !(value.is_empty() || value == "0" || value.eq_ignore_ascii_case("false")),
                source: Source::Environment { variable: DO_NOT_TRACK_VARIABLE.to_owned() },
            }
        }
        None => Sourced::default_value(false),
    }
}

/// dlt's configuration for one project and one user: the environment beats `secrets.toml`,
/// which beats `config.toml`; in each pair of files the project's beats the global one.
///
/// The `runtime` section is read and checked by [`Config::load`]; other keys on demand.
/// Unknown keys and sections are fine: users keep their sources' settings in the same files.
#[derive(Clone)]
pub struct Config {
    locations: Locations,
    runtime: RuntimeConfig,
    layers: Layers,
    /// Every string value of the two `secrets.toml` files.
    secrets_file_values: Vec<Secret>,
    /// Project files that lead out of the project dir.
    files_outside_project: Vec<OutsideProject>,
}

/// The files may hold secrets of any key: Debug shows the typed, redacted `runtime` section only.
impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config").field("runtime", &self.runtime).finish_non_exhaustive()
    }
}

impl Config {
    /// Works out the locations from `env` (the project dir is `DLT_PROJECT_DIR` or the current
    /// dir), reads the four files (missing ones are skipped) and checks the `runtime` section.
    /// The result carries the environment and the locations it was read with.
    pub fn load(env: Environment) -> Result<Self, ConfigError> {
        let locations = Locations::resolve(&env)?;
        Self::load_at(locations, env)
    }

    /// [`Config::load`] for locations already worked out.
    pub fn load_at(locations: Locations, env: Environment) -> Result<Self, ConfigError> {
        check_folder(&locations.global_dir, "the global dir")?;
        check_folder(&locations.settings_dir, "the project's settings dir")?;
        let mut files_outside_project = Vec::new();
        let [global_config, project_config, global_secrets, project_secrets] = [
            (locations.global_config_toml(), Scope::Global, FileKind::Config),
            (locations.project_config_toml(), Scope::Project, FileKind::Config),
            (locations.global_secrets_toml(), Scope::Global, FileKind::Secrets),
            (locations.project_secrets_toml(), Scope::Project, FileKind::Secrets),
        ]
        .map(|(path, scope, kind)| {
            // A cloned repository must not pass a file of the user's off as its own and so have
            // the credentials in it sent to the endpoint it names: a project file that is one of
            // the global files is read once, as the global file it is; one that leads out of the
            // project dir counts only for its opt-out.
            let outside = match scope {
                Scope::Project => match locations.project_file(&path) {
                    ProjectFile::Own => None,
                    ProjectFile::Global => return Ok(None),
                    ProjectFile::Outside(outside) => Some(outside),
                },
                Scope::Global => None,
            };
            let Some(file) = LoadedFile::load(path, scope, kind)? else { return Ok::<_, FileError>(None) };
            let settings = outside.is_none();
            files_outside_project.extend(outside);
            Ok(Some(ReadFile { file, settings }))
        });
        let (global_config, project_config) = (global_config?, project_config?);
        let (global_secrets, project_secrets) = (global_secrets?, project_secrets?);
        let secrets_file_values = [&global_secrets, &project_secrets]
            .into_iter()
            .filter_map(ReadFile::for_settings)
            .flat_map(LoadedFile::string_values)
            .map(Secret::new)
            .collect();
        let each_file = [&project_secrets, &global_secrets, &project_config, &global_config]
            .into_iter()
            .flatten()
            .map(|read| (Figment::from(read.file.clone()), read.settings))
            .collect();
        let layers = Layers {
            env,
            secrets: merge([&global_secrets, &project_secrets]),
            config: merge([&global_config, &project_config]),
            each_file,
        };
        let runtime = RuntimeConfig::resolve(&layers)?;
        Ok(Self { locations, runtime, layers, secrets_file_values, files_outside_project })
    }

    /// The `runtime` section.
    pub fn runtime(&self) -> &RuntimeConfig {
        &self.runtime
    }

    /// The environment this configuration was read with.
    pub fn env(&self) -> &Environment {
        &self.layers.env
    }

    /// Every string value in the global and the project `secrets.toml` (not one that leads out
    /// of the project dir, whose settings are not used), at any depth and
    /// whichever file wins for its key, in no particular order: the credentials of sources and
    /// destinations that a host may quote in an error, for hiding them wherever text is shown
    /// or sent.
    pub fn secrets_file_values(&self) -> &[Secret] {
        &self.secrets_file_values
    }

    /// The project's `config.toml` and `secrets.toml` when they lead out of the project dir (a
    /// link in the file's name or in its folders): their settings are not used, only a
    /// `runtime.dlthub_telemetry = false` in them counts, and the secret set leaves them out.
    /// For the host to show.
    pub fn files_outside_project(&self) -> &[OutsideProject] {
        &self.files_outside_project
    }

    /// Where the files were read from, and where data and telemetry state live.
    pub fn locations(&self) -> &Locations {
        &self.locations
    }

    /// The master switch for a pipeline (default true): `pipelines.<name>.enable_runtime_trace`,
    /// then `pipelines.enable_runtime_trace`, then the top-level `enable_runtime_trace`.
    ///
    /// As in dlt, sources are asked in order of precedence and each source answers with its most
    /// specific key: `ENABLE_RUNTIME_TRACE=false` in the environment beats
    /// `pipelines.<name>.enable_runtime_trace = true` in a file. The variables are
    /// `PIPELINES__<NAME>__ENABLE_RUNTIME_TRACE` (the name upper-cased),
    /// `PIPELINES__ENABLE_RUNTIME_TRACE` and `ENABLE_RUNTIME_TRACE`.
    pub fn enable_runtime_trace(&self, pipeline_name: Option<&str>) -> Result<Sourced<bool>, ConfigError> {
        let for_pipeline =
            pipeline_name.filter(|name| !name.is_empty()).map(|name| [PIPELINES_SECTION, name, ENABLE_RUNTIME_TRACE]);
        let mut paths: Vec<&[&str]> = Vec::with_capacity(3);
        if let Some(path) = &for_pipeline {
            paths.push(path);
        }
        paths.push(&[PIPELINES_SECTION, ENABLE_RUNTIME_TRACE]);
        paths.push(&[ENABLE_RUNTIME_TRACE]);
        self.layers.setting(&paths, Visibility::Plain, true, Raw::to_bool)
    }
}

/// One file as read: for every setting, or, when it leads out of the project dir, only for the
/// opt-out (`runtime.dlthub_telemetry = false`).
struct ReadFile {
    file: LoadedFile,
    settings: bool,
}

impl ReadFile {
    /// The file, when it is read for every setting.
    fn for_settings(read: &Option<Self>) -> Option<&LoadedFile> {
        read.as_ref().filter(|read| read.settings).map(|read| &read.file)
    }
}

/// The files of one kind that are read for every setting as one source, the second beating
/// the first key by key.
fn merge(files: [&Option<ReadFile>; 2]) -> Figment {
    files.into_iter().filter_map(ReadFile::for_settings).cloned().fold(Figment::new(), Figment::merge)
}

/// A dir that exists but is not a folder (after following links) is a configuration error:
/// nothing could be read from or written to it.
fn check_folder(path: &Path, what: &'static str) -> Result<(), ConfigError> {
    match std::fs::metadata(path) {
        Ok(metadata) if !metadata.is_dir() => Err(ConfigError::NotAFolder { path: path.to_owned(), what }),
        _ => Ok(()),
    }
}

/// How a value may appear in an error message.
#[derive(Clone, Copy)]
enum Visibility {
    Plain,
    /// A secret, or a URL that may hold a password: never shown, `***` instead.
    Hidden,
}

/// A value as an error may show it: `***` for a secret, and for anything a `secrets.toml`
/// holds (every string there counts as a secret: a password pasted under the wrong key must
/// not be printed).
fn shown(found: &Found, visibility: Visibility) -> String {
    let in_secrets_file = matches!(found.source, Source::File { kind: FileKind::Secrets, .. });
    match visibility {
        Visibility::Plain if !in_secrets_file => found.raw.render(),
        _ => MASK.to_owned(),
    }
}

/// dlt's telemetry endpoint.
#[allow(clippy::expect_used, reason = "a constant URL, checked by a test")]
fn default_endpoint() -> HttpUrl {
    HttpUrl::parse(DEFAULT_TELEMETRY_ENDPOINT).expect("the default endpoint is a URL")
}

/// A configured value, the dotted key that found it, and its source.
struct Found {
    raw: Raw,
    key: String,
    source: Source,
}

/// The three sources of dlt's lookup, highest precedence first, and each file on its own.
#[derive(Clone)]
struct Layers {
    env: Environment,
    secrets: Figment,
    config: Figment,
    /// Project secrets, global secrets, project config, global config: those that exist, each
    /// with whether it is read for every setting (false: a project file that leads out of the
    /// project dir, which counts only for a `false` in [`Layers::opt_out_wins`]).
    each_file: Vec<(Figment, bool)>,
}

impl Layers {
    /// A boolean where any `false` wins: the environment and every file are asked, in
    /// precedence order; the first `false` decides, else the first `true`, else the default
    /// (true). Also every source that says `false`, in that order. A value that is not a
    /// boolean is an error wherever it is.
    fn opt_out_wins(&self, path: &[&str]) -> Result<(Sourced<bool>, Vec<Source>), ConfigError> {
        let values = self.every_bool(path)?;
        let first_false = values.iter().find(|value| !value.value);
        let first_true = values.iter().find(|value| value.value);
        let decided = first_false.or(first_true).cloned().unwrap_or_else(|| Sourced::default_value(true));
        let opt_outs = values.into_iter().filter(|value| !value.value).map(|value| value.source).collect();
        Ok((decided, opt_outs))
    }

    /// The boolean at `path` in the environment and in each file, in precedence order (of a
    /// file read only for its opt-out, only a `false`); a value that is not a boolean is an
    /// error wherever it is.
    fn every_bool(&self, path: &[&str]) -> Result<Vec<Sourced<bool>>, ConfigError> {
        let found =
            self.find_in_env(path).map(|found| (found, true)).into_iter().chain(
                self.each_file.iter().filter_map(|(file, settings)| Some((find_in_files(file, path)?, *settings))),
            );
        let mut values = Vec::new();
        for (found, settings) in found {
            match found.raw.to_bool() {
                Ok(value) if settings || !value => values.push(Sourced { value, source: found.source }),
                Ok(_) => {}
                Err(expected) => {
                    return Err(ConfigError::InvalidValue {
                        value: shown(&found, Visibility::Plain),
                        key: found.key,
                        origin: found.source,
                        expected,
                    });
                }
            }
        }
        Ok(values)
    }

    /// The value of the first source that sets any of `paths`, trying its most specific path first.
    fn find(&self, paths: &[&[&str]]) -> Option<Found> {
        paths
            .iter()
            .find_map(|path| self.find_in_env(path))
            .or_else(|| paths.iter().find_map(|path| find_in_files(&self.secrets, path)))
            .or_else(|| paths.iter().find_map(|path| find_in_files(&self.config, path)))
    }

    /// dlt's variable name: the sections and the key, upper-cased, joined by `__`.
    fn find_in_env(&self, path: &[&str]) -> Option<Found> {
        let variable = path.iter().map(|segment| segment.to_uppercase()).collect::<Vec<_>>().join("__");
        let value = self.env.get_os(&variable)?;
        Some(Found {
            raw: Raw::Text(value.to_string_lossy().into_owned()),
            key: path.join("."),
            source: Source::Environment { variable },
        })
    }

    fn setting<T>(
        &self,
        paths: &[&[&str]],
        visibility: Visibility,
        default: T,
        convert: impl FnOnce(&Raw) -> Result<T, Expected>,
    ) -> Result<Sourced<T>, ConfigError> {
        let Some(found) = self.find(paths) else {
            return Ok(Sourced::default_value(default));
        };
        match convert(&found.raw) {
            Ok(value) => Ok(Sourced { value, source: found.source }),
            Err(expected) => Err(ConfigError::InvalidValue {
                value: shown(&found, visibility),
                key: found.key,
                origin: found.source,
                expected,
            }),
        }
    }

    fn runtime_key<T>(
        &self,
        key: &str,
        default: T,
        convert: impl FnOnce(&Raw) -> Result<T, Expected>,
    ) -> Result<Sourced<T>, ConfigError> {
        self.setting(&[&[RUNTIME_SECTION, key]], Visibility::Plain, default, convert)
    }

    fn runtime_secret(&self, key: &str) -> Result<Sourced<Option<Secret>>, ConfigError> {
        self.setting(&[&[RUNTIME_SECTION, key]], Visibility::Hidden, None, |raw| {
            raw.to_optional_text().map(|text| text.map(Secret::new))
        })
    }
}

/// The value at `path` in the merged files, walking tables by exact key (keys may hold dots).
fn find_in_files(figment: &Figment, path: &[&str]) -> Option<Found> {
    let (first, rest) = path.split_first()?;
    let mut value = figment.find_value(first).ok()?;
    for segment in rest {
        value = match value {
            Value::Dict(_, mut table) => table.remove(*segment)?,
            _ => return None,
        };
    }
    let source = figment.get_metadata(value.tag()).and_then(source_of)?;
    Some(Found { raw: Raw::Toml(value), key: path.join("."), source })
}
