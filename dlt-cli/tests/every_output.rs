//! Every output, with generated credentials planted everywhere a user might: no secret ever
//! comes out.
//!
//! Each case generates credentials (user names, passwords, tokens, query values, fragments)
//! from all printable ASCII but whitespace, each around a marker only it has, builds URLs of
//! every shape with them (`scheme://user:password@host:port/path?query#fragment`, a user name
//! alone, a password alone, query values alone; written raw or percent-encoded; schemes http,
//! https, postgres, postgresql, snowflake, s3, mssql+pyodbc) and plants them: the Segment
//! endpoint, write key and Sentry DSN (each in the environment, a global or a project file),
//! the OTLP endpoint (`OTEL_EXPORTER_OTLP_ENDPOINT` or `runtime.otlp_endpoint` in a global or
//! project file) and `OTEL_EXPORTER_OTLP_HEADERS`, `HTTPS_PROXY` (unusable) and `HTTP_PROXY` (a
//! loopback forward proxy), both `secrets.toml` files (destination credentials, a connection
//! string), the Sentry `pipeline_name` tag, a host's pipeline name, dataset name, step info,
//! step error and log lines, a `trace.json` as an older writer kept it (secrets in clear), and
//! the arguments of `dlt init` and `dlt pipeline`. Every credential the secret set holds on its
//! own is also quoted bare in the step error and the old trace.
//!
//! Then it runs what a user runs, against loopback receivers only: a host's pipeline run (in
//! this process, its Segment endpoint cutting every connection so that an outbox is kept),
//! `dlt telemetry` (text and JSON), `dlt init`, `dlt pipeline <name> trace` (text and JSON; the
//! old trace, the host's, a name that is a URL, one that is a password), the detached sender (as
//! `dlt` starts it, waited for) and `dlt --disable-telemetry`. It collects every output:
//! each request the Segment, Sentry and OTLP receivers got (request line, headers with `Basic`
//! credentials decoded, body, gunzipped when compressed), stdout and stderr of every process,
//! what the host is handed (its start issues, status, shutdown summary, the trace its run
//! returns, the error of a trace not saved), what every crate logs in the host (every level),
//! and every file under the global, project, home, data and temporary dirs, by name and
//! content, after the host run, after the sender and at the end. A file the user wrote counts
//! only with the lines that are not the user's own.
//!
//! No credential may appear in any of them (whole, quoted with `\"` and `\\`, percent-decoded,
//! or in part: its marker) except where it is sent on purpose, a receiver's own credentials in
//! its request line and headers: the Segment endpoint's user info and query values, and the
//! write key when it may travel to that endpoint; the Sentry DSN's key, also in the envelope's
//! header line; the OTLP endpoint's user info, and the OTLP headers when the endpoint is set in
//! the environment. The credentials of the earlier cases may appear nowhere: the cases share
//! this process, as a host that starts tracing again shares it with its earlier configuration.
//!
//! Not covered here: what the forward proxy sees (a plain-HTTP proxy sees what it forwards, by
//! nature), the sender started detached (it runs here in the foreground), TLS endpoints, a user
//! name beside a password quoted apart from its URL (not a secret on its own: often a common
//! word), and a host's pipeline name that is a credential (names go in clear to the user's own
//! Sentry and collector).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::io::{self, Read as _, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{eventually, terminate};
use dlt_config::Environment;
use dlt_runtime_trace::{InitOptions, PipelineIdentity, RuntimeTrace, Step};
use dlt_test_support::{
    Answer, DltEnv, ForwardProxy, OtlpReceiver, RecordedRequest, Recorder, SentryReceiver, files_under, refusing_port,
};
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence, TestCaseError, TestRunner};
use tracing_subscriber::layer::SubscriberExt as _;

/// How many cases: each runs a host and ten `dlt` processes.
const CASES: u32 = 12;
/// How long the sender of a case may deliver before it is stopped.
const SENDER_WAIT: Duration = Duration::from_secs(3);
/// How many generated parts a case may use.
const POOL: usize = 64;
/// The folder of the trace an older writer kept.
const OLD_PIPELINE: &str = "old_pipeline";

// ---------------------------------------------------------------------------------------------
// Generated credentials

/// The random parts of one credential, around the marker it is given when it is used.
#[derive(Clone, Debug)]
struct Part {
    before: String,
    after: String,
}

/// A printable ASCII character other than whitespace, drawing often the ones that end URLs in
/// naive rules or need escaping somewhere.
fn credential_char() -> impl Strategy<Value = char> {
    prop_oneof![
        3 => (0x21u8..=0x7e).prop_map(char::from),
        2 => prop::sample::select(vec![
            '\'', '"', '`', '\\', '@', '/', '#', '?', ':', '%', '&', '=', ';', ',', ')', ']', '}', '+', '$',
        ]),
    ]
}

fn part() -> impl Strategy<Value = Part> {
    (prop::collection::vec(credential_char(), 0..4), prop::collection::vec(credential_char(), 2..6))
        .prop_map(|(before, after)| Part { before: before.into_iter().collect(), after: after.into_iter().collect() })
}

/// One generated credential: `<before><marker>-<after>`, at least 8 characters. The marker
/// (`Zq<case>c<nn>X`) is unique to it in the whole test and alphanumeric, so that it survives
/// every escaping: seeing it anywhere means a part of the credential came out. The `-` after
/// it keeps every credential from passing `dlt init`'s name rules (which send a name in clear).
#[derive(Clone, Debug)]
struct Credential {
    label: String,
    value: String,
    marker: String,
}

/// The credentials of one case, drawn from its pool of parts in order.
struct Credentials {
    case: usize,
    pool: std::vec::IntoIter<Part>,
    all: Vec<Credential>,
}

/// The index of a credential in [`Credentials::all`].
type Id = usize;

impl Credentials {
    fn new(case: usize, pool: Vec<Part>) -> Self {
        Self { case, pool: pool.into_iter(), all: Vec::new() }
    }

    fn next(&mut self, label: impl Into<String>) -> Id {
        let part = self.pool.next().expect("the pool holds enough parts for a case");
        let id = self.all.len();
        let marker = format!("Zq{}c{id:02}X", self.case);
        let value = format!("{}{marker}-{}", part.before, part.after);
        self.all.push(Credential { label: label.into(), value, marker });
        id
    }

    fn value(&self, id: Id) -> &str {
        &self.all[id].value
    }
}

/// Percent-encodes every byte but the unreserved ones, as a URL's user info or query value
/// holds any character.
fn encoded(value: &str) -> String {
    value
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(byte).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// A string in TOML: a basic string with `\` and `"` escaped (credentials are printable ASCII).
fn toml_string(value: &str) -> String {
    format!("\"{}\"", value.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Which credentials a URL carries.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// `scheme://user:password@host:port/path?api_key=..&token=..#fragment`
    Full,
    /// `scheme://user@host/path`, as a Sentry DSN or a token-as-user-name.
    UserOnly,
    /// `scheme://:password@host/path`
    PasswordOnly,
    /// `scheme://host/path?api_key=..&token=..`
    QueryOnly,
}

/// A URL to build: scheme, shape, and whether its credentials are written percent-encoded.
#[derive(Clone, Debug)]
struct UrlChoice {
    scheme: &'static str,
    shape: Shape,
    percent_encoded: bool,
}

fn url_choice() -> impl Strategy<Value = UrlChoice> {
    let schemes =
        prop::sample::select(vec!["http", "https", "postgres", "postgresql", "snowflake", "s3", "mssql+pyodbc"]);
    let shapes = prop::sample::select(vec![Shape::Full, Shape::UserOnly, Shape::PasswordOnly, Shape::QueryOnly]);
    (schemes, shapes, any::<bool>()).prop_map(|(scheme, shape, percent_encoded)| UrlChoice {
        scheme,
        shape,
        percent_encoded,
    })
}

/// A URL built with generated credentials.
struct BuiltUrl {
    text: String,
    /// What the secret set holds on its own: the password, or a user name alone (a token).
    alone: Vec<Id>,
    /// What is hidden only inside the URL: a user name beside a password (often a common
    /// word), the query values and the fragment.
    in_url_only: Vec<Id>,
}

/// Builds a URL of `choice` for `authority` and `path`, drawing its credentials.
fn build_url(credentials: &mut Credentials, label: &str, choice: &UrlChoice, authority: &str, path: &str) -> BuiltUrl {
    let write = |value: &str, in_query: bool| match (choice.percent_encoded, in_query) {
        (true, _) => encoded(value),
        // Raw, a `&` would end a query value: written so, it is another key, not a secret.
        (false, true) => value.replace('&', "%26"),
        (false, false) => value.to_owned(),
    };
    let mut url = BuiltUrl { text: format!("{}://", choice.scheme), alone: Vec::new(), in_url_only: Vec::new() };
    match choice.shape {
        Shape::Full => {
            let user = credentials.next(format!("{label} user name"));
            let password = credentials.next(format!("{label} password"));
            // Raw, a `:` in the user name would begin the password: it is written encoded.
            url.text.push_str(&format!(
                "{}:{}@",
                write(credentials.value(user), false).replace(':', "%3A"),
                write(credentials.value(password), false)
            ));
            url.in_url_only.push(user);
            url.alone.push(password);
        }
        Shape::UserOnly => {
            let user = credentials.next(format!("{label} user name (alone)"));
            url.text.push_str(&format!("{}@", write(credentials.value(user), false)));
            url.alone.push(user);
        }
        Shape::PasswordOnly => {
            let password = credentials.next(format!("{label} password (alone)"));
            url.text.push_str(&format!(":{}@", write(credentials.value(password), false)));
            url.alone.push(password);
        }
        Shape::QueryOnly => {}
    }
    url.text.push_str(authority);
    url.text.push_str(path);
    if matches!(choice.shape, Shape::Full | Shape::QueryOnly) {
        let api_key = credentials.next(format!("{label} query value api_key"));
        let token = credentials.next(format!("{label} query value token"));
        url.text.push_str(&format!(
            "?api_key={}&token={}",
            write(credentials.value(api_key), true),
            write(credentials.value(token), true)
        ));
        url.in_url_only.extend([api_key, token]);
    }
    if matches!(choice.shape, Shape::Full) {
        let fragment = credentials.next(format!("{label} fragment"));
        url.text.push('#');
        url.text.push_str(&write(credentials.value(fragment), false));
        url.in_url_only.push(fragment);
    }
    url
}

// ---------------------------------------------------------------------------------------------
// The plan of a case

/// Where a setting is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Place {
    Environment,
    GlobalFile,
    ProjectFile,
}

impl Place {
    /// Higher is more trusted: the environment, then the global dir's files, then the project's.
    fn trust(self) -> u8 {
        match self {
            Self::Environment => 2,
            Self::GlobalFile => 1,
            Self::ProjectFile => 0,
        }
    }
}

fn place() -> impl Strategy<Value = Place> {
    prop::sample::select(vec![Place::Environment, Place::GlobalFile, Place::ProjectFile])
}

/// What `dlt init` is given as a source or a destination.
#[derive(Clone, Copy, Debug)]
enum InitArgument {
    /// `chess` or `duckdb`: passes.
    Valid,
    /// A URL with credentials.
    Url,
    /// A password of the project's `secrets.toml`.
    Password,
}

fn init_argument() -> impl Strategy<Value = InitArgument> {
    prop::sample::select(vec![InitArgument::Valid, InitArgument::Url, InitArgument::Password])
}

/// Where the services are configured, and how.
#[derive(Clone, Debug)]
struct Services {
    segment_endpoint: Place,
    /// The Segment endpoint's shape (always `http`, mostly percent-encoded: raw, it may not
    /// parse, and then nothing starts).
    segment_url: UrlChoice,
    segment_batch: bool,
    write_key: Place,
    /// The DSN's key is written percent-encoded (else raw, which may not parse).
    dsn_key_encoded: bool,
    /// The DSN: in the environment or a `secrets.toml`.
    dsn: Place,
    /// The OTLP endpoint: `OTEL_EXPORTER_OTLP_ENDPOINT` or a `config.toml`'s
    /// `runtime.otlp_endpoint` (which gets no header from the environment).
    otlp_endpoint: Place,
    otlp_user_info: bool,
    otlp_gzip: bool,
    /// `HTTP_PROXY` points at a loopback forward proxy with credentials.
    http_proxy: bool,
}

prop_compose! {
    fn services()(
        segment_endpoint in place(),
        segment_url in url_choice(),
        segment_url_encoded in prop::bool::weighted(0.85),
        segment_batch in any::<bool>(),
        write_key in place(),
        dsn_key_encoded in prop::bool::weighted(0.85),
        dsn in place(),
        otlp_endpoint in place(),
        otlp_user_info in any::<bool>(),
        otlp_gzip in any::<bool>(),
        http_proxy in any::<bool>(),
    ) -> Services {
        let segment_url = UrlChoice { scheme: "http", percent_encoded: segment_url_encoded, ..segment_url };
        Services {
            segment_endpoint, segment_url, segment_batch, write_key, dsn_key_encoded, dsn, otlp_endpoint,
            otlp_user_info, otlp_gzip, http_proxy,
        }
    }
}

/// The URLs of the free text a user or a host writes.
#[derive(Clone, Debug)]
struct Texts {
    connection_string: UrlChoice,
    /// The host's pipeline name: a URL, or a name that can name a folder.
    pipeline_name: Option<UrlChoice>,
    dataset: UrlChoice,
    step_info: UrlChoice,
    step_error: Vec<UrlChoice>,
    sentry_tag: UrlChoice,
    old_trace: UrlChoice,
    init_source: InitArgument,
    init_destination: InitArgument,
    init_url: UrlChoice,
    pipeline_argument: UrlChoice,
}

prop_compose! {
    fn texts()(
        connection_string in url_choice(),
        pipeline_name in prop::option::of(url_choice()),
        dataset in url_choice(),
        step_info in url_choice(),
        step_error in prop::collection::vec(url_choice(), 2..4),
        sentry_tag in url_choice(),
        old_trace in url_choice(),
        init_source in init_argument(),
        init_destination in init_argument(),
        init_url in url_choice(),
        pipeline_argument in url_choice(),
    ) -> Texts {
        Texts {
            connection_string, pipeline_name, dataset, step_info, step_error, sentry_tag, old_trace, init_source,
            init_destination, init_url, pipeline_argument,
        }
    }
}

/// One case: the parts its credentials are made of, the services and the free text.
#[derive(Clone, Debug)]
struct Plan {
    pool: Vec<Part>,
    services: Services,
    texts: Texts,
}

prop_compose! {
    fn plan()(pool in prop::collection::vec(part(), POOL), services in services(), texts in texts()) -> Plan {
        Plan { pool, services, texts }
    }
}

// ---------------------------------------------------------------------------------------------
// Outputs and what may appear in them

/// One output, and the credentials that may appear in it (those sent there on purpose).
struct Output {
    name: String,
    bytes: Vec<u8>,
    allowed: Vec<Id>,
}

impl Output {
    fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        Self { name: name.into(), bytes: bytes.into(), allowed: Vec::new() }
    }

    fn allowing(mut self, allowed: &[Id]) -> Self {
        self.allowed.extend_from_slice(allowed);
        self
    }
}

/// `\` and `"` escaped, as JSON, TOML and Rust's `Debug` write a printable ASCII string.
fn quoted(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Some text around `at` in `text`, on one line.
fn around(text: &str, at: usize, len: usize) -> String {
    let mut start = at.saturating_sub(60);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (at + len + 60).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    format!("…{}…", text[start..end].escape_debug())
}

/// Every credential found in `output` where it may not be, one line each: a credential of
/// this case outside its allowed places, or one of an earlier case (this process may keep
/// something from an earlier configuration) anywhere.
fn leaks_in(output: &Output, credentials: &[Credential], earlier: &[Credential]) -> Vec<String> {
    let written = String::from_utf8_lossy(&output.bytes).into_owned();
    let decoded = percent_encoding::percent_decode(&output.bytes).decode_utf8_lossy().into_owned();
    let views = [("", &written), (" (percent-decoded)", &decoded)];
    let mut leaks = Vec::new();
    let current = credentials.iter().enumerate().filter(|(id, _)| !output.allowed.contains(id)).map(|(_, c)| c);
    for credential in current.chain(earlier) {
        let needles = [
            ("whole", credential.value.clone()),
            ("quoted", quoted(&credential.value)),
            ("in part (its marker)", credential.marker.clone()),
        ];
        'credential: for (how, needle) in &needles {
            for (view, text) in &views {
                if let Some(at) = text.find(needle.as_str()) {
                    leaks.push(format!(
                        "{}{view}: {} {:?} {how}: {}",
                        output.name,
                        credential.label,
                        credential.value,
                        around(text, at, needle.len())
                    ));
                    break 'credential;
                }
            }
        }
    }
    leaks
}

/// A request as outputs: its request line and headers (`Basic` credentials also decoded),
/// where `allowed_in_head` may appear, and its body (gunzipped too when compressed), where
/// none may.
fn request_outputs(receiver: &str, index: usize, request: &RecordedRequest, allowed_in_head: &[Id]) -> Vec<Output> {
    let name = format!("{receiver} request {index}");
    let mut head = format!("{} {}\n", request.method, request.path);
    for (header, value) in &request.headers {
        head.push_str(&format!("{header}: {value}\n"));
        if let Some(basic) = value.strip_prefix("Basic ")
            && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(basic.trim())
        {
            head.push_str(&format!("{header} (decoded): {}\n", String::from_utf8_lossy(&decoded)));
        }
    }
    let mut outputs = vec![
        Output::new(format!("{name} head"), head).allowing(allowed_in_head),
        Output::new(format!("{name} body"), request.body.clone()),
    ];
    if request.header("content-encoding").is_some_and(|encoding| encoding.eq_ignore_ascii_case("gzip")) {
        let mut plain = Vec::new();
        match flate2::read::GzDecoder::new(request.body.as_slice()).read_to_end(&mut plain) {
            Ok(_) => outputs.push(Output::new(format!("{name} body (gunzipped)"), plain)),
            Err(error) => outputs.push(Output::new(format!("{name} body: not gzip ({error})"), Vec::new())),
        }
    }
    outputs
}

/// Every file under `root` as outputs, named and read at `when`: its path, and its content,
/// where a file the user wrote counts only with the lines that are not the user's own.
fn file_outputs(root: &Path, when: &str, written_by_user: &[(PathBuf, String)]) -> Vec<Output> {
    let mut outputs = Vec::new();
    for relative in files_under(root) {
        let shown = relative.display().to_string();
        outputs.push(Output::new(format!("the name of file {shown} ({when})"), shown.clone()));
        // A file may go between the listing and the read (a sender taking a claim).
        let Ok(bytes) = fs::read(root.join(&relative)) else { continue };
        let bytes = match written_by_user.iter().find(|(path, _)| *path == relative) {
            Some((_, planted)) => {
                let text = String::from_utf8_lossy(&bytes);
                let mut added = String::new();
                for line in text.lines().filter(|line| !planted.lines().any(|own| own == *line)) {
                    added.push_str(line);
                    added.push('\n');
                }
                added.into_bytes()
            }
            None => bytes,
        };
        outputs.push(Output::new(format!("file {shown} ({when})"), bytes));
    }
    outputs
}

// ---------------------------------------------------------------------------------------------
// What the crates log in a host

/// Where the log lines of a host's run are written (all levels, every target but the host's).
fn host_log() -> &'static Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(Default::default)
}

#[derive(Clone)]
struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The host's target: its own log lines carry secrets on purpose (to reach Sentry and the
/// collector scrubbed) and are not the crates' output.
const HOST_TARGET: &str = "host_app";

fn log_layer<S>() -> impl tracing_subscriber::Layer<S>
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    use tracing_subscriber::Layer as _;
    let writer = LogWriter(host_log().clone());
    tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .with_filter(tracing_subscriber::filter::filter_fn(|metadata| metadata.target() != HOST_TARGET))
}

/// The crates' threads log through the global subscriber; the host's thread through its own.
fn install_global_log() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry().with(log_layer()));
    });
}

// ---------------------------------------------------------------------------------------------
// One case

/// What one case exercised, summed over the cases to show that every output was reached.
#[derive(Debug, Default)]
struct Coverage {
    segment_requests: usize,
    sentry_requests: usize,
    otlp_requests: usize,
    host_traces_saved: usize,
    outbox_files: usize,
    processes: usize,
    outputs: usize,
}

impl std::ops::AddAssign for Coverage {
    fn add_assign(&mut self, other: Self) {
        self.segment_requests += other.segment_requests;
        self.sentry_requests += other.sentry_requests;
        self.otlp_requests += other.otlp_requests;
        self.host_traces_saved += other.host_traces_saved;
        self.outbox_files += other.outbox_files;
        self.processes += other.processes;
        self.outputs += other.outputs;
    }
}

/// A trace as dlt (Python) or an older version wrote it, secrets in clear: the golden trace
/// with `error`, `dataset` and `url` in its free text and a field it does not know.
fn old_trace(error: &str, dataset: &str, url: &str) -> String {
    let golden = dlt_test_support::golden_dir().join("trace/dlt-1.31-pipeline-trace-asdict.json");
    let mut trace: serde_json::Value = serde_json::from_str(&fs::read_to_string(golden).unwrap()).unwrap();
    trace["pipeline_name"] = OLD_PIPELINE.into();
    let last = trace["steps"].as_array().unwrap().len() - 1;
    trace["steps"][last]["step_exception"] = error.into();
    trace["steps"][0]["source_url"] = url.into();
    trace["dataset_name"] = dataset.into();
    trace["resolved_config_values"] = serde_json::json!([{"key": "credentials", "value": url}]);
    trace.to_string()
}

/// Every credential of the cases run so far in this process.
fn earlier_credentials() -> &'static Mutex<Vec<Credential>> {
    static EARLIER: OnceLock<Mutex<Vec<Credential>>> = OnceLock::new();
    EARLIER.get_or_init(Default::default)
}

/// The loopback servers of a case: nothing else is ever reached.
struct Receivers {
    /// The Segment endpoint: it cuts every connection while the host runs, so that the host
    /// keeps an outbox, and answers `200` afterwards.
    segment: Recorder,
    sentry: SentryReceiver,
    collector: OtlpReceiver,
    forward_proxy: ForwardProxy,
}

impl Receivers {
    fn start() -> Self {
        Self {
            segment: Recorder::with_answer(Answer::disconnect()).unwrap(),
            sentry: SentryReceiver::start().unwrap(),
            collector: OtlpReceiver::start().unwrap(),
            forward_proxy: ForwardProxy::start().unwrap(),
        }
    }
}

/// A case's machine once everything is planted.
struct Planted {
    env: DltEnv,
    /// The files the user wrote, relative to the root, with what the user wrote in them.
    written_by_user: Vec<(PathBuf, String)>,
    /// What each receiver may get in its request line and headers: its own credentials.
    segment_allowed: Vec<Id>,
    sentry_allowed: Vec<Id>,
    otlp_allowed: Vec<Id>,
    /// The host's pipeline run: its names, its step info's URL, its step error.
    pipeline_name: String,
    dataset: String,
    info_url: String,
    error_text: String,
    /// `dlt init <source> <destination>`.
    init_arguments: [String; 2],
    /// Names given to `dlt pipeline <name> trace` that name no saved trace: a URL, a password.
    unknown_pipelines: [String; 2],
}

/// Draws every credential of `plan` and plants them: the user's files, the environment, the
/// host's texts and the command lines.
fn plant(plan: &Plan, credentials: &mut Credentials, receivers: &Receivers) -> Planted {
    let Plan { services, texts, .. } = plan;
    let mut env = DltEnv::new().unwrap();

    // The Segment endpoint and its write key.
    let path = if services.segment_batch { "/v1/batch" } else { "/v1/track" };
    let segment_addr = receivers.segment.addr().to_string();
    let endpoint = build_url(credentials, "Segment endpoint", &services.segment_url, &segment_addr, path);
    let write_key = credentials.next("Segment write key");
    let mut segment_allowed: Vec<Id> = endpoint.alone.iter().chain(&endpoint.in_url_only).copied().collect();
    if services.segment_endpoint.trust() >= services.write_key.trust() {
        segment_allowed.push(write_key);
    }

    // Sentry: a DSN is a URL whose user name is the key.
    let dsn_key = credentials.next("Sentry DSN key");
    let key = credentials.value(dsn_key);
    let key = if services.dsn_key_encoded { encoded(key) } else { key.to_owned() };
    let dsn = format!("http://{key}@{}/{}", receivers.sentry.addr(), dlt_test_support::SENTRY_PROJECT_ID);

    // OpenTelemetry: an endpoint, maybe with user info, and two headers.
    let mut otlp_allowed = Vec::new();
    let mut otlp_password = None;
    let otlp_endpoint = if services.otlp_user_info {
        let user = credentials.next("OTLP endpoint user name");
        let password = credentials.next("OTLP endpoint password");
        otlp_allowed.extend([user, password]);
        otlp_password = Some(password);
        let (user, password) = (encoded(credentials.value(user)), encoded(credentials.value(password)));
        format!("http://{user}:{password}@{}", receivers.collector.addr())
    } else {
        receivers.collector.url()
    };
    let bearer = credentials.next("OTLP bearer token");
    let api_key_header = credentials.next("OTLP x-api-key header");
    let headers = format!(
        "authorization=Bearer%20{},x-api-key={}",
        encoded(credentials.value(bearer)),
        encoded(credentials.value(api_key_header))
    );
    if services.otlp_endpoint == Place::Environment {
        otlp_allowed.extend([bearer, api_key_header]);
    }

    // Proxies: one that cannot be used (only https:// goes through it, and nothing listens),
    // and maybe a loopback forward proxy for http://.
    let https_user = credentials.next("HTTPS_PROXY user name");
    let https_password = credentials.next("HTTPS_PROXY password");
    let https_proxy = format!(
        "http://{}:{}@127.0.0.1:{}",
        encoded(credentials.value(https_user)),
        encoded(credentials.value(https_password)),
        refusing_port().unwrap()
    );
    let http_user = credentials.next("HTTP_PROXY user name");
    let http_password = credentials.next("HTTP_PROXY password");
    let http_proxy = receivers
        .forward_proxy
        .url_with_credentials(&encoded(credentials.value(http_user)), &encoded(credentials.value(http_password)));

    // Both secrets.toml files: destination credentials and a connection string.
    let pg_user = credentials.next("secrets.toml destination user name");
    let pg_password = credentials.next("secrets.toml destination password");
    let api_key = credentials.next("secrets.toml source api_key");
    let connection =
        build_url(credentials, "secrets.toml connection string", &texts.connection_string, "db.example:1433", "/dlt");

    // Free text: names, step info and error, the Sentry tag, the old trace, arguments.
    let pipeline_name = match &texts.pipeline_name {
        Some(choice) => build_url(credentials, "pipeline name URL", choice, "db.example", "/pipeline").text,
        None => "host_pipeline".to_owned(),
    };
    let dataset = build_url(credentials, "dataset name URL", &texts.dataset, "db.example:5432", "/dataset").text;
    let info_url = build_url(credentials, "step info URL", &texts.step_info, "api.example", "/v1/players").text;
    let mut error_urls = Vec::new();
    for (n, choice) in texts.step_error.iter().enumerate() {
        error_urls.push(build_url(credentials, &format!("step error URL {n}"), choice, "db.example", "/load").text);
    }
    let sentry_tag = build_url(credentials, "RUNTIME__PIPELINE_NAME URL", &texts.sentry_tag, "db.example", "/tag").text;
    let old_url = build_url(credentials, "old trace URL", &texts.old_trace, "warehouse.example", "/old").text;
    let init_url = build_url(credentials, "dlt init argument URL", &texts.init_url, "db.example", "/init").text;
    let argument_url =
        build_url(credentials, "dlt pipeline argument URL", &texts.pipeline_argument, "db.example", "/name").text;

    // Every credential the secret set holds on its own is quoted bare in the step error; the
    // others (query values, fragments, user names beside a password, the URLs of free text)
    // appear only inside their URLs.
    let mut bare = vec![write_key, dsn_key, bearer, api_key_header, https_password, pg_user, pg_password, api_key];
    bare.extend(otlp_password);
    bare.extend(endpoint.alone.iter().chain(&connection.alone));
    if services.http_proxy {
        bare.push(http_password);
    }
    let bare: Vec<&str> = bare.iter().map(|id| credentials.value(*id)).collect();
    let error_text = format!(
        "load into {dataset} failed: {} rejected; tried {} and {} and {} and {dsn}",
        bare.join(" and "),
        error_urls.join(" then "),
        connection.text,
        endpoint.text,
    );

    // The user's files and environment.
    let global = env.global_dir();
    let project = env.project_config_dir();
    fs::create_dir_all(&project).unwrap();
    let [mut global_config, mut global_secrets, mut project_config, mut project_secrets] =
        ["[runtime]\n"; 4].map(String::from);
    // An endpoint goes to a `config.toml`, a credential to a `secrets.toml`, as dlt keeps them.
    let mut set = |place: Place, variable: &str, key: &str, value: &str| {
        let line = format!("{key} = {}\n", toml_string(value));
        let endpoint = key.ends_with("endpoint");
        match place {
            Place::Environment => {
                env.set(variable, value);
            }
            Place::GlobalFile if endpoint => global_config.push_str(&line),
            Place::ProjectFile if endpoint => project_config.push_str(&line),
            Place::GlobalFile => global_secrets.push_str(&line),
            Place::ProjectFile => project_secrets.push_str(&line),
        }
    };
    set(services.segment_endpoint, "RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", "dlthub_telemetry_endpoint", &endpoint.text);
    let write_key = credentials.value(write_key);
    set(
        services.write_key,
        "RUNTIME__DLTHUB_TELEMETRY_SEGMENT_WRITE_KEY",
        "dlthub_telemetry_segment_write_key",
        write_key,
    );
    set(services.dsn, "RUNTIME__SENTRY_DSN", "sentry_dsn", &dsn);
    set(services.otlp_endpoint, "OTEL_EXPORTER_OTLP_ENDPOINT", "otlp_endpoint", &otlp_endpoint);
    global_secrets.push_str(&format!(
        "\n[sources.api]\napi_key = {}\n\n[destination.mssql]\ncredentials = {}\n",
        toml_string(credentials.value(api_key)),
        toml_string(&connection.text)
    ));
    project_secrets.push_str(&format!(
        "\n[destination.postgres.credentials]\nusername = {}\npassword = {}\n",
        toml_string(credentials.value(pg_user)),
        toml_string(credentials.value(pg_password))
    ));
    let old_trace_path = env.data_dir().join("pipelines").join(OLD_PIPELINE).join("trace.json");
    fs::create_dir_all(old_trace_path.parent().unwrap()).unwrap();
    let mut written_by_user = Vec::new();
    for (path, content) in [
        (global.join("config.toml"), global_config),
        (global.join("secrets.toml"), global_secrets),
        (project.join("config.toml"), project_config),
        (project.join("secrets.toml"), project_secrets),
        (old_trace_path, old_trace(&error_text, &dataset, &old_url)),
    ] {
        fs::write(&path, &content).unwrap();
        written_by_user.push((path.strip_prefix(env.root()).unwrap().to_path_buf(), content));
    }
    env.set("OTEL_EXPORTER_OTLP_HEADERS", &headers);
    if services.otlp_gzip {
        env.set("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip");
    }
    env.set("HTTPS_PROXY", &https_proxy);
    if services.http_proxy {
        env.set("HTTP_PROXY", &http_proxy);
    }
    env.set("RUNTIME__PIPELINE_NAME", &sentry_tag);
    env.set("RUNTIME__TELEMETRY_SHUTDOWN_TIMEOUT", "0.5");

    let password = credentials.value(pg_password);
    let init_argument = |argument: InitArgument, valid: &str| match argument {
        InitArgument::Valid => valid.to_owned(),
        InitArgument::Url => init_url.clone(),
        InitArgument::Password => password.to_owned(),
    };
    Planted {
        env,
        written_by_user,
        segment_allowed,
        sentry_allowed: vec![dsn_key],
        otlp_allowed,
        pipeline_name,
        dataset,
        info_url,
        error_text,
        init_arguments: [init_argument(texts.init_source, "chess"), init_argument(texts.init_destination, "duckdb")],
        unknown_pipelines: [argument_url, password.to_owned()],
    }
}

/// A host runs a pipeline whose load step fails naming every credential, logging it too: what
/// it is handed, what the crates log and the files, as outputs.
fn run_host(planted: &Planted, outputs: &mut Vec<Output>, coverage: &mut Coverage) {
    let Planted { env, pipeline_name, dataset, info_url, error_text, .. } = planted;
    host_log().lock().unwrap().clear();
    let options = InitOptions::new(HOST_TARGET, "1.0.0").with_env(Environment::from_pairs(env.env_pairs()));
    let runtime = RuntimeTrace::init(options);
    for issue in runtime.issues() {
        outputs.push(Output::new("a start issue shown by the host", issue.to_string()));
        outputs.push(Output::new("a start issue, Debug", format!("{issue:?}")));
    }
    outputs.push(Output::new("the host's status, Debug", format!("{:?}", runtime.status())));
    let subscriber =
        tracing_subscriber::registry().with(log_layer()).with(runtime.sentry_layer()).with(runtime.otel_layer());
    let finished = tracing::subscriber::with_default(subscriber, || {
        let info = PipelineIdentity::new(pipeline_name)
            .with_destination("postgres", "dlt.destinations.postgres")
            .with_dataset(dataset);
        let mut run = runtime.start_pipeline_run(info, Step::Run);
        run.step(Step::Extract, |report| {
            tracing::warn!(target: HOST_TARGET, "extract: {error_text}");
            report.info = Some(serde_json::json!({"rows": 3, "source": info_url, "note": error_text}));
            Ok::<_, io::Error>(())
        })
        .unwrap();
        run.step(Step::Normalize, |_| Ok::<_, io::Error>(())).unwrap();
        let _ = run.step(Step::Load, |_| Err::<(), _>(io::Error::other(error_text.clone())));
        tracing::error!(target: HOST_TARGET, "the run failed: {error_text}");
        run.finish()
    });
    if let Some(finished) = finished {
        let trace = serde_json::to_string(&finished.trace).unwrap();
        outputs.push(Output::new("the trace a run returns to the host", trace));
        match &finished.saved {
            Ok(_) => coverage.host_traces_saved += 1,
            Err(error) => outputs.push(Output::new("why the host's trace was not saved", error.to_string())),
        }
    }
    let summary = runtime.shutdown();
    outputs.push(Output::new("the host's shutdown summary, Debug", format!("{summary:?}")));
    outputs.push(Output::new("the crates' log in the host", host_log().lock().unwrap().clone()));
    outputs.extend(file_outputs(env.root(), "after the host run", &planted.written_by_user));
    coverage.outbox_files +=
        files_under(&env.global_dir()).iter().filter(|path| path.ends_with("recipient.json")).count();
}

/// What a user runs, each `dlt` with its stdout and stderr as outputs, and the files after the
/// sender and at the end. Usage telemetry goes inline (no detached sender to outlive the case).
fn run_commands(planted: &mut Planted, outputs: &mut Vec<Output>, coverage: &mut Coverage) {
    planted.env.set("RUNTIME__TELEMETRY_DETACHED_SENDER", "false");
    let [source, destination] = planted.init_arguments.clone();
    let [url, password] = planted.unknown_pipelines.clone();
    let commands: [&[&str]; 8] = [
        &["telemetry"],
        &["telemetry", "--json"],
        &["init", &source, &destination],
        &["pipeline", OLD_PIPELINE, "trace"],
        &["pipeline", OLD_PIPELINE, "trace", "--json"],
        &["pipeline", &planted.pipeline_name, "trace"],
        &["pipeline", &url, "trace"],
        &["pipeline", &password, "trace", "--json"],
    ];
    let mut run = |args: &[&str], outputs: &mut Vec<Output>| {
        let output = planted.env.command(env!("CARGO_BIN_EXE_dlt")).args(args).output().unwrap();
        let shown = format!("`dlt {}`", args.join(" "));
        // Whatever the planted values make of the command, it ends with one of dlt's exit codes.
        assert!(matches!(output.status.code(), Some(0..=2)), "{shown}: {}", String::from_utf8_lossy(&output.stderr));
        outputs.push(Output::new(format!("stdout of {shown}"), output.stdout));
        outputs.push(Output::new(format!("stderr of {shown}"), output.stderr));
        coverage.processes += 1;
    };
    for args in commands {
        run(args, outputs);
    }
    // The sender, as `dlt` starts it detached (the marker, null standard streams). Where the
    // planted values make every request fail it would retry for its whole 30 s bound: after
    // SENDER_WAIT it is stopped with SIGTERM, and writes back what it holds, as when a session
    // ends.
    let mut sender = planted.env.command(env!("CARGO_BIN_EXE_dlt"));
    sender.env(dlt_runtime_trace::SENDER_MARKER, "dlt/0.1.0");
    sender.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    let mut sender = sender.spawn().unwrap();
    if !eventually(SENDER_WAIT, || sender.try_wait().unwrap().is_some()) {
        terminate(sender.id());
    }
    // It fails (1) when the planted values leave it no usable transport, and never crashes.
    let status = sender.wait().unwrap();
    assert!(matches!(status.code(), Some(0 | 1)), "the sender: {status}");
    let root = planted.env.root();
    outputs.extend(file_outputs(root, "after the sender", &planted.written_by_user));
    run(&["--disable-telemetry"], outputs);
    coverage.processes += 1;
    outputs.extend(file_outputs(root, "at the end", &planted.written_by_user));
}

/// Every request the receivers got, as outputs.
fn received(receivers: &Receivers, planted: &Planted, outputs: &mut Vec<Output>, coverage: &mut Coverage) {
    for (index, request) in receivers.segment.requests().iter().enumerate() {
        outputs.extend(request_outputs("Segment", index, request, &planted.segment_allowed));
        coverage.segment_requests += 1;
    }
    for (index, request) in receivers.sentry.requests().iter().enumerate() {
        let mut parts = request_outputs("Sentry", index, request, &planted.sentry_allowed);
        // The envelope's header line authenticates it to the DSN's own server: the key (and
        // the whole DSN) may be there, in no item.
        let body = std::mem::take(&mut parts[1].bytes);
        let end_of_header = body.iter().position(|byte| *byte == b'\n').map_or(body.len(), |end| end + 1);
        let (header, items) = body.split_at(end_of_header);
        parts[1].bytes = items.to_vec();
        let name = format!("Sentry request {index} envelope header");
        parts.push(Output::new(name, header).allowing(&planted.sentry_allowed));
        outputs.extend(parts);
        coverage.sentry_requests += 1;
    }
    for (index, request) in receivers.collector.requests().iter().enumerate() {
        outputs.extend(request_outputs("OTLP", index, request, &planted.otlp_allowed));
        coverage.otlp_requests += 1;
    }
}

/// Runs one case: plants, runs the host and the command line, and looks for every credential
/// in every output.
fn run_case(plan: &Plan) -> Result<Coverage, TestCaseError> {
    static CASE: AtomicUsize = AtomicUsize::new(0);
    let mut credentials = Credentials::new(CASE.fetch_add(1, Ordering::Relaxed), plan.pool.clone());
    let receivers = Receivers::start();
    let mut planted = plant(plan, &mut credentials, &receivers);
    let mut outputs = Vec::new();
    let mut coverage = Coverage::default();
    run_host(&planted, &mut outputs, &mut coverage);
    receivers.segment.set_answer(Answer::ok());
    run_commands(&mut planted, &mut outputs, &mut coverage);
    received(&receivers, &planted, &mut outputs, &mut coverage);
    coverage.outputs = outputs.len();

    let mut earlier = earlier_credentials().lock().unwrap();
    let leaks: Vec<String> = outputs.iter().flat_map(|output| leaks_in(output, &credentials.all, &earlier)).collect();
    earlier.extend(
        credentials
            .all
            .into_iter()
            .map(|credential| Credential { label: format!("{} (of an earlier case)", credential.label), ..credential }),
    );
    if leaks.is_empty() {
        Ok(coverage)
    } else {
        Err(TestCaseError::fail(format!("{} leak(s):\n{}", leaks.len(), leaks.join("\n"))))
    }
}

#[test]
fn no_generated_credential_reaches_any_output() {
    install_global_log();
    let config = ProptestConfig {
        cases: CASES,
        max_shrink_iters: 32,
        source_file: Some(file!()),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource("proptest-regressions"))),
        ..ProptestConfig::default()
    };
    let mut runner = TestRunner::new(config);
    let total = Mutex::new(Coverage::default());
    let started = Instant::now();
    let result = runner.run(&plan(), |plan| {
        let coverage = run_case(&plan)?;
        *total.lock().unwrap() += coverage;
        Ok(())
    });
    if let Err(error) = result {
        panic!("{error}");
    }
    let total = total.into_inner().unwrap();
    eprintln!("{CASES} cases in {:.1?}: {total:?}", started.elapsed());
    // Every kind of output was reached in some case.
    assert!(total.segment_requests > 0, "{total:?}");
    assert!(total.sentry_requests > 0, "{total:?}");
    assert!(total.otlp_requests > 0, "{total:?}");
    assert!(total.host_traces_saved > 0, "{total:?}");
    assert!(total.outbox_files > 0, "{total:?}");
}
