//! The telemetry switch writer: any bytes as the project `config.toml`, switched off, then on.
//! Never a panic; switching off never fails (a project file it cannot edit is reported as not
//! switched, left as it was, and the global file is switched all the same); a refusal of switching
//! on leaves the file as it was and says why; a switch that succeeds
//! reports the file as written or unchanged (as it is), leaves a file that parses, keeps every
//! comment line and every key but `runtime.dlthub_telemetry`, writes the global file, and
//! `Config::load_at` reads the new value back. An empty project file is left alone.
//!
//! Fuzz input: the file's bytes.

use std::ffi::OsString;
use std::path::Path;

use dlt_config::{Config, Environment, Locations, SwitchLock, set_telemetry};

use crate::toml_checks::{check_edit, check_read_back};

/// Switches a project `config.toml` holding `bytes` off, then on, in a project and global dir
/// under `scratch`.
pub fn check(scratch: &Path, bytes: &[u8]) -> Result<(), String> {
    let env = Environment::from_pairs([
        ("DLT_PROJECT_DIR", OsString::from(scratch.join("project"))),
        ("DLT_GLOBAL_DIR", OsString::from(scratch.join("global"))),
    ]);
    let locations = Locations::resolve(&env).map_err(|error| format!("the scratch dirs do not resolve: {error}"))?;
    crate::create_dir(&locations.settings_dir)?;
    let project = locations.project_config_toml();
    crate::remove_file(&locations.global_config_toml())?;
    crate::write(&project, bytes)?;

    for enabled in [false, true] {
        let before = crate::read(&project)?;
        let switched = SwitchLock::acquire(&locations).and_then(|lock| set_telemetry(&lock, &locations, enabled));
        let after = crate::read(&project)?;
        let report = match switched {
            Ok(report) => report,
            Err(error) if !enabled => return Err(format!("switching off failed for the project's file ({error})")),
            Err(error) if after != before => return Err(format!("a refused switch changed the file ({error})")),
            Err(error) if error.to_string().is_empty() => return Err("a refusal that says nothing".into()),
            Err(_) => return Ok(()),
        };
        if let Some(not_switched) = &report.not_switched {
            if enabled || not_switched.path != project || after != before {
                return Err(format!("a file the opt-out could not switch was reported or changed wrongly: {report:?}"));
            }
            let global = String::from_utf8_lossy(&crate::read(&locations.global_config_toml())?).into_owned();
            if global != "[runtime]\ndlthub_telemetry = false\n" {
                return Err(format!("the global file was not switched off all the same: {global:?}"));
            }
            return Ok(());
        }
        let written = report.written.contains(&project);
        let unchanged = report.unchanged.contains(&project);
        if bytes.is_empty() {
            if !after.is_empty() || written || unchanged {
                return Err(format!("an empty project file was edited: {report:?}"));
            }
        } else {
            if written == unchanged || unchanged != (after == before) {
                return Err(format!("the report does not say what happened to the project file: {report:?}"));
            }
            let original = std::str::from_utf8(bytes).map_err(|_| "a file that is not UTF-8 was switched")?;
            check_edit(original, &after, enabled)?;
        }
        let global = String::from_utf8_lossy(&crate::read(&locations.global_config_toml())?).into_owned();
        if global != format!("[runtime]\ndlthub_telemetry = {enabled}\n") {
            return Err(format!("the global file after a switch to {enabled}: {global:?}"));
        }
        check_read_back(Config::load_at(locations.clone(), env.clone()), enabled)?;
    }
    Ok(())
}

/// The fuzz target's entry point: the input is the file.
pub fn check_input(scratch: &Path, data: &[u8]) -> Result<(), String> {
    check(&scratch.join("switch_editor"), data)
}
