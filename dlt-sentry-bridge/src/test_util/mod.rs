//! Test helpers (feature `test-util`): a transport that captures envelopes in memory, for
//! tests of this crate and of crates composing it. It hands out sentry-core's protocol types
//! (`Envelope`, `Event`, `Transaction`) as they are. For envelopes over real HTTP, tests use
//! `dlt_test_support::SentryReceiver`.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use sentry_core::Transport;
use sentry_core::protocol::{Envelope, EnvelopeItem, Event, Transaction};

/// A transport that keeps every envelope it is given, for assertions.
#[derive(Debug, Default)]
pub struct CapturingTransport {
    envelopes: Mutex<Vec<Envelope>>,
}

impl CapturingTransport {
    /// A new, empty capturing transport (put a clone into `SentryOptions::transport`).
    pub fn new() -> Arc<Self> {
        Arc::default()
    }

    /// Every envelope captured so far.
    pub fn envelopes(&self) -> Vec<Envelope> {
        lock(&self.envelopes).clone()
    }

    /// Every event captured so far.
    pub fn events(&self) -> Vec<Event<'static>> {
        self.items(|item| match item {
            EnvelopeItem::Event(event) => Some((**event).clone()),
            _ => None,
        })
    }

    /// Every transaction captured so far.
    pub fn transactions(&self) -> Vec<Transaction<'static>> {
        self.items(|item| match item {
            EnvelopeItem::Transaction(transaction) => Some((**transaction).clone()),
            _ => None,
        })
    }

    fn items<T>(&self, pick: impl Fn(&EnvelopeItem) -> Option<T>) -> Vec<T> {
        lock(&self.envelopes)
            .iter()
            .flat_map(|envelope| envelope.items().filter_map(&pick).collect::<Vec<_>>())
            .collect()
    }
}

impl Transport for CapturingTransport {
    fn send_envelope(&self, envelope: Envelope) {
        lock(&self.envelopes).push(envelope);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
