//! Removes secrets from what is sent: the DSN and its keys, extra secrets (a write key, OTLP
//! header values, the host's passwords), and every URL's user info, query values and fragment,
//! in every free-text field of events and transactions (user included). The rule itself is
//! [`dlt_redact`]'s; Sentry payloads use Sentry's own mask, `[Filtered]`.

use dlt_redact::Redactor;
use sentry_core::protocol::{
    Breadcrumb, Context, Envelope, EnvelopeItem, Event, Exception, Request, Span, Transaction, User, Value,
};

/// What replaces a secret in a Sentry payload (Sentry's convention).
pub(crate) const FILTERED: &str = "[Filtered]";

/// Scrubs a fixed list of secrets and URL passwords out of strings and Sentry payloads.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scrubber {
    redactor: Redactor,
}

impl Scrubber {
    /// A scrubber for these secrets; the URL rule always applies.
    pub(crate) fn new(redactor: Redactor) -> Self {
        Self { redactor }
    }

    /// Scrubs one string in place.
    pub(crate) fn scrub_string(&self, text: &mut String) {
        self.redactor.redact_in_place(text, FILTERED);
    }

    /// A scrubbed copy of `text`.
    pub(crate) fn scrubbed(&self, text: &str) -> String {
        self.redactor.redact(text, FILTERED).into_owned()
    }

    fn scrub_option(&self, text: &mut Option<String>) {
        if let Some(text) = text {
            self.scrub_string(text);
        }
    }

    fn scrub_value(&self, value: &mut Value) {
        match value {
            Value::String(text) => self.scrub_string(text),
            Value::Array(items) => items.iter_mut().for_each(|item| self.scrub_value(item)),
            Value::Object(map) => map.values_mut().for_each(|item| self.scrub_value(item)),
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    fn scrub_values<'a>(&self, values: impl IntoIterator<Item = &'a mut Value>) {
        values.into_iter().for_each(|value| self.scrub_value(value));
    }

    fn scrub_strings<'a>(&self, values: impl IntoIterator<Item = &'a mut String>) {
        values.into_iter().for_each(|value| self.scrub_string(value));
    }

    fn scrub_user(&self, user: &mut Option<User>) {
        if let Some(user) = user {
            self.scrub_option(&mut user.id);
            self.scrub_option(&mut user.email);
            self.scrub_option(&mut user.username);
            self.scrub_values(user.other.values_mut());
        }
    }

    pub(crate) fn scrub_breadcrumb(&self, breadcrumb: &mut Breadcrumb) {
        self.scrub_option(&mut breadcrumb.category);
        self.scrub_option(&mut breadcrumb.message);
        self.scrub_values(breadcrumb.data.values_mut());
    }

    fn scrub_exception(&self, exception: &mut Exception) {
        self.scrub_option(&mut exception.value);
        if let Some(mechanism) = &mut exception.mechanism {
            self.scrub_option(&mut mechanism.description);
            self.scrub_values(mechanism.data.values_mut());
        }
    }

    fn scrub_request(&self, request: &mut Request) {
        if let Some(url) = &request.url {
            let mut text = url.to_string();
            self.scrub_string(&mut text);
            request.url = text.parse().ok();
        }
        self.scrub_option(&mut request.data);
        self.scrub_option(&mut request.query_string);
        self.scrub_option(&mut request.cookies);
        self.scrub_strings(request.headers.values_mut());
        self.scrub_strings(request.env.values_mut());
    }

    fn scrub_context(&self, context: &mut Context) {
        match context {
            Context::Trace(trace) => {
                self.scrub_option(&mut trace.op);
                self.scrub_option(&mut trace.description);
                self.scrub_values(trace.data.values_mut());
            }
            Context::Other(map) => self.scrub_values(map.values_mut()),
            _ => {}
        }
    }

    fn scrub_span(&self, span: &mut Span) {
        self.scrub_option(&mut span.op);
        self.scrub_option(&mut span.description);
        self.scrub_strings(span.tags.values_mut());
        self.scrub_values(span.data.values_mut());
    }

    /// Scrubs every free-text field of an event.
    pub(crate) fn scrub_event(&self, mut event: Event<'static>) -> Event<'static> {
        self.scrub_option(&mut event.message);
        if let Some(logentry) = &mut event.logentry {
            self.scrub_string(&mut logentry.message);
            self.scrub_values(logentry.params.iter_mut());
        }
        self.scrub_option(&mut event.culprit);
        self.scrub_option(&mut event.transaction);
        event.breadcrumbs.values.iter_mut().for_each(|breadcrumb| self.scrub_breadcrumb(breadcrumb));
        event.exception.values.iter_mut().for_each(|exception| self.scrub_exception(exception));
        self.scrub_strings(event.tags.values_mut());
        self.scrub_values(event.extra.values_mut());
        self.scrub_user(&mut event.user);
        event.contexts.values_mut().for_each(|context| self.scrub_context(context));
        if let Some(request) = &mut event.request {
            self.scrub_request(request);
        }
        event
    }

    /// Scrubs every free-text field of a transaction and its spans.
    pub(crate) fn scrub_transaction(&self, mut transaction: Transaction<'static>) -> Transaction<'static> {
        self.scrub_option(&mut transaction.name);
        self.scrub_strings(transaction.tags.values_mut());
        self.scrub_values(transaction.extra.values_mut());
        self.scrub_user(&mut transaction.user);
        transaction.spans.iter_mut().for_each(|span| self.scrub_span(span));
        transaction.contexts.values_mut().for_each(|context| self.scrub_context(context));
        if let Some(request) = &mut transaction.request {
            self.scrub_request(request);
        }
        transaction
    }

    /// Rebuilds an envelope with its events and transactions scrubbed; other items pass as they are.
    pub(crate) fn scrub_envelope(&self, envelope: Envelope) -> Envelope {
        let mut scrubbed = Envelope::new().with_headers(envelope.headers().clone());
        for item in envelope.into_items() {
            let item = match item {
                EnvelopeItem::Event(event) => EnvelopeItem::Event(Box::new(self.scrub_event(*event))),
                EnvelopeItem::Transaction(transaction) => {
                    EnvelopeItem::Transaction(Box::new(self.scrub_transaction(*transaction)))
                }
                other => other,
            };
            scrubbed.add_item(item);
        }
        scrubbed
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use sentry_core::protocol::{Breadcrumb, LogEntry, Mechanism, Span};

    use dlt_redact::Redactor;

    use super::*;

    const DSN: &str = "https://abcdef0123456789@o1.ingest.sentry.io/42";

    fn scrubber() -> Scrubber {
        Scrubber::new(Redactor::new([DSN, "abcdef0123456789", "segment-write-key", ""]))
    }

    fn scrubbed(text: &str) -> String {
        let mut text = text.to_owned();
        scrubber().scrub_string(&mut text);
        text
    }

    #[test]
    fn url_user_info_and_query_values_are_replaced() {
        assert_eq!(
            scrubbed("connect postgresql://loader:s3cr3t@db.local:5432/dlt failed"),
            "connect postgresql://[Filtered]@db.local:5432/dlt failed"
        );
        assert_eq!(
            scrubbed("a https://u:p@h/x and \"s3://k:v@bucket\""),
            "a https://[Filtered]@h/x and \"s3://[Filtered]@bucket\""
        );
        // The shared rule over-hides a path before an `@` rather than risk a password.
        assert_eq!(scrubbed("https://example.com/a:b@c"), "https://[Filtered]@c");
        assert_eq!(
            scrubbed("token https://tok_SECRET@h/x?api_key=k3y"),
            "token https://[Filtered]@h/x?api_key=[Filtered]"
        );
        assert_eq!(scrubbed("no url here"), "no url here");
    }

    #[test]
    fn passwords_with_delimiters_are_replaced_whole() {
        assert_eq!(scrubbed("warning: postgresql://loader:Xy;9@db/dlt"), "warning: postgresql://[Filtered]@db/dlt");
        assert_eq!(scrubbed("(https://u:pa/ss@h/x)"), "(https://[Filtered]@h/x)");
        assert_eq!(scrubbed("s3://k:a,b)c]d}e@bucket"), "s3://[Filtered]@bucket");
        // A `#` or `?` in the user info may have started a fragment or query: what follows hides too.
        assert_eq!(scrubbed("s3://k:a#f?g@bucket"), "s3://[Filtered]@[Filtered]");
    }

    #[test]
    fn dsn_key_and_extra_secrets_are_replaced() {
        assert_eq!(scrubbed(&format!("dsn is {DSN}")), "dsn is [Filtered]");
        assert_eq!(scrubbed("key abcdef0123456789!"), "key [Filtered]!");
        assert_eq!(scrubbed("wk=segment-write-key"), "wk=[Filtered]");
    }

    #[test]
    fn every_event_field_is_scrubbed() {
        let mut event = Event {
            message: Some("m segment-write-key".into()),
            logentry: Some(LogEntry {
                message: "l segment-write-key".into(),
                params: vec![Value::from("p segment-write-key")],
            }),
            ..Default::default()
        };
        event.breadcrumbs.values.push(Breadcrumb {
            category: Some("c segment-write-key".into()),
            message: Some("b http://u:pw@h".into()),
            data: [("k".to_owned(), Value::from("d segment-write-key"))].into(),
            ..Default::default()
        });
        event.exception.values.push(Exception {
            ty: "panic".into(),
            value: Some("e segment-write-key".into()),
            mechanism: Some(Mechanism { ty: "panic".into(), ..Default::default() }),
            ..Default::default()
        });
        event.tags.insert("t".into(), "t segment-write-key".into());
        event.extra.insert("x".into(), serde_json::json!({"nested": ["n segment-write-key"]}));
        event.user = Some(User {
            id: Some("i segment-write-key".into()),
            email: Some("e segment-write-key".into()),
            username: Some("u segment-write-key".into()),
            other: [("o".to_owned(), Value::from("o segment-write-key"))].into(),
            ..Default::default()
        });
        let json = serde_json::to_string(&scrubber().scrub_event(event)).unwrap();
        assert!(!json.contains("segment-write-key"), "{json}");
        assert!(!json.contains("pw@") && !json.contains("u:"), "{json}");
        assert_eq!(json.matches(FILTERED).count(), 13, "{json}");
    }

    #[test]
    fn transactions_and_spans_are_scrubbed() {
        let transaction = Transaction {
            name: Some("run abcdef0123456789".into()),
            tags: [("destination".to_owned(), "postgres://a:b@c".to_owned())].into(),
            user: Some(User { username: Some("segment-write-key".into()), ..Default::default() }),
            spans: vec![Span {
                op: Some("extract segment-write-key".into()),
                description: Some("load segment-write-key".into()),
                tags: [("dataset_name".to_owned(), "segment-write-key".to_owned())].into(),
                data: [("error.message".to_owned(), Value::from("http://tok_SECRET@h?key=v"))].into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let json = serde_json::to_string(&scrubber().scrub_transaction(transaction)).unwrap();
        assert!(!json.contains("segment-write-key"), "{json}");
        assert!(!json.contains("abcdef0123456789"), "{json}");
        assert!(!json.contains("tok_SECRET"), "{json}");
        assert!(json.contains("postgres://[Filtered]@c"), "{json}");
        assert!(json.contains("http://[Filtered]@h?key=[Filtered]"), "{json}");
    }

    #[test]
    fn envelopes_keep_their_headers_and_items() {
        let mut envelope = Envelope::new();
        envelope.add_item(Event { message: Some(DSN.into()), ..Default::default() });
        let event_id = *envelope.uuid().unwrap();
        let envelope = scrubber().scrub_envelope(envelope);
        assert_eq!(envelope.uuid(), Some(&event_id));
        assert_eq!(envelope.items().count(), 1);
        assert_eq!(envelope.event().unwrap().message.as_deref(), Some(FILTERED));
    }
}
