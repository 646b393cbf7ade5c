//! `cargo xtask check-workflows`: the GitHub Actions workflow cannot run where it is written, so
//! its shape is checked here. It must parse as YAML, run on push, pull requests and a weekly
//! schedule, run `.ci/run` on Linux and macOS, the tests on Windows (where aws-lc-sys may use its
//! prebuilt NASM objects), the newest-dependencies and minimal-versions checks on Linux, pin the
//! toolchain to the workspace's MSRV (nightly only beside it, where minimal versions are
//! resolved) and cache cargo's work in every job; `.ci/run` must run the checks the README
//! promises.

use std::fs;
use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

/// The workflow, relative to the workspace root.
pub(crate) const WORKFLOW: &str = ".github/workflows/ci.yml";
/// The CI script the workflow runs on Linux and macOS.
const CI_SCRIPT: &str = ".ci/run";

/// What the workflow must run, and on which runner.
const REQUIRED_RUNS: [(&str, &str); 5] = [
    ("ubuntu-latest", ".ci/run"),
    ("macos-latest", ".ci/run"),
    ("windows-latest", "cargo xtask test"),
    ("ubuntu-latest", "cargo xtask newest-deps"),
    ("ubuntu-latest", "cargo xtask minimal-versions"),
];

/// The events the workflow must run on: the weekly schedule sees new dependency releases.
const TRIGGERS: [&str; 3] = ["push", "pull_request", "schedule"];

/// The one command that needs nightly (to resolve): only its job may install it, beside the MSRV.
const NIGHTLY_COMMAND: &str = "cargo xtask minimal-versions";

/// What a job on Windows sets so that aws-lc-sys builds without NASM on the runner.
const WINDOWS_NASM_VARIABLE: &str = "AWS_LC_SYS_PREBUILT_NASM";

/// What `.ci/run` must run, each on a line of its own.
const CI_COMMANDS: [&str; 7] = [
    "cargo fmt --all -- --check",
    "-D warnings",
    "cargo xtask check-schemas",
    "cargo xtask check-workflows",
    "cargo xtask package-check",
    "cargo xtask outside-crates",
    "cargo xtask test",
];

/// Checks the committed workflow and `.ci/run`; every problem is listed.
pub(crate) fn run(root: &Path) -> Result<(), String> {
    let read =
        |relative: &str| fs::read_to_string(root.join(relative)).map_err(|e| format!("cannot read {relative}: {e}"));
    let msrv = workspace_msrv(&read("Cargo.toml")?)?;
    let mut problems = check_workflow(&read(WORKFLOW)?, &msrv);
    problems.extend(check_ci_script(&read(CI_SCRIPT)?));
    if problems.is_empty() {
        println!(
            "{WORKFLOW}: runs .ci/run on Linux and macOS, the tests on Windows, newest and minimal \
             dependency versions on Linux, with Rust {msrv}"
        );
        Ok(())
    } else {
        Err(format!("{} problem(s):\n  {}", problems.len(), problems.join("\n  ")))
    }
}

/// The `rust-version` of the root manifest's `[workspace.package]`.
pub(crate) fn workspace_msrv(manifest: &str) -> Result<String, String> {
    let document: toml_edit::DocumentMut =
        manifest.parse().map_err(|e| format!("the root Cargo.toml does not parse: {e}"))?;
    document
        .get("workspace")
        .and_then(|workspace| workspace.get("package"))
        .and_then(|package| package.get("rust-version"))
        .and_then(|version| version.as_str())
        .map(str::to_owned)
        .ok_or_else(|| "the root Cargo.toml has no [workspace.package] rust-version".into())
}

/// The problems found in the workflow text; empty when it has every job and step relied on.
pub(crate) fn check_workflow(text: &str, msrv: &str) -> Vec<String> {
    let documents = match YamlLoader::load_from_str(text) {
        Ok(documents) => documents,
        Err(error) => return vec![format!("{WORKFLOW} is not valid YAML: {error}")],
    };
    let [workflow] = documents.as_slice() else {
        return vec![format!("{WORKFLOW} must hold exactly one YAML document, not {}", documents.len())];
    };
    let mut problems = Vec::new();

    let triggers = triggers(workflow);
    for trigger in TRIGGERS {
        if !triggers.iter().any(|t| t == trigger) {
            problems.push(format!("the workflow does not run on `{trigger}`"));
        }
    }

    let Some(jobs) = workflow["jobs"].as_hash() else {
        problems.push("the workflow has no `jobs`".into());
        return problems;
    };
    for (name, job) in jobs {
        let name = name.as_str().unwrap_or("?");
        let mut job_problems = check_job(name, job, msrv);
        let on_windows = runners(job).iter().any(|runner| runner.starts_with("windows"));
        let sets_nasm_variable =
            [&job["env"], &workflow["env"]].iter().any(|env| !env[WINDOWS_NASM_VARIABLE].is_badvalue());
        if on_windows && !sets_nasm_variable {
            job_problems.push(format!("runs on Windows without {WINDOWS_NASM_VARIABLE} (aws-lc-sys needs NASM then)"));
        }
        problems.extend(job_problems.into_iter().map(|problem| format!("job `{name}`: {problem}")));
    }
    for (runner, command) in REQUIRED_RUNS {
        let runs_it = jobs.values().any(|job| runners(job).iter().any(|r| r == runner) && runs(job, command));
        if !runs_it {
            problems.push(format!("no job runs `{command}` on {runner}"));
        }
    }
    problems
}

/// What every job needs: a checkout, the toolchain pinned to the MSRV (installed last, so that
/// it is the default; nightly may come before it only in the job that resolves minimal
/// versions), cargo caching.
fn check_job(name: &str, job: &Yaml, msrv: &str) -> Vec<String> {
    let Some(steps) = job["steps"].as_vec() else {
        return vec![format!("`{name}` has no steps")];
    };
    let uses = |prefix: &'static str| {
        steps.iter().filter(move |step| step["uses"].as_str().is_some_and(|uses| uses.starts_with(prefix)))
    };
    let mut problems = Vec::new();
    if uses("actions/checkout@").next().is_none() {
        problems.push("no actions/checkout step".to_owned());
    }
    if uses("Swatinem/rust-cache@").next().is_none() {
        problems.push("no Swatinem/rust-cache step (cargo caching)".to_owned());
    }
    let toolchains: Vec<String> = uses("dtolnay/rust-toolchain@").map(pinned_toolchain).collect();
    let nightly_allowed = runs(job, NIGHTLY_COMMAND);
    match toolchains.split_last() {
        None => problems.push("no dtolnay/rust-toolchain step".to_owned()),
        Some((default, _)) if default != msrv => problems.push(format!(
            "the toolchain is {}, not the workspace's rust-version {msrv} (installed last, the default)",
            toolchains.join(", ")
        )),
        Some((_, before)) => {
            for other in before.iter().filter(|toolchain| *toolchain != msrv) {
                if other != "nightly" || !nightly_allowed {
                    problems.push(format!("installs {other} beside {msrv}: only `{NIGHTLY_COMMAND}` may use nightly"));
                }
            }
        }
    }
    if runners(job).is_empty() {
        problems.push("no `runs-on`".to_owned());
    }
    problems
}

/// The toolchain a `dtolnay/rust-toolchain` step installs: its `toolchain` input, else the
/// version in its reference (`@1.95`).
fn pinned_toolchain(step: &Yaml) -> String {
    match step["with"]["toolchain"].as_str() {
        Some(toolchain) => toolchain.to_owned(),
        None => match &step["with"]["toolchain"] {
            Yaml::Real(number) => number.clone(),
            _ => step["uses"].as_str().and_then(|uses| uses.split_once('@')).map_or("", |(_, r)| r).to_owned(),
        },
    }
}

/// The events the workflow runs on, whether `on` is a string, a list or a mapping.
fn triggers(workflow: &Yaml) -> Vec<String> {
    let on = &workflow["on"];
    match on {
        Yaml::String(event) => vec![event.clone()],
        Yaml::Array(events) => events.iter().filter_map(Yaml::as_str).map(str::to_owned).collect(),
        Yaml::Hash(events) => events.keys().filter_map(Yaml::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// The runners a job runs on: its `runs-on`, with `${{ matrix.X }}` expanded from its matrix.
fn runners(job: &Yaml) -> Vec<String> {
    let runs_on = job["runs-on"].as_str().unwrap_or_default().trim();
    let matrix_key = runs_on
        .strip_prefix("${{")
        .and_then(|rest| rest.strip_suffix("}}"))
        .and_then(|expression| expression.trim().strip_prefix("matrix."));
    match matrix_key {
        Some(key) => job["strategy"]["matrix"][key]
            .as_vec()
            .map(|values| values.iter().filter_map(Yaml::as_str).map(str::to_owned).collect())
            .unwrap_or_default(),
        None if runs_on.is_empty() => Vec::new(),
        None => vec![runs_on.to_owned()],
    }
}

/// Whether a step of the job runs `command`.
fn runs(job: &Yaml, command: &str) -> bool {
    job["steps"].as_vec().is_some_and(|steps| {
        steps.iter().filter_map(|step| step["run"].as_str()).any(|script| script.lines().any(|l| l.contains(command)))
    })
}

/// The problems found in `.ci/run`: a command it must run that no line (outside comments) runs.
pub(crate) fn check_ci_script(text: &str) -> Vec<String> {
    let commands: Vec<&str> =
        text.lines().map(str::trim).filter(|line| !line.starts_with('#') && !line.starts_with("echo")).collect();
    CI_COMMANDS
        .iter()
        .filter(|wanted| !commands.iter().any(|line| line.contains(*wanted)))
        .map(|missing| format!("{CI_SCRIPT} does not run `{missing}`"))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::Path;

    use super::{WORKFLOW, check_ci_script, check_workflow, run, workspace_msrv};

    fn root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
    }

    fn committed() -> String {
        std::fs::read_to_string(root().join(WORKFLOW)).unwrap().replace("\r\n", "\n")
    }

    fn problems_after(from: &str, to: &str) -> Vec<String> {
        let workflow = committed();
        assert!(workflow.contains(from), "the workflow no longer contains {from:?}");
        check_workflow(&workflow.replace(from, to), "1.95")
    }

    #[test]
    fn the_committed_workflow_and_ci_script_pass() {
        run(root()).unwrap();
    }

    #[test]
    fn the_msrv_comes_from_the_root_manifest() {
        assert_eq!(workspace_msrv("[workspace.package]\nrust-version = \"1.95\"\n").unwrap(), "1.95");
        assert!(workspace_msrv("[workspace]\n").is_err());
        assert!(workspace_msrv("[workspace").is_err());
    }

    #[test]
    fn a_file_that_is_not_yaml_is_reported() {
        let problems = check_workflow("jobs: [unclosed\n", "1.95");
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("is not valid YAML"), "{problems:?}");
    }

    #[test]
    fn a_missing_platform_is_reported() {
        let problems = problems_after("[ubuntu-latest, macos-latest]", "[ubuntu-latest]");
        assert_eq!(problems, ["no job runs `.ci/run` on macos-latest"]);
        let problems = problems_after("runs-on: windows-latest", "runs-on: ubuntu-latest");
        assert_eq!(problems, ["no job runs `cargo xtask test` on windows-latest"]);
        let problems = problems_after("- run: bash .ci/run", "- run: cargo test");
        assert_eq!(problems, ["no job runs `.ci/run` on ubuntu-latest", "no job runs `.ci/run` on macos-latest"]);
    }

    #[test]
    fn the_toolchain_must_be_the_msrv() {
        let workflow = committed();
        let problems = check_workflow(&workflow, "1.96");
        let wrong = |job: &str, installed: &str| {
            format!(
                "job `{job}`: the toolchain is {installed}, not the workspace's rust-version 1.96 (installed last, the default)"
            )
        };
        assert_eq!(
            problems,
            [
                wrong("ci", "1.95"),
                wrong("windows", "1.95"),
                wrong("newest-deps", "1.95"),
                wrong("minimal-versions", "nightly, 1.95")
            ]
        );
        let unquoted = check_workflow(&workflow.replace("toolchain: \"1.95\"", "toolchain: 1.95"), "1.95");
        assert_eq!(unquoted, Vec::<String>::new(), "a YAML number is read as written");
    }

    #[test]
    fn nightly_only_resolves_minimal_versions_and_is_never_the_default() {
        let msrv_step = "      - uses: dtolnay/rust-toolchain@master\n        with:\n          toolchain: \"1.95\"\n";
        let nightly_step = "      - uses: dtolnay/rust-toolchain@nightly\n";
        // Installed after the MSRV, nightly would be the default toolchain.
        let swapped = problems_after(&format!("{nightly_step}{msrv_step}"), &format!("{msrv_step}{nightly_step}"));
        assert_eq!(
            swapped,
            [
                "job `minimal-versions`: the toolchain is 1.95, nightly, not the workspace's rust-version 1.95 (installed last, the default)"
            ]
        );
        let newest_deps_msrv = format!("{msrv_step}          components: clippy\n");
        let elsewhere = problems_after(&newest_deps_msrv, &format!("{nightly_step}{newest_deps_msrv}"));
        assert_eq!(
            elsewhere,
            ["job `newest-deps`: installs nightly beside 1.95: only `cargo xtask minimal-versions` may use nightly"]
        );
        let beta = problems_after(nightly_step, "      - uses: dtolnay/rust-toolchain@beta\n");
        assert_eq!(
            beta,
            ["job `minimal-versions`: installs beta beside 1.95: only `cargo xtask minimal-versions` may use nightly"]
        );
    }

    #[test]
    fn the_dependency_checks_and_the_weekly_run_are_required() {
        let problems = problems_after("      - run: cargo xtask newest-deps\n", "");
        assert_eq!(problems, ["no job runs `cargo xtask newest-deps` on ubuntu-latest"]);
        let problems = problems_after("      - run: cargo xtask minimal-versions\n", "");
        assert_eq!(
            problems,
            [
                "job `minimal-versions`: installs nightly beside 1.95: only `cargo xtask minimal-versions` may use nightly",
                "no job runs `cargo xtask minimal-versions` on ubuntu-latest"
            ]
        );
        let problems = problems_after("  schedule:\n    - cron: \"17 5 * * 1\"\n", "");
        assert_eq!(problems, ["the workflow does not run on `schedule`"]);
    }

    #[test]
    fn windows_jobs_let_aws_lc_build_without_nasm() {
        let problems = problems_after("      AWS_LC_SYS_PREBUILT_NASM: \"1\"\n", "      OTHER: \"1\"\n");
        assert_eq!(
            problems,
            ["job `windows`: runs on Windows without AWS_LC_SYS_PREBUILT_NASM (aws-lc-sys needs NASM then)"]
        );
        let at_the_top = committed()
            .replace("      AWS_LC_SYS_PREBUILT_NASM: \"1\"\n", "      OTHER: \"1\"\n")
            .replace("  CARGO_TERM_COLOR: always\n", "  CARGO_TERM_COLOR: always\n  AWS_LC_SYS_PREBUILT_NASM: \"1\"\n");
        assert_eq!(check_workflow(&at_the_top, "1.95"), Vec::<String>::new(), "the workflow's env counts too");
    }

    #[test]
    fn caching_checkout_and_triggers_are_required() {
        let problems = problems_after(
            "      - uses: Swatinem/rust-cache@v2\n      - run: cargo xtask test\n",
            "      - run: cargo xtask test\n",
        );
        assert_eq!(problems, ["job `windows`: no Swatinem/rust-cache step (cargo caching)"]);
        let problems = problems_after("  pull_request:\n", "");
        assert_eq!(problems, ["the workflow does not run on `pull_request`"]);
        let block = committed();
        let (start, end) = (block.find("on:\n").unwrap(), block.find("\nenv:").unwrap());
        let as_list = format!("{}on: [push, pull_request, schedule]\n{}", &block[..start], &block[end..]);
        assert_eq!(check_workflow(&as_list, "1.95"), Vec::<String>::new(), "a list of events is the same");
        let problems = check_workflow(&committed().replace("actions/checkout@", "actions/other@"), "1.95");
        assert_eq!(problems.len(), 4, "{problems:?}");
    }

    #[test]
    fn the_ci_script_must_run_every_check() {
        let script = std::fs::read_to_string(root().join(".ci/run")).unwrap().replace("\r\n", "\n");
        assert_eq!(check_ci_script(&script), Vec::<String>::new());
        let without = script.replace("cargo xtask check-schemas\n", "# cargo xtask check-schemas\n");
        assert_eq!(check_ci_script(&without), [".ci/run does not run `cargo xtask check-schemas`"]);
    }
}
