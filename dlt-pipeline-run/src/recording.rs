//! How a recorded run or step ends: exactly once, by `finish`, by `fail`, or as failed when
//! dropped unfinished.

use std::fmt;

/// The error of a pipeline run dropped unfinished.
pub const RUN_UNFINISHED: &str = "the pipeline run ended without finishing";
/// The error of a step dropped unfinished.
pub const STEP_UNFINISHED: &str = "the step ended without finishing";

/// What a backend keeps of a run or a step while it records it: a Sentry transaction or span,
/// an OpenTelemetry span.
pub trait Recording {
    /// The error it fails with when dropped unfinished, e.g. [`STEP_UNFINISHED`].
    const UNFINISHED: &'static str;

    /// Ends it: failed with `error`, else as the backend records success.
    fn end(self, error: Option<&dyn fmt::Display>);
}

/// Holds a [`Recording`] until it ends, exactly once: [`finish`](Self::finish),
/// [`fail`](Self::fail), or, dropped unfinished (say, while unwinding), failed with
/// [`Recording::UNFINISHED`]. Holds nothing when the backend is off.
#[must_use = "end the recording with finish() or fail()"]
pub struct RecordingGuard<R: Recording> {
    /// `None` when the backend is off, or once it has ended.
    recording: Option<R>,
}

impl<R: Recording> RecordingGuard<R> {
    /// Holds `recording` until it ends.
    pub fn new(recording: R) -> Self {
        Self { recording: Some(recording) }
    }

    /// Holds nothing: the backend is off.
    pub fn off() -> Self {
        Self { recording: None }
    }

    /// The recording, while it has not ended (`None` when the backend is off).
    pub fn get(&self) -> Option<&R> {
        self.recording.as_ref()
    }

    /// Ends it as succeeded.
    pub fn finish(mut self) {
        self.end(None);
    }

    /// Ends it as failed with `error`.
    pub fn fail(mut self, error: impl fmt::Display) {
        self.end(Some(&error));
    }

    fn end(&mut self, error: Option<&dyn fmt::Display>) {
        if let Some(recording) = self.recording.take() {
            recording.end(error);
        }
    }
}

impl<R: Recording> Drop for RecordingGuard<R> {
    fn drop(&mut self) {
        self.end(Some(&R::UNFINISHED));
    }
}

impl<R: Recording> fmt::Debug for RecordingGuard<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordingGuard").field("recording", &self.recording.is_some()).finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::{Arc, Mutex};

    use super::*;

    /// A recording that keeps how it ended.
    struct Kept(Arc<Mutex<Vec<Option<String>>>>);

    impl Recording for Kept {
        const UNFINISHED: &'static str = STEP_UNFINISHED;

        fn end(self, error: Option<&dyn fmt::Display>) {
            self.0.lock().unwrap().push(error.map(ToString::to_string));
        }
    }

    #[test]
    fn a_recording_ends_once_as_finish_fail_or_drop_says() {
        let ended = Arc::new(Mutex::new(Vec::new()));
        let start = || RecordingGuard::new(Kept(Arc::clone(&ended)));
        start().finish();
        start().fail("boom");
        drop(start());
        assert_eq!(*ended.lock().unwrap(), [None, Some("boom".to_owned()), Some(STEP_UNFINISHED.to_owned())]);
    }

    #[test]
    fn an_off_guard_ends_nothing() {
        let guard = RecordingGuard::<Kept>::off();
        assert!(guard.get().is_none());
        guard.finish();
        drop(RecordingGuard::<Kept>::off());
    }
}
