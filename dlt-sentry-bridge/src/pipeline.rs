//! Pipeline runs as Sentry transactions, usable from plain Rust without `tracing` spans:
//! one transaction named after the outermost step, one child span per step, dlt's tags on
//! both, and `internal_error` (with the error's message) for what failed. Everything is a
//! no-op when Sentry is off.
//!
//! What is built here is scrubbed as it is built: when the host bound its own client, no
//! transport or event processor of ours sees the transaction before it is sent.

use std::fmt;
use std::sync::Arc;

use sentry_core::protocol::{SpanStatus, Value};
use sentry_core::{Hub, Span, Transaction, TransactionContext, TransactionOrSpan};

use crate::guard::SentryGuard;
use crate::scrub::Scrubber;

/// The span data key (and, on a transaction, the trace context data key) that holds the
/// message of the error a step or a run failed with.
const ERROR_MESSAGE_KEY: &str = "error.message";

/// The tags dlt puts on a pipeline's transaction and on each of its spans.
///
/// Build it with [`PipelineTags::new`] and the `with_*` methods: fields may be added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PipelineTags {
    /// Tag `pipeline_name`.
    pub pipeline_name: String,
    /// Tag `destination` (the destination's name), when the pipeline has one.
    pub destination: Option<String>,
    /// Tag `dataset_name`, when the pipeline has one.
    pub dataset_name: Option<String>,
}

impl PipelineTags {
    /// Tags for a pipeline without destination or dataset yet.
    pub fn new(pipeline_name: impl Into<String>) -> Self {
        Self { pipeline_name: pipeline_name.into(), destination: None, dataset_name: None }
    }

    /// With the `destination` tag.
    #[must_use]
    pub fn with_destination(mut self, destination: impl Into<String>) -> Self {
        self.destination = Some(destination.into());
        self
    }

    /// With the `dataset_name` tag.
    #[must_use]
    pub fn with_dataset_name(mut self, dataset_name: impl Into<String>) -> Self {
        self.dataset_name = Some(dataset_name.into());
        self
    }

    /// The tags that have a value.
    fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("pipeline_name", Some(self.pipeline_name.as_str())),
            ("destination", self.destination.as_deref()),
            ("dataset_name", self.dataset_name.as_deref()),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|value| (name, value)))
    }
}

/// A running pipeline transaction. Finish it with [`finish`](Self::finish); dropping it
/// unfinished (e.g. while unwinding) finishes it as failed.
#[must_use = "finish the transaction with the run's outcome"]
pub struct PipelineTransaction {
    active: Option<ActiveTransaction>,
}

struct ActiveTransaction {
    hub: Arc<Hub>,
    scrubber: Arc<Scrubber>,
    transaction: Transaction,
    /// The tags with values, scrubbed.
    tags: Vec<(&'static str, String)>,
    /// The scope's span before this transaction, restored when it finishes.
    previous_span: Option<TransactionOrSpan>,
}

impl PipelineTransaction {
    /// Starts a transaction named after `outer_step` (op = `outer_step`, e.g. "run") on the
    /// guard's hub, and makes it the scope's current span so events link to it.
    pub fn start(guard: &SentryGuard, outer_step: &str, tags: &PipelineTags) -> Self {
        let Some((hub, scrubber)) = guard.hub_and_scrubber() else {
            return Self { active: None };
        };
        let outer_step = scrubber.scrubbed(outer_step);
        let transaction = hub.start_transaction(TransactionContext::new(&outer_step, &outer_step));
        let tags: Vec<_> = tags.pairs().map(|(name, value)| (name, scrubber.scrubbed(value))).collect();
        for (name, value) in &tags {
            transaction.set_tag(name, value);
        }
        let current = TransactionOrSpan::from(transaction.clone());
        let previous_span = hub.configure_scope(|scope| {
            let previous = scope.get_span();
            scope.set_span(Some(current));
            previous
        });
        Self {
            active: Some(ActiveTransaction {
                hub: Arc::clone(hub),
                scrubber: Arc::clone(scrubber),
                transaction,
                tags,
                previous_span,
            }),
        }
    }

    /// Whether this transaction records anything (false when Sentry is off).
    pub fn is_recording(&self) -> bool {
        self.active.is_some()
    }

    /// Starts the span of one step (op and description = `step`) with the pipeline's tags,
    /// and makes it the scope's current span until it finishes.
    pub fn start_step(&self, step: &str) -> StepSpan {
        let Some(active) = &self.active else {
            return StepSpan { active: None };
        };
        let step = active.scrubber.scrubbed(step);
        let span = active.transaction.start_child(&step, &step);
        for (name, value) in &active.tags {
            span.set_tag(name, value);
        }
        let current = TransactionOrSpan::from(span.clone());
        active.hub.configure_scope(|scope| scope.set_span(Some(current)));
        StepSpan {
            active: Some(ActiveSpan {
                hub: Arc::clone(&active.hub),
                scrubber: Arc::clone(&active.scrubber),
                span,
                transaction: active.transaction.clone(),
            }),
        }
    }

    /// Finishes and sends the transaction: status `ok` on success unless a step failed,
    /// `internal_error` otherwise.
    pub fn finish(mut self, success: bool) {
        if let Some(active) = self.active.take() {
            active.finish(success);
        }
    }

    /// Finishes and sends the transaction as failed (`internal_error`), with the error's
    /// message, scrubbed, in its trace context's data under `error.message`.
    pub fn fail(mut self, error: impl fmt::Display) {
        if let Some(active) = self.active.take() {
            active.transaction.set_data(ERROR_MESSAGE_KEY, Value::from(active.scrubber.scrubbed(&error.to_string())));
            active.finish(false);
        }
    }
}

impl ActiveTransaction {
    fn finish(self, success: bool) {
        let step_failed = self.transaction.get_status() == Some(SpanStatus::InternalError);
        self.transaction.set_status(if success && !step_failed { SpanStatus::Ok } else { SpanStatus::InternalError });
        let previous_span = self.previous_span;
        self.hub.configure_scope(|scope| scope.set_span(previous_span));
        let transaction = self.transaction;
        // Finishing applies the current hub's scope (dlt's tags, user): make that ours.
        Hub::run(self.hub, || transaction.finish());
    }
}

impl Drop for PipelineTransaction {
    fn drop(&mut self) {
        if let Some(active) = self.active.take() {
            active.finish(false);
        }
    }
}

/// A running step. Finish it with [`finish`](Self::finish); dropping it unfinished
/// finishes it as failed.
#[must_use = "finish the step with its outcome"]
pub struct StepSpan {
    active: Option<ActiveSpan>,
}

struct ActiveSpan {
    hub: Arc<Hub>,
    scrubber: Arc<Scrubber>,
    span: Span,
    transaction: Transaction,
}

impl StepSpan {
    /// Finishes the step: status `ok`, or `internal_error` on the span and its transaction.
    pub fn finish(mut self, success: bool) {
        if let Some(active) = self.active.take() {
            active.finish(success);
        }
    }

    /// Finishes the step as failed (`internal_error` on the span and its transaction), with
    /// the error's message, scrubbed, in the span's data under `error.message`.
    pub fn fail(mut self, error: impl fmt::Display) {
        if let Some(active) = self.active.take() {
            active.span.set_data(ERROR_MESSAGE_KEY, Value::from(active.scrubber.scrubbed(&error.to_string())));
            active.finish(false);
        }
    }
}

impl ActiveSpan {
    fn finish(self, success: bool) {
        if success {
            self.span.set_status(SpanStatus::Ok);
        } else {
            self.span.set_status(SpanStatus::InternalError);
            self.transaction.set_status(SpanStatus::InternalError);
        }
        let current = TransactionOrSpan::from(self.transaction);
        self.hub.configure_scope(|scope| scope.set_span(Some(current)));
        self.span.finish();
    }
}

impl Drop for StepSpan {
    fn drop(&mut self) {
        if let Some(active) = self.active.take() {
            active.finish(false);
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::time::Duration;

    use sentry_core::protocol::Context;

    use super::*;
    use crate::test_util::CapturingTransport;
    use crate::{SentryDsn, SentryOptions, init};

    fn tags() -> PipelineTags {
        PipelineTags {
            pipeline_name: "chess".into(),
            destination: Some("duckdb".into()),
            dataset_name: Some("games".into()),
        }
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
            assert!(guard.close(Duration::from_secs(1)));
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
            assert!(guard.close(Duration::from_secs(1)));
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
            let tags = PipelineTags::new("chess")
                .with_destination("postgresql://loader:Xy;9@db/dlt")
                .with_dataset_name("games");
            let run = PipelineTransaction::start(guard, "run", &tags);
            run.start_step("extract").finish(true);
            let load = run.start_step("load https://u:St3p/pw@h");
            hub.capture_message("load failed: https://u:Ab/cd#9@api.example.com", sentry_core::Level::Error);
            load.fail(
                "could not connect to postgresql://loader:Xy;9@db/dlt: refused (https://u:Ab/cd#9@api.example.com)",
            );
            run.finish(true);
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
            let run = PipelineTransaction::start(guard, "run", &tags());
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
            let run = PipelineTransaction::start(guard, "run", &tags());
            for step in ["extract", "normalize", "load"] {
                run.start_step(step).finish(true);
            }
            run.finish(true);
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
            let run = PipelineTransaction::start(guard, "run", &PipelineTags::new("chess"));
            run.start_step("extract").finish(true);
            run.start_step("normalize").finish(false);
            run.finish(true);
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
            let run = PipelineTransaction::start(guard, "load", &PipelineTags::new("chess"));
            let _step = run.start_step("load");
        });
        let transaction = &transport.transactions()[0];
        assert_eq!(transaction.name.as_deref(), Some("load"));
        assert_eq!(transaction.spans[0].status, Some(SpanStatus::InternalError));
        assert_eq!(trace_status(transaction.contexts.get("trace")), Some(SpanStatus::InternalError));
    }

    #[test]
    fn events_during_a_step_link_to_it_and_the_scope_is_restored() {
        let transport = capture(|guard| {
            let (hub, _) = guard.hub_and_scrubber().unwrap();
            let run = PipelineTransaction::start(guard, "run", &PipelineTags::new("chess"));
            let step = run.start_step("extract");
            hub.capture_message("inside", sentry_core::Level::Error);
            step.finish(true);
            run.finish(true);
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
        let run = PipelineTransaction::start(&guard, "run", &PipelineTags::new("chess"));
        assert!(!run.is_recording());
        run.start_step("extract").finish(false);
        run.finish(false);
    }
}
