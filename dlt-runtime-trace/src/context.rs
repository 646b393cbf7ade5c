//! The execution context of a message: dlt's exact checks for CI and execution environments,
//! logical CPUs, OS family and kernel release.

use std::fs;
use std::path::Path;

use dlt_config::Environment;
use dlt_telemetry_model::{Context, Library, OsInfo, RunContext, RunContextInfo};
use sysinfo::{CpuRefreshKind, RefreshKind, System};

use crate::options::HostContext;

/// The variables whose presence, whatever the value, marks a CI run (dlt's list; `CI=false`
/// counts too, as in dlt).
const CI_VARIABLES: [&str; 15] = [
    "bamboo.buildKey",
    "BUILD_ID",
    "BUILD_NUMBER",
    "BUILDKITE",
    "CI",
    "CIRCLECI",
    "CONTINUOUS_INTEGRATION",
    "GITHUB_ACTIONS",
    "HUDSON_URL",
    "JENKINS_URL",
    "TEAMCITY_VERSION",
    "TRAVIS",
    "CODEBUILD_BUILD_ARN",
    "CODEBUILD_BUILD_ID",
    "CODEBUILD_BATCH_BUILD_IDENTIFIER",
];

/// True when one of dlt's CI variables is present.
pub(crate) fn is_ci_run(env: &Environment) -> bool {
    CI_VARIABLES.iter().any(|name| env.get_os(name).is_some())
}

/// The execution environments detected, in dlt's order. `root` is the filesystem root the
/// container checks look under (`/` in a real process).
///
/// dlt's Python-only checks (`notebook`, `dagster`, `prefect`, `marimo`) never apply to a Rust
/// host; `colab` is detected by its environment variable only.
pub(crate) fn exec_info(env: &Environment, root: &Path) -> Vec<String> {
    let present = |name: &str| env.get_os(name).is_some();
    let equals_one = |name: &str| env.get(name) == Some("1");
    let claude_code = equals_one("CLAUDECODE");
    let checks = [
        ("kubernetes", ["KUBE_NODE_NAME", "KUBE_POD_NAME", "KUBE_POD_NAMESPACE"].into_iter().any(present)),
        ("docker", is_docker(root)),
        ("codespaces", present("CODESPACES")),
        ("github_actions", present("GITHUB_ACTIONS")),
        ("colab", present("COLAB_RELEASE_TAG")),
        ("airflow", present("AIRFLOW_CTX_TASK_ID")),
        ("aws_lambda", present("AWS_LAMBDA_FUNCTION_NAME")),
        ("gcp_cloud_function", present("FUNCTION_NAME")),
        ("streamlit", present("STREAMLIT_SERVER_PORT")),
        ("claude_code", claude_code),
        ("claude_code_cli", claude_code && env.get("CLAUDE_CODE_ENTRYPOINT") == Some("cli")),
        ("cursor", equals_one("CURSOR_AGENT")),
        ("codex", equals_one("CODEX_CI") || present("CODEX_THREAD_ID") || present("CODEX_SANDBOX")),
    ];
    checks.into_iter().filter(|(_, detected)| *detected).map(|(name, _)| name.to_owned()).collect()
}

/// dlt's container check: `/.dockerenv` exists, or `docker` appears in `/proc/self/cgroup`.
fn is_docker(root: &Path) -> bool {
    root.join(".dockerenv").exists()
        || fs::read_to_string(root.join("proc/self/cgroup")).is_ok_and(|cgroup| cgroup.contains("docker"))
}

/// The OS family as dlt names it (Python's `platform.system()`).
fn os_family() -> &'static str {
    match std::env::consts::OS {
        "linux" => "Linux",
        "macos" => "Darwin",
        "windows" => "Windows",
        other => other,
    }
}

/// Logical CPUs, all of them (as Python's `cpu_count()`), not the share a container may use.
/// On Linux from the kernel's list of online CPUs (one small read, where counting them in
/// `/proc/cpuinfo` reads kilobytes per CPU); elsewhere, or when that list cannot be read, from
/// sysinfo.
fn logical_cpus() -> u32 {
    let counted = linux_online_cpus().unwrap_or_else(|| {
        let refresh = RefreshKind::nothing().with_cpu(CpuRefreshKind::nothing());
        System::new_with_specifics(refresh).map_or(0, |system| system.cpus().len())
    });
    let cpus = if counted > 0 { counted } else { std::thread::available_parallelism().map_or(1, usize::from) };
    u32::try_from(cpus).unwrap_or(u32::MAX)
}

/// The number of CPUs in `/sys/devices/system/cpu/online` (what glibc's
/// `sysconf(_SC_NPROCESSORS_ONLN)`, and so Python's `os.cpu_count()`, reads), on Linux.
fn linux_online_cpus() -> Option<usize> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    cpus_in_list(&fs::read_to_string("/sys/devices/system/cpu/online").ok()?)
}

/// The number of CPUs in a kernel CPU list such as `0-3,8,10-11`; `None` when it is not one.
fn cpus_in_list(list: &str) -> Option<usize> {
    let mut count = 0usize;
    for part in list.trim().split(',') {
        let (first, last) = part.split_once('-').unwrap_or((part, part));
        let (first, last): (usize, usize) = (first.parse().ok()?, last.parse().ok()?);
        count = count.checked_add(last.checked_sub(first)?.checked_add(1)?)?;
    }
    Some(count)
}

/// Collects the whole context once; the host's library gives `library` and `run_context`, and
/// what the host knows itself (`python`, its own `exec_info`) replaces what the runtime sees.
pub(crate) fn collect(env: &Environment, library: Library, host: &HostContext) -> Context {
    let kernel = System::kernel_version().unwrap_or_default();
    let run_context = RunContext::Info(RunContextInfo::new(library.name.clone()));
    let detected = host.exec_info.clone().unwrap_or_else(|| exec_info(env, Path::new("/")));
    let mut context = Context::new(OsInfo::new(os_family(), kernel), library)
        .with_ci_run(is_ci_run(env))
        .with_cpu(logical_cpus())
        .with_exec_info(detected)
        .with_run_context(run_context);
    context.python.clone_from(&host.python);
    context
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::fs;
    use std::path::Path;

    use dlt_config::Environment;

    use super::{CI_VARIABLES, cpus_in_list, exec_info, is_ci_run, logical_cpus};

    fn env(pairs: &[(&str, &str)]) -> Environment {
        Environment::from_pairs(pairs.iter().copied())
    }

    fn detected(pairs: &[(&str, &str)]) -> Vec<String> {
        let empty_root = tempfile::tempdir().unwrap();
        exec_info(&env(pairs), empty_root.path())
    }

    #[test]
    fn cpu_lists_are_counted() {
        assert_eq!(cpus_in_list("0\n"), Some(1));
        assert_eq!(cpus_in_list("0-1\n"), Some(2));
        assert_eq!(cpus_in_list("0-3,8,10-11"), Some(7));
        for odd in ["", "a", "3-1", "0-", "-1", "0,,1"] {
            assert_eq!(cpus_in_list(odd), None, "{odd:?}");
        }
    }

    #[test]
    fn logical_cpus_counts_every_cpu_the_machine_has_online() {
        let all = std::thread::available_parallelism().map_or(1, usize::from);
        assert!(logical_cpus() as usize >= all, "{} < {all}", logical_cpus());
    }

    #[test]
    fn every_ci_variable_counts_whatever_its_value() {
        assert!(!is_ci_run(&env(&[])));
        for name in CI_VARIABLES {
            for value in ["1", "false", ""] {
                assert!(is_ci_run(&env(&[(name, value)])), "{name}={value:?}");
            }
        }
        assert!(!is_ci_run(&env(&[("RUN_ID", "1"), ("ci", "true")])), "not dlt's markers");
    }

    #[test]
    fn each_environment_marker_is_detected_alone() {
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a [&'a str]);
        let cases: [Case<'_>; 16] = [
            (&[("KUBE_NODE_NAME", "n")], &["kubernetes"]),
            (&[("KUBE_POD_NAME", "p")], &["kubernetes"]),
            (&[("KUBE_POD_NAMESPACE", "ns")], &["kubernetes"]),
            (&[("CODESPACES", "true")], &["codespaces"]),
            (&[("GITHUB_ACTIONS", "true")], &["github_actions"]),
            (&[("COLAB_RELEASE_TAG", "release")], &["colab"]),
            (&[("AIRFLOW_CTX_TASK_ID", "task")], &["airflow"]),
            (&[("AWS_LAMBDA_FUNCTION_NAME", "f")], &["aws_lambda"]),
            (&[("FUNCTION_NAME", "f")], &["gcp_cloud_function"]),
            (&[("STREAMLIT_SERVER_PORT", "8501")], &["streamlit"]),
            (&[("CLAUDECODE", "1")], &["claude_code"]),
            (&[("CLAUDECODE", "1"), ("CLAUDE_CODE_ENTRYPOINT", "cli")], &["claude_code", "claude_code_cli"]),
            (&[("CURSOR_AGENT", "1")], &["cursor"]),
            (&[("CODEX_CI", "1")], &["codex"]),
            (&[("CODEX_THREAD_ID", "thread-abc")], &["codex"]),
            (&[("CODEX_SANDBOX", "seatbelt")], &["codex"]),
        ];
        for (pairs, expected) in cases {
            assert_eq!(detected(pairs), expected, "{pairs:?}");
        }
    }

    #[test]
    fn markers_that_need_a_value_ignore_other_values() {
        for pairs in [
            &[("CLAUDECODE", "0")][..],
            &[("CLAUDE_CODE_ENTRYPOINT", "cli")],
            &[("CURSOR_AGENT", "")],
            &[("CURSOR_AGENT", "0")],
            &[("CODEX_CI", "0")],
        ] {
            assert_eq!(detected(pairs), Vec::<String>::new(), "{pairs:?}");
        }
    }

    #[test]
    fn markers_come_in_dlts_order() {
        let all = [
            ("CODEX_CI", "1"),
            ("KUBE_NODE_NAME", "n"),
            ("GITHUB_ACTIONS", "1"),
            ("AWS_LAMBDA_FUNCTION_NAME", "f"),
            ("CLAUDECODE", "1"),
        ];
        assert_eq!(detected(&all), ["kubernetes", "github_actions", "aws_lambda", "claude_code", "codex"]);
    }

    #[test]
    fn docker_is_detected_by_dockerenv_or_cgroup() {
        let root = tempfile::tempdir().unwrap();
        assert!(exec_info(&env(&[]), root.path()).is_empty());
        fs::write(root.path().join(".dockerenv"), "").unwrap();
        assert_eq!(exec_info(&env(&[]), root.path()), ["docker"]);

        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("proc/self")).unwrap();
        fs::write(root.path().join("proc/self/cgroup"), "0::/system.slice/docker-3f2a.scope\n").unwrap();
        assert_eq!(exec_info(&env(&[]), root.path()), ["docker"]);
        fs::write(root.path().join("proc/self/cgroup"), "0::/user.slice\n").unwrap();
        assert!(exec_info(&env(&[]), Path::new(root.path())).is_empty());
    }
}
