//! The Segment transport: a bounded non-blocking queue, a background worker that batches and
//! retries within Segment's limits, a bounded shutdown and an on-disk outbox for what is left.
