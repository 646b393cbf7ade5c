//! `cargo xtask bench-vs-dlt [--write] [--runs N]`: this project's `dlt` (release build) and
//! dlt 1.31 (Python, installed into `.venv-bench/` from PyPI) measured side by side in one run,
//! against loopback endpoints this command starts, printed as one markdown table; `--write`
//! also records it with the machine in `docs/benchmarks.md`.
//!
//! Every figure comes from the run. A row is a [`ProcessBench`] (a command run as a fresh
//! process per endpoint, wall time) or a [`DeliveryBench`] (a driver process tracking N
//! messages and reporting its own timings); adding a row is adding an entry to
//! [`process_benches`] or [`delivery_benches`].

mod child;
mod endpoints;
mod machine;
mod report;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use dlt_test_support::{HangingServer, refusing_url};
use serde_json::Value;

use self::endpoints::Endpoint;
use self::machine::Machine;
use self::report::{Figure, Row, median, percentile, show_difference};

/// The dlt release measured against.
const DLT_VERSION: &str = "1.31.0";
/// The virtual environment (git ignores it), relative to the workspace root.
const VENV: &str = ".venv-bench";
/// The Python side's driver.
const DRIVER: &str = "xtask/python/bench_dlt.py";
/// Where `--write` records the results.
const DOCUMENT: &str = "docs/benchmarks.md";
/// Runs per side and endpoint of each process row, unless `--runs` says otherwise.
const DEFAULT_RUNS: usize = 7;
/// Runs per side of each delivery row.
const DELIVERY_RUNS: usize = 3;
/// How long the endpoint may take to see every message a side sent (a sender may deliver after
/// its command exits).
const ARRIVAL_LIMIT: Duration = Duration::from_secs(30);
/// The slow endpoint's delay.
const SLOW_ANSWER: Duration = Duration::from_millis(100);
/// Which requests the holding endpoint holds: every fourth.
const HELD_REQUEST: u64 = 4;

/// The command line of `bench-vs-dlt`.
#[derive(Debug, PartialEq)]
pub(crate) struct Options {
    write: bool,
    runs: usize,
}

impl Options {
    pub(crate) fn parse(args: &[String]) -> Result<Self, String> {
        let mut options = Self { write: false, runs: DEFAULT_RUNS };
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--write" => options.write = true,
                "--runs" => {
                    let runs = args.next().and_then(|runs| runs.parse().ok()).filter(|runs| *runs > 0);
                    options.runs = runs.ok_or("--runs needs a number of runs, e.g. --runs 7")?;
                }
                other => return Err(format!("unknown argument `{other}` for bench-vs-dlt")),
            }
        }
        Ok(options)
    }
}

/// The endpoint behaviours every process row is measured against.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scenario {
    Off,
    Answers,
    Refuses,
    NeverAnswers,
    AnswersSlowly,
}

const SCENARIOS: [Scenario; 5] =
    [Scenario::Off, Scenario::Answers, Scenario::Refuses, Scenario::NeverAnswers, Scenario::AnswersSlowly];

impl Scenario {
    fn label(self) -> &'static str {
        match self {
            Self::Off => "telemetry off",
            Self::Answers => "answers at once",
            Self::Refuses => "refuses connections",
            Self::NeverAnswers => "accepts, never answers",
            Self::AnswersSlowly => "answers after 100 ms",
        }
    }
}

/// One side's endpoints: each side has its own, so each side's deliveries can be counted.
struct Endpoints {
    /// Where telemetry would go when it is off: nothing may arrive.
    off: Endpoint,
    answers: Endpoint,
    refuses: String,
    never_answers: HangingServer,
    answers_slowly: Endpoint,
}

impl Endpoints {
    fn start() -> Result<Self, String> {
        let failed = |e: std::io::Error| format!("cannot start a loopback endpoint: {e}");
        Ok(Self {
            off: Endpoint::answering(Duration::ZERO).map_err(failed)?,
            answers: Endpoint::answering(Duration::ZERO).map_err(failed)?,
            refuses: format!("{}/", refusing_url().map_err(failed)?),
            never_answers: HangingServer::start().map_err(failed)?,
            answers_slowly: Endpoint::answering(SLOW_ANSWER).map_err(failed)?,
        })
    }

    fn url(&self, scenario: Scenario) -> String {
        match scenario {
            Scenario::Off => self.off.url("/"),
            Scenario::Answers => self.answers.url("/"),
            Scenario::Refuses => self.refuses.clone(),
            Scenario::NeverAnswers => format!("{}/", self.never_answers.url()),
            Scenario::AnswersSlowly => self.answers_slowly.url("/"),
        }
    }

    /// The endpoint that counts what arrives in this scenario, if any does.
    fn counting(&self, scenario: Scenario) -> Option<&Endpoint> {
        match scenario {
            Scenario::Off => Some(&self.off),
            Scenario::Answers => Some(&self.answers),
            Scenario::AnswersSlowly => Some(&self.answers_slowly),
            Scenario::Refuses | Scenario::NeverAnswers => None,
        }
    }
}

/// The two sides.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Side {
    Dlt,
    Ours,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Self::Dlt => "dlt 1.31",
            Self::Ours => "this project",
        }
    }
}

/// A command measured as whole processes, per endpoint.
struct ProcessBench {
    measurement: &'static str,
    /// Messages one run sends when telemetry is on: checked at the answering endpoints.
    messages_per_run: u64,
    limit: Duration,
    command: fn(&Bench, Side) -> Command,
}

/// Delivery of N messages by a driver process that reports its own timings.
struct DeliveryBench {
    measurement: &'static str,
    endpoint: DeliveryEndpoint,
    /// The endpoint path: `/v1/batch` makes this project batch.
    path: &'static str,
    dlt_messages: usize,
    ours_messages: usize,
    /// Whether this bench's `track` timings are reported as rows.
    report_track: bool,
    /// This project's driver.
    ours: OursDriver,
}

/// The endpoint of a delivery row.
#[derive(Clone, Copy, Debug, PartialEq)]
enum DeliveryEndpoint {
    /// A side's answering endpoint of the process rows (`Answers` or `AnswersSlowly`): every
    /// message must arrive.
    Shared(Scenario),
    /// An endpoint of the run's own that answers at once except every
    /// [`HELD_REQUEST`]th request, which it holds unanswered until the run is over: the
    /// messages that arrive are counted and shown.
    HoldsEveryFourth,
}

impl DeliveryEndpoint {
    fn label(self) -> &'static str {
        match self {
            Self::Shared(scenario) => scenario.label(),
            Self::HoldsEveryFourth => "answers at once, holds every 4th request",
        }
    }
}

/// Which of this project's drivers a delivery row runs.
#[derive(Clone, Copy, Debug, PartialEq)]
enum OursDriver {
    /// `bench_segment`: a `SegmentClient` in a Rust program.
    Rust,
    /// dlt (Python) switched to the engine by `dlt_telemetry.install()`, tracking through dlt's
    /// own `anon_tracker.track` as the dlt side does, sending from the process.
    PythonEngine,
}

/// An endpoint's counts at a moment.
#[derive(Clone, Copy, Debug)]
struct Counted {
    messages: u64,
    repeated: u64,
}

impl Counted {
    fn of(endpoint: &Endpoint) -> Self {
        Self { messages: endpoint.messages(), repeated: endpoint.repeated() }
    }
}

/// One delivery run, as measured.
struct DeliveryRun {
    /// Messages that arrived, per second of the driver's own time.
    rate: f64,
    track_ns: Vec<f64>,
    arrivals: Arrivals,
}

/// Messages that arrived of those tracked.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Arrivals {
    arrived: u64,
    sent: u64,
}

impl Arrivals {
    fn add(&mut self, other: Self) {
        self.arrived += other.arrived;
        self.sent += other.sent;
    }
}

/// What the runs share.
struct Bench {
    python: PathBuf,
    dlt_cli: PathBuf,
    ours_cli: PathBuf,
    ours_pipeline: PathBuf,
    ours_driver: PathBuf,
    driver: PathBuf,
    runs: usize,
    dlt_endpoints: Endpoints,
    ours_endpoints: Endpoints,
}

/// Builds, installs, measures, prints the table, and with `--write` records it. `args` are the
/// command's arguments, passed on when this debug build runs its optimised self.
pub(crate) fn run(root: &Path, options: &Options, args: &[String]) -> Result<(), String> {
    if cfg!(debug_assertions) {
        // The endpoints serve both sides from this process: an unoptimised build would be the
        // slowest part of a delivery. Run the same command from an optimised build.
        eprintln!("building xtask (release) to serve the endpoints");
        let mut optimised = Command::new("cargo");
        optimised.args(["run", "--release", "--locked", "--quiet", "-p", "xtask", "--", "bench-vs-dlt"]);
        return child::run_visible(
            optimised.args(args).current_dir(root),
            "xtask bench-vs-dlt (release)",
            minutes(120),
        );
    }
    let python = bench_python(root)?;
    let target = target_dir(root)?;
    build_ours(root)?;
    eprintln!("building the dlt-python wheel (release) into {VENV}/");
    crate::python::install_wheel(root, &python, "release")?;
    let mut machine = Machine::describe(root, &python);
    let bench = Bench {
        dlt_cli: python.with_file_name("dlt"),
        python,
        ours_cli: target.join("release/dlt"),
        ours_pipeline: target.join("release/examples/traced_pipeline"),
        ours_driver: target.join("release/examples/bench_segment"),
        driver: root.join(DRIVER),
        runs: options.runs,
        dlt_endpoints: Endpoints::start()?,
        ours_endpoints: Endpoints::start()?,
    };

    let delivery_benches = delivery_benches();
    let mut rows = Vec::new();
    for process in &process_benches() {
        rows.extend(bench.process_rows(process)?);
    }
    for delivery in &delivery_benches {
        rows.extend(bench.delivery_rows(delivery)?);
    }

    machine.runs_finished();
    let table = report::table(&rows);
    println!("\n{table}");
    if options.write {
        let text = document(&machine, &table, options, &delivery_benches);
        fs::write(root.join(DOCUMENT), text).map_err(|e| format!("cannot write {DOCUMENT}: {e}"))?;
        println!("wrote {DOCUMENT}");
    }
    Ok(())
}

/// The commands measured as whole processes, a row per endpoint each.
fn process_benches() -> [ProcessBench; 3] {
    [
        ProcessBench {
            measurement: "`dlt telemetry`",
            messages_per_run: 1,
            limit: Duration::from_secs(60),
            command: |bench, side| match side {
                Side::Dlt => with_arg(Command::new(&bench.dlt_cli), "telemetry"),
                Side::Ours => with_arg(Command::new(&bench.ours_cli), "telemetry"),
            },
        },
        ProcessBench {
            measurement: "pipeline run, 4 events",
            messages_per_run: 4,
            limit: Duration::from_secs(120),
            command: |bench, side| match side {
                Side::Dlt => {
                    let mut command = Command::new(&bench.python);
                    command.arg(&bench.driver).arg("pipeline");
                    command
                }
                Side::Ours => Command::new(&bench.ours_pipeline),
            },
        },
        ProcessBench {
            measurement: "dlt pipeline script, 4 events: dlt's tracker vs `dlt_telemetry.install()`",
            messages_per_run: 4,
            limit: Duration::from_secs(120),
            command: |bench, side| {
                let mut command = Command::new(&bench.python);
                command.arg(&bench.driver).arg("pipeline");
                if side == Side::Ours {
                    command.arg("--engine");
                }
                command
            },
        },
    ]
}

/// The delivery rows.
fn delivery_benches() -> [DeliveryBench; 6] {
    [
        DeliveryBench {
            measurement: "delivery, one message per request",
            endpoint: DeliveryEndpoint::Shared(Scenario::Answers),
            path: "/",
            dlt_messages: 1000,
            ours_messages: 5000,
            report_track: true,
            ours: OursDriver::Rust,
        },
        DeliveryBench {
            measurement: "delivery to a `/v1/batch` URL",
            endpoint: DeliveryEndpoint::Shared(Scenario::Answers),
            path: "/v1/batch",
            dlt_messages: 1000,
            ours_messages: 50_000,
            report_track: false,
            ours: OursDriver::Rust,
        },
        DeliveryBench {
            measurement: "delivery, one message per request",
            endpoint: DeliveryEndpoint::Shared(Scenario::AnswersSlowly),
            path: "/",
            dlt_messages: 20,
            ours_messages: 20,
            report_track: false,
            ours: OursDriver::Rust,
        },
        DeliveryBench {
            measurement: "delivery to a `/v1/batch` URL",
            endpoint: DeliveryEndpoint::Shared(Scenario::AnswersSlowly),
            path: "/v1/batch",
            dlt_messages: 20,
            ours_messages: 5000,
            report_track: false,
            ours: OursDriver::Rust,
        },
        DeliveryBench {
            measurement: "delivery, one message per request, one request in four hanging",
            endpoint: DeliveryEndpoint::HoldsEveryFourth,
            path: "/",
            dlt_messages: 40,
            ours_messages: 40,
            report_track: false,
            ours: OursDriver::Rust,
        },
        DeliveryBench {
            measurement: "dlt (Python) delivery, dlt's tracker vs `dlt_telemetry.install()`",
            endpoint: DeliveryEndpoint::Shared(Scenario::Answers),
            path: "/",
            dlt_messages: 1000,
            ours_messages: 1000,
            report_track: true,
            ours: OursDriver::PythonEngine,
        },
    ]
}

impl Bench {
    /// One row per scenario: the median wall time of `runs` runs per side. Each round runs
    /// every scenario and both sides in turn, so that a busy moment of the machine falls on
    /// all of them alike rather than on one scenario's block.
    fn process_rows(&self, process: &ProcessBench) -> Result<Vec<Row>, String> {
        // A first run per side, not counted: file caches, Python's bytecode.
        for side in [Side::Dlt, Side::Ours] {
            self.time_process(process, side, Scenario::Off)?;
        }
        let before: Vec<[Option<Counted>; 2]> = SCENARIOS
            .iter()
            .map(|scenario| {
                [Side::Dlt, Side::Ours].map(|side| self.endpoints(side).counting(*scenario).map(Counted::of))
            })
            .collect();
        let mut times = vec![(Vec::new(), Vec::new()); SCENARIOS.len()];
        // Each run's dirs stay until its messages arrived, as a user's do: a detached sender
        // delivers from them after the command exited.
        let mut kept = Vec::new();
        for run in 1..=self.runs {
            eprintln!("{}: round {run} of {}", process.measurement, self.runs);
            for (scenario, (dlt, ours)) in SCENARIOS.iter().zip(times.iter_mut()) {
                for (side, times) in [(Side::Dlt, &mut *dlt), (Side::Ours, &mut *ours)] {
                    let (wall, dirs) = self.time_process(process, side, *scenario)?;
                    times.push(wall.as_secs_f64());
                    kept.push(dirs);
                }
            }
        }
        for (scenario, before) in SCENARIOS.iter().zip(&before) {
            for (side, before) in [Side::Dlt, Side::Ours].into_iter().zip(*before) {
                self.check_arrivals(process, side, *scenario, before)?;
            }
        }
        drop(kept);
        let medians: Vec<(Duration, Duration)> =
            times.iter().map(|(dlt, ours)| (seconds(median(dlt)), seconds(median(ours)))).collect();
        // `SCENARIOS` begins with `Scenario::Off`.
        let off_times = medians[0];
        Ok(SCENARIOS
            .iter()
            .zip(medians)
            .map(|(scenario, (dlt, ours))| {
                let note =
                    |time, off_time| (*scenario != Scenario::Off).then(|| show_difference(time, off_time, "off"));
                Row {
                    measurement: process.measurement.into(),
                    endpoint: scenario.label().into(),
                    dlt: Figure::Time(dlt),
                    ours: Figure::Time(ours),
                    dlt_note: note(dlt, off_times.0),
                    ours_note: note(ours, off_times.1),
                }
            })
            .collect())
    }

    /// The wall time of one run in fresh dirs, and the dirs.
    fn time_process(
        &self,
        process: &ProcessBench,
        side: Side,
        scenario: Scenario,
    ) -> Result<(Duration, RunDirs), String> {
        let dirs = RunDirs::new()?;
        let mut command = (process.command)(self, side);
        Self::environment(&mut command, &dirs, &self.endpoints(side).url(scenario), scenario != Scenario::Off);
        let what = format!("{} ({}, {})", process.measurement, side.name(), scenario.label());
        let wall = child::run(&mut command, &what, process.limit)?.success(&what)?.wall;
        Ok((wall, dirs))
    }

    /// Nothing may arrive when telemetry is off; every message must arrive where it is answered.
    fn check_arrivals(
        &self,
        process: &ProcessBench,
        side: Side,
        scenario: Scenario,
        before: Option<Counted>,
    ) -> Result<(), String> {
        let (Some(endpoint), Some(before)) = (self.endpoints(side).counting(scenario), before) else { return Ok(()) };
        let what = format!("{} ({}, {})", process.measurement, side.name(), scenario.label());
        let expected = if scenario == Scenario::Off { 0 } else { process.messages_per_run * self.runs as u64 };
        let received = endpoint.wait_for_messages(before.messages + expected, ARRIVAL_LIMIT) - before.messages;
        if received != expected {
            return Err(format!("{what}: the endpoint received {received} messages, expected {expected}"));
        }
        let repeated = endpoint.repeated() - before.repeated;
        eprintln!("{what}: {received} messages arrived, {repeated} of them also a second time");
        Ok(())
    }

    /// Delivery rates per side (the median of the runs), and `track` timings when asked. At
    /// the holding endpoint, each side's figure notes how many of its messages arrived.
    fn delivery_rows(&self, delivery: &DeliveryBench) -> Result<Vec<Row>, String> {
        let label = delivery.endpoint.label();
        let (mut rates, mut track_ns) = ([Vec::new(), Vec::new()], [Vec::new(), Vec::new()]);
        let mut arrivals = [Arrivals::default(); 2];
        for run in 1..=DELIVERY_RUNS {
            eprintln!("{}, {label}: run {run} of {DELIVERY_RUNS}", delivery.measurement);
            for (index, side) in [Side::Dlt, Side::Ours].into_iter().enumerate() {
                let run = self.deliver(delivery, side)?;
                rates[index].push(run.rate);
                track_ns[index].extend(run.track_ns);
                arrivals[index].add(run.arrivals);
            }
        }
        let rate = |index: usize| Figure::Rate(median(&rates[index]).unwrap_or_default());
        let note = |index: usize| {
            let Arrivals { arrived, sent } = arrivals[index];
            (delivery.endpoint == DeliveryEndpoint::HoldsEveryFourth).then(|| format!("{arrived} of {sent} arrived"))
        };
        let mut rows = vec![Row {
            measurement: delivery.measurement.into(),
            endpoint: label.into(),
            dlt: rate(0),
            ours: rate(1),
            dlt_note: note(0),
            ours_note: note(1),
        }];
        if delivery.report_track {
            let caller = match delivery.ours {
                OursDriver::Rust => "",
                OursDriver::PythonEngine => " from Python (dlt's `anon_tracker.track`)",
            };
            for (name, statistic) in
                [("median", median as fn(&[f64]) -> Option<f64>), ("p99", |s: &[f64]| percentile(s, 99.0))]
            {
                let figure = |index: usize| Figure::Time(seconds(statistic(&track_ns[index]).map(|ns| ns / 1e9)));
                rows.push(Row {
                    measurement: format!("`track` call{caller}, {name}"),
                    endpoint: label.into(),
                    dlt: figure(0),
                    ours: figure(1),
                    dlt_note: None,
                    ours_note: None,
                });
            }
        }
        Ok(rows)
    }

    /// One delivery run: the messages that arrived per second of the driver's own time, each
    /// `track` call's nanoseconds, and how many arrived. At a shared endpoint every message
    /// must have arrived.
    fn deliver(&self, delivery: &DeliveryBench, side: Side) -> Result<DeliveryRun, String> {
        let own_endpoint;
        let endpoint = match delivery.endpoint {
            DeliveryEndpoint::Shared(scenario) => self
                .endpoints(side)
                .counting(scenario)
                .ok_or_else(|| format!("{} is not an answering endpoint", scenario.label()))?,
            DeliveryEndpoint::HoldsEveryFourth => {
                own_endpoint = Endpoint::holding_every(HELD_REQUEST)
                    .map_err(|e| format!("cannot start a loopback endpoint: {e}"))?;
                &own_endpoint
            }
        };
        let url = endpoint.url(delivery.path);
        let dirs = RunDirs::new()?;
        let (mut command, messages) = match side {
            Side::Dlt => {
                let mut command = Command::new(&self.python);
                command.arg(&self.driver).args(["deliver", "--messages", &delivery.dlt_messages.to_string()]);
                (command, delivery.dlt_messages)
            }
            Side::Ours if delivery.ours == OursDriver::PythonEngine => {
                let mut command = Command::new(&self.python);
                command.arg(&self.driver).args([
                    "deliver",
                    "--messages",
                    &delivery.ours_messages.to_string(),
                    "--engine",
                ]);
                (command, delivery.ours_messages)
            }
            Side::Ours => {
                let mut command = Command::new(&self.ours_driver);
                command.args(["--endpoint", &url, "--messages", &delivery.ours_messages.to_string()]);
                (command, delivery.ours_messages)
            }
        };
        Self::environment(&mut command, &dirs, &url, true);
        if side == Side::Ours && delivery.ours == OursDriver::PythonEngine {
            // Delivered from the process, so that its `flush` waits for the endpoint.
            command.env("RUNTIME__TELEMETRY_DETACHED_SENDER", "false");
        }
        let what = format!("{} ({}, {})", delivery.measurement, side.name(), delivery.endpoint.label());
        let before = endpoint.messages();
        let finished = child::run(&mut command, &what, Duration::from_secs(300))?.success(&what)?;
        let sent = messages as u64;
        let arrived = match delivery.endpoint {
            DeliveryEndpoint::Shared(_) => endpoint.wait_for_messages(before + sent, ARRIVAL_LIMIT) - before,
            // The driver has finished with every message: what has not arrived never will.
            DeliveryEndpoint::HoldsEveryFourth => endpoint.messages() - before,
        };
        if arrived != sent && delivery.endpoint != DeliveryEndpoint::HoldsEveryFourth {
            return Err(format!("{what}: the endpoint received {arrived} of {messages} messages"));
        }
        let report: Value = serde_json::from_str(finished.stdout.trim())
            .map_err(|e| format!("{what} printed no JSON report ({e}): {}", finished.stdout.trim()))?;
        let seconds = report["delivered_seconds"].as_f64().filter(|s| *s > 0.0);
        let calls: Option<Vec<f64>> =
            report["track_ns"].as_array().map(|calls| calls.iter().filter_map(Value::as_f64).collect());
        match (seconds, calls) {
            (Some(seconds), Some(track_ns)) if track_ns.len() == messages => {
                Ok(DeliveryRun { rate: arrived as f64 / seconds, track_ns, arrivals: Arrivals { arrived, sent } })
            }
            _ => Err(format!("{what}: the report lacks delivered_seconds or {messages} track_ns")),
        }
    }

    fn endpoints(&self, side: Side) -> &Endpoints {
        match side {
            Side::Dlt => &self.dlt_endpoints,
            Side::Ours => &self.ours_endpoints,
        }
    }

    /// A clean environment: no CI variables, no configuration of the caller's; every dlt dir
    /// in the run's temporary folder; telemetry on or off, sent to `endpoint`.
    fn environment(command: &mut Command, dirs: &RunDirs, endpoint: &str, telemetry: bool) {
        command.env_clear().current_dir(&dirs.project);
        command.envs(std::env::var_os("PATH").map(|path| ("PATH", path)));
        command.envs([
            ("LANG", OsString::from("C.UTF-8")),
            ("HOME", dirs.home.clone().into()),
            ("DLT_GLOBAL_DIR", dirs.global.clone().into()),
            ("DLT_PROJECT_DIR", dirs.project.clone().into()),
            ("DLT_DATA_DIR", dirs.data.clone().into()),
            ("RUNTIME__DLTHUB_TELEMETRY", OsString::from(if telemetry { "true" } else { "false" })),
            ("RUNTIME__DLTHUB_TELEMETRY_ENDPOINT", OsString::from(endpoint)),
            ("RUNTIME__DLTHUB_TELEMETRY_DEBUG", OsString::from("false")),
        ]);
    }
}

fn with_arg(mut command: Command, arg: &str) -> Command {
    command.arg(arg);
    command
}

fn seconds(value: Option<f64>) -> Duration {
    Duration::try_from_secs_f64(value.unwrap_or_default()).unwrap_or_default()
}

/// A run's own home, project, global and data dirs, removed when it is dropped.
struct RunDirs {
    _root: tempfile::TempDir,
    home: PathBuf,
    project: PathBuf,
    global: PathBuf,
    data: PathBuf,
}

impl RunDirs {
    fn new() -> Result<Self, String> {
        let root = tempfile::Builder::new()
            .prefix("dlt-bench-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary dir: {e}"))?;
        let [home, project, global, data] = ["home", "project", "global", "data"].map(|name| root.path().join(name));
        for dir in [&home, &project, &global, &data] {
            fs::create_dir(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        Ok(Self { _root: root, home, project, global, data })
    }
}

/// The virtual environment's Python with dlt 1.31.0, created and installed from PyPI when
/// missing.
fn bench_python(root: &Path) -> Result<PathBuf, String> {
    let venv = root.join(VENV);
    let python = venv.join("bin/python");
    if !python.exists() {
        eprintln!("creating {VENV}/");
        child::run_visible(Command::new("python3").arg("-m").arg("venv").arg(&venv), "python3 -m venv", minutes(2))?;
    }
    let installed = || {
        child::run(Command::new(&python).args(["-c", "import dlt; print(dlt.__version__)"]), "python", minutes(2))
            .is_ok_and(|finished| finished.status.success() && finished.stdout.trim() == DLT_VERSION)
    };
    if !installed() {
        eprintln!("installing dlt=={DLT_VERSION} into {VENV}/");
        pip_install(&python, &format!("dlt=={DLT_VERSION}"))?;
        if !installed() {
            return Err(format!("{VENV}/ does not import dlt {DLT_VERSION} after installing it"));
        }
    }
    let has_maturin = child::run(Command::new(&python).args(["-c", "import maturin"]), "python", minutes(2))
        .is_ok_and(|finished| finished.status.success());
    if !has_maturin {
        eprintln!("installing maturin into {VENV}/ (it builds the dlt-python wheel)");
        pip_install(&python, "maturin>=1.9.4,<2")?;
    }
    Ok(python)
}

/// Installs `requirement` from PyPI with the virtual environment's `python`.
fn pip_install(python: &Path, requirement: &str) -> Result<(), String> {
    let mut command = Command::new(python);
    command.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement]);
    child::run_visible(&mut command, &format!("pip install {requirement}"), minutes(15))
}

/// Release builds of the `dlt` binary, the traced pipeline example and the delivery driver.
fn build_ours(root: &Path) -> Result<(), String> {
    for (package, target) in [
        ("dlt-cli", ["--bin", "dlt"]),
        ("dlt-runtime-trace", ["--example", "traced_pipeline"]),
        ("xtask", ["--example", "bench_segment"]),
    ] {
        eprintln!("building {package} {} (release)", target[1]);
        let mut command = Command::new("cargo");
        command.args(["build", "--release", "--locked", "--quiet", "-p", package]).args(target).current_dir(root);
        child::run_visible(&mut command, &format!("cargo build -p {package} {}", target.join(" ")), minutes(60))?;
    }
    Ok(())
}

/// Cargo's target dir for this workspace.
fn target_dir(root: &Path) -> Result<PathBuf, String> {
    let metadata = crate::package_check::cargo_metadata(root)?;
    metadata["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "`cargo metadata` names no target directory".into())
}

const fn minutes(minutes: u64) -> Duration {
    Duration::from_secs(minutes * 60)
}

/// The text of `docs/benchmarks.md` around the figures; `{name}` marks what the run fills in.
const DOCUMENT_TEMPLATE: &str = "\
# Benchmarks: this project's `dlt` and dlt {dlt_version} (Python), side by side

Written by `cargo xtask bench-vs-dlt --write`: every figure comes from that run, none is typed by
hand. Run it again to update this page (it needs PyPI once, for `.venv-bench/`).

## Machine

{machine}
## Results

{table}
The advantage is dlt's time divided by this project's, or this project's rate divided by dlt's:
above 1, this project is faster. In brackets: the difference from the same command with
telemetry off.

## How it was measured

- This project: release builds of `dlt`, of the `traced_pipeline` example of `dlt-runtime-trace`
  and of xtask's `bench_segment` example (dlt-segment). dlt: `dlt=={dlt_version}` from PyPI in a
  virtual environment.
- Process rows: wall time from spawn to exit, the median of {runs} runs per side and endpoint;
  each round runs every endpoint and both sides in turn (so a busy moment of the shared machine
  falls on all of them alike), after one uncounted warm-up run each; stdout and stderr through
  pipes. Each run has its own temporary `HOME`, `DLT_GLOBAL_DIR`, `DLT_PROJECT_DIR` (its working
  dir) and `DLT_DATA_DIR`, and an environment of only `PATH`, `LANG`, these and
  `RUNTIME__DLTHUB_TELEMETRY` (`false` for telemetry off), `RUNTIME__DLTHUB_TELEMETRY_ENDPOINT`
  and `RUNTIME__DLTHUB_TELEMETRY_DEBUG=false`: no CI variable.
- Endpoints, on loopback, served by the command itself on plain threads, one set per side so
  each side's messages are counted: \"answers at once\" (200 over keep-alive), \"answers after
  100 ms\", \"accepts, never answers\" (a firewall, a captive portal), \"refuses connections\" (a
  port nothing listens on: an offline laptop). With telemetry off the endpoint is an answering
  one that must receive nothing; the answering ones must receive every message each run sends,
  or the command fails.
- Pipeline run: dlt runs a 3-row pipeline to its `dummy` destination
  (`xtask/python/bench_dlt.py pipeline`); this project runs the `traced_pipeline` example. Each
  sends 4 events: `pipeline_extract`, `pipeline_normalize`, `pipeline_load`, `pipeline_run`.
- dlt pipeline script: the same dlt script both sides, once with dlt's own tracker and once
  after `dlt_telemetry.install()` (`bench_dlt.py pipeline --engine`, the `dlt-python` wheel built
  in release into `.venv-bench/`): the engine hands what is undelivered at exit to a detached
  sender (`python -m dlt_telemetry.sender`).
- dlt (Python) delivery: both sides track through dlt's own `anon_tracker.track`; the engine
  side sends from the process (`RUNTIME__TELEMETRY_DETACHED_SENDER=false`) and waits with
  `dlt_telemetry.flush`.
- Delivery: a driver process tracks N `pipeline_load` messages with the same properties (dlt:
  `dlt.common.runtime.anon_tracker.track`, then `disable_anon_tracker()`, which waits for its
  worker; this project: `SegmentClient::track`, then `shutdown`) and reports messages per second
  from the first `track` call until every message is delivered; the median of {delivery_runs}
  runs per side. dlt posts one message per request to any URL; this project batches to a path
  ending in `/v1/batch`. N, for dlt and for this project:
{counts}
- `track` call: each call timed on its own (`time.perf_counter_ns` in Python, `Instant` in
  Rust, the clock reads included) during the first delivery row's runs.
- dlt {dlt_version} running as root keeps its global dir in `/var/dlt` whatever `HOME` says: the
  `dlt telemetry` row, dlt's own command, writes `.anonymous_id` there. The Python driver points
  dlt's global dir at the run's `DLT_GLOBAL_DIR` (which the engine, once installed, follows).
";

/// `docs/benchmarks.md`: the table, the machine, and how it was measured.
fn document(machine: &Machine, table: &str, options: &Options, deliveries: &[DeliveryBench]) -> String {
    let counts: Vec<String> = deliveries
        .iter()
        .map(|d| format!("  - {} ({}): {} and {}", d.measurement, d.endpoint.label(), d.dlt_messages, d.ours_messages))
        .collect();
    DOCUMENT_TEMPLATE
        .replace("{dlt_version}", DLT_VERSION)
        .replace("{machine}", &machine.markdown())
        .replace("{table}", table)
        .replace("{runs}", &options.runs.to_string())
        .replace("{delivery_runs}", &DELIVERY_RUNS.to_string())
        .replace("{counts}", &counts.join("\n"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    use super::machine::Machine;
    use super::{DEFAULT_RUNS, Endpoints, Options, SCENARIOS, Scenario, delivery_benches, document};

    /// `host:port` of an endpoint URL (`http://127.0.0.1:<port>/`).
    fn host(url: &str) -> &str {
        url.trim_start_matches("http://").trim_end_matches('/')
    }

    #[test]
    fn the_silent_endpoint_accepts_and_never_answers() {
        let endpoints = Endpoints::start().unwrap();
        let url = endpoints.url(Scenario::NeverAnswers);
        assert!(url.starts_with("http://127.0.0.1:") && url.ends_with('/'), "{url}");
        let mut stream = TcpStream::connect(host(&url)).unwrap();
        write!(stream, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{{}}").unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        let error = stream.read(&mut [0; 16]).unwrap_err();
        assert!(matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut), "{error}");
        // Nothing counts it as a delivery, and no counting endpoint received it.
        assert!(endpoints.counting(Scenario::NeverAnswers).is_none());
        for scenario in SCENARIOS {
            assert_eq!(endpoints.counting(scenario).map_or(0, |endpoint| endpoint.messages()), 0);
        }
    }

    #[test]
    fn the_refusing_url_refuses() {
        let endpoints = Endpoints::start().unwrap();
        let url = endpoints.url(Scenario::Refuses);
        assert!(url.starts_with("http://127.0.0.1:") && url.ends_with('/'), "{url}");
        let error = TcpStream::connect(host(&url)).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
    }

    #[test]
    fn the_document_fills_every_placeholder() {
        let machine = Machine::fixed("a CPU", "an OS");
        let text = document(&machine, "| the table |\n", &Options { write: true, runs: 7 }, &delivery_benches());
        assert!(!text.contains('{') && !text.contains('}'), "{text}");
        assert!(text.contains("\n- CPU: a CPU (2 logical cores)\n"), "{text}");
        assert!(text.contains("\n| the table |\n"), "{text}");
        assert!(text.contains("the median of 7 runs per side and endpoint"), "{text}");
        assert!(text.contains("  - delivery, one message per request (answers at once): 1000 and 5000\n"), "{text}");
    }

    fn parse(args: &[&str]) -> Result<Options, String> {
        Options::parse(&args.iter().map(|arg| (*arg).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn options() {
        assert_eq!(parse(&[]).unwrap(), Options { write: false, runs: DEFAULT_RUNS });
        assert_eq!(parse(&["--write", "--runs", "9"]).unwrap(), Options { write: true, runs: 9 });
        assert!(parse(&["--runs", "0"]).is_err());
        assert!(parse(&["--runs"]).is_err());
        assert!(parse(&["--fast"]).is_err());
    }
}
