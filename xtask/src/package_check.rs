//! `cargo xtask package-check`: every crate meant for crates.io has the metadata crates.io asks
//! for and a README of its own, and packages and builds on its own, as `cargo publish` would do
//! it.
//!
//! Crates with `publish = false` (xtask, test support) are skipped. A crate's README is its page
//! on crates.io: it must be a file in the crate's folder (not the workspace's README), and what
//! it shows must not go stale: a library includes it as a doctest, a crate without a library
//! (the command line) has a test named `readme` that runs it.
//!
//! The workspace's crates depend on each other by version, and none is on crates.io yet, so they
//! are packaged together (`cargo package --workspace`): cargo then resolves them from the
//! tarballs it just made. It runs offline, from the registry cache the build already filled.
//!
//! Building every crate from its tarball costs a debug build of the whole dependency graph
//! without dev-dependencies (minutes on a cold target dir, seconds after that); `--no-verify`
//! skips that build and still checks the metadata, the READMEs, the files and that each crate
//! resolves its dependencies as a published crate (seconds). `.ci/run` runs the latter.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// The manifest fields every published crate must have; `one of` lists are alternatives.
const REQUIRED_FIELDS: [&[&str]; 4] = [&["description"], &["license", "license_file"], &["repository"], &["readme"]];

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
            let missing = missing_fields(package).into_iter().map(|field| format!("no `{field}` in [package]"));
            missing.chain(readme_problems(package)).map(move |problem| format!("{}: {problem}", name(package)))
        })
        .collect();
    if !problems.is_empty() {
        return Err(format!("crates.io needs more:\n  {}", problems.join("\n  ")));
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
    println!("$ {}", crate::scratch::describe(&package));
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

/// What is wrong with a publishable crate's README: it must be the crate's own (a file in the
/// crate's folder, not the workspace's), and its example must not go stale: a library includes
/// it as a doctest (`include_str!` of the README in its `lib.rs`), a program (a crate with a
/// binary, whatever library it keeps for its tests) or a crate without a library has a test
/// named `readme` that runs it.
fn readme_problems(package: &Value) -> Vec<String> {
    let Some(readme) = package["readme"].as_str() else { return Vec::new() };
    let readme = Path::new(readme);
    if readme.is_absolute() || readme.components().any(|part| part == std::path::Component::ParentDir) {
        return vec![format!(
            "readme = \"{}\" is not the crate's own: put a README.md in its folder",
            readme.display()
        )];
    }
    let Some(crate_dir) = package["manifest_path"].as_str().and_then(|manifest| Path::new(manifest).parent()) else {
        return vec!["no manifest path".into()];
    };
    let text = match std::fs::read_to_string(crate_dir.join(readme)) {
        Ok(text) => text,
        Err(error) => return vec![format!("cannot read {}: {error}", crate_dir.join(readme).display())],
    };
    let targets = package["targets"].as_array().map(Vec::as_slice).unwrap_or_default();
    let is_kind =
        |target: &Value, kind: &str| target["kind"].as_array().is_some_and(|kinds| kinds.iter().any(|k| k == kind));
    let program = targets.iter().any(|target| is_kind(target, "bin"));
    match targets.iter().find(|target| is_kind(target, "lib")).filter(|_| !program) {
        Some(library) => {
            let mut problems: Vec<String> =
                crate::readme::example(&text).err().map(|e| format!("{}: {e}", readme.display())).into_iter().collect();
            let source = library["src_path"].as_str().map(Path::new);
            let included = source
                .and_then(|path| Some((std::fs::read_to_string(path).ok()?, path.parent()?)))
                .is_some_and(|(source, source_dir)| {
                    let depth = source_dir.strip_prefix(crate_dir).map_or(0, |inner| inner.components().count());
                    let relative = format!("{}{}", "../".repeat(depth), readme.display());
                    source.contains(&format!("include_str!(\"{relative}\")"))
                });
            if !included {
                problems.push(format!("the library does not include {} as a doctest", readme.display()));
            }
            problems
        }
        None if targets.iter().any(|target| is_kind(target, "test") && target["name"] == "readme") => Vec::new(),
        None => vec![format!("no test named `readme` runs what {} shows", readme.display())],
    }
}

fn name(package: &Value) -> &str {
    package["name"].as_str().unwrap_or("?")
}

/// Whether the package may go to crates.io: `publish` unset, or listing `crates-io`.
pub(crate) fn is_publishable(package: &Value) -> bool {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::{Options, is_publishable, missing_fields, readme_problems, workspace_packages};

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
            "readme": "README.md"
        });
        assert_eq!(missing_fields(&complete), Vec::<String>::new());
        let sparse = json!({"description": " ", "license_file": "LICENSE", "documentation": "https://docs.rs/x"});
        assert_eq!(missing_fields(&sparse), ["description", "repository", "readme"]);
        assert_eq!(missing_fields(&json!({})), ["description", "license` or `license_file", "repository", "readme"]);
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

    /// A crate in a temporary folder: `Cargo.toml`, `README.md`, `src/lib.rs` (when given) and
    /// the `cargo metadata` entry describing them.
    fn crate_with(readme: &str, lib: Option<&str>, test_targets: &[&str]) -> (tempfile::TempDir, serde_json::Value) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("README.md"), readme).unwrap();
        let mut targets = vec![];
        if let Some(lib) = lib {
            std::fs::create_dir_all(dir.path().join("src")).unwrap();
            std::fs::write(dir.path().join("src/lib.rs"), lib).unwrap();
            targets.push(json!({"kind": ["lib"], "src_path": dir.path().join("src/lib.rs")}));
        }
        targets.extend(test_targets.iter().map(|name| json!({"kind": ["test"], "name": name})));
        let package = json!({
            "readme": "README.md", "manifest_path": dir.path().join("Cargo.toml"), "targets": targets
        });
        (dir, package)
    }

    const README: &str = "```toml\n[dependencies]\nx = \"0.1\"\n```\n```rust\nfn main() {}\n```\n";
    const DOCTEST: &str = "#[cfg(doctest)]\n#[doc = include_str!(\"../README.md\")]\npub struct ReadmeDoctests;\n";

    #[test]
    fn a_readme_is_the_crates_own_and_its_example_runs() {
        let (_dir, package) = crate_with(README, Some(DOCTEST), &[]);
        assert_eq!(readme_problems(&package), Vec::<String>::new());

        let (_dir, package) = crate_with(README, Some("//! docs\n"), &[]);
        assert_eq!(readme_problems(&package), ["the library does not include README.md as a doctest"]);
        let (_dir, package) = crate_with("# no example\n", Some(DOCTEST), &[]);
        assert_eq!(readme_problems(&package), ["README.md: no ```toml block with [dependencies]"]);

        let (_dir, binary) = crate_with("```console\n$ x\n```\n", None, &["readme"]);
        assert_eq!(readme_problems(&binary), Vec::<String>::new());
        let (_dir, binary) = crate_with("```console\n$ x\n```\n", None, &["cli"]);
        assert_eq!(readme_problems(&binary), ["no test named `readme` runs what README.md shows"]);

        let (_dir, mut shared) = crate_with(README, Some(DOCTEST), &[]);
        shared["readme"] = json!("../README.md");
        assert_eq!(
            readme_problems(&shared),
            ["readme = \"../README.md\" is not the crate's own: put a README.md in its folder"]
        );
    }
}
