//! `cargo xtask fuzz [--seconds N] [TARGET...]`: runs the cargo-fuzz targets of `fuzz/` (a
//! package outside the workspace, built with nightly) for N seconds each and prints a table of
//! what each did: executions, corpus size, crashes.
//!
//! Each binary of `fuzz/` is one line calling its entry point in `dlt-properties` (a workspace
//! member, which holds the properties and whose tests replay the seeds on every build). Each
//! target starts from its corpus (`fuzz/corpus/<target>`, kept between runs, git-ignored) and
//! the committed seeds (`fuzz/seeds/<target>`), with a dictionary of its input format. An input
//! that fails a property is saved under `fuzz/artifacts/<target>/`; replay it with
//! `cargo +nightly fuzz run -s none -a <target> <file>`, or add it to `fuzz/seeds/<target>/`
//! and run `cargo test -p dlt-properties --test seeds`. libFuzzer's output goes to
//! `fuzz/target/logs/<target>.log`.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One fuzz target and the dictionary of its input format (under `fuzz/dicts/`).
struct Target {
    name: &'static str,
    dictionary: &'static str,
}

const TARGETS: [Target; 5] = [
    Target { name: "config_loader", dictionary: "toml.dict" },
    Target { name: "switch_editor", dictionary: "toml.dict" },
    Target { name: "outbox_reader", dictionary: "json.dict" },
    Target { name: "text_scrubber", dictionary: "text.dict" },
    Target { name: "message_parsing", dictionary: "json.dict" },
];

/// The default time per target.
const DEFAULT_SECONDS: u64 = 60;

/// cargo-fuzz's flags for every build and run: no sanitizer (the code under test is safe
/// Rust; this is several times faster), debug assertions and overflow checks on.
const FUZZ_FLAGS: [&str; 3] = ["--sanitizer", "none", "--debug-assertions"];

/// The command line of `fuzz`.
#[derive(Debug, PartialEq)]
pub(crate) struct Options {
    /// How long each target runs.
    pub(crate) seconds: u64,
    /// The targets to run, by name; all of them when none is given.
    pub(crate) targets: Vec<&'static str>,
}

impl Options {
    /// Parses the arguments after `fuzz`.
    pub(crate) fn parse(args: &[String]) -> Result<Self, String> {
        let mut seconds = DEFAULT_SECONDS;
        let mut targets = Vec::new();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--seconds" => {
                    let value = args.next().ok_or("--seconds needs a number, e.g. --seconds 60")?;
                    seconds = value
                        .parse()
                        .ok()
                        .filter(|&seconds| seconds > 0)
                        .ok_or("--seconds needs a whole number of seconds greater than 0")?;
                }
                flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}` for fuzz")),
                name => match TARGETS.iter().find(|target| target.name == name) {
                    Some(target) => targets.push(target.name),
                    None => return Err(format!("unknown fuzz target `{name}`; the targets: {}", target_names())),
                },
            }
        }
        if targets.is_empty() {
            targets = TARGETS.iter().map(|target| target.name).collect();
        }
        Ok(Self { seconds, targets })
    }
}

fn target_names() -> String {
    TARGETS.iter().map(|target| target.name).collect::<Vec<_>>().join(", ")
}

/// What one target's run did.
struct Outcome {
    target: &'static str,
    executions: Option<u64>,
    corpus: usize,
    crashes: Vec<PathBuf>,
    /// libFuzzer ended badly without saving an input (it could not start, say).
    failed: bool,
}

/// Builds the targets, runs each for the given time and prints the table; an error when a
/// target found something or could not run.
pub(crate) fn run(root: &Path, options: &Options) -> Result<(), String> {
    check_tools()?;
    let fuzz_dir = root.join("fuzz");
    println!("$ cargo +nightly fuzz build {}", FUZZ_FLAGS.join(" "));
    let built =
        cargo_fuzz(root).arg("build").args(FUZZ_FLAGS).status().map_err(|e| format!("cannot start cargo: {e}"))?;
    if !built.success() {
        return Err(format!("building the fuzz targets failed ({built})"));
    }
    let logs = fuzz_dir.join("target/logs");
    fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;

    let mut outcomes = Vec::new();
    for name in &options.targets {
        let Some(target) = TARGETS.iter().find(|target| target.name == *name) else { continue };
        println!("fuzzing {} for {} s", target.name, options.seconds);
        outcomes.push(run_target(root, target, options.seconds, &logs.join(format!("{}.log", target.name)))?);
    }

    println!();
    println!("{:<18} {:>12} {:>8} {:>8}", "target", "executions", "corpus", "crashes");
    for outcome in &outcomes {
        let executions = outcome.executions.map_or_else(|| "?".to_owned(), |executions| executions.to_string());
        println!("{:<18} {:>12} {:>8} {:>8}", outcome.target, executions, outcome.corpus, outcome.crashes.len());
    }
    let mut problems = 0;
    for outcome in &outcomes {
        for crash in &outcome.crashes {
            println!("{}: {}", outcome.target, crash.display());
            problems += 1;
        }
        if outcome.failed && outcome.crashes.is_empty() {
            println!("{}: libFuzzer failed, see fuzz/target/logs/{}.log", outcome.target, outcome.target);
            problems += 1;
        }
    }
    if problems > 0 {
        return Err(format!(
            "{problems} finding(s); replay one with `cargo +nightly fuzz run {} <target> <file>`",
            FUZZ_FLAGS.join(" ")
        ));
    }
    Ok(())
}

/// cargo-fuzz and the nightly toolchain are there, or a clear error says how to get them.
fn check_tools() -> Result<(), String> {
    let works = |command: &mut Command| command.output().is_ok_and(|output| output.status.success());
    if !works(Command::new("cargo").args(["+nightly", "--version"])) {
        return Err("the fuzz targets need the nightly toolchain: `rustup toolchain install nightly`".to_owned());
    }
    if !works(Command::new("cargo").args(["+nightly", "fuzz", "--version"])) {
        return Err("cargo-fuzz is not installed: `cargo install cargo-fuzz`".to_owned());
    }
    Ok(())
}

/// `cargo +nightly fuzz` in the workspace root, without the toolchain this xtask was run with.
fn cargo_fuzz(root: &Path) -> Command {
    let mut command = Command::new("cargo");
    command.args(["+nightly", "fuzz"]).current_dir(root).env_remove("RUSTUP_TOOLCHAIN").env_remove("CARGO");
    command
}

/// Runs one target for `seconds`, its output into `log`.
fn run_target(root: &Path, target: &Target, seconds: u64, log: &Path) -> Result<Outcome, String> {
    let fuzz_dir = root.join("fuzz");
    let corpus = fuzz_dir.join("corpus").join(target.name);
    let artifacts = fuzz_dir.join("artifacts").join(target.name);
    for dir in [&corpus, &artifacts] {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let before = files_in(&artifacts);
    let scratch = scratch_dir(&fuzz_dir, target.name);
    fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let output = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let errors = output.try_clone().map_err(|e| format!("{}: {e}", log.display()))?;

    let status = run_command(root, target, seconds, &corpus, &scratch)
        .stdout(Stdio::from(output))
        .stderr(Stdio::from(errors))
        .status()
        .map_err(|e| format!("cannot start cargo: {e}"));
    let _ = fs::remove_dir_all(&scratch);
    let status = status?;

    let text = fs::read_to_string(log).unwrap_or_default();
    let crashes = files_in(&artifacts).difference(&before).map(|name| artifacts.join(name)).collect();
    Ok(Outcome {
        target: target.name,
        executions: executions(&text),
        corpus: files_in(&corpus).len(),
        crashes,
        failed: !status.success(),
    })
}

/// The command that fuzzes `target` for `seconds`, from `corpus` and the committed seeds with
/// its dictionary; the target works under `scratch` (its temporary dir).
fn run_command(root: &Path, target: &Target, seconds: u64, corpus: &Path, scratch: &Path) -> Command {
    let fuzz_dir = root.join("fuzz");
    let mut command = cargo_fuzz(root);
    command
        .arg("run")
        .args(FUZZ_FLAGS)
        .arg(target.name)
        .arg(corpus)
        .arg(fuzz_dir.join("seeds").join(target.name))
        .arg("--")
        .arg(format!("-max_total_time={seconds}"))
        .arg(format!("-dict={}", fuzz_dir.join("dicts").join(target.dictionary).display()))
        .args(["-timeout=10", "-print_final_stats=1"])
        .env("TMPDIR", scratch);
    command
}

/// A folder for the target's files: in memory (`/dev/shm`) where there is one, which makes the
/// targets that write files many times faster; else under `fuzz/target/`.
fn scratch_dir(fuzz_dir: &Path, target: &str) -> PathBuf {
    let shm = Path::new("/dev/shm");
    let parent = if shm.is_dir() { shm.to_path_buf() } else { fuzz_dir.join("target") };
    parent.join(format!("dlt-fuzz-{target}-{}", std::process::id()))
}

/// The names of the files in a folder (none when it cannot be read).
fn files_in(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect()
}

/// How many inputs libFuzzer ran: its final statistics, else its last status line (`#N ...`).
fn executions(log: &str) -> Option<u64> {
    let from_stats = log
        .lines()
        .find_map(|line| line.strip_prefix("stat::number_of_executed_units:"))
        .and_then(|count| count.trim().parse().ok());
    from_stats.or_else(|| {
        log.lines()
            .rev()
            .filter_map(|line| line.strip_prefix('#'))
            .find_map(|line| line.split_whitespace().next().and_then(|count| count.parse().ok()))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(&args.iter().map(|arg| (*arg).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn every_target_for_a_minute_by_default() {
        let options = parse(&[]).unwrap();
        assert_eq!(options.seconds, 60);
        assert_eq!(options.targets.len(), TARGETS.len());
    }

    #[test]
    fn seconds_and_targets_are_taken_and_checked() {
        let options = parse(&["--seconds", "5", "text_scrubber"]).unwrap();
        assert_eq!(options, Options { seconds: 5, targets: vec!["text_scrubber"] });
        assert!(parse(&["--seconds", "0"]).unwrap_err().contains("greater than 0"));
        assert!(parse(&["--seconds"]).unwrap_err().contains("needs a number"));
        assert!(parse(&["nope"]).unwrap_err().contains("config_loader"));
        assert!(parse(&["--fast"]).unwrap_err().contains("unknown option"));
    }

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn manifest(path: &Path) -> toml_edit::DocumentMut {
        fs::read_to_string(path).unwrap().parse().unwrap()
    }

    #[test]
    fn every_target_has_its_seeds_dictionary_and_a_binary_calling_its_entry_point() {
        let fuzz_dir = root().join("fuzz");
        let manifest = manifest(&fuzz_dir.join("Cargo.toml"));
        let binaries: BTreeSet<&str> = manifest["bin"]
            .as_array_of_tables()
            .unwrap()
            .iter()
            .map(|binary| binary["name"].as_str().unwrap())
            .collect();
        assert_eq!(binaries, TARGETS.iter().map(|target| target.name).collect(), "a binary per target");
        let seed_folders: BTreeSet<String> = fs::read_dir(fuzz_dir.join("seeds"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(seed_folders, TARGETS.iter().map(|target| target.name.to_owned()).collect(), "seeds per target");
        for target in &TARGETS {
            assert!(!files_in(&fuzz_dir.join("seeds").join(target.name)).is_empty(), "{}", target.name);
            assert!(fuzz_dir.join("dicts").join(target.dictionary).is_file(), "{}", target.dictionary);
            let source = fs::read_to_string(fuzz_dir.join("fuzz_targets").join(format!("{}.rs", target.name))).unwrap();
            let entry_point = format!("dlt_properties::fuzz(&dlt_properties::{}, data)", target.name.to_uppercase());
            assert!(source.contains(&entry_point), "{}: {source}", target.name);
        }
    }

    /// The properties are a workspace member (built, linted and tested with everything else);
    /// only the libFuzzer binaries, which need nightly, stay outside.
    #[test]
    fn the_fuzz_package_is_outside_the_workspace_and_depends_only_on_the_properties_and_libfuzzer() {
        let fuzz = manifest(&root().join("fuzz/Cargo.toml"));
        assert!(fuzz.contains_key("workspace"), "fuzz/ is a workspace of its own");
        let dependencies: BTreeSet<&str> =
            fuzz["dependencies"].as_table().unwrap().iter().map(|(name, _)| name).collect();
        assert_eq!(dependencies, BTreeSet::from(["dlt-properties", "libfuzzer-sys"]));
        assert_eq!(fuzz["dependencies"]["dlt-properties"]["path"].as_str(), Some("../dlt-properties"));
        let workspace = manifest(&root().join("Cargo.toml"));
        let members: Vec<&str> = workspace["workspace"]["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|member| member.as_str().unwrap())
            .collect();
        assert!(members.contains(&"dlt-properties") && !members.contains(&"fuzz"), "{members:?}");
        let properties = manifest(&root().join("dlt-properties/Cargo.toml"));
        assert!(!properties.to_string().contains("libfuzzer"), "the properties need no libFuzzer");
    }

    #[test]
    fn a_run_starts_from_the_corpus_and_the_committed_seeds_with_the_targets_dictionary() {
        let root = root();
        let target = &TARGETS[2];
        let corpus = root.join("fuzz/corpus").join(target.name);
        let scratch = Path::new("/scratch");
        let command = run_command(&root, target, 5, &corpus, scratch);
        assert_eq!(command.get_program(), "cargo");
        let args: Vec<String> = command.get_args().map(|arg| arg.to_string_lossy().into_owned()).collect();
        let seeds = root.join("fuzz/seeds").join(target.name);
        let dictionary = root.join("fuzz/dicts").join(target.dictionary);
        let expected = [
            "+nightly",
            "fuzz",
            "run",
            "--sanitizer",
            "none",
            "--debug-assertions",
            target.name,
            &corpus.display().to_string(),
            &seeds.display().to_string(),
            "--",
            "-max_total_time=5",
            &format!("-dict={}", dictionary.display()),
            "-timeout=10",
            "-print_final_stats=1",
        ];
        assert_eq!(args, expected);
        assert!(seeds.is_dir() && dictionary.is_file());
        assert!(command.get_envs().any(|(name, value)| name == "TMPDIR" && value == Some(scratch.as_os_str())));
        assert_eq!(command.get_current_dir(), Some(root.as_path()));
    }

    #[test]
    fn executions_come_from_the_final_statistics_or_the_last_status_line() {
        let finished = "#1024\tpulse  cov: 10\nDone 2000 runs in 1 second(s)\nstat::number_of_executed_units: 2000\n";
        assert_eq!(executions(finished), Some(2000));
        let crashed = "#512\tNEW    cov: 10 ft: 20\n#777\tREDUCE cov: 11\n==1== ERROR: libFuzzer: deadly signal\n";
        assert_eq!(executions(crashed), Some(777));
        assert_eq!(executions("cargo: could not compile"), None);
    }
}
