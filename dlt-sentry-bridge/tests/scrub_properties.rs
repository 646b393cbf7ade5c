//! Property tests: a URL's user name and password or an extra secret drawn from printable
//! ASCII, put in every place a host can put text (log messages and fields, breadcrumbs, tags,
//! extra, user, pipeline names, step names and errors, a full event, a full transaction), never
//! reach what Sentry is sent, whether the bridge runs its own client or joined a client the host
//! bound.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use dlt_sentry_bridge::test_util::CapturingTransport;
use dlt_sentry_bridge::{HostEnvironment, PipelineIdentity, PipelineRunSpan, Redactor, SentryOptions, init};
use dlt_test_support::strategies::url_password_char;
use proptest::prelude::*;
use sentry_core::protocol::{
    Breadcrumb, Context, Envelope, EnvelopeItem, Event, Exception, LogEntry, Map, Mechanism, Request, Span,
    TraceContext, Transaction, User, Value,
};
use sentry_core::{Client, ClientOptions, Hub};
use tracing_subscriber::layer::SubscriberExt;

/// Characters around a URL: whitespace ends it, quotes and backticks belong to it.
const BOUNDARIES: [char; 7] = [' ', '\t', '\n', '\u{a0}', '"', '\'', '`'];

/// At least six characters and one of `; , ) ] } # ? @`, so that the value cannot turn up by
/// chance in an id, a timestamp or a version of the payload.
fn secret_text() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(url_password_char(), 5..16),
        prop::sample::select(vec![";", ",", ")", "]", "}", "#", "?", "@"]),
    )
        .prop_map(|(chars, special)| chars.concat() + special)
}

/// Arbitrary text in which no URL starts.
fn filler() -> impl Strategy<Value = String> {
    any::<String>().prop_map(|mut text| {
        while text.contains("://") {
            text = text.replace("://", ":/");
        }
        text
    })
}

/// What one case puts everywhere.
#[derive(Debug, Clone)]
struct Case {
    /// The URL's user name (a token, as in a DSN).
    user: String,
    /// The URL's password.
    password: String,
    /// An extra secret (a write key).
    secret: String,
    /// Text holding `scheme://user:password@host/path` between boundaries.
    text: String,
    /// Text holding the secret.
    text_with_secret: String,
}

fn case() -> impl Strategy<Value = Case> {
    (
        ("[a-zA-Z][a-zA-Z0-9+.-]{0,8}", secret_text(), secret_text(), "[a-z0-9][a-z0-9.-]{0,12}(/[a-z0-9]{0,6}){0,2}"),
        (filler(), prop::sample::select(BOUNDARIES.to_vec()), prop::sample::select(BOUNDARIES.to_vec()), filler()),
        (secret_text(), filler(), filler()),
    )
        .prop_filter(
            "the password or the secret also in the surrounding text",
            |((_, user, password, _), (before, _, _, after), (secret, around_1, around_2))| {
                [before, after, around_1, around_2].iter().all(|text| {
                    !text.contains(user.as_str())
                        && !text.contains(password.as_str())
                        && !text.contains(secret.as_str())
                })
            },
        )
        .prop_map(
            |((scheme, user, password, host), (before, open, close, after), (secret, around_1, around_2))| Case {
                text: format!("{before}{open}{scheme}://{user}:{password}@{host}{close}{after}"),
                text_with_secret: format!("{around_1}{secret}{around_2}"),
                user,
                password,
                secret,
            },
        )
}

fn options(case: &Case, transport: Option<Arc<CapturingTransport>>) -> SentryOptions {
    let mut options = SentryOptions::new("1.31.0");
    options.dsn = Some("https://public@sentry.invalid/42".parse().unwrap());
    options.capture_panics = false;
    options.transport = transport.map(|transport| transport as _);
    options.extra_secrets = Redactor::new([case.secret.as_str()]);
    options.pipeline_name = Some(case.text.clone());
    let image_version = case.text_with_secret.clone();
    options.host_environment =
        HostEnvironment::from_lookup(|name| (name == "IMAGE_VERSION").then(|| image_version.clone()));
    options
}

/// An event with the case's texts in every free-text field.
fn full_event(case: &Case) -> Event<'static> {
    let (text, secret) = (&case.text, &case.text_with_secret);
    let mut event = Event {
        message: Some(text.clone()),
        logentry: Some(LogEntry { message: secret.clone(), params: vec![Value::from(text.clone())] }),
        culprit: Some(secret.clone()),
        transaction: Some(text.clone()),
        request: Some(Request {
            data: Some(text.clone()),
            query_string: Some(secret.clone()),
            cookies: Some(text.clone()),
            headers: [("authorization".to_owned(), secret.clone())].into(),
            env: [("DSN".to_owned(), text.clone())].into(),
            ..Default::default()
        }),
        user: Some(User {
            id: Some(secret.clone()),
            email: Some(text.clone()),
            username: Some(text.clone()),
            other: [("k".to_owned(), Value::from(secret.clone()))].into(),
            ..Default::default()
        }),
        ..Default::default()
    };
    event.breadcrumbs.values.push(Breadcrumb {
        category: Some(secret.clone()),
        message: Some(text.clone()),
        data: [("k".to_owned(), Value::from(secret.clone()))].into(),
        ..Default::default()
    });
    event.exception.values.push(Exception {
        ty: "error".into(),
        value: Some(text.clone()),
        mechanism: Some(Mechanism {
            ty: "generic".into(),
            description: Some(secret.clone()),
            data: [("k".to_owned(), Value::from(text.clone()))].into(),
            ..Default::default()
        }),
        ..Default::default()
    });
    event.tags.insert("t".into(), text.clone());
    event.extra.insert("x".into(), serde_json::json!({"nested": [text, secret]}));
    event.contexts.insert("c".into(), Context::Other([("k".to_owned(), Value::from(secret.clone()))].into()));
    event
}

/// A transaction with the case's texts in every free-text field.
fn full_transaction(case: &Case) -> Transaction<'static> {
    let (text, secret) = (&case.text, &case.text_with_secret);
    let data: Map<String, Value> = [("k".to_owned(), Value::from(text.clone()))].into();
    Transaction {
        name: Some(secret.clone()),
        tags: [("t".to_owned(), text.clone())].into(),
        extra: [("x".to_owned(), Value::from(secret.clone()))].into(),
        user: Some(User { username: Some(text.clone()), ..Default::default() }),
        spans: vec![Span {
            op: Some(text.clone()),
            description: Some(secret.clone()),
            tags: [("t".to_owned(), secret.clone())].into(),
            data: data.clone(),
            ..Default::default()
        }],
        contexts: [(
            "trace".to_owned(),
            Context::Trace(Box::new(TraceContext {
                op: Some(secret.clone()),
                description: Some(text.clone()),
                data,
                ..Default::default()
            })),
        )]
        .into(),
        ..Default::default()
    }
}

/// Runs everything a host does through the bridge on `hub` with the case's texts.
fn exercise(case: &Case, options: SentryOptions, hub: &Arc<Hub>) {
    let guard = init(options);
    let (text, secret) = (case.text.as_str(), case.text_with_secret.as_str());
    let subscriber = tracing_subscriber::registry().with(guard.tracing_layer());
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(target: "dlt", detail = %text, "{text}");
        tracing::error!(target: "dlt", url = %text, key = %secret, "failed: {text} {secret}");
    });
    let pipeline = PipelineIdentity::new(text).with_destination(text, text).with_dataset(secret);
    // Step names are constants of a program; these carry the case's texts to prove they are
    // scrubbed anyway (a few bytes leaked per case, in a test).
    let (text_step, secret_step) = (case.text.clone().leak(), case.text_with_secret.clone().leak());
    let run = PipelineRunSpan::start(&guard, text_step, &pipeline);
    run.start_step(secret_step).finish();
    run.start_step(text_step).fail(format!("{text} {secret}"));
    run.fail(text);
    hub.capture_event(full_event(case));
    if guard.owns_client() {
        let mut envelope = Envelope::new();
        envelope.add_item(full_transaction(case));
        hub.client().unwrap().send_envelope(envelope);
    }
    assert!(guard.shutdown_by(Instant::now() + Duration::from_secs(1)));
}

/// Every string (keys included) of every item the transport captured, as JSON.
fn captured_strings(transport: &CapturingTransport) -> Vec<String> {
    fn walk(value: &serde_json::Value, found: &mut Vec<String>) {
        match value {
            serde_json::Value::String(text) => found.push(text.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|item| walk(item, found)),
            serde_json::Value::Object(map) => map.iter().for_each(|(key, item)| {
                found.push(key.clone());
                walk(item, found);
            }),
            _ => {}
        }
    }
    let mut found = Vec::new();
    for envelope in transport.envelopes() {
        for item in envelope.items() {
            let json = match item {
                EnvelopeItem::Event(event) => serde_json::to_value(event).unwrap(),
                EnvelopeItem::Transaction(transaction) => serde_json::to_value(transaction).unwrap(),
                other => panic!("unexpected item {other:?}"),
            };
            walk(&json, &mut found);
        }
    }
    found
}

fn assert_nothing_leaked(
    case: &Case,
    transport: &CapturingTransport,
    expected_items: usize,
) -> Result<(), TestCaseError> {
    let strings = captured_strings(transport);
    let items: usize = transport.envelopes().iter().map(|envelope| envelope.items().count()).sum();
    prop_assert_eq!(items, expected_items);
    for text in &strings {
        prop_assert!(!text.contains(&case.user), "the user name {:?} reached Sentry in {:?}", case.user, text);
        prop_assert!(!text.contains(&case.password), "the password {:?} reached Sentry in {:?}", case.password, text);
        prop_assert!(!text.contains(&case.secret), "the secret {:?} reached Sentry in {:?}", case.secret, text);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn nothing_secret_reaches_sentry_through_the_bridges_own_client(case in case()) {
        let transport = CapturingTransport::new();
        let hub = Arc::new(Hub::new_from_top(Hub::current()));
        Hub::run(Arc::clone(&hub), || exercise(&case, options(&case, Some(transport.clone())), &hub));
        // The tracing error, the pipeline transaction, the full event and the full transaction.
        assert_nothing_leaked(&case, &transport, 4)?;
    }

    #[test]
    fn nothing_secret_reaches_sentry_through_a_host_client(case in case()) {
        let transport = CapturingTransport::new();
        let host_client = Arc::new(Client::with_options(
            ClientOptions::new().dsn("https://hostkey@host.invalid/1").traces_sample_rate(1.0).transport(transport.clone()),
        ));
        let hub = Arc::new(Hub::new(Some(host_client), Arc::default()));
        Hub::run(Arc::clone(&hub), || exercise(&case, options(&case, None), &hub));
        // The tracing error, the pipeline transaction and the full event.
        assert_nothing_leaked(&case, &transport, 3)?;
    }
}
