//! A published crate's README as an adopter reads it: the `[dependencies]` to add (a ```toml
//! block) and the example to start from (the first ```rust block, also run as the crate's
//! doctest).

/// What a crate's README tells an adopter to write.
#[derive(Debug, PartialEq)]
pub(crate) struct ReadmeExample {
    /// The ```toml block holding `[dependencies]`, as written.
    pub(crate) dependencies: String,
    /// The first ```rust block: a whole program with its `fn main`.
    pub(crate) code: String,
    /// False for a block marked `no_run` (it talks to a real service): build it, do not run it.
    pub(crate) runs: bool,
}

/// One fenced code block: its info string (`rust,no_run`) and its text.
struct CodeBlock<'a> {
    info: &'a str,
    text: String,
}

/// The fenced code blocks of a markdown text, in order.
fn code_blocks(markdown: &str) -> Vec<CodeBlock<'_>> {
    let mut blocks = Vec::new();
    let mut open: Option<CodeBlock<'_>> = None;
    for line in markdown.lines() {
        let fence = line.trim_start().strip_prefix("```");
        match (open.take(), fence) {
            (None, Some(info)) => open = Some(CodeBlock { info: info.trim(), text: String::new() }),
            (Some(block), Some(_)) => blocks.push(block),
            (Some(mut block), None) => {
                block.text.push_str(line);
                block.text.push('\n');
                open = Some(block);
            }
            (None, None) => {}
        }
    }
    blocks
}

/// The example of a README: its dependencies and its first Rust block. An error names what is
/// missing, or an attribute an adopter's copy could not honour (`ignore`, `should_panic`, ...).
pub(crate) fn example(readme: &str) -> Result<ReadmeExample, String> {
    let blocks = code_blocks(readme);
    let dependencies = blocks
        .iter()
        .find(|block| block.info == "toml" && block.text.lines().any(|line| line.trim() == "[dependencies]"))
        .ok_or("no ```toml block with [dependencies]")?;
    let rust = blocks
        .iter()
        .find(|block| block.info.split(',').next().map(str::trim) == Some("rust"))
        .ok_or("no ```rust block")?;
    let mut runs = true;
    for attribute in rust.info.split(',').skip(1).map(str::trim) {
        match attribute {
            "no_run" => runs = false,
            other => {
                return Err(format!("the ```rust block is marked `{other}`: an adopter's copy must build as it is"));
            }
        }
    }
    if !rust.text.contains("fn main(") {
        return Err("the ```rust block has no `fn main`: write the whole program an adopter copies".into());
    }
    Ok(ReadmeExample { dependencies: dependencies.text.clone(), code: rust.text.clone(), runs })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::{ReadmeExample, example};

    const README: &str = "# a\n\n```toml\n[dependencies]\na = \"0.1\"\n```\n\ntext\n\n```rust,no_run\nfn main() {}\n```\n\n```rust\nfn main() { other(); }\n```\n";

    #[test]
    fn the_dependencies_and_the_first_rust_block_are_the_example() {
        let found = example(README).unwrap();
        let expected = ReadmeExample {
            dependencies: "[dependencies]\na = \"0.1\"\n".into(),
            code: "fn main() {}\n".into(),
            runs: false,
        };
        assert_eq!(found, expected);
        assert!(example(&README.replace("rust,no_run", "rust")).unwrap().runs);
    }

    #[test]
    fn what_an_adopter_cannot_copy_is_named() {
        assert_eq!(example("```rust\nfn main() {}\n```\n").unwrap_err(), "no ```toml block with [dependencies]");
        assert_eq!(example("```toml\n[dependencies]\n```\n").unwrap_err(), "no ```rust block");
        let ignored = example(&README.replace("rust,no_run", "rust,ignore")).unwrap_err();
        assert!(ignored.contains("marked `ignore`"), "{ignored}");
        let fragment = example(&README.replace("fn main() {}", "let x = 1;")).unwrap_err();
        assert!(fragment.contains("no `fn main`"), "{fragment}");
    }
}
