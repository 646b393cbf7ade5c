//! Every committed seed of every fuzz target (`fuzz/seeds/<target>/`), run through the target's
//! entry point, the one its libFuzzer binary calls: what the fuzzer starts from holds on every
//! build, without nightly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use dlt_properties::{TARGETS, Target};

fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds")
}

/// The seed files of `target`, sorted.
fn seeds(target: &Target) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(seeds_dir().join(target.name))
        .unwrap_or_else(|error| panic!("fuzz/seeds/{}: {error}", target.name))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
}

/// Runs every seed of `target` in one scratch folder, as libFuzzer runs its inputs one after
/// another in one process; the count of seeds run.
fn replay(target: &Target) -> usize {
    let scratch = tempfile::tempdir().unwrap();
    let seeds = seeds(target);
    let failures: Vec<String> = seeds
        .iter()
        .filter_map(|seed| {
            let data = std::fs::read(seed).unwrap();
            (target.check)(scratch.path(), &data).err().map(|failure| format!("{}: {failure}", seed.display()))
        })
        .collect();
    assert!(failures.is_empty(), "{} seed(s) fail:\n{}", failures.len(), failures.join("\n"));
    seeds.len()
}

#[test]
fn every_seed_folder_belongs_to_a_target_and_every_target_has_seeds() {
    let folders: BTreeSet<String> = std::fs::read_dir(seeds_dir())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let targets: BTreeSet<String> = TARGETS.iter().map(|target| target.name.to_owned()).collect();
    assert_eq!(folders, targets);
    for target in &TARGETS {
        assert!(!seeds(target).is_empty(), "{} has no seeds", target.name);
    }
}

#[test]
fn the_config_loader_holds_for_every_seed() {
    assert!(replay(&dlt_properties::CONFIG_LOADER) > 0);
}

#[test]
fn the_switch_editor_holds_for_every_seed() {
    assert!(replay(&dlt_properties::SWITCH_EDITOR) > 0);
}

#[test]
fn the_outbox_reader_holds_for_every_seed() {
    assert!(replay(&dlt_properties::OUTBOX_READER) > 0);
}

#[test]
fn the_text_scrubber_holds_for_every_seed() {
    assert!(replay(&dlt_properties::TEXT_SCRUBBER) > 0);
}

#[test]
fn message_parsing_holds_for_every_seed() {
    assert!(replay(&dlt_properties::MESSAGE_PARSING) > 0);
}

/// The replay can fail: an entry point that finds a property broken says so, and libFuzzer's
/// one-line entry point panics with it.
#[test]
fn a_broken_property_is_reported_by_the_entry_point_and_panics_the_fuzzer() {
    let broken =
        Target { name: "broken", check: |_, data| if data.is_empty() { Ok(()) } else { Err("broken".into()) } };
    assert_eq!((broken.check)(Path::new("."), b"x"), Err("broken".to_owned()));
    let panicked = std::panic::catch_unwind(|| dlt_properties::fuzz(&broken, b"x")).unwrap_err();
    assert_eq!(panicked.downcast_ref::<String>().map(String::as_str), Some("broken: broken"));
}
