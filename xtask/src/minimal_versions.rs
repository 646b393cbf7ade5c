//! `cargo xtask minimal-versions`: the lower bounds the manifests declare really build.
//!
//! A requirement such as `tokio = "1.6.2"` promises that 1.6.2 works; nothing else tests that,
//! because every resolve picks the newest version. In a scratch copy (see [`crate::scratch`])
//! `cargo +nightly update -Z direct-minimal-versions` moves every direct dependency to the
//! lowest version its requirement allows (the rest of the graph at its newest); then the whole
//! workspace, tests included, is checked with the default toolchain (the MSRV in CI).
//!
//! The resolve fails when a declared minimum is lower than another dependency needs (cargo names
//! both): the requirement is then raised to what the graph needs, so that the manifests say
//! what is really required.

use std::path::Path;
use std::process::Command;

use crate::scratch::{Scratch, step};

/// Copies the workspace, moves every direct dependency to its lowest allowed version and
/// checks every target.
pub(crate) fn run(root: &Path) -> Result<(), String> {
    let nightly = Command::new("cargo").args(["+nightly", "--version"]).output();
    if !nightly.is_ok_and(|output| output.status.success()) {
        return Err("minimal-versions resolves with nightly cargo (-Z direct-minimal-versions): \
                    rustup toolchain install nightly --profile minimal"
            .into());
    }
    let scratch = Scratch::copy(root, "minimal-versions")?;
    let mut update = Command::new("cargo");
    update.args(["+nightly", "update", "-Z", "direct-minimal-versions"]).current_dir(&scratch.workspace);
    let resolve = step("resolve", &mut update)?;
    let check = step("check", &mut scratch.cargo(&["check", "--workspace", "--all-targets", "--locked"], &[]))?;
    println!(
        "minimal versions: every target builds on the lowest versions the manifests allow ({:.0} s)",
        resolve + check
    );
    Ok(())
}
