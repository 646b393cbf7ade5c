//! The temporary dlt environment: its own dirs, and a child process sees only its variables.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dlt_test_support::{DltEnv, golden_dir};

#[test]
fn a_command_sees_only_the_environment_and_runs_in_the_project() {
    let mut env = DltEnv::new().unwrap();
    env.set("RUNTIME__DLTHUB_TELEMETRY", "false").set("RUNTIME__DLTHUB_TELEMETRY", "true").remove("TMPDIR");

    let output = env.command("/usr/bin/env").output().unwrap();

    let mut seen: Vec<String> = String::from_utf8(output.stdout).unwrap().lines().map(str::to_owned).collect();
    seen.sort();
    let mut expected: Vec<String> =
        env.env_pairs().into_iter().map(|(name, value)| format!("{name}={}", value.to_str().unwrap())).collect();
    expected.sort();
    assert_eq!(seen, expected);
    assert!(seen.contains(&"RUNTIME__DLTHUB_TELEMETRY=true".to_owned()));
    assert!(!seen.iter().any(|line| line.starts_with("CI=") || line.starts_with("TMPDIR=")));

    let pwd = env.command("/bin/pwd").output().unwrap();
    assert_eq!(String::from_utf8(pwd.stdout).unwrap().trim_end(), env.project_dir().to_str().unwrap());
}

#[test]
fn the_dirs_exist_under_one_root_and_go_away_with_it() {
    let env = DltEnv::new().unwrap();
    let root = env.root().to_owned();
    for dir in [env.global_dir(), env.project_dir(), env.home_dir(), env.data_dir()] {
        assert!(dir.is_dir() && dir.starts_with(&root), "{}", dir.display());
    }
    assert!(!env.project_config_dir().exists());
    assert_eq!(env.lookup()("DLT_GLOBAL_DIR"), Some(env.global_dir().display().to_string()));
    drop(env);
    assert!(!root.exists());
}

#[test]
fn the_golden_folder_is_the_repositorys() {
    let golden = golden_dir();
    assert!(golden.join("README.md").is_file(), "{}", golden.display());
    assert!(golden.ends_with("testdata/golden"));
}
