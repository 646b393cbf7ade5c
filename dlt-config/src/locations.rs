//! Where dlt keeps its configuration and data (DESIGN.md §2; dlt's `run_context.py`).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use dlt_fs::PrivateDir;

use crate::environment::Environment;

/// The project dir, when `DLT_PROJECT_DIR` is not set, is the current dir.
pub const PROJECT_DIR_VARIABLE: &str = "DLT_PROJECT_DIR";
/// Renames the `.dlt` folder, in the project and in the home dir alike (as dlt does).
pub const CONFIG_FOLDER_VARIABLE: &str = "DLT_CONFIG_FOLDER";
/// Sets the global dir outright (ours: for containers and tests).
pub const GLOBAL_DIR_VARIABLE: &str = "DLT_GLOBAL_DIR";
/// Moves pipeline data (trace files), not the global dir.
pub const DATA_DIR_VARIABLE: &str = "DLT_DATA_DIR";
/// The settings folder name when `DLT_CONFIG_FOLDER` is not set.
pub const DEFAULT_CONFIG_FOLDER: &str = ".dlt";
/// The global dir of the root user.
pub const ROOT_GLOBAL_DIR: &str = "/var/dlt";

const CONFIG_TOML: &str = "config.toml";
const SECRETS_TOML: &str = "secrets.toml";

/// Where configuration and data live. Each dir is the one dlt would use; none is created here,
/// except a temporary-dir fallback, which is created private to claim it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locations {
    /// `DLT_PROJECT_DIR`, or the current dir.
    pub project_dir: PathBuf,
    /// `<project dir>/<DLT_CONFIG_FOLDER or .dlt>`: the project `config.toml` and `secrets.toml`.
    pub settings_dir: PathBuf,
    /// The global `config.toml` and `secrets.toml`, and the telemetry outbox.
    pub global_dir: PathBuf,
    /// `DLT_DATA_DIR`, or the global dir: pipeline working dirs and trace files.
    pub data_dir: PathBuf,
}

/// Why the locations could not be worked out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LocationsError {
    /// `DLT_PROJECT_DIR` is not set and the current dir is unknown (deleted, or not accessible).
    #[error(
        "cannot determine the project dir: DLT_PROJECT_DIR is not set and the current dir is not accessible: {source}"
    )]
    CurrentDir {
        /// The OS reason.
        source: std::io::Error,
    },
    /// The home dir is missing or not writable, and neither `<tmp>/dlt` nor `<tmp>/dlt-<uid>`
    /// is a private folder of this user (or can be made one): nothing there is read or
    /// written.
    #[error("no safe global dir: the home dir is not usable, and {}; and {}; set DLT_GLOBAL_DIR", .refused[0], .refused[1])]
    UnsafeTempDir {
        /// Why each folder was refused, `<tmp>/dlt` first; each error names its folder.
        refused: Box<[dlt_fs::GateError; 2]>,
    },
}

impl Locations {
    /// The locations for this environment and this user (the root user's global dir is
    /// `/var/dlt`). Reads the current dir only when `DLT_PROJECT_DIR` is not set. When the home
    /// dir is not usable, creates (or verifies) the private temporary-dir fallback.
    pub fn resolve(env: &Environment) -> Result<Self, LocationsError> {
        let project_dir = match env.get_non_empty_os(PROJECT_DIR_VARIABLE) {
            Some(dir) => PathBuf::from(dir),
            None => std::env::current_dir().map_err(|source| LocationsError::CurrentDir { source })?,
        };
        Self::for_project(env, project_dir, running_as_root())
    }

    /// The locations for a known project dir, with the user's kind given rather than asked.
    fn for_project(env: &Environment, project_dir: PathBuf, running_as_root: bool) -> Result<Self, LocationsError> {
        let config_folder = config_folder(env);
        let settings_dir = project_dir.join(config_folder);
        let global_dir = global_dir(env, config_folder, running_as_root)?;
        let data_dir = env.get_non_empty_os(DATA_DIR_VARIABLE).map_or_else(|| global_dir.clone(), PathBuf::from);
        Ok(Self { project_dir, settings_dir, global_dir, data_dir })
    }

    /// `<settings dir>/config.toml`
    pub fn project_config_toml(&self) -> PathBuf {
        self.settings_dir.join(CONFIG_TOML)
    }

    /// `<settings dir>/secrets.toml`
    pub fn project_secrets_toml(&self) -> PathBuf {
        self.settings_dir.join(SECRETS_TOML)
    }

    /// `<global dir>/config.toml`
    pub fn global_config_toml(&self) -> PathBuf {
        self.global_dir.join(CONFIG_TOML)
    }

    /// `<global dir>/secrets.toml`
    pub fn global_secrets_toml(&self) -> PathBuf {
        self.global_dir.join(SECRETS_TOML)
    }

    /// `<data dir>/pipelines`: one working dir per pipeline, holding its trace file.
    pub fn pipelines_dir(&self) -> PathBuf {
        self.data_dir.join("pipelines")
    }

    /// `<global dir>/telemetry`: the switch's lock, the opt-out mark and the outboxes, a private
    /// folder every file of which is reached through the file gate (`dlt_fs::PrivateDir`).
    pub fn telemetry_dir(&self) -> PathBuf {
        self.global_dir.join("telemetry")
    }
}

/// Whose a file of the project's settings dir is, by where it really is.
pub(crate) enum ProjectFile {
    /// Inside the project dir, links followed; or nothing there and nowhere to resolve (the
    /// reader or writer reports what is wrong): the project's own.
    Own,
    /// One of the user's global files (a link to it, or a settings dir that is the global dir).
    Global,
    /// Outside the project dir: the file, or a folder on its way, is a link that leads out.
    Outside(OutsideProject),
}

/// A file of the project's settings dir that is not the project's: the file, or its settings
/// dir, is a link that leads out of the project dir (to another project's `secrets.toml`, a
/// file of the user's, anything). A cloned repository must not pass such a file off as its own,
/// nor have a switch or `dlt init` write to it. dlt uses none of its settings, except that a
/// `runtime.dlthub_telemetry = false` in it still keeps usage telemetry off, and never writes
/// to it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OutsideProject {
    /// The file as the project names it, e.g. `<project dir>/.dlt/secrets.toml`.
    pub path: PathBuf,
    /// Where it really is, links followed (for a file not there yet: where it would be created).
    pub target: PathBuf,
    /// The project dir, links followed.
    pub project_dir: PathBuf,
}

impl fmt::Display for OutsideProject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} leads to {}, outside the project dir {}: it is not used as the project's file (only a runtime.dlthub_telemetry = false in it counts) and is never written",
            self.path.display(),
            self.target.display(),
            self.project_dir.display()
        )
    }
}

impl Locations {
    /// Whose the file at `path` in the settings dir is (see [`ProjectFile`]): one of the
    /// global files, else the project's when it really lies inside the project dir (links
    /// in its name and in its folders followed, the project dir's own path resolved too),
    /// else outside. A file not there yet is placed where it would be created.
    pub(crate) fn project_file(&self, path: &Path) -> ProjectFile {
        if [self.global_config_toml(), self.global_secrets_toml()].iter().any(|global| same_file(path, global)) {
            return ProjectFile::Global;
        }
        let (Some(target), Ok(project_dir)) = (real_location(path), std::fs::canonicalize(&self.project_dir)) else {
            return ProjectFile::Own;
        };
        if target.starts_with(&project_dir) {
            ProjectFile::Own
        } else {
            ProjectFile::Outside(OutsideProject { path: path.to_owned(), target, project_dir })
        }
    }
}

/// Where `path` really is, links followed; for a file not there yet (and not a link to
/// nothing), where it would be created: its folder's real place. `None` when that cannot be
/// worked out (a link to nothing, a loop, no permission, no folder either).
fn real_location(path: &Path) -> Option<PathBuf> {
    match std::fs::canonicalize(path) {
        Ok(real) => Some(real),
        Err(error) if error.kind() == io::ErrorKind::NotFound && std::fs::symlink_metadata(path).is_err() => {
            Some(std::fs::canonicalize(path.parent()?).ok()?.join(path.file_name()?))
        }
        Err(_) => None,
    }
}

/// Whether both paths name the same existing file, links followed.
#[cfg(unix)]
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(a), Ok(b)) => (a.dev(), a.ino()) == (b.dev(), b.ino()),
        _ => false,
    }
}

/// Whether both paths name the same existing file, links followed.
#[cfg(not(unix))]
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn config_folder(env: &Environment) -> &Path {
    env.get_non_empty_os(CONFIG_FOLDER_VARIABLE).map_or(Path::new(DEFAULT_CONFIG_FOLDER), Path::new)
}

/// dlt's order: our `DLT_GLOBAL_DIR`; root; no usable home (a private temporary folder);
/// `XDG_DATA_HOME` unless `~/.dlt` already exists; `~/.dlt`.
fn global_dir(env: &Environment, config_folder: &Path, running_as_root: bool) -> Result<PathBuf, LocationsError> {
    if let Some(dir) = env.get_non_empty_os(GLOBAL_DIR_VARIABLE) {
        return Ok(PathBuf::from(dir));
    }
    if running_as_root {
        return Ok(PathBuf::from(ROOT_GLOBAL_DIR));
    }
    let Some(home) = home_dir(env).filter(|home| is_writable_dir(home)) else {
        return private_temp_dir(&temp_dir(env));
    };
    let home_dlt = home.join(config_folder);
    Ok(match env.get_non_empty_os("XDG_DATA_HOME") {
        Some(xdg_data_home) if !home_dlt.is_dir() => PathBuf::from(xdg_data_home).join("dlt"),
        _ => home_dlt,
    })
}

/// `<tmp>/dlt-<uid>` when it exists and is verified private; else `<tmp>/dlt`, else
/// `<tmp>/dlt-<uid>`: the first that this process creates `0700`, or that exists and is
/// verified private on its open handle (anyone may create a folder in the temporary dir, and
/// plant a config or a link there). Creating it here, not when something is first written,
/// leaves no moment between the check and the creation for another user.
///
/// `<tmp>/dlt-<uid>` exists only because `<tmp>/dlt` was refused once (another user held it);
/// from then on it holds this user's settings, an opt-out among them, so it stays in use when
/// `<tmp>/dlt` is freed: another user must not be able to move this user to a fresh folder.
fn private_temp_dir(temp: &Path) -> Result<PathBuf, LocationsError> {
    let own = temp.join(format!("dlt-{}", user_id()));
    if let Ok(Some(_)) = PrivateDir::open(&own) {
        return Ok(own);
    }
    let shared = temp.join("dlt");
    let shared_refused = match PrivateDir::create(&shared) {
        Ok(_) => return Ok(shared),
        Err(error) => error,
    };
    match PrivateDir::create(&own) {
        Ok(_) => Ok(own),
        Err(own_refused) => Err(LocationsError::UnsafeTempDir { refused: Box::new([shared_refused, own_refused]) }),
    }
}

#[cfg(unix)]
fn user_id() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(not(unix))]
fn user_id() -> u32 {
    0
}

/// The home dir as Python's `expanduser("~")` finds it: `HOME`, or `USERPROFILE` on Windows.
fn home_dir(env: &Environment) -> Option<PathBuf> {
    let variable = if cfg!(windows) { "USERPROFILE" } else { "HOME" };
    env.get_non_empty_os(variable).map(PathBuf::from)
}

/// What Python's `tempfile.gettempdir()` looks at first, then the platform default.
fn temp_dir(env: &Environment) -> PathBuf {
    ["TMPDIR", "TEMP", "TMP"]
        .iter()
        .find_map(|name| env.get_non_empty_os(name))
        .map_or_else(std::env::temp_dir, PathBuf::from)
}

#[cfg(unix)]
fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

#[cfg(not(unix))]
fn running_as_root() -> bool {
    false
}

#[cfg(unix)]
fn is_writable_dir(dir: &Path) -> bool {
    use rustix::fs::{Access, access};
    dir.is_dir() && access(dir, Access::WRITE_OK | Access::EXEC_OK).is_ok()
}

#[cfg(not(unix))]
fn is_writable_dir(dir: &Path) -> bool {
    std::fs::metadata(dir).is_ok_and(|meta| meta.is_dir() && !meta.permissions().readonly())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn locations(pairs: &[(&str, &str)], running_as_root: bool) -> Locations {
        let env = Environment::from_pairs(pairs.iter().copied());
        Locations::for_project(&env, PathBuf::from("/work/project"), running_as_root).unwrap()
    }

    #[test]
    fn project_dir_is_the_current_dir_unless_set() {
        let env = Environment::from_pairs([("DLT_GLOBAL_DIR", "/g")]);
        let locations = Locations::resolve(&env).unwrap();
        assert_eq!(locations.project_dir, std::env::current_dir().unwrap());
        assert_eq!(locations.settings_dir, std::env::current_dir().unwrap().join(".dlt"));

        let env = Environment::from_pairs([("DLT_GLOBAL_DIR", "/g"), ("DLT_PROJECT_DIR", "/p")]);
        assert_eq!(Locations::resolve(&env).unwrap().project_dir, Path::new("/p"));
    }

    #[test]
    fn global_dir_variable_wins_even_for_root() {
        let locations = locations(&[("DLT_GLOBAL_DIR", "/custom/global")], true);
        assert_eq!(locations.global_dir, Path::new("/custom/global"));
    }

    #[test]
    fn root_uses_var_dlt() {
        let home = tempfile::tempdir().unwrap();
        let locations = locations(&[("HOME", home.path().to_str().unwrap())], true);
        assert_eq!(locations.global_dir, Path::new("/var/dlt"));
    }

    #[test]
    fn missing_home_falls_back_to_a_private_temp_dir_created_at_once() {
        let temp = tempfile::tempdir().unwrap();
        let locations = locations(&[("TMPDIR", temp.path().to_str().unwrap())], false);
        assert_eq!(locations.global_dir, temp.path().join("dlt"));
        assert!(dlt_fs::PrivateDir::open(&locations.global_dir).unwrap().is_some(), "created, private");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&locations.global_dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_temp_dlt_folder_open_to_others_is_never_used() {
        use std::os::unix::fs::PermissionsExt as _;
        let temp = tempfile::tempdir().unwrap();
        let tmp = temp.path().to_str().unwrap();
        let open = temp.path().join("dlt");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let ours = temp.path().join(format!("dlt-{}", user_id()));
        assert_eq!(locations(&[("TMPDIR", tmp)], false).global_dir, ours, "missing: created, ours");
        assert_eq!(std::fs::metadata(&open).unwrap().permissions().mode() & 0o777, 0o777, "left as it is");
        assert_eq!(locations(&[("TMPDIR", tmp)], false).global_dir, ours, "existing and private: used");

        std::fs::set_permissions(&ours, std::fs::Permissions::from_mode(0o755)).unwrap();
        let env = Environment::from_pairs([("TMPDIR", tmp)]);
        let error = Locations::for_project(&env, PathBuf::from("/p"), false).unwrap_err();
        assert!(matches!(error, LocationsError::UnsafeTempDir { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains(&format!("{}: has mode 0777", open.display())), "{message}");
        assert!(message.contains(&format!("{}: has mode 0755", ours.display())), "{message}");
        assert!(message.contains("mode 0700") && message.ends_with("set DLT_GLOBAL_DIR"), "{message}");
        assert!(!message.contains('\n'), "one line: {message}");

        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o700)).unwrap();
        assert_eq!(locations(&[("TMPDIR", tmp)], false).global_dir, open, "a private dlt folder of ours");
    }

    #[cfg(unix)]
    #[test]
    fn once_in_the_own_temp_folder_it_stays_there_when_the_shared_one_is_freed() {
        use std::os::unix::fs::PermissionsExt as _;
        let temp = tempfile::tempdir().unwrap();
        let tmp = temp.path().to_str().unwrap();
        let held = temp.path().join("dlt");
        std::fs::create_dir(&held).unwrap();
        std::fs::set_permissions(&held, std::fs::Permissions::from_mode(0o777)).unwrap();
        let ours = temp.path().join(format!("dlt-{}", user_id()));
        assert_eq!(locations(&[("TMPDIR", tmp)], false).global_dir, ours, "the shared folder is held");

        std::fs::remove_dir(&held).unwrap();
        assert_eq!(locations(&[("TMPDIR", tmp)], false).global_dir, ours, "freed: ours stays in use");
        assert!(!held.exists(), "the freed folder is not taken");
    }

    #[cfg(unix)]
    #[test]
    fn a_temp_dlt_folder_of_another_user_or_a_link_is_never_used() {
        let temp = tempfile::tempdir().unwrap();
        let tmp = temp.path().to_str().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(elsewhere.path(), temp.path().join("dlt")).unwrap();
        let ours = temp.path().join(format!("dlt-{}", user_id()));
        assert_eq!(locations(&[("TMPDIR", tmp)], false).global_dir, ours, "a link is refused");
        assert_eq!(std::fs::read_dir(elsewhere.path()).unwrap().count(), 0, "nothing made through the link");

        if !rustix::process::geteuid().is_root() {
            eprintln!("skipped the other user's folder: only root can give a folder to uid 65534");
            return;
        }
        // Another user made `<tmp>/dlt-<uid>` first (it is private, but not ours).
        std::os::unix::fs::chown(&ours, Some(65534), Some(65534)).unwrap();
        let env = Environment::from_pairs([("TMPDIR", tmp)]);
        let message = Locations::for_project(&env, PathBuf::from("/p"), false).unwrap_err().to_string();
        assert!(message.contains("dlt: is a symbolic link"), "{message}");
        assert!(message.contains(&format!("{}: belongs to uid 65534", ours.display())), "{message}");
    }

    #[test]
    fn home_that_does_not_exist_falls_back_to_temp_dir() {
        let home = tempfile::tempdir().unwrap();
        let gone = home.path().join("gone");
        let temp = tempfile::tempdir().unwrap();
        let locations =
            locations(&[("HOME", gone.to_str().unwrap()), ("TMPDIR", temp.path().to_str().unwrap())], false);
        assert_eq!(locations.global_dir, temp.path().join("dlt"));
    }

    #[test]
    fn home_dot_dlt_by_default() {
        let home = tempfile::tempdir().unwrap();
        let locations = locations(&[("HOME", home.path().to_str().unwrap())], false);
        assert_eq!(locations.global_dir, home.path().join(".dlt"));
    }

    #[test]
    fn xdg_data_home_when_home_dot_dlt_is_absent() {
        let home = tempfile::tempdir().unwrap();
        let locations = locations(&[("HOME", home.path().to_str().unwrap()), ("XDG_DATA_HOME", "/xdg/data")], false);
        assert_eq!(locations.global_dir, Path::new("/xdg/data/dlt"));
    }

    #[test]
    fn existing_home_dot_dlt_beats_xdg_data_home() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".dlt")).unwrap();
        let locations = locations(&[("HOME", home.path().to_str().unwrap()), ("XDG_DATA_HOME", "/xdg/data")], false);
        assert_eq!(locations.global_dir, home.path().join(".dlt"));
    }

    #[test]
    fn config_folder_renames_project_and_home_folders() {
        let home = tempfile::tempdir().unwrap();
        let locations = locations(&[("HOME", home.path().to_str().unwrap()), ("DLT_CONFIG_FOLDER", ".mydlt")], false);
        assert_eq!(locations.settings_dir, Path::new("/work/project/.mydlt"));
        assert_eq!(locations.global_dir, home.path().join(".mydlt"));
    }

    #[test]
    fn data_dir_moves_pipelines_but_not_the_global_dir() {
        let locations = locations(&[("DLT_GLOBAL_DIR", "/g"), ("DLT_DATA_DIR", "/d")], false);
        assert_eq!(locations.global_dir, Path::new("/g"));
        assert_eq!(locations.pipelines_dir(), Path::new("/d/pipelines"));
        assert_eq!(locations.global_config_toml(), Path::new("/g/config.toml"));
        assert_eq!(locations.telemetry_dir(), Path::new("/g/telemetry"));
    }

    #[test]
    fn data_dir_defaults_to_global_dir() {
        let locations = locations(&[("DLT_GLOBAL_DIR", "/g")], false);
        assert_eq!(locations.data_dir, Path::new("/g"));
        assert_eq!(locations.pipelines_dir(), Path::new("/g/pipelines"));
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let home = tempfile::tempdir().unwrap();
        let locations = locations(
            &[
                ("HOME", home.path().to_str().unwrap()),
                ("DLT_GLOBAL_DIR", ""),
                ("DLT_CONFIG_FOLDER", ""),
                ("XDG_DATA_HOME", ""),
            ],
            false,
        );
        assert_eq!(locations.global_dir, home.path().join(".dlt"));
        assert_eq!(locations.project_config_toml(), Path::new("/work/project/.dlt/config.toml"));
    }
}
