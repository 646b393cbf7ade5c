//! The hand-off transport of a short-lived program (the command line): it never touches the
//! network. What it is given is appended to its recipient's outbox when the program ends, for
//! a detached sender to deliver, so the program never waits for telemetry.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use dlt_telemetry_model::AnonymousMessage;

use crate::clock::Clock;
use crate::error::SegmentError;
use crate::options::SegmentOptions;
use crate::outbox::{LOCK_WAIT, Outbox};
use crate::stats::{Counters, Stats, add};
use crate::transport::{ShutdownReport, Transport};
use crate::wire::{fill_segment_fields, to_millis};

/// Keeps messages in memory (up to the queue capacity) and appends them to the outbox on
/// [`Transport::flush`] and [`Transport::shutdown`]; it starts no thread and opens no socket.
/// The shutdown report says whether a sender must be started for them.
#[derive(Debug)]
pub struct HandoffTransport {
    held: Mutex<Vec<AnonymousMessage>>,
    capacity: usize,
    outbox: Outbox,
    counters: Arc<Counters>,
    clock: Arc<dyn Clock>,
    sender_needed: Mutex<bool>,
}

impl HandoffTransport {
    /// A hand-off transport for the options' recipient; the options must name an outbox.
    pub fn new(options: SegmentOptions) -> Result<Self, SegmentError> {
        options.headers()?;
        let recipient = options.recipient();
        let outbox_options = options.outbox.ok_or(SegmentError::NoOutbox)?;
        let counters = Arc::new(Counters::default());
        let outbox = Outbox::new(outbox_options, recipient, counters.clone(), options.clock.clone());
        Ok(Self {
            held: Mutex::default(),
            capacity: options.queue_capacity.max(1),
            outbox,
            counters,
            clock: options.clock,
            sender_needed: Mutex::new(false),
        })
    }

    /// Appends what is held to the outbox; false if it could not be saved (counted).
    fn hand_off(&self) -> bool {
        let held = std::mem::take(&mut *self.held.lock().unwrap_or_else(PoisonError::into_inner));
        if held.is_empty() {
            return true;
        }
        let held = held.into_iter().map(AnonymousMessage::into_message).collect();
        let appended = self.outbox.append(held, Instant::now() + LOCK_WAIT);
        let mut sender_needed = self.sender_needed.lock().unwrap_or_else(PoisonError::into_inner);
        *sender_needed = appended.sender_needed || (*sender_needed && !self.outbox.sender_running());
        appended.saved
    }
}

impl Transport for HandoffTransport {
    /// Fills Segment's fields and keeps the message; a full hold drops it and counts it.
    fn track(&self, mut message: AnonymousMessage) {
        fill_segment_fields(&mut message, to_millis(self.clock.now()));
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if held.len() < self.capacity {
            held.push(message);
            add(&self.counters.queued, 1);
        } else {
            add(&self.counters.dropped_queue_full, 1);
        }
    }

    /// Appends what is held to the outbox now (a program about to be killed calls this).
    fn flush(&self, _timeout: Duration) -> bool {
        self.hand_off()
    }

    fn shutdown(&self, _deadline: Instant) -> ShutdownReport {
        let before = self.counters.snapshot();
        self.hand_off();
        let stats = self.counters.snapshot();
        ShutdownReport {
            drained: true,
            saved_to_outbox: stats.written_to_outbox - before.written_to_outbox,
            lost: stats.dropped_undelivered - before.dropped_undelivered,
            confirmed: true,
            sender_needed: *self.sender_needed.lock().unwrap_or_else(PoisonError::into_inner),
            stats,
        }
    }

    fn stats(&self) -> Stats {
        self.counters.snapshot()
    }
}
