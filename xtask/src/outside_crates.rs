//! `cargo xtask outside-crates [CRATE...]`: each published library crate used the way a new
//! tool author uses it: a crate outside the workspace, made from the crate's README (its
//! `[dependencies]` block and its example as `src/main.rs`), with a dependency on the crate by
//! path and a fresh resolve (the newest compatible versions, not this workspace's lock file).
//!
//! Each is built; any warning fails the check (from our crates, which cargo compiles with their
//! own lints as path dependencies, or from the README's example; registry crates' lints are
//! capped by cargo). An example not marked `no_run` is also run. The crates are written to a
//! temporary folder; they build into `target/outside-crates/`, kept between runs.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::readme::{ReadmeExample, example};
use crate::versions::{Version, compatible, locked_packages, requirement_minimum, show};

/// How long a README's example may run before it counts as hanging.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// The command line of `outside-crates`: the crates to try, all published libraries when none.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Options {
    crates: Vec<String>,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self, String> {
        match args.iter().find(|arg| arg.starts_with('-')) {
            Some(flag) => Err(format!("unknown option `{flag}` for outside-crates")),
            None => Ok(Self { crates: args.to_vec() }),
        }
    }
}

/// A crate of the workspace, as `cargo metadata` describes it.
struct Member {
    name: String,
    version: Version,
    dir: PathBuf,
    /// Published (no `publish = false`) and has a library target.
    published_library: bool,
}

/// What building one outside crate found.
struct Outcome {
    name: String,
    /// Registry packages in its fresh resolve.
    resolved: usize,
    /// Of those, the versions this workspace's `Cargo.lock` does not pin.
    newer: Vec<String>,
    /// Units compiled by this run (not already fresh in the target dir).
    compiled: usize,
    /// Warnings and errors, as rustc and cargo rendered them.
    problems: Vec<String>,
    ran: Option<Result<(), String>>,
    seconds: f64,
}

/// Writes, builds (and where allowed runs) an outside crate for each selected crate.
pub(crate) fn run(root: &Path, options: &Options) -> Result<(), String> {
    let members = members(&crate::package_check::cargo_metadata(root)?)?;
    let selected = select(&members, &options.crates)?;
    let msrv = crate::check_workflows::workspace_msrv(&read(&root.join("Cargo.toml"))?)?;
    let locked = lock_entries(&read(&root.join("Cargo.lock"))?);
    let folder = tempfile::Builder::new()
        .prefix("dlt-outside-crates-")
        .tempdir()
        .map_err(|e| format!("cannot create a temporary folder: {e}"))?;
    let target = root.join("target").join("outside-crates");

    let mut outcomes = Vec::new();
    for member in selected {
        let readme_path = member.dir.join("README.md");
        let example = example(&read(&readme_path)?).map_err(|e| format!("{}: {e}", readme_path.display()))?;
        let crate_dir = folder.path().join(format!("uses-{}", member.name));
        write_outside_crate(&crate_dir, member, &example, &members, &msrv)?;
        println!("== {}: building {} (fresh resolve)", member.name, crate_dir.display());
        let outcome = build_and_run(&crate_dir, &target, member, example.runs, &locked)?;
        print_outcome(&outcome);
        outcomes.push(outcome);
    }

    println!();
    println!("{:<22} {:>8} {:>8} {:>8} {:>6}  ran", "crate", "resolved", "compiled", "warnings", "s");
    for outcome in &outcomes {
        let ran = match &outcome.ran {
            None => "no (no_run)",
            Some(Ok(())) => "yes",
            Some(Err(_)) => "FAILED",
        };
        println!(
            "{:<22} {:>8} {:>8} {:>8} {:>6.0}  {ran}",
            outcome.name,
            outcome.resolved,
            outcome.compiled,
            outcome.problems.len(),
            outcome.seconds
        );
    }
    let failed: Vec<&str> = outcomes
        .iter()
        .filter(|outcome| !outcome.problems.is_empty() || matches!(outcome.ran, Some(Err(_))))
        .map(|outcome| outcome.name.as_str())
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("outside the workspace, {} did not build cleanly or run", failed.join(", ")))
    }
}

fn read(path: &Path) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The workspace's crates from `cargo metadata --no-deps`.
fn members(metadata: &Value) -> Result<Vec<Member>, String> {
    let packages = metadata["packages"].as_array().ok_or("`cargo metadata` lists no packages")?;
    packages
        .iter()
        .map(|package| {
            let name = package["name"].as_str().ok_or("a package without a name")?.to_owned();
            let version = package["version"]
                .as_str()
                .and_then(requirement_minimum)
                .ok_or_else(|| format!("{name}: no readable version"))?;
            let manifest = package["manifest_path"].as_str().ok_or_else(|| format!("{name}: no manifest path"))?;
            let dir = Path::new(manifest).parent().map(Path::to_path_buf).unwrap_or_default();
            let has = |wanted: &str| {
                package["targets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|target| target["kind"].as_array().into_iter().flatten().any(|kind| kind == wanted))
            };
            // A crate with a binary is a program, whatever library it keeps for its tests.
            let published_library = crate::package_check::is_publishable(package) && has("lib") && !has("bin");
            Ok(Member { name, version, dir, published_library })
        })
        .collect()
}

/// The crates to try: those named, each a published library, or every published library.
fn select<'a>(members: &'a [Member], names: &[String]) -> Result<Vec<&'a Member>, String> {
    let libraries: Vec<&Member> = members.iter().filter(|member| member.published_library).collect();
    if names.is_empty() {
        return Ok(libraries);
    }
    names
        .iter()
        .map(|name| {
            libraries.iter().copied().find(|member| &member.name == name).ok_or_else(|| {
                let known: Vec<&str> = libraries.iter().map(|member| member.name.as_str()).collect();
                format!("`{name}` is not a published library crate of the workspace; they are: {}", known.join(", "))
            })
        })
        .collect()
}

/// Writes the outside crate: its manifest and the README's example as `src/main.rs`.
fn write_outside_crate(
    dir: &Path,
    member: &Member,
    example: &ReadmeExample,
    members: &[Member],
    msrv: &str,
) -> Result<(), String> {
    let manifest = outside_manifest(member, &example.dependencies, members, msrv)
        .map_err(|e| format!("{}/README.md: {e}", member.dir.display()))?;
    let src = dir.join("src");
    fs::create_dir_all(&src).map_err(|e| format!("cannot create {}: {e}", src.display()))?;
    fs::write(dir.join("Cargo.toml"), manifest).map_err(|e| format!("cannot write the manifest: {e}"))?;
    fs::write(src.join("main.rs"), &example.code).map_err(|e| format!("cannot write main.rs: {e}"))
}

/// The manifest of the outside crate: the README's `[dependencies]`, with each crate of this
/// workspace taken by path (its features kept) after checking that the README asks for the
/// crate's current version.
fn outside_manifest(member: &Member, dependencies: &str, members: &[Member], msrv: &str) -> Result<String, String> {
    let mut document: toml_edit::DocumentMut =
        dependencies.parse().map_err(|e| format!("the [dependencies] block is not TOML: {e}"))?;
    let extra: Vec<&str> = document.iter().map(|(key, _)| key).filter(|key| *key != "dependencies").collect();
    if !extra.is_empty() {
        return Err(format!("the dependencies block holds more than [dependencies]: {}", extra.join(", ")));
    }
    let table =
        document.get_mut("dependencies").and_then(|item| item.as_table_like_mut()).ok_or("no [dependencies] table")?;
    if !table.contains_key(&member.name) {
        return Err(format!("the [dependencies] block does not name {}", member.name));
    }
    for (name, item) in table.iter_mut() {
        let Some(ours) = members.iter().find(|candidate| candidate.name == name.get()) else { continue };
        let requirement = item.as_str().or_else(|| item.get("version").and_then(|v| v.as_str())).unwrap_or("");
        let asks_for_current = requirement_minimum(requirement).is_some_and(|wanted| compatible(wanted, ours.version));
        if !asks_for_current {
            return Err(format!(
                "it asks for {} = \"{requirement}\", but the crate is {}",
                ours.name,
                show(ours.version)
            ));
        }
        let mut by_path = toml_edit::InlineTable::new();
        by_path.insert("path", ours.dir.display().to_string().into());
        for key in ["features", "default-features"] {
            if let Some(value) = item.get(key).and_then(|value| value.as_value()) {
                by_path.insert(key, value.clone());
            }
        }
        *item = toml_edit::value(by_path);
    }
    Ok(format!(
        "[package]\nname = \"uses-{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\nrust-version = \"{msrv}\"\npublish = false\n\n\
         # Its own workspace: never part of one it happens to sit in.\n[workspace]\n\n\
         # No debug info: a faster build, the same warnings.\n[profile.dev]\ndebug = false\n\n{document}",
        name = member.name
    ))
}

/// The `name@version` of every registry package in a lock file.
fn lock_entries(lock: &str) -> BTreeSet<String> {
    locked_packages(lock)
        .into_iter()
        .filter(|package| package.from_registry)
        .map(|package| format!("{}@{}", package.name, package.version))
        .collect()
}

/// Builds the crate in `dir` into `target`, collecting every warning, then runs it if allowed.
fn build_and_run(
    dir: &Path,
    target: &Path,
    member: &Member,
    runs: bool,
    locked: &BTreeSet<String>,
) -> Result<Outcome, String> {
    let started = Instant::now();
    let stderr_path = dir.join("cargo-stderr.log");
    let stderr = File::create(&stderr_path).map_err(|e| format!("cannot create {}: {e}", stderr_path.display()))?;
    let mut build = Command::new("cargo")
        .args(["build", "--message-format", "json"])
        .arg("--manifest-path")
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target)
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    let mut messages = BuildMessages::default();
    if let Some(stdout) = build.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading cargo's output: {e}"))?;
            messages.read(&line);
        }
    }
    let status = build.wait().map_err(|e| format!("waiting for cargo: {e}"))?;
    let cargo_said = read(&stderr_path)?;
    let mut problems = messages.diagnostics;
    problems.extend(cargo_warnings(&cargo_said));
    if !status.success() && problems.is_empty() {
        problems.push(format!("cargo build failed ({status}):\n{cargo_said}"));
    }

    let resolved = lock_entries(&read(&dir.join("Cargo.lock")).unwrap_or_default());
    let newer = resolved.difference(locked).cloned().collect();
    let ran = match (&messages.executable, runs && status.success()) {
        (Some(executable), true) => Some(run_example(executable)),
        (None, true) => Some(Err("cargo reported no executable".to_owned())),
        (_, false) => None,
    };
    Ok(Outcome {
        name: member.name.clone(),
        resolved: resolved.len(),
        newer,
        compiled: messages.compiled,
        problems,
        ran,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// What cargo's JSON messages said during one build.
#[derive(Default)]
struct BuildMessages {
    diagnostics: Vec<String>,
    compiled: usize,
    executable: Option<PathBuf>,
}

impl BuildMessages {
    /// Reads one line of `--message-format json` output.
    fn read(&mut self, line: &str) {
        let Ok(message) = serde_json::from_str::<Value>(line) else { return };
        match message["reason"].as_str() {
            Some("compiler-message") => {
                let diagnostic = &message["message"];
                let level = diagnostic["level"].as_str().unwrap_or_default();
                // rustc's closing count ("1 warning emitted") points at no code.
                let is_summary = diagnostic["spans"].as_array().is_some_and(Vec::is_empty)
                    && diagnostic["message"].as_str().is_some_and(|text| text.ends_with("emitted"));
                if matches!(level, "warning" | "error") && !is_summary {
                    let rendered = diagnostic["rendered"].as_str().unwrap_or_default();
                    let package = message["package_id"].as_str().unwrap_or("?");
                    self.diagnostics.push(format!("{package}:\n{rendered}"));
                }
            }
            Some("compiler-artifact") => {
                if message["fresh"] == false {
                    self.compiled += 1;
                }
                if let Some(executable) = message["executable"].as_str() {
                    self.executable = Some(PathBuf::from(executable));
                }
            }
            _ => {}
        }
    }
}

/// Cargo's own warnings (about manifests, features, yanked versions, ...) from its stderr; its
/// summaries of compiler warnings (``warning: `x` (lib) generated 2 warnings``) are left out,
/// the warnings themselves are already counted.
fn cargo_warnings(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with("warning:") && !line.contains(" generated "))
        .map(str::to_owned)
        .collect()
}

/// Runs a built example, with a deadline.
fn run_example(executable: &Path) -> Result<(), String> {
    let mut child = Command::new(executable)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", executable.display()))?;
    let deadline = Instant::now() + RUN_TIMEOUT;
    while child.try_wait().map_err(|e| format!("waiting for the example: {e}"))?.is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {} s", RUN_TIMEOUT.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().map_err(|e| format!("reading the example's output: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "exited with {}:\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

fn print_outcome(outcome: &Outcome) {
    for problem in &outcome.problems {
        println!("{problem}");
    }
    if let Some(Err(error)) = &outcome.ran {
        println!("{}: the example {error}", outcome.name);
    }
    let shown: Vec<&str> = outcome.newer.iter().take(12).map(String::as_str).collect();
    let more = outcome.newer.len().saturating_sub(shown.len());
    let more = if more > 0 { format!(" and {more} more") } else { String::new() };
    println!(
        "{}: {} packages resolved, {} not in Cargo.lock{}{}{more}",
        outcome.name,
        outcome.resolved,
        outcome.newer.len(),
        if shown.is_empty() { "" } else { ": " },
        shown.join(", ")
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::path::PathBuf;

    use super::{BuildMessages, Member, Options, cargo_warnings, lock_entries, outside_manifest, select};

    fn member(name: &str, version: (u64, u64, u64), published_library: bool) -> Member {
        Member { name: name.into(), version, dir: PathBuf::from("/ws").join(name), published_library }
    }

    fn members() -> Vec<Member> {
        vec![member("dlt-a", (0, 1, 0), true), member("dlt-b", (0, 1, 3), true), member("xtask", (0, 1, 0), false)]
    }

    #[test]
    fn options_are_crate_names() {
        assert_eq!(Options::parse(&[]).unwrap(), Options::default());
        assert_eq!(Options::parse(&["dlt-a".to_owned()]).unwrap(), Options { crates: vec!["dlt-a".into()] });
        assert!(Options::parse(&["--all".to_owned()]).is_err());
    }

    #[test]
    fn every_published_library_unless_named() {
        let members = members();
        let names = |selected: Vec<&Member>| selected.iter().map(|m| m.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(select(&members, &[]).unwrap()), ["dlt-a", "dlt-b"]);
        assert_eq!(names(select(&members, &["dlt-b".into()]).unwrap()), ["dlt-b"]);
        let error = select(&members, &["xtask".into()]).err().unwrap();
        assert!(error.contains("`xtask` is not a published library crate"), "{error}");
    }

    #[test]
    fn our_crates_are_taken_by_path_with_their_features() {
        let members = members();
        let block = "[dependencies]\ndlt-a = \"0.1\"\ndlt-b = { version = \"0.1.3\", features = [\"x\"] }\nserde_json = \"1\"\n";
        let manifest = outside_manifest(&members[0], block, &members, "1.95").unwrap();
        let document: toml_edit::DocumentMut = manifest.parse().unwrap();
        assert_eq!(document["package"]["name"].as_str(), Some("uses-dlt-a"));
        assert_eq!(document["package"]["rust-version"].as_str(), Some("1.95"));
        assert!(document.get("workspace").is_some(), "{manifest}");
        let dependencies = &document["dependencies"];
        assert_eq!(dependencies["dlt-a"]["path"].as_str(), Some("/ws/dlt-a"));
        assert!(dependencies["dlt-a"].get("version").is_none());
        assert_eq!(dependencies["dlt-b"]["features"].as_array().unwrap().len(), 1);
        assert_eq!(dependencies["serde_json"].as_str(), Some("1"));
    }

    #[test]
    fn a_readme_that_an_adopter_could_not_follow_is_refused() {
        let members = members();
        let stale = outside_manifest(&members[0], "[dependencies]\ndlt-a = \"0.2\"\n", &members, "1.95").unwrap_err();
        assert_eq!(stale, "it asks for dlt-a = \"0.2\", but the crate is 0.1.0");
        let other = outside_manifest(&members[0], "[dependencies]\ndlt-b = \"0.1\"\n", &members, "1.95").unwrap_err();
        assert_eq!(other, "the [dependencies] block does not name dlt-a");
        let extra = "[dependencies]\ndlt-a = \"0.1\"\n[features]\nx = []\n";
        assert!(outside_manifest(&members[0], extra, &members, "1.95").unwrap_err().contains("features"));
    }

    #[test]
    fn warnings_are_collected_and_summaries_are_not() {
        let mut messages = BuildMessages::default();
        let warning = r#"{"reason":"compiler-message","package_id":"path+file:///ws/dlt-a#0.1.0","message":{"level":"warning","message":"use of deprecated function","spans":[{}],"rendered":"warning: use of deprecated function"}}"#;
        let summary = r#"{"reason":"compiler-message","package_id":"p","message":{"level":"warning","message":"1 warning emitted","spans":[],"rendered":"warning: 1 warning emitted"}}"#;
        let note = r#"{"reason":"compiler-message","package_id":"p","message":{"level":"note","message":"n","spans":[{}],"rendered":"note"}}"#;
        let artifact = r#"{"reason":"compiler-artifact","fresh":false,"executable":"/t/debug/uses-dlt-a"}"#;
        let fresh = r#"{"reason":"compiler-artifact","fresh":true,"executable":null}"#;
        for line in [warning, summary, note, artifact, fresh, "not json"] {
            messages.read(line);
        }
        assert_eq!(messages.diagnostics, ["path+file:///ws/dlt-a#0.1.0:\nwarning: use of deprecated function"]);
        assert_eq!(messages.compiled, 1);
        assert_eq!(messages.executable, Some(PathBuf::from("/t/debug/uses-dlt-a")));

        let stderr = "    Locking 129 packages\nwarning: `dlt-a` (lib) generated 1 warning\nwarning: unused manifest key: package.x\n";
        assert_eq!(cargo_warnings(stderr), ["warning: unused manifest key: package.x"]);
    }

    #[test]
    fn lock_entries_are_the_registry_packages() {
        let lock = "[[package]]\nname = \"dlt-a\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"url\"\nversion = \"2.5.9\"\nsource = \"registry+x\"\n";
        assert_eq!(lock_entries(lock).into_iter().collect::<Vec<_>>(), ["url@2.5.9"]);
    }
}
