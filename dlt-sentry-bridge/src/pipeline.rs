//! Pipeline runs as Sentry transactions, usable from plain Rust without `tracing` spans:
//! one transaction named after the outermost step, one child span per step, dlt's tags on
//! both, and `internal_error` (with the error's message) for what failed. Everything is a
//! no-op when Sentry is off.
//!
//! The OpenTelemetry bridge records runs with the same shape: `PipelineRunSpan::start(guard,
//! outer_step, pipeline)`, `start_step(step)`, `finish()` or `fail(error)` on a run and on a
//! step, and the same failure for one dropped unfinished (both hold their runs and steps in
//! `dlt_pipeline_run::RecordingGuard`).
//!
//! What is built here is scrubbed as it is built: when the host bound its own client, no
//! transport or event processor of ours sees the transaction before it is sent.

use std::fmt;
use std::sync::Arc;

use dlt_pipeline_run::{PipelineIdentity, RUN_UNFINISHED, Recording, RecordingGuard, STEP_UNFINISHED};
use sentry_core::protocol::{SpanStatus, Value};
use sentry_core::{Hub, Span, Transaction, TransactionContext, TransactionOrSpan};

use crate::guard::SentryGuard;
use crate::scrub::Scrubber;

/// The span data key (and, on a transaction, the trace context data key) that holds the
/// message of the error a step or a run failed with.
const ERROR_MESSAGE_KEY: &str = "error.message";

/// The tags of a run's transaction and of each of its spans: the pipeline's name, and its
/// destination's and dataset's names when it has them.
fn pipeline_tags(pipeline: &PipelineIdentity) -> impl Iterator<Item = (&'static str, &str)> {
    [
        ("pipeline_name", Some(pipeline.pipeline_name.as_str())),
        ("destination", pipeline.destination_name.as_deref()),
        ("dataset_name", pipeline.dataset_name.as_deref()),
    ]
    .into_iter()
    .filter_map(|(name, value)| value.map(|value| (name, value)))
}

/// A pipeline run in progress: one Sentry transaction. End it with [`finish`](Self::finish)
/// or [`fail`](Self::fail); dropped unfinished (say, while unwinding), it fails with the error
/// `the pipeline run ended without finishing`.
#[must_use = "end the run with finish() or fail()"]
pub struct PipelineRunSpan {
    recording: RecordingGuard<RunTransaction>,
}

/// The transaction of a run while Sentry is on, with what ending it needs.
struct RunTransaction {
    hub: Arc<Hub>,
    scrubber: Arc<Scrubber>,
    transaction: Transaction,
    /// The tags with values, scrubbed.
    tags: Vec<(&'static str, String)>,
    /// The scope's span before this transaction, restored when it ends.
    previous_span: Option<TransactionOrSpan>,
}

impl PipelineRunSpan {
    /// Starts a transaction named after `outer_step` (op = `outer_step`, e.g. `run`) on the
    /// guard's hub, tagged `pipeline_name`, `destination` and `dataset_name`, and makes it the
    /// scope's current span so events link to it. A step is named by a constant of the program
    /// (`extract`, `load`): an op is a category, never data.
    pub fn start(guard: &SentryGuard, outer_step: &'static str, pipeline: &PipelineIdentity) -> Self {
        let Some((hub, scrubber)) = guard.hub_and_scrubber() else {
            return Self { recording: RecordingGuard::off() };
        };
        let outer_step = scrubber.scrubbed(outer_step);
        let transaction = hub.start_transaction(TransactionContext::new(&outer_step, &outer_step));
        let tags: Vec<_> = pipeline_tags(pipeline).map(|(name, value)| (name, scrubber.scrubbed(value))).collect();
        for (name, value) in &tags {
            transaction.set_tag(name, value);
        }
        let current = TransactionOrSpan::from(transaction.clone());
        let previous_span = hub.configure_scope(|scope| {
            let previous = scope.get_span();
            scope.set_span(Some(current));
            previous
        });
        let recording =
            RunTransaction { hub: Arc::clone(hub), scrubber: Arc::clone(scrubber), transaction, tags, previous_span };
        Self { recording: RecordingGuard::new(recording) }
    }

    /// Whether this run records anything (false when Sentry is off).
    pub fn is_recording(&self) -> bool {
        self.recording.get().is_some()
    }

    /// Starts the span of one step (op and description = `step`) with the pipeline's tags,
    /// and makes it the scope's current span until it ends.
    pub fn start_step(&self, step: &'static str) -> StepSpan {
        let Some(run) = self.recording.get() else {
            return StepSpan { recording: RecordingGuard::off() };
        };
        let step = run.scrubber.scrubbed(step);
        let span = run.transaction.start_child(&step, &step);
        for (name, value) in &run.tags {
            span.set_tag(name, value);
        }
        let current = TransactionOrSpan::from(span.clone());
        run.hub.configure_scope(|scope| scope.set_span(Some(current)));
        let recording = StepChildSpan {
            hub: Arc::clone(&run.hub),
            scrubber: Arc::clone(&run.scrubber),
            span,
            transaction: run.transaction.clone(),
        };
        StepSpan { recording: RecordingGuard::new(recording) }
    }

    /// Ends and sends the run: status `ok`, or `internal_error` when one of its steps failed.
    pub fn finish(self) {
        self.recording.finish();
    }

    /// Ends and sends the run as failed (`internal_error`), with the error's message, scrubbed,
    /// in its trace context's data under `error.message`.
    pub fn fail(self, error: impl fmt::Display) {
        self.recording.fail(error);
    }
}

impl Recording for RunTransaction {
    const UNFINISHED: &'static str = RUN_UNFINISHED;

    fn end(self, error: Option<&dyn fmt::Display>) {
        let step_failed = self.transaction.get_status() == Some(SpanStatus::InternalError);
        if let Some(error) = error {
            self.transaction.set_data(ERROR_MESSAGE_KEY, Value::from(self.scrubber.scrubbed(&error.to_string())));
        }
        let failed = error.is_some() || step_failed;
        self.transaction.set_status(if failed { SpanStatus::InternalError } else { SpanStatus::Ok });
        let previous_span = self.previous_span;
        self.hub.configure_scope(|scope| scope.set_span(previous_span));
        let transaction = self.transaction;
        // Finishing applies the current hub's scope (dlt's tags, user): make that ours.
        Hub::run(self.hub, || transaction.finish());
    }
}

/// A step in progress: one span of its run's transaction. End it with
/// [`finish`](Self::finish) or [`fail`](Self::fail); dropped unfinished, it fails with the
/// error `the step ended without finishing`.
#[must_use = "end the step with finish() or fail()"]
pub struct StepSpan {
    recording: RecordingGuard<StepChildSpan>,
}

/// The span of a step while Sentry is on, with what ending it needs.
struct StepChildSpan {
    hub: Arc<Hub>,
    scrubber: Arc<Scrubber>,
    span: Span,
    transaction: Transaction,
}

impl StepSpan {
    /// Ends the step: status `ok`.
    pub fn finish(self) {
        self.recording.finish();
    }

    /// Ends the step as failed (`internal_error` on the span and its transaction), with the
    /// error's message, scrubbed, in the span's data under `error.message`.
    pub fn fail(self, error: impl fmt::Display) {
        self.recording.fail(error);
    }
}

impl Recording for StepChildSpan {
    const UNFINISHED: &'static str = STEP_UNFINISHED;

    fn end(self, error: Option<&dyn fmt::Display>) {
        match error {
            None => self.span.set_status(SpanStatus::Ok),
            Some(error) => {
                self.span.set_data(ERROR_MESSAGE_KEY, Value::from(self.scrubber.scrubbed(&error.to_string())));
                self.span.set_status(SpanStatus::InternalError);
                self.transaction.set_status(SpanStatus::InternalError);
            }
        }
        let current = TransactionOrSpan::from(self.transaction);
        self.hub.configure_scope(|scope| scope.set_span(Some(current)));
        self.span.finish();
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::{Duration, Instant};

    use sentry_core::protocol::Context;

    use super::*;
    use crate::test_util::CapturingTransport;
    use crate::{SentryDsn, SentryOptions, init};

    fn chess() -> PipelineIdentity {
        PipelineIdentity::new("chess").with_destination("duckdb", "dlt.destinations.duckdb").with_dataset("games")
    }

    /// Runs `run` against a bridge on a capturing transport and returns what it captured.
    fn capture(run: impl FnOnce(&SentryGuard)) -> Arc<CapturingTransport> {
        let transport = CapturingTransport::new();
        let mut options = SentryOptions::new("1.31.0");
        options.dsn = Some(SentryDsn::parse("https://public@sentry.invalid/42").unwrap());
        options.capture_panics = false;
        options.transport = Some(transport.clone());
        Hub::run(Arc::new(Hub::new_from_top(Hub::current())), || {
            let guard = init(options);
            run(&guard);
            assert!(guard.shutdown_by(Instant::now() + Duration::from_secs(1)));
        });
        transport
    }

    /// Runs `run` against a bridge that joins a client the host bound, which sends to a
    /// capturing transport of the host's; returns what that transport captured.
    fn capture_with_host_client(options: SentryOptions, run: impl FnOnce(&SentryGuard)) -> Arc<CapturingTransport> {
        let transport = CapturingTransport::new();
        let host_client = Arc::new(sentry_core::Client::with_options(
            sentry_core::ClientOptions::new()
                .dsn("https://hostkey@host.invalid/1")
                .traces_sample_rate(1.0)
                .transport(transport.clone()),
        ));
        Hub::run(Arc::new(Hub::new(Some(host_client), Arc::default())), || {
            let guard = init(options);
            assert!(guard.is_enabled() && !guard.owns_client());
            run(&guard);
            assert!(guard.shutdown_by(Instant::now() + Duration::from_secs(1)));
        });
        transport
    }

    /// Every string in a JSON value, keys included.
    fn strings(value: &Value, found: &mut Vec<String>) {
        match value {
            Value::String(text) => found.push(text.clone()),
            Value::Array(items) => items.iter().for_each(|item| strings(item, found)),
            Value::Object(map) => map.iter().for_each(|(key, item)| {
                found.push(key.clone());
                strings(item, found);
            }),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    #[test]
    fn with_a_host_client_transactions_are_scrubbed_as_they_are_built() {
        let mut options = SentryOptions::new("1.31.0");
        options.dsn = Some(SentryDsn::parse("https://public@sentry.invalid/42").unwrap());
        options.capture_panics = false;
        options.host_environment = crate::HostEnvironment::from_lookup(|name| {
            (name == "IMAGE_VERSION").then(|| "oci://bot:Img@Pw9@registry/dlt:1".to_owned())
        });
        let transport = capture_with_host_client(options, |guard| {
            let (hub, _) = guard.hub_and_scrubber().unwrap();
            let pipeline = PipelineIdentity::new("chess")
                .with_destination("postgresql://loader:Xy;9@db/dlt", "dlt.destinations.postgres")
                .with_dataset("games");
            let run = PipelineRunSpan::start(guard, "run", &pipeline);
            run.start_step("extract").finish();
            let load = run.start_step("load https://u:St3p/pw@h");
            hub.capture_message("load failed: https://u:Ab/cd#9@api.example.com", sentry_core::Level::Error);
            load.fail(
                "could not connect to postgresql://loader:Xy;9@db/dlt: refused (https://u:Ab/cd#9@api.example.com)",
            );
            run.finish();
        });
        let (transactions, events) = (transport.transactions(), transport.events());
        assert_eq!((transactions.len(), events.len()), (1, 1));
        let mut shown = Vec::new();
        strings(&serde_json::to_value(&transactions[0]).unwrap(), &mut shown);
        strings(&serde_json::to_value(&events[0]).unwrap(), &mut shown);
        for password in ["Xy;9", "Ab/cd#9", "Img@Pw9", "St3p/pw"] {
            assert!(shown.iter().all(|text| !text.contains(password)), "{password} in {shown:?}");
        }

        let transaction = &transactions[0];
        assert_eq!(transaction.tags["destination"], "postgresql://[Filtered]@db/dlt");
        assert_eq!(transaction.tags["image_version"], "oci://[Filtered]@registry/dlt:1");
        assert_eq!(trace_status(transaction.contexts.get("trace")), Some(SpanStatus::InternalError));
        let load = &transaction.spans[1];
        assert_eq!(load.op.as_deref(), Some("load https://[Filtered]@h"));
        assert_eq!(load.status, Some(SpanStatus::InternalError));
        assert_eq!(load.tags["destination"], "postgresql://[Filtered]@db/dlt");
        assert_eq!(
            load.data[ERROR_MESSAGE_KEY],
            "could not connect to postgresql://[Filtered]@db/dlt: refused (https://[Filtered]@[Filtered]"
        );
        // The `#` in the password may have started a fragment: the rule hides what follows too.
        assert_eq!(events[0].message.as_deref(), Some("load failed: https://[Filtered]@[Filtered]"));
        assert_eq!(events[0].tags["image_version"], "oci://[Filtered]@registry/dlt:1");
    }

    #[test]
    fn a_failed_run_records_its_scrubbed_error_message() {
        let transport = capture(|guard| {
            let run = PipelineRunSpan::start(guard, "run", &chess());
            run.start_step("extract").fail("source https://u:Ab/cd#9@api.example.com answered 500");
            run.fail("step extract failed: source https://u:Ab/cd#9@api.example.com answered 500");
        });
        let transaction = &transport.transactions()[0];
        let Some(Context::Trace(trace)) = transaction.contexts.get("trace") else {
            panic!("no trace context on {transaction:?}");
        };
        assert_eq!(trace.status, Some(SpanStatus::InternalError));
        assert_eq!(
            trace.data[ERROR_MESSAGE_KEY],
            "step extract failed: source https://[Filtered]@[Filtered] answered 500"
        );
        assert_eq!(transaction.spans[0].status, Some(SpanStatus::InternalError));
        assert_eq!(transaction.spans[0].data[ERROR_MESSAGE_KEY], "source https://[Filtered]@[Filtered] answered 500");
    }

    fn trace_status(context: Option<&Context>) -> Option<SpanStatus> {
        match context {
            Some(Context::Trace(trace)) => trace.status,
            _ => None,
        }
    }

    #[test]
    fn a_successful_run_has_one_span_per_step_with_tags() {
        let transport = capture(|guard| {
            let run = PipelineRunSpan::start(guard, "run", &chess());
            for step in ["extract", "normalize", "load"] {
                run.start_step(step).finish();
            }
            run.finish();
        });
        let transactions = transport.transactions();
        assert_eq!(transactions.len(), 1);
        let transaction = &transactions[0];
        assert_eq!(transaction.name.as_deref(), Some("run"));
        assert_eq!(trace_status(transaction.contexts.get("trace")), Some(SpanStatus::Ok));
        assert_eq!(transaction.tags["pipeline_name"], "chess");
        assert_eq!(transaction.tags["destination"], "duckdb");
        assert_eq!(transaction.tags["dataset_name"], "games");
        assert_eq!(transaction.tags["dlt_version"], "1.31.0");
        let ops: Vec<_> = transaction.spans.iter().map(|s| s.op.as_deref().unwrap()).collect();
        assert_eq!(ops, ["extract", "normalize", "load"]);
        for span in &transaction.spans {
            assert_eq!(span.status, Some(SpanStatus::Ok));
            assert_eq!(span.tags["dataset_name"], "games");
            assert_eq!(span.tags["destination"], "duckdb");
        }
    }

    #[test]
    fn a_failed_step_marks_its_span_and_the_transaction() {
        let transport = capture(|guard| {
            let run = PipelineRunSpan::start(guard, "run", &PipelineIdentity::new("chess"));
            run.start_step("extract").finish();
            run.start_step("normalize").fail("column type conflict");
            run.finish();
        });
        let transaction = &transport.transactions()[0];
        assert_eq!(trace_status(transaction.contexts.get("trace")), Some(SpanStatus::InternalError));
        assert_eq!(transaction.spans[0].status, Some(SpanStatus::Ok));
        assert_eq!(transaction.spans[1].status, Some(SpanStatus::InternalError));
        assert!(!transaction.tags.contains_key("destination"));
    }

    #[test]
    fn dropped_unfinished_means_failed() {
        let transport = capture(|guard| {
            let run = PipelineRunSpan::start(guard, "load", &PipelineIdentity::new("chess"));
            let _step = run.start_step("load");
        });
        let transaction = &transport.transactions()[0];
        assert_eq!(transaction.name.as_deref(), Some("load"));
        assert_eq!(transaction.spans[0].status, Some(SpanStatus::InternalError));
        assert_eq!(trace_status(transaction.contexts.get("trace")), Some(SpanStatus::InternalError));
        assert_eq!(transaction.spans[0].data[ERROR_MESSAGE_KEY], STEP_UNFINISHED);
        let Some(Context::Trace(trace)) = transaction.contexts.get("trace") else {
            panic!("no trace context on {transaction:?}");
        };
        assert_eq!(trace.data[ERROR_MESSAGE_KEY], RUN_UNFINISHED);
    }

    #[test]
    fn events_during_a_step_link_to_it_and_the_scope_is_restored() {
        let transport = capture(|guard| {
            let (hub, _) = guard.hub_and_scrubber().unwrap();
            let run = PipelineRunSpan::start(guard, "run", &PipelineIdentity::new("chess"));
            let step = run.start_step("extract");
            hub.capture_message("inside", sentry_core::Level::Error);
            step.finish();
            run.finish();
            assert!(hub.configure_scope(|scope| scope.get_span()).is_none());
        });
        let event = &transport.events()[0];
        let transaction = &transport.transactions()[0];
        let Some(Context::Trace(trace)) = event.contexts.get("trace") else {
            panic!("no trace context on {event:?}");
        };
        assert_eq!(trace.span_id, transaction.spans[0].span_id);
    }

    #[test]
    fn without_sentry_everything_is_inert() {
        let guard = SentryGuard::disabled();
        let run = PipelineRunSpan::start(&guard, "run", &PipelineIdentity::new("chess"));
        assert!(!run.is_recording());
        run.start_step("extract").fail("source unreachable");
        run.fail("step extract failed");
    }
}
