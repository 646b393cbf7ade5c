//! `cargo xtask check-workflows`: the GitHub Actions workflow cannot run where it is written, so
//! its shape is checked here. It must parse as YAML, run on push and pull requests, run
//! `.ci/run` on Linux and macOS and the tests on Windows, pin the toolchain to the workspace's
//! MSRV and cache cargo's work in every job; `.ci/run` must run the checks the README promises.

use std::fs;
use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

/// The workflow, relative to the workspace root.
pub(crate) const WORKFLOW: &str = ".github/workflows/ci.yml";
/// The CI script the workflow runs on Linux and macOS.
const CI_SCRIPT: &str = ".ci/run";

/// The runners the workflow must cover, and what each must run.
const PLATFORMS: [(&str, &str); 3] =
    [("ubuntu-latest", ".ci/run"), ("macos-latest", ".ci/run"), ("windows-latest", "cargo xtask test")];

/// What `.ci/run` must run, each on a line of its own.
const CI_COMMANDS: [&str; 6] = [
    "cargo fmt --all -- --check",
    "-D warnings",
    "cargo xtask check-schemas",
    "cargo xtask check-workflows",
    "cargo xtask package-check",
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
        println!("{WORKFLOW}: runs .ci/run on Linux and macOS and the tests on Windows, with Rust {msrv}");
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
    for trigger in ["push", "pull_request"] {
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
        problems.extend(check_job(name, job, msrv).into_iter().map(|problem| format!("job `{name}`: {problem}")));
    }
    for (runner, command) in PLATFORMS {
        let runs_it = jobs.values().any(|job| runners(job).iter().any(|r| r == runner) && runs(job, command));
        if !runs_it {
            problems.push(format!("no job runs `{command}` on {runner}"));
        }
    }
    problems
}

/// What every job needs: a checkout, the toolchain pinned to the MSRV, cargo caching.
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
    match toolchains.as_slice() {
        [] => problems.push("no dtolnay/rust-toolchain step".to_owned()),
        pinned if pinned.iter().all(|toolchain| toolchain == msrv) => {}
        pinned => {
            problems.push(format!("the toolchain is {}, not the workspace's rust-version {msrv}", pinned.join(", ")))
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
        assert_eq!(
            problems,
            [
                "job `ci`: the toolchain is 1.95, not the workspace's rust-version 1.96",
                "job `windows`: the toolchain is 1.95, not the workspace's rust-version 1.96"
            ]
        );
        let unquoted = check_workflow(&workflow.replace("toolchain: \"1.95\"", "toolchain: 1.95"), "1.95");
        assert_eq!(unquoted, Vec::<String>::new(), "a YAML number is read as written");
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
        let problems = problems_after("on:\n  push:\n  pull_request:\n", "on: [push, pull_request]\n");
        assert_eq!(problems, Vec::<String>::new(), "a list of events is the same");
        let problems = check_workflow(&committed().replace("actions/checkout@", "actions/other@"), "1.95");
        assert_eq!(problems.len(), 2, "{problems:?}");
    }

    #[test]
    fn the_ci_script_must_run_every_check() {
        let script = std::fs::read_to_string(root().join(".ci/run")).unwrap().replace("\r\n", "\n");
        assert_eq!(check_ci_script(&script), Vec::<String>::new());
        let without = script.replace("cargo xtask check-schemas\n", "# cargo xtask check-schemas\n");
        assert_eq!(check_ci_script(&without), [".ci/run does not run `cargo xtask check-schemas`"]);
    }
}
