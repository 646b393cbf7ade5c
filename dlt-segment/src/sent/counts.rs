//! `counts.json`: how many messages were delivered to a recipient, when last, and how many were
//! dropped, by reason.

use std::io::Write as _;

use dlt_fs::{Durability, GateError, PrivateDir};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::stats::Stats;

pub(super) const COUNTS_FILE: &str = "counts.json";
/// The counts are a few lines; anything larger is not them.
const COUNTS_MAX_BYTES: u64 = 4096;

/// Messages dropped, never to be sent, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DroppedCounts {
    /// Larger than Segment accepts (32 KB).
    pub too_large: u64,
    /// Kept in the outbox longer than its age bound.
    pub expired: u64,
    /// Dropped from the outbox, oldest first, to keep it within its size bound.
    pub outbox_full: u64,
    /// Refused for good by the endpoint (e.g. 400), or not serialisable.
    pub rejected: u64,
    /// Waiting when the user switched telemetry off, and deleted then.
    pub opted_out: u64,
    /// Read back from the outbox and refused by the privacy gate.
    pub invalid: u64,
    /// Refused by `track` because the queue was full.
    pub queue_full: u64,
}

impl DroppedCounts {
    /// Every reason with its count, in a fixed order; the names are those of `counts.json` and
    /// `dlt telemetry --json`.
    pub fn by_reason(&self) -> [(&'static str, u64); 7] {
        let Self { too_large, expired, outbox_full, rejected, opted_out, invalid, queue_full } = *self;
        [
            ("too_large", too_large),
            ("expired", expired),
            ("outbox_full", outbox_full),
            ("rejected", rejected),
            ("opted_out", opted_out),
            ("invalid", invalid),
            ("queue_full", queue_full),
        ]
    }

    /// The sum over every reason.
    pub fn total(&self) -> u64 {
        self.by_reason().iter().map(|(_, count)| count).fold(0, |sum, count| sum.saturating_add(*count))
    }

    /// The drops a process counted (the opt-out's are counted by the switch, not here).
    pub(crate) fn of(stats: &Stats) -> Self {
        Self {
            too_large: stats.dropped_too_large,
            expired: stats.dropped_expired,
            outbox_full: stats.dropped_outbox_full,
            rejected: stats.dropped_rejected,
            opted_out: 0,
            invalid: stats.dropped_invalid,
            queue_full: stats.dropped_queue_full,
        }
    }

    /// What was counted since `earlier`.
    pub(crate) fn since(&self, earlier: &Self) -> Self {
        self.zip(earlier, u64::saturating_sub)
    }

    pub(crate) fn add(&mut self, more: &Self) {
        *self = self.zip(more, u64::saturating_add);
    }

    pub(crate) fn is_zero(&self) -> bool {
        self.total() == 0
    }

    fn zip(&self, other: &Self, combine: fn(u64, u64) -> u64) -> Self {
        let reasons = self.by_reason();
        let others = other.by_reason();
        let at = |index: usize| combine(reasons[index].1, others[index].1);
        Self {
            too_large: at(0),
            expired: at(1),
            outbox_full: at(2),
            rejected: at(3),
            opted_out: at(4),
            invalid: at(5),
            queue_full: at(6),
        }
    }

    fn from_json(value: &Value) -> Self {
        let count = |reason: &str| value[reason].as_u64().unwrap_or(0);
        Self {
            too_large: count("too_large"),
            expired: count("expired"),
            outbox_full: count("outbox_full"),
            rejected: count("rejected"),
            opted_out: count("opted_out"),
            invalid: count("invalid"),
            queue_full: count("queue_full"),
        }
    }
}

/// What `counts.json` holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Counts {
    pub(super) delivered: u64,
    pub(super) last_delivered_at: Option<OffsetDateTime>,
    pub(super) dropped: DroppedCounts,
}

impl Counts {
    pub(super) fn add_delivered(&mut self, count: u64, at: OffsetDateTime) {
        if count > 0 {
            self.delivered = self.delivered.saturating_add(count);
            self.last_delivered_at = Some(self.last_delivered_at.map_or(at, |last| last.max(at)));
        }
    }

    fn to_json(&self) -> Value {
        let dropped: serde_json::Map<String, Value> =
            self.dropped.by_reason().into_iter().map(|(reason, count)| (reason.to_owned(), count.into())).collect();
        json!({
            "delivered": {
                "count": self.delivered,
                "last_at": self.last_delivered_at.and_then(|at| at.format(&Rfc3339).ok()),
            },
            "dropped": dropped,
        })
    }

    /// Reads counts; `None` when the text is not them.
    pub(super) fn parse(bytes: &[u8]) -> Option<Self> {
        let value: Value = serde_json::from_slice(bytes).ok()?;
        let delivered = &value["delivered"];
        Some(Self {
            delivered: delivered["count"].as_u64()?,
            last_delivered_at: delivered["last_at"].as_str().and_then(|at| OffsetDateTime::parse(at, &Rfc3339).ok()),
            dropped: DroppedCounts::from_json(value.get("dropped")?),
        })
    }
}

/// The counts in `dir`: `Ok(None)` when there are none; an error when they cannot be read or
/// are not counts.
pub(super) fn read_counts(dir: &PrivateDir) -> Result<Option<Counts>, GateError> {
    let Some(bytes) = dir.read(COUNTS_FILE, COUNTS_MAX_BYTES)? else { return Ok(None) };
    Counts::parse(&bytes).map(Some).ok_or_else(|| GateError::Io {
        path: dir.path().join(COUNTS_FILE),
        source: std::io::Error::new(std::io::ErrorKind::InvalidData, "is not the counts of a record"),
    })
}

/// Writes the counts, in place when the file exists: the caller holds the folder's lock, which
/// readers take too, so nobody sees a half-written file. (Replacing it by a rename, as an
/// atomic write does, cost milliseconds per delivery on ext4, which flushes a file renamed over
/// another; in place it costs microseconds.) A
/// write cut short by a crash leaves counts that do not parse: the reader shows it, and the
/// next write starts them again.
pub(super) fn write_counts(dir: &PrivateDir, counts: &Counts) -> Result<(), GateError> {
    let text = format!("{}\n", counts.to_json());
    let Some(mut file) = dir.open_for_update(COUNTS_FILE)? else {
        return dir.write_atomic(COUNTS_FILE, text.as_bytes(), Durability::Fast);
    };
    let len = u64::try_from(text.len()).unwrap_or(u64::MAX);
    file.write_all(text.as_bytes())
        .and_then(|()| file.set_len(len))
        .map_err(|source| GateError::Io { path: dir.path().join(COUNTS_FILE), source })
}
