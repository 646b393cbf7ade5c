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
