//! Writing: the telemetry switch against dlt's golden files and the cases dlt never met.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{Dirs, mutate, write};
use dlt_config::{
    Config, EditError, FileError, Locations, Scope, Source, SwitchError, SwitchLock, SwitchReport, set_telemetry,
};

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/golden/config-toml");

/// Switches as the CLI does: under the switch's lock.
fn switch(locations: &Locations, enabled: bool) -> Result<SwitchReport, SwitchError> {
    set_telemetry(&SwitchLock::acquire(locations)?, locations, enabled)
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap()
}

/// Files in `dir`, so that a test sees a leftover temporary file; the switch's own folder (its
/// lock) is left out.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "telemetry")
        .collect();
    names.sort();
    names
}

#[test]
fn golden_cases_come_out_byte_for_byte() {
    let mut cases: Vec<PathBuf> = fs::read_dir(GOLDEN).unwrap().map(|entry| entry.unwrap().path()).collect();
    cases.sort();
    assert!(!cases.is_empty(), "no golden cases in {GOLDEN}");
    for case in cases {
        let name = case.file_name().unwrap().to_string_lossy().into_owned();
        let enabled = match name.split('-').next() {
            Some("disable") => false,
            Some("enable") => true,
            _ => panic!("golden case {name} must start with disable- or enable-"),
        };
        let dirs = Dirs::new();
        let golden = |file: &str| fs::read(case.join(file)).ok();
        if let Some(before) = golden("project.before.toml") {
            write(&dirs.project_config(), before);
        }
        if let Some(before) = golden("global.before.toml") {
            write(&dirs.global_config(), before);
        }

        let report = switch(&dirs.locations(), enabled).unwrap();

        let global_after = golden("global.after.toml").expect("every case has global.after.toml");
        assert_eq!(fs::read(dirs.global_config()).unwrap(), global_after, "{name}: global");
        match golden("project.after.toml") {
            Some(after) => {
                assert_eq!(fs::read(dirs.project_config()).unwrap(), after, "{name}: project");
                assert_eq!(report.written, [dirs.global_config(), dirs.project_config()], "{name}");
            }
            None => {
                assert!(!dirs.project_config().exists(), "{name}: project file created");
                assert_eq!(report.written, [dirs.global_config()], "{name}");
            }
        }

        // Switching again to the same value changes nothing.
        let again = switch(&dirs.locations(), enabled).unwrap();
        assert!(again.written.is_empty(), "{name}: {again:?}");
        assert_eq!(fs::read(dirs.global_config()).unwrap(), global_after, "{name}: global rewritten");
    }
}

#[test]
fn fresh_global_file_is_exactly_dlts_and_project_is_not_created() {
    for (enabled, expected) in
        [(false, "[runtime]\ndlthub_telemetry = false\n"), (true, "[runtime]\ndlthub_telemetry = true\n")]
    {
        let dirs = Dirs::new();
        let locations = dirs.locations();
        fs::remove_dir(&locations.global_dir).unwrap();
        let report = switch(&locations, enabled).unwrap();
        assert_eq!(read(&dirs.global_config()), expected);
        assert_eq!(report.written, [dirs.global_config()]);
        assert!(!locations.settings_dir.exists(), "project .dlt dir created");
        assert_eq!(entries(&locations.global_dir), ["config.toml"]);
    }
}

#[test]
fn empty_project_file_is_left_alone_but_a_newline_is_content() {
    let dirs = Dirs::new();
    write(&dirs.project_config(), "");
    switch(&dirs.locations(), false).unwrap();
    assert_eq!(read(&dirs.project_config()), "");

    write(&dirs.project_config(), "\n");
    switch(&dirs.locations(), false).unwrap();
    assert_eq!(read(&dirs.project_config()), "\n[runtime]\ndlthub_telemetry = false\n");
}

#[test]
fn switching_back_and_forth_changes_only_the_value_and_the_reader_agrees() {
    let dirs = Dirs::new();
    let original = "# mine\r\n[runtime]\r\nlog_level = \"INFO\" # keep\r\n\r\n[sources.x]\r\nkey = 1";
    write(&dirs.project_config(), original);
    switch(&dirs.locations(), false).unwrap();
    let disabled = read(&dirs.project_config());
    assert_eq!(
        disabled,
        "# mine\r\n[runtime]\r\nlog_level = \"INFO\" # keep\r\ndlthub_telemetry = false\r\n\r\n[sources.x]\r\nkey = 1"
    );
    let env = dirs.env(&[]);
    let telemetry = Config::load(env.clone()).unwrap().runtime().dlthub_telemetry.clone();
    assert!(!telemetry.value);
    assert!(matches!(telemetry.source, Source::File { scope: Scope::Project, .. }));

    switch(&dirs.locations(), true).unwrap();
    assert_eq!(read(&dirs.project_config()), disabled.replace("= false", "= true"));
    assert!(Config::load(env.clone()).unwrap().runtime().dlthub_telemetry.value);
}

#[test]
fn inline_dotted_string_and_no_trailing_newline_cases() {
    let cases = [
        ("runtime = { log_level = \"INFO\" }\n", "runtime = { log_level = \"INFO\", dlthub_telemetry = false }\n"),
        ("runtime.dlthub_telemetry = true\nother = 1\n", "runtime.dlthub_telemetry = false\nother = 1\n"),
        ("[runtime]\ndlthub_telemetry = \"true\"\n", "[runtime]\ndlthub_telemetry = false\n"),
        ("[sources]\nkey = 1", "[sources]\nkey = 1\n[runtime]\ndlthub_telemetry = false\n"),
    ];
    for (before, after) in cases {
        let dirs = Dirs::new();
        write(&dirs.project_config(), before);
        switch(&dirs.locations(), false).unwrap();
        assert_eq!(read(&dirs.project_config()), after, "{before:?}");
    }
}

#[test]
fn invalid_project_toml_is_left_untouched_and_switching_on_writes_nothing_else() {
    let dirs = Dirs::new();
    let locations = dirs.locations();
    fs::remove_dir(&locations.global_dir).unwrap();
    let broken = "[runtime\ndlthub_telemetry = true\n";
    write(&dirs.project_config(), broken);
    let error = switch(&locations, true).unwrap_err();
    let SwitchError::File(FileError::Malformed { path, line, column, .. }) = &error else {
        panic!("unexpected {error:?}");
    };
    assert_eq!((path, *line, *column), (&dirs.project_config(), 1, 9));
    assert!(error.to_string().starts_with(&format!("{}:1:9: invalid TOML", dirs.project_config().display())));
    assert_eq!(read(&dirs.project_config()), broken);
    assert!(entries(&locations.global_dir).is_empty(), "a global config.toml created despite the error");
    // Switching off: the project's file is left as it is and reported, the global one written.
    let report = switch(&locations, false).unwrap();
    assert_eq!(report.not_switched.unwrap().reason, error.to_string());
    assert_eq!(read(&dirs.project_config()), broken);
    assert_eq!(read(&locations.global_config_toml()), "[runtime]\ndlthub_telemetry = false\n");
}

#[test]
fn invalid_global_toml_means_the_project_file_is_not_written_either() {
    let dirs = Dirs::new();
    write(&dirs.project_config(), "[runtime]\ndlthub_telemetry = true\n");
    write(&dirs.global_config(), b"\xff\xfe");
    let error = switch(&dirs.locations(), false).unwrap_err();
    assert!(matches!(error, SwitchError::File(FileError::NotUtf8 { .. })), "{error:?}");
    assert_eq!(read(&dirs.project_config()), "[runtime]\ndlthub_telemetry = true\n");
    assert_eq!(fs::read(dirs.global_config()).unwrap(), b"\xff\xfe");
}

#[test]
fn a_runtime_key_that_cannot_hold_a_table_is_reported() {
    let dirs = Dirs::new();
    write(&dirs.project_config(), "runtime = \"prod\"\n");
    let error = switch(&dirs.locations(), true).unwrap_err();
    assert!(
        matches!(&error, SwitchError::Edit { path, source: EditError::Conflict { key: "runtime", found: "a string" } } if path == &dirs.project_config()),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        format!(
            "{}: `runtime` is a string; it must be a table to hold `runtime.dlthub_telemetry`",
            dirs.project_config().display()
        )
    );
    assert!(!dirs.global_config().exists(), "switching on is all or nothing");
    // Switching off does not depend on the project's file: the global one is switched.
    let report = switch(&dirs.locations(), false).unwrap();
    let not_switched = report.not_switched.unwrap();
    assert_eq!(not_switched.path, dirs.project_config());
    assert_eq!(not_switched.reason, error.to_string());
    assert_eq!(report.written, [dirs.global_config()]);
    assert_eq!(read(&dirs.global_config()), "[runtime]\ndlthub_telemetry = false\n");
}

// Unix only: file modes.
#[cfg(unix)]
#[test]
fn permissions_are_kept_and_no_temporary_file_is_left() {
    use std::os::unix::fs::PermissionsExt;
    let dirs = Dirs::new();
    write(&dirs.project_config(), "[runtime]\ndlthub_telemetry = true\n");
    fs::set_permissions(dirs.project_config(), fs::Permissions::from_mode(0o640)).unwrap();
    switch(&dirs.locations(), false).unwrap();
    let mode = fs::metadata(dirs.project_config()).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    assert_eq!(entries(&dirs.locations().settings_dir), ["config.toml"]);
    assert_eq!(entries(&dirs.locations().global_dir), ["config.toml"]);
}

// Unix only: file modes.
#[cfg(unix)]
#[test]
fn a_new_global_file_is_readable_by_its_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dirs = Dirs::new();
    write(&dirs.project_config(), "[runtime]\nlog_level = \"INFO\"\n");
    fs::set_permissions(dirs.project_config(), fs::Permissions::from_mode(0o644)).unwrap();
    switch(&dirs.locations(), false).unwrap();
    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dirs.global_config()), 0o600);
    assert_eq!(mode(&dirs.project_config()), 0o644, "an existing file keeps its mode");
    assert_eq!(mode(&dirs.locations().telemetry_dir()), 0o700);
    assert_eq!(mode(&dirs.locations().telemetry_dir().join("switch.lock")), 0o600);
}

// Unix only: file modes and symlinks.
#[cfg(unix)]
#[test]
fn a_telemetry_dir_that_is_not_private_stops_the_switch_before_any_file_is_written() {
    use std::os::unix::fs::PermissionsExt;
    let dirs = Dirs::new();
    let telemetry = dirs.locations().telemetry_dir();
    fs::create_dir_all(&telemetry).unwrap();
    fs::set_permissions(&telemetry, fs::Permissions::from_mode(0o777)).unwrap();
    let error = switch(&dirs.locations(), false).unwrap_err();
    assert!(matches!(error, SwitchError::Lock(dlt_fs::GateError::NotPrivate { .. })), "{error:?}");
    assert!(error.is_config_error(), "the user must fix the folder");
    let message = error.to_string();
    assert!(message.contains(&telemetry.display().to_string()) && message.contains("mode 0777"), "{message}");
    assert!(!dirs.global_config().exists());

    fs::remove_dir(&telemetry).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), &telemetry).unwrap();
    let error = switch(&dirs.locations(), false).unwrap_err();
    assert!(matches!(error, SwitchError::Lock(dlt_fs::GateError::Link { .. })), "{error:?}");
    assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0, "no lock file made through the link");
}

// Unix only: a file made read-only by its mode.
#[cfg(unix)]
#[test]
fn a_read_only_file_is_reported_and_nothing_is_written() {
    use std::os::unix::fs::PermissionsExt;
    let dirs = Dirs::new();
    write(&dirs.project_config(), "[runtime]\ndlthub_telemetry = false\n");
    fs::set_permissions(dirs.project_config(), fs::Permissions::from_mode(0o444)).unwrap();
    let error = switch(&dirs.locations(), true).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("{} is read-only; telemetry setting not changed", dirs.project_config().display())
    );
    assert_eq!(read(&dirs.project_config()), "[runtime]\ndlthub_telemetry = false\n");
    assert!(!dirs.global_config().exists());
    // Switching off: the read-only project file is reported, the global file switched.
    fs::set_permissions(dirs.project_config(), fs::Permissions::from_mode(0o644)).unwrap();
    write(&dirs.project_config(), "[runtime]\ndlthub_telemetry = true\n");
    fs::set_permissions(dirs.project_config(), fs::Permissions::from_mode(0o444)).unwrap();
    let report = switch(&dirs.locations(), false).unwrap();
    assert_eq!(
        report.not_switched.unwrap().reason,
        format!("{} is read-only; telemetry setting not changed", dirs.project_config().display())
    );
    assert_eq!(read(&dirs.project_config()), "[runtime]\ndlthub_telemetry = true\n");
    assert_eq!(read(&dirs.global_config()), "[runtime]\ndlthub_telemetry = false\n");
}

// Unix only: a folder made read-only by its mode.
#[cfg(unix)]
#[test]
fn a_read_only_dir_is_reported() {
    use std::os::unix::fs::PermissionsExt;
    let dirs = Dirs::new();
    write(&dirs.global_config(), "[runtime]\ndlthub_telemetry = true\n");
    let global_dir = dirs.locations().global_dir;
    fs::set_permissions(&global_dir, fs::Permissions::from_mode(0o555)).unwrap();
    let error = switch(&dirs.locations(), false).unwrap_err();
    fs::set_permissions(&global_dir, fs::Permissions::from_mode(0o755)).unwrap();
    assert!(matches!(&error, SwitchError::ReadOnlyDir { dir } if dir == &global_dir), "{error:?}");
    assert_eq!(read(&dirs.global_config()), "[runtime]\ndlthub_telemetry = true\n");
}

// Unix only: creating a symlink needs no privilege there.
#[cfg(unix)]
#[test]
fn a_symlinked_config_is_edited_where_it_points() {
    let dirs = Dirs::new();
    let shared = dirs.project.path().join("shared-config.toml");
    write(&shared, "[runtime]\ndlthub_telemetry = true\n");
    fs::create_dir_all(dirs.locations().settings_dir).unwrap();
    std::os::unix::fs::symlink(&shared, dirs.project_config()).unwrap();
    switch(&dirs.locations(), false).unwrap();
    assert!(fs::symlink_metadata(dirs.project_config()).unwrap().file_type().is_symlink());
    assert_eq!(read(&shared), "[runtime]\ndlthub_telemetry = false\n");
}

/// A project `config.toml` that leads out of the project dir (the file, or the `.dlt` folder, is
/// a link to another project's file) is not the project's: the switch does not edit it, says
/// so, and switches the global file all the same.
#[cfg(unix)]
#[test]
fn a_project_config_that_leads_out_of_the_project_is_not_edited_and_the_global_one_is() {
    for link in ["config.toml", ".dlt"] {
        let dirs = Dirs::new();
        let other = tempfile::tempdir().unwrap();
        let others_config = other.path().join("config.toml");
        write(&others_config, "# another project's\n[runtime]\ndlthub_telemetry = true\n");
        let locations = dirs.locations();
        if link == ".dlt" {
            std::os::unix::fs::symlink(other.path(), &locations.settings_dir).unwrap();
        } else {
            fs::create_dir_all(&locations.settings_dir).unwrap();
            std::os::unix::fs::symlink(&others_config, locations.project_config_toml()).unwrap();
        }
        let report = switch(&locations, false).unwrap();
        assert_eq!(report.written, [locations.global_config_toml()], "{link}");
        assert_eq!(read(&locations.global_config_toml()), "[runtime]\ndlthub_telemetry = false\n", "{link}");
        assert_eq!(read(&others_config), "# another project's\n[runtime]\ndlthub_telemetry = true\n", "{link}");
        assert_eq!(entries(other.path()), ["config.toml"], "{link}: no temporary file beside it");
        let [outside] = &report.outside_project[..] else { panic!("{link}: {report:?}") };
        assert_eq!(outside.path, locations.project_config_toml(), "{link}");
        assert_eq!(outside.target, fs::canonicalize(&others_config).unwrap(), "{link}");
    }
}

#[test]
fn project_settings_dir_equal_to_global_dir_is_written_once() {
    let dirs = Dirs::new();
    let settings = dirs.project.path().join(".dlt");
    let env = dirs.env(&[("DLT_GLOBAL_DIR", settings.to_str().unwrap())]);
    let locations = dlt_config::Locations::resolve(&env).unwrap();
    write(&locations.project_config_toml(), "[runtime]\ndlthub_telemetry = true\n");
    let report = switch(&locations, false).unwrap();
    assert_eq!(report.written, [locations.global_config_toml()]);
    assert_eq!(read(&locations.global_config_toml()), "[runtime]\ndlthub_telemetry = false\n");
}

/// Odd bytes in the project's file: the switch writes each file so that it holds the value or
/// leaves it as it was, and never panics. Switching on is all or nothing; switching off always
/// switches the global file, whatever the project's holds.
#[test]
fn arbitrary_file_bytes_never_panic_and_never_half_write() {
    let seed_text = "# c\n[runtime]\nlog_level = \"INFO\"\ndlthub_telemetry = true\n[x]\ny = { a = 1 }\n";
    let mut rng = fastrand::Rng::with_seed(7_302_026);
    let dirs = Dirs::new();
    for enabled in [false, true] {
        let before = format!("[runtime]\ndlthub_telemetry = {}\n", !enabled);
        let mut outcomes = (0, 0);
        for _ in 0..300 {
            let bytes = mutate(&mut rng, seed_text, 6);
            write(&dirs.project_config(), &bytes);
            write(&dirs.global_config(), &before);
            match switch(&dirs.locations(), enabled) {
                Ok(report) => {
                    if bytes.is_empty() {
                        assert_eq!(report.written, [dirs.global_config()]);
                        assert!(fs::read(dirs.project_config()).unwrap().is_empty());
                    }
                    if report.not_switched.is_some() {
                        assert!(!enabled);
                        assert_eq!(fs::read(dirs.project_config()).unwrap(), bytes);
                        outcomes.1 += 1;
                    } else {
                        outcomes.0 += 1;
                    }
                    assert!(report.written.contains(&dirs.global_config()), "{report:?}");
                    for path in report.written {
                        let text = read(&path);
                        let document: toml_edit::DocumentMut = text.parse().unwrap();
                        let value = document.get("runtime").and_then(|runtime| runtime.get("dlthub_telemetry"));
                        assert_eq!(value.and_then(toml_edit::Item::as_bool), Some(enabled), "{text:?}");
                    }
                }
                Err(_) => {
                    assert!(enabled, "switching off never fails for the project's file");
                    assert_eq!(fs::read(dirs.project_config()).unwrap(), bytes);
                    assert_eq!(read(&dirs.global_config()), before);
                    outcomes.1 += 1;
                }
            }
        }
        assert!(outcomes.0 > 0 && outcomes.1 > 0, "{outcomes:?}");
    }
}

#[cfg(unix)]
#[test]
fn a_dangling_symlink_is_an_error_and_stays_a_symlink() {
    let dirs = Dirs::new();
    let config = dirs.global_config();
    std::os::unix::fs::symlink(dirs.global.path().join("elsewhere.toml"), &config).unwrap();
    let error = switch(&dirs.locations(), false).unwrap_err();
    assert!(matches!(error, SwitchError::Write { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!("cannot write {}: it is a symbolic link to a file that does not exist", config.display())
    );
    assert!(fs::symlink_metadata(&config).unwrap().file_type().is_symlink());
}

#[test]
fn a_byte_order_mark_is_kept() {
    let dirs = Dirs::new();
    write(&dirs.project_config(), "\u{feff}# mine\n[runtime]\ndlthub_telemetry = true\n");
    switch(&dirs.locations(), false).unwrap();
    assert_eq!(read(&dirs.project_config()), "\u{feff}# mine\n[runtime]\ndlthub_telemetry = false\n");
}

/// Many switches at once, each under the lock: every one reads what the previous wrote, so the
/// file stays valid, keeps every comment and ends with the last switch's value.
#[test]
fn concurrent_switches_never_lose_an_edit() {
    let dirs = Dirs::new();
    let original =
        "# top\n[runtime]\nlog_level = \"INFO\" # keep\ndlthub_telemetry = true\n\n[sources.x]\n# inner\nkey = 1\n";
    write(&dirs.project_config(), original);
    let locations = dirs.locations();
    std::thread::scope(|scope| {
        for index in 0..24 {
            let locations = &locations;
            scope.spawn(move || switch(locations, index % 2 == 0).unwrap());
        }
    });
    let last = switch(&locations, false).unwrap();
    assert!(last.written.len() + last.unchanged.len() == 2);
    for path in [dirs.project_config(), dirs.global_config()] {
        let text = read(&path);
        assert!(text.contains("dlthub_telemetry = false"), "{text}");
    }
    assert_eq!(read(&dirs.project_config()), original.replace("dlthub_telemetry = true", "dlthub_telemetry = false"));
    assert_eq!(entries(&locations.settings_dir), ["config.toml"]);
}
