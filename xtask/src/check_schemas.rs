//! `cargo xtask check-schemas`: the committed schemas are current, every known payload
//! validates, and no schema change breaks compatibility.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use dlt_telemetry_model::{SchemaFile, schema_files};
use serde_json::Value;
use similar::TextDiff;

use crate::breaking::breaking_changes;
use crate::validate::{Validators, files_under};

/// Where the committed schemas live, relative to the workspace root.
const SCHEMAS_DIR: &str = "docs/schemas";

/// The command line of `check-schemas`.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Options {
    /// Rewrite `docs/schemas/` instead of failing on drift.
    pub(crate) bless: bool,
    /// The revision to check compatibility against; default the merge base with `main`.
    pub(crate) against: Option<String>,
    /// More files or folders to validate.
    pub(crate) paths: Vec<PathBuf>,
}

impl Options {
    /// Parses the arguments after `check-schemas`.
    pub(crate) fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--bless" => options.bless = true,
                "--against" => {
                    let revision = args.next().ok_or("--against needs a revision, e.g. --against main")?;
                    options.against = Some(revision.clone());
                }
                flag if flag.starts_with('-') => return Err(format!("unknown option `{flag}` for check-schemas")),
                path => options.paths.push(PathBuf::from(path)),
            }
        }
        Ok(options)
    }
}

/// Runs the three checks and prints what each found; an error when any of them failed.
pub(crate) fn run(root: &Path, options: &Options) -> Result<(), String> {
    let generated = schema_files();
    let schemas_dir = root.join(SCHEMAS_DIR);
    let mut problems = 0;

    if options.bless {
        bless(&schemas_dir, &generated)?;
        println!("wrote {} schemas to {}", generated.len(), schemas_dir.display());
    } else {
        let drift = drift(&schemas_dir, &generated);
        for finding in &drift {
            println!("{finding}");
        }
        if drift.is_empty() {
            println!("schemas: {} files match the model", generated.len());
        } else {
            println!("if the model change is intended, run `cargo xtask check-schemas --bless`");
        }
        problems += drift.len();
    }

    let validators = Validators::load(&schemas_dir)?;
    let mut targets = vec![root.join("testdata/golden/segment"), root.join("docs/examples")];
    targets.extend(options.paths.iter().cloned());
    let mut validated = 0;
    for target in targets {
        let files = files_under(&target)?;
        if files.is_empty() {
            println!("{}: no JSON files to validate", target.display());
            problems += 1;
        }
        for file in files {
            validated += 1;
            for failure in validators.validate_file(&file) {
                println!("invalid: {failure}");
                problems += 1;
            }
        }
    }
    println!("validated {validated} files");

    match baseline(root, options.against.as_deref()) {
        Err(reason) => println!("breaking-change check skipped: {reason}"),
        Ok(revision) => {
            let Some(changes) = compatibility(root, &revision, &generated)? else {
                println!("breaking-change check skipped: {revision} has no schemas yet");
                return finish(problems);
            };
            for change in &changes {
                println!("breaking change against {revision}: {change}");
            }
            if changes.is_empty() {
                println!("no breaking changes against {revision}");
            }
            problems += changes.len();
        }
    }

    finish(problems)
}

/// The command's outcome from the number of problems found.
fn finish(problems: usize) -> Result<(), String> {
    match problems {
        0 => Ok(()),
        n => Err(format!("check-schemas found {n} problem(s)")),
    }
}

/// The committed text of a schema: pretty JSON and a final newline.
fn schema_text(file: &SchemaFile) -> String {
    let mut text = serde_json::to_string_pretty(&file.schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes every generated schema and removes committed ones the model no longer has.
fn bless(schemas_dir: &Path, generated: &[SchemaFile]) -> Result<(), String> {
    for stale in committed_schemas(schemas_dir).difference(&generated_paths(generated)) {
        let path = schemas_dir.join(stale);
        fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    for file in generated {
        let path = schemas_dir.join(&file.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        fs::write(&path, schema_text(file)).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// How the committed schemas differ from the generated ones, as readable findings.
fn drift(schemas_dir: &Path, generated: &[SchemaFile]) -> Vec<String> {
    let mut findings = Vec::new();
    for file in generated {
        let path = schemas_dir.join(&file.path);
        let expected = schema_text(file);
        match fs::read_to_string(&path) {
            Err(_) => findings.push(format!("missing schema: {} (generated from the model)", path.display())),
            Ok(committed) if committed != expected => {
                let diff = TextDiff::from_lines(&committed, &expected)
                    .unified_diff()
                    .header(&format!("committed {}", file.path), &format!("generated {}", file.path))
                    .to_string();
                findings.push(format!("schema drift in {}:\n{diff}", path.display()));
            }
            Ok(_) => {}
        }
    }
    for stale in committed_schemas(schemas_dir).difference(&generated_paths(generated)) {
        findings.push(format!("stale schema: {} (the model no longer has it)", schemas_dir.join(stale).display()));
    }
    findings
}

fn generated_paths(generated: &[SchemaFile]) -> BTreeSet<String> {
    generated.iter().map(|file| file.path.clone()).collect()
}

/// Paths (relative to `schemas_dir`, `/`-separated) of the committed `*.schema.json` files.
fn committed_schemas(schemas_dir: &Path) -> BTreeSet<String> {
    files_under(schemas_dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|path| path.to_string_lossy().ends_with(".schema.json"))
        .filter_map(|path| {
            let relative = path.strip_prefix(schemas_dir).ok()?;
            Some(relative.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
        })
        .collect()
}

/// The revision to compare with: the one asked for, or the merge base of `HEAD` and `main`.
/// An error says why there is none (no git, a shallow clone, an unknown revision).
fn baseline(root: &Path, against: Option<&str>) -> Result<String, String> {
    let revision = match against {
        Some(revision) => revision.to_owned(),
        None => git(root, &["merge-base", "HEAD", "main"])
            .map_err(|e| format!("no merge base with main ({e}); pass --against REV"))?,
    };
    git(root, &["rev-parse", "--verify", "--quiet", &format!("{revision}^{{commit}}")])
        .map_err(|_| format!("revision `{revision}` cannot be resolved here (a shallow clone?)"))?;
    Ok(revision)
}

/// Breaking changes between the schemas committed at `revision` and the generated ones; `None`
/// when `revision` has no schemas.
fn compatibility(root: &Path, revision: &str, generated: &[SchemaFile]) -> Result<Option<Vec<String>>, String> {
    let listing = git(root, &["ls-tree", "-r", "--name-only", revision, "--", SCHEMAS_DIR])?;
    let prefix = format!("{SCHEMAS_DIR}/");
    let old_paths: BTreeSet<String> = listing
        .lines()
        .filter_map(|line| line.strip_prefix(&prefix))
        .filter(|path| path.ends_with(".schema.json"))
        .map(str::to_owned)
        .collect();
    if old_paths.is_empty() {
        return Ok(None);
    }
    let mut changes = Vec::new();
    for old_path in &old_paths {
        let Some(new) = generated.iter().find(|file| &file.path == old_path) else {
            changes.push(format!("{old_path}: schema removed"));
            continue;
        };
        let text = git(root, &["show", &format!("{revision}:{SCHEMAS_DIR}/{old_path}")])?;
        let old: Value = serde_json::from_str(&text).map_err(|e| format!("{old_path} at {revision}: not JSON: {e}"))?;
        changes.extend(breaking_changes(&old, &new.schema).into_iter().map(|change| format!("{old_path}: {change}")));
    }
    Ok(Some(changes))
}

/// Runs git in `root` and returns its trimmed standard output, or why it failed.
fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .map_err(|e| format!("git is not available: {e}"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!("`git {}` failed: {}", args.join(" "), stderr.trim()));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::fs;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use serde_json::json;

    use super::{Options, git, run};

    /// A workspace root in a temporary dir with blessed schemas, one valid docs example and one
    /// golden message.
    fn workspace() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("main");
        fs::create_dir_all(root.join("testdata/golden/segment")).unwrap();
        let real_golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/golden/segment/dlt-1.31");
        let golden = root.join("testdata/golden/segment/A07_pipeline_run.pipeline_load.json");
        fs::copy(real_golden.join("A07_pipeline_run.pipeline_load.json"), golden).unwrap();
        fs::create_dir_all(root.join("docs/examples")).unwrap();
        let example = fs::read_to_string(real_golden.join("A01_telemetry_status.command_telemetry.json")).unwrap();
        fs::write(root.join("docs/examples/command_telemetry.json"), example).unwrap();
        run(&root, &Options { bless: true, against: Some("none".into()), ..Options::default() }).unwrap();
        (dir, root)
    }

    #[test]
    fn options_parse() {
        let args: Vec<String> = ["--bless", "a.json", "--against", "v1", "dir"].map(String::from).to_vec();
        let options = Options::parse(&args).unwrap();
        assert_eq!(
            options,
            Options { bless: true, against: Some("v1".into()), paths: vec!["a.json".into(), "dir".into()] }
        );
        assert!(Options::parse(&["--against".to_owned()]).is_err());
        assert!(Options::parse(&["--frobnicate".to_owned()]).is_err());
    }

    #[test]
    fn blessed_schemas_pass_and_a_drifted_schema_fails() {
        let (_dir, root) = workspace();
        let skip_git = Options { against: Some("no-such-revision".into()), ..Options::default() };
        run(&root, &skip_git).unwrap();
        let path = root.join("docs/schemas/events/pipeline_load.schema.json");
        let drifted = fs::read_to_string(&path).unwrap().replace("Cumulative", "Not cumulative");
        fs::write(&path, drifted).unwrap();
        assert!(run(&root, &skip_git).is_err());
        fs::remove_file(&path).unwrap();
        assert!(run(&root, &skip_git).is_err(), "a missing schema is drift too");
    }

    #[test]
    fn an_invalid_payload_fails_and_a_valid_one_passes() {
        let (dir, root) = workspace();
        let valid = dir.path().join("valid.json");
        let mut message: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(root.join("docs/examples/command_telemetry.json")).unwrap())
                .unwrap();
        fs::write(&valid, message.to_string()).unwrap();
        let with = |path: PathBuf| Options { against: Some("none".into()), paths: vec![path], ..Options::default() };
        run(&root, &with(valid)).unwrap();

        message["body"]["properties"]["success"] = json!("yes");
        let invalid = dir.path().join("invalid.json");
        fs::write(&invalid, message.to_string()).unwrap();
        assert!(run(&root, &with(invalid)).is_err());

        let batch = dir.path().join("batch");
        fs::create_dir(&batch).unwrap();
        fs::write(batch.join("b.json"), json!({"batch": [{"event": "pipeline_run"}]}).to_string()).unwrap();
        assert!(run(&root, &with(batch)).is_err(), "a batch whose message lacks required fields");

        let not_json = dir.path().join("broken.json");
        fs::write(&not_json, "{").unwrap();
        assert!(run(&root, &with(not_json)).is_err());
    }

    #[test]
    fn a_breaking_change_against_a_revision_fails() {
        let (_dir, root) = workspace();
        let git_setup = |args: &[&str]| {
            let status = Command::new("git")
                .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"])
                .args(args)
                .current_dir(&root)
                .status()
                .unwrap();
            assert!(status.success(), "git {args:?}");
        };
        git_setup(&["init", "-q"]);
        // The committed schema at HEAD has a field the model does not have: a removal.
        let path = root.join("docs/schemas/events/pipeline_run.schema.json");
        let mut schema: serde_json::Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
        schema["properties"]["legacy_field"] = json!({"type": "string"});
        fs::write(&path, serde_json::to_string_pretty(&schema).unwrap()).unwrap();
        git_setup(&["add", "-A"]);
        git_setup(&["commit", "-q", "-m", "schemas"]);
        run(&root, &Options { bless: true, against: Some("no-such-revision".into()), ..Options::default() }).unwrap();

        let error = run(&root, &Options::default()).unwrap_err();
        assert!(error.contains("1 problem"), "{error}");
        assert_eq!(git(&root, &["merge-base", "HEAD", "main"]).unwrap().len(), 40);
    }
}
