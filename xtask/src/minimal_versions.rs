//! `cargo xtask minimal-versions`: the lower bounds the manifests declare really build.
//!
//! A requirement such as `tokio = "1"` promises that 1.0.0 works; nothing else tests that,
//! because every resolve picks the newest version. In a scratch copy (see [`crate::scratch`])
//! each direct dependency is moved to the lowest version the manifests allow, then the whole
//! workspace, tests included, is checked (`cargo check --all-targets`) with the MSRV toolchain.
//!
//! Two ways to choose those versions:
//! - with a nightly toolchain: `cargo +nightly update -Z direct-minimal-versions`, cargo's own
//!   resolver (direct dependencies at their minimum, the rest at their newest);
//! - on stable: starting from `Cargo.lock`, `cargo update -p NAME --precise MIN` for each direct
//!   dependency. When another dependency needs more (cargo names the requirement that failed),
//!   the lowest version it allows is tried instead, and the table says so.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::scratch::{Scratch, step};
use crate::versions::{Version, compatible, locked_packages, requirement_minimum, show};

/// How many times a dependency is tried again at the version another one requires.
const MAX_RAISES: usize = 8;

/// Copies the workspace, moves every direct dependency to its lowest allowed version and
/// checks everything.
pub(crate) fn run(root: &Path) -> Result<(), String> {
    let scratch = Scratch::copy(root, "minimal-versions")?;
    if has_nightly() {
        let mut update = Command::new("cargo");
        update.args(["+nightly", "update", "-Z", "direct-minimal-versions"]).current_dir(&scratch.workspace);
        step("cargo +nightly update -Z direct-minimal-versions", &mut update)?;
    } else {
        println!("no nightly toolchain: each direct dependency is pinned to its declared minimum with --precise");
        pin_declared_minimums(&scratch)?;
    }
    let check = ["check", "--workspace", "--all-targets", "--locked"];
    step("check", &mut scratch.cargo(&check, &[]))?;
    println!("minimal versions: the workspace builds on the lowest versions its manifests allow");
    Ok(())
}

/// Whether `cargo +nightly` runs here.
fn has_nightly() -> bool {
    Command::new("cargo").args(["+nightly", "--version"]).output().is_ok_and(|output| output.status.success())
}

/// One direct dependency: the lowest version any manifest allows for it.
#[derive(Debug, PartialEq)]
struct Declared {
    name: String,
    /// The highest of the declared minimums (one version must satisfy every member).
    minimum: Version,
}

/// Pins each direct registry dependency of the workspace to its declared minimum (or to what
/// the rest of the graph requires), printing a table of where each ended.
fn pin_declared_minimums(scratch: &Scratch) -> Result<(), String> {
    let metadata = crate::package_check::cargo_metadata(&scratch.workspace)?;
    let declared = declared_minimums(&metadata)?;
    let mut rows = Vec::new();
    for dependency in &declared {
        let locked = locked_version(&scratch.workspace, &dependency.name, dependency.minimum)?;
        let mut target = dependency.minimum;
        let mut note = String::new();
        for _ in 0..MAX_RAISES {
            if target >= locked {
                target = locked;
                break;
            }
            let spec = format!("{}@{}", dependency.name, show(locked));
            let output = Command::new("cargo")
                .args(["update", "--quiet", "-p", &spec, "--precise", &show(target)])
                .current_dir(&scratch.workspace)
                .output()
                .map_err(|e| format!("could not start cargo: {e}"))?;
            let stderr = String::from_utf8_lossy(&output.stderr);
            if output.status.success() {
                if stderr.contains("was yanked") {
                    note = "yanked".into();
                }
                break;
            }
            match required_minimum(&stderr, &dependency.name) {
                Some(required) if required > target => {
                    note = format!("held by another dependency (needs ^{})", show(required));
                    target = required;
                }
                _ => return Err(format!("cannot pin {spec} to {}:\n{}", show(target), stderr.trim())),
            }
        }
        rows.push((dependency, target, note));
    }
    println!("{:<24} {:>10} {:>10}  note", "dependency", "declared", "checked");
    for (dependency, checked, note) in rows {
        println!("{:<24} {:>10} {:>10}  {note}", dependency.name, show(dependency.minimum), show(checked));
    }
    Ok(())
}

/// Every direct registry dependency of the workspace's packages with its declared minimum
/// (the highest one, when members declare different ones), sorted by name. Our own crates
/// (path dependencies) are left out.
fn declared_minimums(metadata: &Value) -> Result<Vec<Declared>, String> {
    let packages = metadata["packages"].as_array().ok_or("`cargo metadata` lists no packages")?;
    let mut minimums: BTreeMap<String, Version> = BTreeMap::new();
    for dependency in packages.iter().flat_map(|package| package["dependencies"].as_array().into_iter().flatten()) {
        if dependency["source"].is_null() {
            continue;
        }
        let (Some(name), Some(requirement)) = (dependency["name"].as_str(), dependency["req"].as_str()) else {
            continue;
        };
        let minimum = requirement_minimum(requirement)
            .ok_or_else(|| format!("cannot read the lower bound of {name} = \"{requirement}\""))?;
        let entry = minimums.entry(name.to_owned()).or_insert(minimum);
        *entry = (*entry).max(minimum);
    }
    Ok(minimums.into_iter().map(|(name, minimum)| Declared { name, minimum }).collect())
}

/// The version of `name` in the copy's lock file that is compatible with `minimum` (the same
/// major, or minor for 0.x).
fn locked_version(workspace: &Path, name: &str, minimum: Version) -> Result<Version, String> {
    let lock = std::fs::read_to_string(workspace.join("Cargo.lock")).map_err(|e| format!("Cargo.lock: {e}"))?;
    locked_packages(&lock)
        .into_iter()
        .filter(|package| package.name == name)
        .filter_map(|package| requirement_minimum(&package.version))
        .find(|version| compatible(*version, minimum))
        .ok_or_else(|| format!("Cargo.lock has no version of {name} compatible with {}", show(minimum)))
}

/// From cargo's failure to pin `name`, the lowest version of it another package requires:
/// ``failed to select a version for the requirement `tokio = "^1.47.1"` `` gives 1.47.1.
fn required_minimum(stderr: &str, name: &str) -> Option<Version> {
    let marker = format!("requirement `{name} = \"");
    let start = stderr.find(&marker)? + marker.len();
    let requirement = stderr[start..].split('"').next()?;
    requirement_minimum(requirement)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::{Declared, declared_minimums, required_minimum};

    #[test]
    fn each_registry_dependency_once_at_its_highest_declared_minimum() {
        let registry = "registry+https://github.com/rust-lang/crates.io-index";
        let metadata = json!({"packages": [
            {"dependencies": [
                {"name": "tokio", "req": "^1", "source": registry},
                {"name": "dlt-http", "req": "^0.1.0", "source": null},
            ]},
            {"dependencies": [
                {"name": "tokio", "req": "^1.40", "source": registry},
                {"name": "base64", "req": "^0.22", "source": registry},
            ]},
        ]});
        assert_eq!(
            declared_minimums(&metadata).unwrap(),
            [
                Declared { name: "base64".into(), minimum: (0, 22, 0) },
                Declared { name: "tokio".into(), minimum: (1, 40, 0) },
            ]
        );
        let unreadable = json!({"packages": [{"dependencies": [{"name": "x", "req": "*", "source": registry}]}]});
        assert!(declared_minimums(&unreadable).unwrap_err().contains("x = \"*\""));
    }

    #[test]
    fn the_requirement_that_held_a_pin_back() {
        let stderr = "error: failed to select a version for the requirement `tokio = \"^1.47.1\"`\ncandidate versions found which didn't match: 1.0.0\n";
        assert_eq!(required_minimum(stderr, "tokio"), Some((1, 47, 1)));
        assert_eq!(required_minimum(stderr, "toki"), None);
        assert_eq!(required_minimum("error: something else", "tokio"), None);
    }
}
