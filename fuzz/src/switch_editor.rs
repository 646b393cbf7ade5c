//! The telemetry switch writer: any bytes as the project `config.toml`, switched off, then on.
//! Never a panic; a refusal leaves the file as it was; a switch that succeeds leaves a file that
//! parses, keeps every comment line and every key but `runtime.dlthub_telemetry`, and
//! `Config::load_at` reads the new value back.

use std::ffi::OsString;
use std::sync::OnceLock;

use dlt_config::{Config, Environment, Locations, SwitchLock, set_telemetry};

use crate::toml_checks::{check_edit, check_read_back};

struct Sandbox {
    env: Environment,
    locations: Locations,
}

fn sandbox() -> &'static Sandbox {
    static SANDBOX: OnceLock<Sandbox> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let dir = crate::sandbox_dir("switch_editor");
        let env = Environment::from_pairs([
            ("DLT_PROJECT_DIR", OsString::from(dir.join("project"))),
            ("DLT_GLOBAL_DIR", OsString::from(dir.join("global"))),
        ]);
        let locations = Locations::resolve(&env).expect("explicit dirs resolve");
        std::fs::create_dir_all(&locations.settings_dir).expect("settings dir");
        Sandbox { env, locations }
    })
}

/// Switches a project `config.toml` holding `data` off, then on.
pub fn check(data: &[u8]) {
    let sandbox = sandbox();
    let project = sandbox.locations.project_config_toml();
    crate::remove_file(&sandbox.locations.global_config_toml());
    std::fs::write(&project, data).expect("the sandbox is writable");

    for enabled in [false, true] {
        let before = std::fs::read(&project).expect("the project file stays");
        let switched =
            SwitchLock::acquire(&sandbox.locations).and_then(|lock| set_telemetry(&lock, &sandbox.locations, enabled));
        let after = std::fs::read(&project).expect("the project file stays");
        match switched {
            Err(error) => {
                assert_eq!(after, before, "a refused switch changed the file ({error})");
                assert!(!error.to_string().is_empty());
                return;
            }
            Ok(report) => {
                let written = report.written.contains(&project);
                let unchanged = report.unchanged.contains(&project);
                if data.is_empty() {
                    assert!(after.is_empty() && !written && !unchanged, "an empty project file was edited");
                } else {
                    assert!(written != unchanged, "the project file is not in the report: {report:?}");
                    assert_eq!(unchanged, after == before, "the report says {report:?}");
                    let original = std::str::from_utf8(data).expect("a switched file was UTF-8");
                    if let Err(failure) = check_edit(original, &after, enabled) {
                        panic!("{failure}");
                    }
                }
                let global = std::fs::read_to_string(sandbox.locations.global_config_toml()).expect("global file");
                assert_eq!(global, format!("[runtime]\ndlthub_telemetry = {enabled}\n"));
                if let Err(failure) =
                    check_read_back(Config::load_at(sandbox.locations.clone(), sandbox.env.clone()), enabled)
                {
                    panic!("{failure}");
                }
            }
        }
    }
}
