//! `cargo xtask faults`: the fault matrix, run through the userspace fault proxy of
//! dlt-test-support (this machine's kernel has no netem, and no packet filter is installed).

use std::path::Path;
use std::process::Command;

/// Builds the `fault_matrix` example optimised and runs it; it prints one markdown table.
pub(crate) fn run(root: &Path) -> Result<(), String> {
    println!("$ cargo run --release --quiet -p xtask --example fault_matrix");
    let status = Command::new("cargo")
        .args(["run", "--release", "--quiet", "--locked", "-p", "xtask", "--example", "fault_matrix"])
        .current_dir(root)
        .status()
        .map_err(|error| format!("could not start cargo: {error}"))?;
    if status.success() { Ok(()) } else { Err(format!("the fault matrix failed ({status})")) }
}
