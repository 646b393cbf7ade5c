//! A temporary dlt environment: its own global, project, home and data dirs, and the variables
//! that point dlt at them.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The variables that point dlt at the temporary dirs.
const GLOBAL_DIR: &str = "DLT_GLOBAL_DIR";
const PROJECT_DIR: &str = "DLT_PROJECT_DIR";
const DATA_DIR: &str = "DLT_DATA_DIR";

/// Temporary global, project, home, data and tmp dirs (removed on drop), and an environment made
/// only of the variables that point dlt at them plus those a test adds: never the real home, the
/// real config or the CI variables of the machine running the tests.
///
/// ```
/// use dlt_test_support::DltEnv;
///
/// let mut env = DltEnv::new()?;
/// env.set("RUNTIME__DLTHUB_TELEMETRY", "false");
/// let pairs = env.env_pairs();
/// assert!(pairs.iter().any(|(name, value)| name == "DLT_GLOBAL_DIR" && *value == env.global_dir()));
/// assert_eq!(env.lookup()("RUNTIME__DLTHUB_TELEMETRY").as_deref(), Some("false"));
/// assert_eq!(env.lookup()("CI"), None);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct DltEnv {
    root: tempfile::TempDir,
    vars: Vec<(String, OsString)>,
}

impl DltEnv {
    /// Creates the dirs (`global`, `project`, `home`, `data`, `tmp` under one temporary root).
    pub fn new() -> io::Result<Self> {
        let root = tempfile::tempdir()?;
        for dir in ["global", "project", "home", "data", "tmp"] {
            fs::create_dir(root.path().join(dir))?;
        }
        let path = |dir: &str| root.path().join(dir).into_os_string();
        let vars = vec![
            (GLOBAL_DIR.to_owned(), path("global")),
            (PROJECT_DIR.to_owned(), path("project")),
            (DATA_DIR.to_owned(), path("data")),
            ("HOME".to_owned(), path("home")),
            ("XDG_DATA_HOME".to_owned(), root.path().join("home").join(".local").join("share").into_os_string()),
            ("TMPDIR".to_owned(), path("tmp")),
        ];
        Ok(Self { root, vars })
    }

    /// The temporary root holding every dir.
    pub fn root(&self) -> &Path {
        self.root.path()
    }

    /// `DLT_GLOBAL_DIR`.
    pub fn global_dir(&self) -> PathBuf {
        self.root.path().join("global")
    }

    /// `DLT_PROJECT_DIR`, also the working dir of [`command`](Self::command).
    pub fn project_dir(&self) -> PathBuf {
        self.root.path().join("project")
    }

    /// The project's config folder, `<project>/.dlt` (not created).
    pub fn project_config_dir(&self) -> PathBuf {
        self.project_dir().join(".dlt")
    }

    /// `HOME`.
    pub fn home_dir(&self) -> PathBuf {
        self.root.path().join("home")
    }

    /// `DLT_DATA_DIR`.
    pub fn data_dir(&self) -> PathBuf {
        self.root.path().join("data")
    }

    /// Sets a variable (replacing one of the same name).
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<OsString>) -> &mut Self {
        let name = name.into();
        self.vars.retain(|(existing, _)| *existing != name);
        self.vars.push((name, value.into()));
        self
    }

    /// Removes a variable (`DLT_DATA_DIR`, to test the default data dir).
    pub fn remove(&mut self, name: &str) -> &mut Self {
        self.vars.retain(|(existing, _)| existing != name);
        self
    }

    /// Every variable of this environment.
    pub fn env_pairs(&self) -> Vec<(String, OsString)> {
        self.vars.clone()
    }

    /// A lookup over a snapshot of this environment, for code that reads its environment
    /// through one (`NetworkEnv::from_lookup`, ...). Values that are not UTF-8 read as unset.
    pub fn lookup(&self) -> impl Fn(&str) -> Option<String> + Clone + Send + Sync + 'static {
        let vars = self.vars.clone();
        move |name| vars.iter().find(|(key, _)| key == name).and_then(|(_, value)| value.to_str().map(str::to_owned))
    }

    /// A command for `program` (the real `dlt` binary, say) with a cleared environment plus this
    /// one's variables, working in the project dir.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = Command::new(program);
        command.env_clear().envs(self.vars.iter().map(|(name, value)| (name, value))).current_dir(self.project_dir());
        command
    }
}
