//! Every relative link in the documentation reaches a file that exists, and every `#anchor` a
//! heading of that file (by GitHub's rule for heading ids), so that a renamed section or a moved
//! page never leaves a reader at a dead end.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The Markdown files of the repository: the READMEs, the changelog and `docs/`.
fn documents(root: &Path) -> Vec<PathBuf> {
    let mut documents = vec![root.join("README.md"), root.join("CHANGELOG.md")];
    for dir in [root.to_path_buf(), root.join("docs")] {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let crate_readme = path.join("README.md");
            if dir == root && crate_readme.is_file() {
                documents.push(crate_readme);
            } else if dir != root && path.extension().is_some_and(|extension| extension == "md") {
                documents.push(path);
            }
        }
    }
    documents
}

/// The lines outside fenced code blocks.
fn prose(text: &str) -> Vec<&str> {
    let mut in_code = false;
    text.lines()
        .filter(|line| {
            if line.trim_start().starts_with("```") {
                in_code = !in_code;
                return false;
            }
            !in_code
        })
        .collect()
}

/// The ids GitHub gives the headings of a Markdown text: lower case, only letters, digits, `-`
/// and `_` kept, spaces as `-`, a repeated id numbered `-1`, `-2`, ...
fn heading_ids(text: &str) -> HashSet<String> {
    let mut ids = HashSet::new();
    for line in prose(text) {
        let Some(title) = line.strip_prefix('#').map(|rest| rest.trim_start_matches('#').trim()) else { continue };
        let base: String = title
            .to_lowercase()
            .chars()
            .filter_map(|char| match char {
                ' ' => Some('-'),
                char if char.is_alphanumeric() || char == '-' || char == '_' => Some(char),
                _ => None,
            })
            .collect();
        let mut id = base.clone();
        let mut count = 0;
        while ids.contains(&id) {
            count += 1;
            id = format!("{base}-{count}");
        }
        ids.insert(id);
    }
    ids
}

/// The targets of the inline links `[text](target)` of a Markdown text, outside code.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    for line in prose(text) {
        let mut rest = line;
        while let Some(start) = rest.find("](") {
            rest = &rest[start + 2..];
            let Some(end) = rest.find(')') else { break };
            targets.push(rest[..end].to_owned());
            rest = &rest[end..];
        }
    }
    targets
}

#[test]
fn every_relative_link_and_anchor_of_the_documentation_resolves() {
    let root = workspace_root();
    let mut dead = Vec::new();
    for document in documents(&root) {
        let text = fs::read_to_string(&document).unwrap();
        for target in link_targets(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) =
                target.split_once('#').map_or((target.as_str(), None), |(path, anchor)| (path, Some(anchor)));
            let linked = if path.is_empty() { document.clone() } else { document.parent().unwrap().join(path) };
            let shown = format!("{}: ({target})", document.strip_prefix(&root).unwrap().display());
            if !linked.exists() {
                dead.push(format!("{shown}: no such file"));
                continue;
            }
            if let Some(anchor) = anchor
                && linked.extension().is_some_and(|extension| extension == "md")
                && !heading_ids(&fs::read_to_string(&linked).unwrap()).contains(anchor)
            {
                dead.push(format!("{shown}: no such heading"));
            }
        }
    }
    assert!(dead.is_empty(), "dead links:\n{}", dead.join("\n"));
}

#[test]
fn heading_ids_follow_githubs_rule() {
    let ids = heading_ids(
        "# Where this differs from dlt (Python), and why\n## `dlt telemetry`\n## A\n## A\n```\n# not a heading\n```\n",
    );
    let expected = ["where-this-differs-from-dlt-python-and-why", "dlt-telemetry", "a", "a-1"];
    assert_eq!(ids, expected.iter().map(|id| (*id).to_owned()).collect());
}
