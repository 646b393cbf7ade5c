//! The machine a benchmark ran on, as the report states it.

use std::fs;
use std::path::Path;
use std::process::Command;

/// What the report says about the machine and the run.
pub(crate) struct Machine {
    pub(crate) cpu: String,
    pub(crate) cores: usize,
    pub(crate) os: String,
    pub(crate) rustc: String,
    pub(crate) python: String,
    /// Before and after the runs: other work on the machine skews the figures.
    pub(crate) load_average: String,
    pub(crate) load_average_after: String,
    pub(crate) date: String,
    pub(crate) commit: String,
}

impl Machine {
    /// Reads the machine; `python` is the benchmark's interpreter.
    pub(crate) fn describe(root: &Path, python: &Path) -> Self {
        Self {
            cpu: cpu_model(),
            cores: std::thread::available_parallelism().map_or(0, usize::from),
            os: os(),
            rustc: output(Command::new("rustc").arg("--version")),
            python: output(Command::new(python).arg("--version")),
            load_average: load_average(),
            load_average_after: String::new(),
            date: time::OffsetDateTime::now_utc().date().to_string(),
            commit: commit(root),
        }
    }

    /// Records the load average after the runs.
    pub(crate) fn runs_finished(&mut self) {
        self.load_average_after = load_average();
    }

    /// Fixed facts, for tests of the report.
    #[cfg(test)]
    pub(crate) fn fixed(cpu: &str, os: &str) -> Self {
        Self {
            cpu: cpu.into(),
            cores: 2,
            os: os.into(),
            rustc: "rustc 1.95.0".into(),
            python: "Python 3.11.7".into(),
            load_average: "0.50 0.40 0.30".into(),
            load_average_after: "1.50 0.60 0.35".into(),
            date: "2026-01-01".into(),
            commit: "0123456789ab".into(),
        }
    }

    /// The markdown list of the facts.
    pub(crate) fn markdown(&self) -> String {
        format!(
            "- CPU: {} ({} logical cores)\n- OS: {}\n- {}\n- {}\n- load average (1, 5, 15 min) before the runs: \
             {}; after: {}\n- date: {} (UTC), commit {}\n",
            self.cpu,
            self.cores,
            self.os,
            self.rustc,
            self.python,
            self.load_average,
            self.load_average_after,
            self.date,
            self.commit
        )
    }
}

/// The first line a command prints, or `unknown`.
fn output(command: &mut Command) -> String {
    command
        .output()
        .ok()
        .filter(|output| output.status.success())
        .and_then(|output| {
            let text = if output.stdout.is_empty() { output.stderr } else { output.stdout };
            String::from_utf8_lossy(&text).lines().next().map(|line| line.trim().to_owned())
        })
        .filter(|line| !line.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

fn cpu_model() -> String {
    let from_proc = fs::read_to_string("/proc/cpuinfo").ok().and_then(|info| {
        info.lines()
            .find(|line| line.starts_with("model name"))
            .and_then(|line| line.split_once(':'))
            .map(|(_, model)| model.trim().to_owned())
    });
    from_proc.unwrap_or_else(|| output(Command::new("sysctl").args(["-n", "machdep.cpu.brand_string"])))
}

fn os() -> String {
    let kernel = output(Command::new("uname").args(["-sr"]));
    let distribution = fs::read_to_string("/etc/os-release").ok().and_then(|release| {
        release.lines().find_map(|line| line.strip_prefix("PRETTY_NAME=")).map(|name| name.trim_matches('"').to_owned())
    });
    match distribution {
        Some(distribution) => format!("{distribution}, kernel {kernel}"),
        None => kernel,
    }
}

fn load_average() -> String {
    match fs::read_to_string("/proc/loadavg") {
        Ok(text) => text.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        Err(_) => output(Command::new("sysctl").args(["-n", "vm.loadavg"])),
    }
}

fn commit(root: &Path) -> String {
    let head = output(Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).current_dir(root));
    let dirty = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .current_dir(root)
        .output()
        .is_ok_and(|status| !status.stdout.is_empty());
    if dirty { format!("{head} with uncommitted changes") } else { head }
}
