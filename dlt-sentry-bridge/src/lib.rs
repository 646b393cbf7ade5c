//! Sentry tracing on sentry-core: client options, a bounded HTTP transport, a `tracing` layer,
//! panic capture, pipeline transactions and secret scrubbing. Depends on no other crate of ours.
