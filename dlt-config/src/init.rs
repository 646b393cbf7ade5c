//! `dlt init`: the project's `.dlt/config.toml` and `.dlt/secrets.toml`, created when absent and
//! never overwritten.

use std::fs;
use std::io;
use std::path::PathBuf;

use dlt_fs::{Durability, NewFileMode};

use crate::locations::{Locations, OutsideProject, ProjectFile};

/// The project `config.toml` `dlt init` writes, with telemetry set as it is now (dlt's template).
fn config_template(telemetry: bool) -> String {
    format!(
        "[runtime]\n\
         log_level=\"WARNING\"  # the system log level of dlt\n\
         # use the dlthub_telemetry setting to enable/disable anonymous usage data reporting, see https://dlthub.com/docs/reference/telemetry\n\
         dlthub_telemetry = {telemetry}\n"
    )
}

/// The project `secrets.toml` `dlt init` writes: readable by its owner only.
const SECRETS_TEMPLATE: &str = "\
# put your secret values and credentials here. do not share this file and do not push it to github
# [runtime]
# sentry_dsn = \"https://<key>@<host>/<project>\"  # send errors and pipeline runs to your own Sentry
";

/// What `init_project` did with each file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct InitReport {
    /// Files created.
    pub created: Vec<PathBuf>,
    /// Files that existed and were left as they were.
    pub kept: Vec<PathBuf>,
    /// Files neither created nor written because they lead out of the project dir (a link in
    /// the file's name or in the settings dir's): they are not the project's.
    pub outside_project: Vec<OutsideProject>,
}

/// Why the project files could not be created.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InitError {
    /// The settings dir could not be created.
    #[error("cannot create {}: {source}", .dir.display())]
    CreateDir {
        /// The dir.
        dir: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", .path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// Creates the project's `config.toml` (with `dlthub_telemetry` set to `telemetry`) and
/// `secrets.toml` in the settings dir when they do not exist. An existing file is never
/// touched, even one created by another process at the same moment, and nothing is written
/// where a file leads out of the project dir (a settings dir that is a link to another folder,
/// the global dir among them): such files are listed in [`InitReport::outside_project`].
pub fn init_project(locations: &Locations, telemetry: bool) -> Result<InitReport, InitError> {
    let dir = &locations.settings_dir;
    fs::create_dir_all(dir).map_err(|source| InitError::CreateDir { dir: dir.clone(), source })?;
    let mut report = InitReport::default();
    let files = [
        (locations.project_config_toml(), config_template(telemetry), NewFileMode::Shared),
        (locations.project_secrets_toml(), SECRETS_TEMPLATE.to_owned(), NewFileMode::Private),
    ];
    for (path, contents, mode) in files {
        // A global file in its place exists, and is kept below like any other.
        if let ProjectFile::Outside(outside) = locations.project_file(&path) {
            report.outside_project.push(outside);
            continue;
        }
        let created = dlt_fs::create_new_atomic(&path, contents.as_bytes(), mode, Durability::Durable)
            .map_err(|source| InitError::Write { path: path.clone(), source })?;
        if created { &mut report.created } else { &mut report.kept }.push(path);
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::fs;

    use super::init_project;
    use crate::{Config, Environment, Locations};

    fn locations(root: &std::path::Path) -> (Locations, Environment) {
        let env = Environment::from_pairs([
            ("DLT_PROJECT_DIR", root.join("project")),
            ("DLT_GLOBAL_DIR", root.join("global")),
        ]);
        (Locations::resolve(&env).unwrap(), env)
    }

    #[test]
    fn creates_both_files_with_the_telemetry_state_and_reads_back() {
        let root = tempfile::tempdir().unwrap();
        let (locations, env) = locations(root.path());
        let report = init_project(&locations, false).unwrap();
        assert_eq!(report.created, [locations.project_config_toml(), locations.project_secrets_toml()]);
        let config = fs::read_to_string(locations.project_config_toml()).unwrap();
        assert!(config.ends_with("dlthub_telemetry = false\n"), "{config}");
        let loaded = Config::load(env).unwrap();
        assert!(!loaded.runtime().dlthub_telemetry.value);
        assert_eq!(loaded.runtime().log_level.value, crate::LogLevel::Warning);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(locations.project_secrets_toml()).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "secrets.toml is private");
        }
        assert_eq!(fs::read_dir(&locations.settings_dir).unwrap().count(), 2, "no temporary file left");
    }

    /// A `.dlt` that is a link to a folder outside the project (another project's, the global
    /// dir), or a file that is a link out of it: nothing is created or written there.
    #[cfg(unix)]
    #[test]
    fn nothing_is_created_or_written_outside_the_project() {
        let root = tempfile::tempdir().unwrap();
        let (locations, _) = locations(root.path());
        let elsewhere = root.path().join("elsewhere");
        fs::create_dir_all(&elsewhere).unwrap();
        fs::create_dir_all(&locations.project_dir).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &locations.settings_dir).unwrap();
        let report = init_project(&locations, true).unwrap();
        assert!(report.created.is_empty() && report.kept.is_empty(), "{report:?}");
        let outside: Vec<_> = report.outside_project.iter().map(|outside| &outside.path).collect();
        assert_eq!(outside, [&locations.project_config_toml(), &locations.project_secrets_toml()]);
        assert_eq!(report.outside_project[0].target, fs::canonicalize(&elsewhere).unwrap().join("config.toml"));
        assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0, "nothing created through the link");

        fs::remove_file(&locations.settings_dir).unwrap();
        fs::create_dir_all(&locations.settings_dir).unwrap();
        fs::write(elsewhere.join("config.toml"), "# theirs\n").unwrap();
        std::os::unix::fs::symlink(elsewhere.join("config.toml"), locations.project_config_toml()).unwrap();
        let report = init_project(&locations, true).unwrap();
        assert_eq!(report.created, [locations.project_secrets_toml()]);
        assert_eq!(report.outside_project[0].path, locations.project_config_toml());
        assert_eq!(fs::read_to_string(elsewhere.join("config.toml")).unwrap(), "# theirs\n");
    }

    #[test]
    fn never_overwrites() {
        let root = tempfile::tempdir().unwrap();
        let (locations, _) = locations(root.path());
        fs::create_dir_all(&locations.settings_dir).unwrap();
        fs::write(locations.project_config_toml(), "# mine\n").unwrap();
        let report = init_project(&locations, true).unwrap();
        assert_eq!(report.kept, [locations.project_config_toml()]);
        assert_eq!(report.created, [locations.project_secrets_toml()]);
        assert_eq!(fs::read_to_string(locations.project_config_toml()).unwrap(), "# mine\n");
        let again = init_project(&locations, false).unwrap();
        assert!(again.created.is_empty());
    }
}
