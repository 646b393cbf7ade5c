//! `cargo xtask package-check`: every crate meant for crates.io has the metadata crates.io asks
//! for and packages and builds on its own, as `cargo publish` would do it.
//!
//! Crates with `publish = false` (xtask, test support) are skipped. The workspace's crates
//! depend on each other by version, and none is on crates.io yet, so they are packaged together
//! (`cargo package --workspace`): cargo then resolves them from the tarballs it just made. It
//! runs offline, from the registry cache the build already filled.
//!
//! Building every crate from its tarball costs a debug build of the whole dependency graph
//! without dev-dependencies (minutes on a cold target dir, seconds after that); `--no-verify`
//! skips that build and still checks the metadata, the files and that each crate resolves its
//! dependencies as a published crate (seconds). `.ci/run` runs the latter.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The manifest fields every published crate must have; `one of` lists are alternatives.
const REQUIRED_FIELDS: [&[&str]; 4] =
    [&["description"], &["license", "license_file"], &["repository"], &["documentation", "readme"]];

/// The command line of `package-check`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Options {
    /// Package without building each crate from its tarball.
    no_verify: bool,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self, String> {
        match args {
            [] => Ok(Self { no_verify: false }),
            [flag] if flag == "--no-verify" => Ok(Self { no_verify: true }),
            _ => Err(format!("unknown arguments for package-check: {}", args.join(" "))),
        }
    }
}

/// Checks the metadata of every publishable crate, then packages (and unless told otherwise
/// builds) them all.
pub(crate) fn run(root: &Path, options: &Options) -> Result<(), String> {
    let metadata = cargo_metadata(root)?;
    let packages = workspace_packages(&metadata)?;
    let (publishable, skipped): (Vec<&Value>, Vec<&Value>) = packages.into_iter().partition(|p| is_publishable(p));
    let names = |packages: &[&Value]| packages.iter().map(|p| name(p)).collect::<Vec<_>>().join(", ");
    println!("publishable: {}", names(&publishable));
    println!("skipped (publish = false): {}", names(&skipped));

    let problems: Vec<String> = publishable
        .iter()
        .flat_map(|package| {
            missing_fields(package)
                .into_iter()
                .map(move |field| format!("{}: no `{field}` in [package]", name(package)))
        })
        .collect();
    if !problems.is_empty() {
        return Err(format!("crates.io needs more metadata:\n  {}", problems.join("\n  ")));
    }
    if publishable.is_empty() {
        return Err("no crate of the workspace is publishable".into());
    }

    let mut package = Command::new("cargo");
    package.args(["package", "--workspace", "--locked", "--offline", "--allow-dirty", "--quiet"]);
    for package_name in skipped.iter().map(|p| name(p)) {
        package.args(["--exclude", package_name]);
    }
    if options.no_verify {
        package.arg("--no-verify");
    }
    println!("$ {}", describe(&package));
    let status = package.current_dir(root).status().map_err(|e| format!("could not start cargo: {e}"))?;
    if status.success() {
        let checked = if options.no_verify {
            "package (not built: --no-verify)"
        } else {
            "package and build from their tarballs"
        };
        println!("{} crates {checked}", publishable.len());
        Ok(())
    } else {
        Err(format!(
            "`cargo package` failed ({status}); offline, it needs the registry cache a build fills (`cargo fetch`)"
        ))
    }
}

/// `cargo metadata` for the workspace's own packages.
pub(crate) fn cargo_metadata(root: &Path) -> Result<Value, String> {
    let output = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--no-deps", "--locked", "--offline"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    if !output.status.success() {
        return Err(format!("`cargo metadata` failed: {}", String::from_utf8_lossy(&output.stderr).trim()));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| format!("`cargo metadata` printed no JSON: {e}"))
}

/// The packages of the workspace, from `cargo metadata` output.
fn workspace_packages(metadata: &Value) -> Result<Vec<&Value>, String> {
    let packages = metadata["packages"].as_array().ok_or("`cargo metadata` lists no packages")?;
    let members = metadata["workspace_members"].as_array().ok_or("`cargo metadata` lists no workspace members")?;
    Ok(packages.iter().filter(|package| members.contains(&package["id"])).collect())
}

fn name(package: &Value) -> &str {
    package["name"].as_str().unwrap_or("?")
}

/// Whether the package may go to crates.io: `publish` unset, or listing `crates-io`.
fn is_publishable(package: &Value) -> bool {
    match &package["publish"] {
        Value::Null => true,
        Value::Array(registries) => registries.iter().any(|registry| registry == "crates-io"),
        _ => false,
    }
}

/// The required fields (or groups of alternatives, joined by ` or `) the package lacks.
fn missing_fields(package: &Value) -> Vec<String> {
    REQUIRED_FIELDS
        .iter()
        .filter(|alternatives| {
            !alternatives.iter().any(|field| package[*field].as_str().is_some_and(|value| !value.trim().is_empty()))
        })
        .map(|alternatives| alternatives.join("` or `"))
        .collect()
}

fn describe(command: &Command) -> String {
    let args: Vec<String> = command.get_args().map(|arg| arg.to_string_lossy().into_owned()).collect();
    format!("cargo {}", args.join(" "))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::{Options, is_publishable, missing_fields, workspace_packages};

    #[test]
    fn options() {
        assert_eq!(Options::parse(&[]).unwrap(), Options { no_verify: false });
        assert_eq!(Options::parse(&["--no-verify".to_owned()]).unwrap(), Options { no_verify: true });
        assert!(Options::parse(&["--fast".to_owned()]).is_err());
    }

    #[test]
    fn publish_false_and_other_registries_are_skipped() {
        assert!(is_publishable(&json!({"publish": null})));
        assert!(is_publishable(&json!({"publish": ["crates-io"]})));
        assert!(!is_publishable(&json!({"publish": []})));
        assert!(!is_publishable(&json!({"publish": ["my-registry"]})));
    }

    #[test]
    fn missing_metadata_is_named() {
        let complete = json!({
            "description": "d", "license": "Apache-2.0", "repository": "https://example.invalid/r",
            "documentation": "https://docs.rs/x"
        });
        assert_eq!(missing_fields(&complete), Vec::<String>::new());
        let sparse = json!({"description": " ", "license_file": "LICENSE", "readme": "README.md"});
        assert_eq!(missing_fields(&sparse), ["description", "repository"]);
        assert_eq!(
            missing_fields(&json!({})),
            ["description", "license` or `license_file", "repository", "documentation` or `readme"]
        );
    }

    #[test]
    fn only_workspace_members_are_checked() {
        let metadata = json!({
            "packages": [{"id": "a", "name": "a"}, {"id": "dep", "name": "dep"}],
            "workspace_members": ["a"]
        });
        let names: Vec<&str> =
            workspace_packages(&metadata).unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["a"]);
        assert!(workspace_packages(&json!({})).is_err());
    }
}
