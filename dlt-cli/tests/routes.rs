//! Routes around the privacy promises, closed: what `dlt init` accepts and sends, the opt-out
//! switches coming first for every command clap knows, and credentials that stay with their
//! endpoints.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;

use clap::CommandFactory as _;
use dlt_cli::cli::Cli;
use dlt_telemetry_model::anonymous::WITHHELD;
use dlt_test_support::Answer;

mod common;

use common::{Machine, stderr, stdout};

const PATH: &str = "/home/alice/crm_src";
const URL: &str = "postgres://loader:S3cr3t@db.internal/x";

#[test]
fn init_refuses_a_path_or_a_url_creates_nothing_and_sends_neither() {
    let cases = [(PATH, URL), (PATH, "duckdb"), ("chess", URL), ("Chess", "duckdb"), ("chess", "mysql")];
    for (source, destination) in cases {
        let machine = Machine::new();
        let output = machine.dlt(&["init", source, destination], &[]);
        assert_eq!(output.status.code(), Some(2), "{source} {destination}: {}", stderr(&output));
        let error = stderr(&output);
        assert_eq!(error.lines().count(), 1, "one line: {error}");
        assert!(
            error.starts_with("error: the source name must be snake_case")
                || error.contains("the destination must be one of dlt's destinations"),
            "{error}"
        );
        for value in ["alice", "crm_src", "S3cr3t", "loader", "db.internal"] {
            assert!(!error.contains(value) && !stdout(&output).contains(value), "{value} printed: {error}");
        }
        assert!(!machine.project().join(".dlt").exists(), "nothing created for {source} {destination}");

        let requests = machine.endpoint.requests();
        assert_eq!(requests.len(), 1, "the failed command's event");
        let body = requests[0].body_text();
        for value in ["alice", "crm_src", "S3cr3t", "loader", "db.internal", "Chess", "mysql"] {
            assert!(!body.contains(value), "{value} sent: {body}");
        }
        let message = &requests[0].track_messages().unwrap()[0];
        assert_eq!(message.event, "command_init");
        assert_eq!(message.properties["success"], false);
        assert_eq!(message.properties["pipeline_name"], WITHHELD, "neither value, even the valid one");
        assert_eq!(message.properties["destination_name"], WITHHELD);
    }
}

#[test]
fn init_accepts_dlts_names_and_dotted_references_and_sends_them() {
    for (source, destination) in [("chess", "duckdb"), ("rest_api", "dlt.destinations.postgres")] {
        let machine = Machine::new();
        let output = machine.dlt(&["init", source, destination], &[]);
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let message = &machine.received()[0];
        assert_eq!(message.properties["pipeline_name"], source);
        assert_eq!(message.properties["destination_name"], destination);
        assert_eq!(message.properties["success"], true);
    }
}

/// Every command line clap accepts, hidden commands included (`help` aside: clap answers it
/// before any command runs, and it sends nothing), with its required arguments filled in.
fn every_command_line() -> Vec<Vec<String>> {
    fn walk(command: &clap::Command, prefix: Vec<String>, lines: &mut Vec<Vec<String>>) {
        let mut line = prefix;
        line.extend(command.get_positionals().filter(|arg| arg.is_required_set()).map(|_| "chess".to_owned()));
        let subcommands: Vec<_> = command.get_subcommands().filter(|sub| sub.get_name() != "help").collect();
        if subcommands.is_empty() || !command.is_subcommand_required_set() {
            lines.push(line.clone());
        }
        for sub in subcommands {
            let mut prefix = line.clone();
            prefix.push(sub.get_name().to_owned());
            walk(sub, prefix, lines);
        }
    }
    let mut lines = Vec::new();
    walk(&Cli::command(), Vec::new(), &mut lines);
    lines
}

/// A machine whose endpoint failed once, so that a message waits in its outbox for the hidden
/// sender to deliver; the endpoint then accepts everything.
fn machine_with_a_message_waiting() -> Machine {
    let machine = Machine::new();
    machine.endpoint.set_answer(Answer::status(503));
    let output = machine.dlt(&["telemetry"], &[("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "0.2")]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(machine.waiting().0, 1, "one message waits");
    machine.endpoint.set_answer(Answer::ok());
    machine
}

#[test]
fn the_switches_come_first_for_every_command_clap_knows() {
    let lines = every_command_line();
    let names: Vec<String> = lines.iter().map(|line| line.join(" ")).collect();
    for expected in ["", "telemetry", "init chess chess", "pipeline chess trace"] {
        assert!(names.iter().any(|name| name == expected), "{expected:?} not among {names:?}");
    }
    for line in lines {
        let args: Vec<&str> = line.iter().map(String::as_str).collect();

        // The command's own exit status, which a switch before it does not change (a bare
        // switch is a command of its own and succeeds).
        let alone = Machine::new().dlt(&args, &[("RUNTIME__DLTHUB_TELEMETRY", "false")]).status.code();
        let expected = if args.is_empty() { Some(0) } else { alone };

        let machine = machine_with_a_message_waiting();
        let before = machine.endpoint.requests().len();
        let output = machine.dlt(&[&["--disable-telemetry"], &args[..]].concat(), &[]);
        assert_eq!(output.status.code(), expected, "{line:?}: {}", stderr(&output));
        assert!(stdout(&output).starts_with("Telemetry switched OFF\n"), "{line:?}: {}", stderr(&output));
        assert!(
            fs::read_to_string(machine.global().join("config.toml")).unwrap().contains("dlthub_telemetry = false"),
            "{line:?}"
        );
        assert!(machine.global().join("telemetry/opt-out").exists(), "{line:?}: the opt-out is recorded");
        assert_eq!(machine.endpoint.requests().len(), before, "{line:?}: nothing sent after --disable-telemetry");
        assert_eq!(machine.waiting().0, 0, "{line:?}: what waited is deleted, not delivered");

        let machine = machine_with_a_message_waiting();
        let output = machine.dlt(&[&["--enable-telemetry"], &args[..]].concat(), &[]);
        assert_eq!(output.status.code(), expected, "{line:?}: {}", stderr(&output));
        assert!(stdout(&output).starts_with("Telemetry switched ON\n"), "{line:?}: {}", stderr(&output));
        assert!(
            fs::read_to_string(machine.global().join("config.toml")).unwrap().contains("dlthub_telemetry = true"),
            "{line:?}"
        );
    }
}

/// A cloned repository's `.dlt/config.toml` names an endpoint; the write key is the user's own.
#[test]
fn a_project_cannot_redirect_a_write_key_from_the_users_own_files_or_environment() {
    for place in ["global secrets.toml", "environment"] {
        let machine = Machine::new();
        let endpoint = machine.endpoint_url();
        fs::create_dir_all(machine.project().join(".dlt")).unwrap();
        fs::write(
            machine.project().join(".dlt/config.toml"),
            format!("[runtime]\ndlthub_telemetry_endpoint = \"{endpoint}\"\n"),
        )
        .unwrap();
        let mut vars = vec![];
        if place == "environment" {
            vars.push(("RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY", "wk_users_own"));
        } else {
            fs::write(
                machine.global().join("secrets.toml"),
                "[runtime]\ndlthub_telemetry_segment_write_key = \"wk_users_own\"\n",
            )
            .unwrap();
        }
        let output = machine.dlt_endpoint_from_files(&["telemetry"], &vars);
        assert_eq!(output.status.code(), Some(0), "{place}: {}", stderr(&output));
        let warning = stderr(&output);
        assert_eq!(warning.matches("warning: ").count(), 1, "{place}: one warning: {warning}");
        assert!(warning.contains("runtime.dlthub_telemetry_segment_write_key"), "{warning}");
        assert!(warning.contains(&machine.project().join(".dlt/config.toml").display().to_string()), "{warning}");
        assert!(!warning.contains("wk_users_own"), "{warning}");
        assert!(stdout(&output).contains("not sent: runtime.dlthub_telemetry_segment_write_key"), "{place}");

        let requests = machine.endpoint.requests();
        assert_eq!(requests.len(), 1, "{place}: the event goes, without the key");
        assert_eq!(requests[0].header("authorization"), None, "{place}: the key stays home");

        let json: serde_json::Value =
            serde_json::from_str(&stdout(&machine.dlt_endpoint_from_files(&["telemetry", "--json"], &vars))).unwrap();
        let withheld = &json["credentials_withheld"][0];
        assert_eq!(withheld["credential"], "runtime.dlthub_telemetry_segment_write_key", "{json}");
        assert_eq!(withheld["endpoint_source"], machine.project().join(".dlt/config.toml").display().to_string());
    }
}

/// A cloned repository ships `.dlt/secrets.toml` (or `config.toml`) as a link to one of the
/// user's own global files (a fixed path for root, `/var/dlt/secrets.toml`; or
/// `../../../.dlt/secrets.toml` from a clone in `~/src/<repo>`), and names its own endpoint in
/// the other project file. The key in the user's file must not count as the project's.
#[cfg(unix)]
#[test]
fn a_project_cannot_pass_the_users_own_files_off_as_its_own_through_a_link() {
    for (link, target, endpoint_file) in [
        ("secrets.toml", "secrets.toml", "config.toml"),
        ("secrets.toml", "config.toml", "config.toml"),
        ("config.toml", "config.toml", "secrets.toml"),
    ] {
        let case = format!(".dlt/{link} linked to the global {target}, the endpoint in .dlt/{endpoint_file}");
        let machine = Machine::new();
        fs::write(machine.global().join(target), "[runtime]\ndlthub_telemetry_segment_write_key = \"wk_users_own\"\n")
            .unwrap();
        let settings = machine.project().join(".dlt");
        fs::create_dir_all(&settings).unwrap();
        std::os::unix::fs::symlink(machine.global().join(target), settings.join(link)).unwrap();
        fs::write(
            settings.join(endpoint_file),
            format!("[runtime]\ndlthub_telemetry_endpoint = \"{}\"\n", machine.endpoint_url()),
        )
        .unwrap();

        let output = machine.dlt_endpoint_from_files(&["telemetry"], &[]);
        assert_eq!(output.status.code(), Some(0), "{case}: {}", stderr(&output));
        assert!(stdout(&output).contains("not sent: runtime.dlthub_telemetry_segment_write_key"), "{case}");
        let requests = machine.endpoint.requests();
        assert_eq!(requests.len(), 1, "{case}: the event goes, without the key");
        assert_eq!(requests[0].header("authorization"), None, "{case}: the user's key went to the project's endpoint");
    }
}

/// The same route through a file of the user's that is not a global file: another project's
/// `secrets.toml` holding the user's key (`../other_project/.dlt/secrets.toml` from a clone
/// beside it). A project file that leads out of the project dir is not the project's.
#[cfg(unix)]
#[test]
fn a_project_cannot_pass_another_file_of_the_users_off_as_its_own_through_a_link() {
    let machine = Machine::new();
    let other_project = machine.root.path().join("other_project/.dlt");
    fs::create_dir_all(&other_project).unwrap();
    fs::write(other_project.join("secrets.toml"), "[runtime]\ndlthub_telemetry_segment_write_key = \"wk_users_own\"\n")
        .unwrap();
    let settings = machine.project().join(".dlt");
    fs::create_dir_all(&settings).unwrap();
    std::os::unix::fs::symlink("../../other_project/.dlt/secrets.toml", settings.join("secrets.toml")).unwrap();
    fs::write(
        settings.join("config.toml"),
        format!("[runtime]\ndlthub_telemetry_endpoint = \"{}\"\n", machine.endpoint_url()),
    )
    .unwrap();

    let output = machine.dlt_endpoint_from_files(&["telemetry"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let requests = machine.endpoint.requests();
    assert_eq!(requests.len(), 1, "the event goes");
    assert_eq!(requests[0].header("authorization"), None, "the user's key went to the project's endpoint");
}

/// A cloned repository's `.dlt/config.toml` is a link to another project's `config.toml` (or its
/// `.dlt` a link to that project's folder). Neither switch nor `dlt init` writes through it, in a
/// project named by `DLT_PROJECT_DIR` or found as the current dir: each says which file it left
/// alone and where it leads, the global file is switched, and the opt-out holds.
#[cfg(unix)]
#[test]
fn the_switches_and_init_never_write_through_a_project_file_that_leads_out_of_the_project() {
    const THEIRS: &str = "# the other project's\n[runtime]\ndlthub_telemetry = true\n";
    for (link, target) in
        [(".dlt/config.toml", "../../other_project/.dlt/config.toml"), (".dlt", "../other_project/.dlt")]
    {
        for project_dir_variable in [true, false] {
            let case = format!("{link} -> {target}, DLT_PROJECT_DIR set: {project_dir_variable}");
            let machine = Machine::new();
            let others = machine.root.path().join("other_project/.dlt");
            fs::create_dir_all(&others).unwrap();
            fs::write(others.join("config.toml"), THEIRS).unwrap();
            fs::create_dir_all(machine.project().join(".dlt").parent().unwrap()).unwrap();
            if link == ".dlt/config.toml" {
                fs::create_dir_all(machine.project().join(".dlt")).unwrap();
            }
            std::os::unix::fs::symlink(target, machine.project().join(link)).unwrap();
            let project =
                if project_dir_variable { machine.project() } else { fs::canonicalize(machine.project()).unwrap() };
            let project_config = project.join(".dlt/config.toml").display().to_string();
            let run = |args: &[&str]| {
                let mut command = machine.command(args, &[("RUNTIME__TELEMETRY_DETACHED_SENDER", "false")]);
                if !project_dir_variable {
                    command.env_remove("DLT_PROJECT_DIR");
                }
                let output = command.output().unwrap();
                assert_eq!(output.status.code(), Some(0), "{case} {args:?}: {}", stderr(&output));
                let warning = stderr(&output);
                assert_eq!(warning.matches("warning: ").count(), 1, "{case} {args:?}: {warning}");
                assert!(
                    warning.contains(&format!("warning: {project_config} leads to "))
                        && warning.contains("outside the project dir"),
                    "{case} {args:?}: {warning}"
                );
                output
            };
            let others_untouched = |when: &str| {
                assert_eq!(
                    fs::read_to_string(others.join("config.toml")).unwrap(),
                    THEIRS,
                    "{case}: written through after {when}"
                );
                assert_eq!(
                    fs::read_dir(&others).unwrap().count(),
                    1,
                    "{case}: something created beside it after {when}"
                );
            };

            let output = run(&["--disable-telemetry"]);
            assert!(stdout(&output).starts_with("Telemetry switched OFF\n"), "{case}");
            others_untouched("--disable-telemetry");
            let global = fs::read_to_string(machine.global().join("config.toml")).unwrap();
            assert!(global.contains("dlthub_telemetry = false"), "{case}: {global}");
            assert!(machine.global().join("telemetry/opt-out").exists(), "{case}: the opt-out is recorded");
            run(&["telemetry"]);
            assert_eq!(machine.endpoint.requests().len(), 0, "{case}: the opt-out holds");

            let output = run(&["--enable-telemetry"]);
            assert!(stdout(&output).starts_with("Telemetry switched ON\n"), "{case}");
            others_untouched("--enable-telemetry");

            let output = run(&["init", "chess", "duckdb"]);
            others_untouched("init");
            let text = stdout(&output);
            assert!(text.contains(&format!("Not written {project_config} (it leads to ")), "{case}: {text}");
        }
    }
}

#[test]
fn a_write_key_goes_with_an_endpoint_set_as_trusted_or_more() {
    let machine = Machine::new();
    fs::write(
        machine.global().join("config.toml"),
        format!("[runtime]\ndlthub_telemetry_endpoint = \"{}\"\n", machine.endpoint_url()),
    )
    .unwrap();
    fs::create_dir_all(machine.project().join(".dlt")).unwrap();
    fs::write(
        machine.project().join(".dlt/secrets.toml"),
        "[runtime]\ndlthub_telemetry_segment_write_key = \"wk_project\"\n",
    )
    .unwrap();
    let output = machine.dlt_endpoint_from_files(&["telemetry"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
    let requests = machine.endpoint.requests();
    assert!(requests[0].header("authorization").is_some_and(|value| value.starts_with("Basic ")));
}

/// The OTLP headers come from the environment; a project file's `runtime.otlp_endpoint` does
/// not get them.
#[test]
fn a_project_cannot_redirect_the_otlp_headers_of_the_environment() {
    let machine = Machine::new();
    let collector = dlt_test_support::OtlpReceiver::start().unwrap();
    fs::create_dir_all(machine.project().join(".dlt")).unwrap();
    fs::write(
        machine.project().join(".dlt/config.toml"),
        format!("[runtime]\notlp_endpoint = \"{}\"\n", collector.url()),
    )
    .unwrap();
    let vars = [("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer tok_SECRET_1234")];
    let output = machine.dlt(&["telemetry", "--json"], &vars);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let warning = stderr(&output);
    assert_eq!(warning.matches("warning: ").count(), 1, "{warning}");
    assert!(warning.contains("OTEL_EXPORTER_OTLP_HEADERS") && warning.contains("runtime.otlp_endpoint"), "{warning}");
    assert!(!warning.contains("tok_SECRET"), "{warning}");
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["credentials_withheld"][0]["credential"], "OTEL_EXPORTER_OTLP_HEADERS", "{json}");

    let spans = collector.wait_for_spans(1, std::time::Duration::from_secs(10)).unwrap();
    assert_eq!(spans[0].name(), "dlt telemetry", "traces still go, without the headers");
    assert_eq!(collector.requests()[0].header("authorization"), None);

    // Set in the environment too, the endpoint gets them.
    let collector = dlt_test_support::OtlpReceiver::start().unwrap();
    let vars = [vars[0], ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.url())];
    let output = machine.dlt(&["telemetry"], &vars);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("warning"), "{}", stderr(&output));
    collector.wait_for_spans(1, std::time::Duration::from_secs(10)).unwrap();
    assert_eq!(collector.requests()[0].header("authorization"), Some("Bearer tok_SECRET_1234"));
}

/// A project (a cloned repository) may name its own endpoints; `dlt telemetry` says which file
/// set each, so that it is seen, and says nothing for a built-in default.
#[test]
fn the_status_names_the_file_or_variable_that_set_each_endpoint() {
    let machine = Machine::new();
    let collector = dlt_test_support::OtlpReceiver::start().unwrap();
    let settings = machine.project().join(".dlt");
    fs::create_dir_all(&settings).unwrap();
    let config = settings.join("config.toml");
    fs::write(
        &config,
        format!(
            "[runtime]\ndlthub_telemetry_endpoint = \"{}\"\notlp_endpoint = \"{}\"\n",
            machine.endpoint_url(),
            collector.url()
        ),
    )
    .unwrap();
    let secrets = settings.join("secrets.toml");
    fs::write(&secrets, "[runtime]\nsentry_dsn = \"http://k3y@127.0.0.1:9/1\"\n").unwrap();

    let output = machine.dlt_endpoint_from_files(&["telemetry"], &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    let from = |path: &std::path::Path| format!(", from {}\n", path.display());
    assert!(text.contains(&format!("  endpoint: {}{}", machine.endpoint_url(), from(&config))), "{text}");
    assert!(text.contains(&format!("  sentry dsn: set{}", from(&secrets))), "{text}");
    assert!(text.contains(&format!("  opentelemetry: {}", collector.url())) && text.contains(&from(&config)), "{text}");

    let output = machine.dlt_endpoint_from_files(&["telemetry", "--json"], &[]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["telemetry"]["endpoint_source"], config.display().to_string());
    assert_eq!(json["sentry"]["dsn_source"], secrets.display().to_string());
    assert_eq!(json["opentelemetry"]["endpoint_source"], config.display().to_string());

    // From the environment, the variable is named; unset, nothing is said.
    fs::remove_file(&config).unwrap();
    fs::remove_file(&secrets).unwrap();
    let vars = [("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url())];
    let output = machine.dlt(&["telemetry", "--json"], &[(vars[0].0, vars[0].1.as_str())]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(json["telemetry"]["endpoint_source"], "RUNTIME__DLTHUB_TELEMETRY_ENDPOINT (environment)");
    assert_eq!(json["opentelemetry"]["endpoint_source"], "OTEL_EXPORTER_OTLP_ENDPOINT (environment)");
    assert_eq!(json["sentry"]["dsn_source"], serde_json::Value::Null);
    let output = machine.dlt(&["telemetry"], &[]);
    assert!(stdout(&output).contains("  sentry dsn: not set\n  opentelemetry: off\n"), "{}", stdout(&output));
}
