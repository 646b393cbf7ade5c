//! The session on the crate's README, run: each `$ dlt ...` line with temporary dirs and a
//! loopback endpoint, its output compared with the lines the README shows (`...` stands for any
//! number of lines), so that the crates.io page cannot go stale.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Machine, stderr, stdout};

/// One command of the session and the output the README shows for it.
struct Shown {
    args: Vec<String>,
    output: Vec<String>,
}

/// The commands of the README's `console` block, each with the lines shown after it.
fn session(readme: &str) -> Vec<Shown> {
    let block = readme.split("```console\n").nth(1).and_then(|rest| rest.split("\n```").next());
    let block = block.expect("the README has a ```console block");
    let mut session: Vec<Shown> = Vec::new();
    for line in block.lines() {
        if let Some(command) = line.strip_prefix("$ dlt") {
            let command = command.split(" # ").next().unwrap_or_default();
            session.push(Shown { args: command.split_whitespace().map(str::to_owned).collect(), output: vec![] });
        } else {
            session.last_mut().expect("the block starts with a command").output.push(line.to_owned());
        }
    }
    session
}

/// Whether `lines` are `pattern`, where a `...` line stands for any number of lines.
fn matches(pattern: &[String], lines: &[&str]) -> bool {
    match pattern.split_first() {
        None => lines.is_empty(),
        Some((first, rest)) if first == "..." => (0..=lines.len()).any(|skip| matches(rest, &lines[skip..])),
        Some((first, rest)) => lines.split_first().is_some_and(|(line, others)| line == first && matches(rest, others)),
    }
}

#[test]
fn the_readme_session_runs_as_shown() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let session = session(&readme);
    assert!(session.len() >= 4, "the README shows {} commands", session.len());
    let machine = Machine::new();
    for shown in session {
        let args: Vec<&str> = shown.args.iter().map(String::as_str).collect();
        let output = machine.dlt(&args, &[]);
        assert!(output.status.success(), "dlt {args:?}: {}", stderr(&output));
        let printed = stdout(&output);
        let lines: Vec<&str> = printed.lines().collect();
        assert!(
            matches(&shown.output, &lines),
            "dlt {args:?} printed\n{printed}\nthe README shows\n{:#?}",
            shown.output
        );
    }
}

#[test]
fn an_ellipsis_stands_for_any_lines_and_nothing_else_does() {
    let pattern = |lines: &[&str]| lines.iter().map(|line| (*line).to_owned()).collect::<Vec<_>>();
    assert!(matches(&pattern(&["a", "..."]), &["a", "b", "c"]));
    assert!(matches(&pattern(&["a", "...", "c"]), &["a", "c"]));
    assert!(matches(&pattern(&["...", "c"]), &["a", "b", "c"]));
    assert!(!matches(&pattern(&["a"]), &["a", "b"]));
    assert!(!matches(&pattern(&["a", "...", "d"]), &["a", "b", "c"]));
    assert!(!matches(&pattern(&["b", "..."]), &["a", "b"]));
}
