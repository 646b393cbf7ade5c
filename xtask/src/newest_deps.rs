//! `cargo xtask newest-deps`: the workspace on the newest compatible versions of every
//! dependency, as a downstream user resolves them, not on the versions `Cargo.lock` pins.
//!
//! In a scratch copy (see [`crate::scratch`]) it runs `cargo update` (the newest versions within
//! the manifests' requirements and the MSRV), then clippy, the build and the whole test suite
//! with every warning denied: a dependency that deprecates something the workspace uses fails
//! here before it fails anyone else.

use std::path::Path;

use crate::scratch::{Scratch, step};

/// Warnings are errors in every build of the copy (dependencies are built with capped lints,
/// so only the workspace's own code is held to it).
const DENY_WARNINGS: [(&str, &str); 2] = [("RUSTFLAGS", "-D warnings"), ("RUSTDOCFLAGS", "-D warnings")];

/// Copies the workspace, updates its lock file and runs clippy, the build and the tests.
pub(crate) fn run(root: &Path) -> Result<(), String> {
    let scratch = Scratch::copy(root, "newest-deps")?;
    let mut seconds = Vec::new();
    seconds.push(("cargo update", step("cargo update", &mut scratch.cargo(&["update"], &[]))?));
    let clippy = ["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"];
    seconds.push(("clippy", step("clippy", &mut scratch.cargo(&clippy, &DENY_WARNINGS))?));
    let build = ["build", "--workspace", "--all-targets", "--locked"];
    seconds.push(("build", step("build", &mut scratch.cargo(&build, &DENY_WARNINGS))?));
    for (name, suite) in crate::test_suites() {
        seconds.push((name, step(name, &mut scratch.cargo(&suite, &DENY_WARNINGS))?));
    }
    let total: f64 = seconds.iter().map(|(_, s)| s).sum();
    let steps: Vec<String> = seconds.iter().map(|(name, s)| format!("{name} {s:.0} s")).collect();
    println!("newest dependencies: everything passed in {total:.0} s ({})", steps.join(", "));
    Ok(())
}
