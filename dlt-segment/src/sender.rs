//! The sender: delivers one recipient's outbox and exits, for a short-lived program that
//! handed its messages off (the command line starts it detached, as the same binary with a
//! hidden subcommand). One per recipient at a time, under the recipient's sender lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dlt_fs::GateError;
use dlt_http::{HttpError, RetryPolicy, TrustFileProblem};

use crate::client::SegmentClient;
use crate::error::SegmentError;
use crate::options::SegmentOptions;
use crate::outbox::{Consent, Outbox, gate_failure_class};
use crate::stats::Counters;
use crate::transport::Transport;
use crate::worker::ClaimAtStart;

/// How often the sender looks at its stop signal while delivering.
const STOP_POLL: Duration = Duration::from_millis(100);
/// How long writing back what is undelivered may take once stopped.
const WRITE_BACK: Duration = Duration::from_millis(500);
/// How long the last look at the outbox may wait for an appender.
const FINAL_CHECK_LOCK_WAIT: Duration = Duration::from_millis(500);
/// How long a starting sender waits for the sender's lock: far longer than a look at it holds
/// it, far shorter than another sender does.
const SENDER_LOCK_WAIT: Duration = Duration::from_millis(100);

/// A stop request a signal handler (or anything else) can send to a running sender: it then
/// writes back what it holds and returns within about a second.
#[derive(Clone, Debug, Default)]
pub struct StopSignal(Arc<AtomicBool>);

impl StopSignal {
    /// A signal not yet given.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the sender to stop.
    pub fn stop(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How a sender's run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SenderOutcome {
    /// Another sender is delivering this recipient's outbox: nothing was done.
    AlreadyRunning,
    /// The outbox is empty: everything was delivered (or dropped for good).
    Emptied,
    /// The time bound was spent; what is undelivered is back in the outbox.
    BoundSpent,
    /// Stopped by its [`StopSignal`]; what is undelivered is back in the outbox.
    Stopped,
    /// The user opted out meanwhile: nothing more was sent or kept.
    OptedOut,
}

/// The detached sender's retries: it keeps trying until its own time bound, never waiting more
/// than 2 s between attempts (a laptop back online is noticed quickly).
fn sender_retry_policy() -> RetryPolicy {
    RetryPolicy::segment().with_max_attempts(u32::MAX).with_backoff(Duration::from_millis(100), Duration::from_secs(2))
}

/// Delivers the outbox of the options' recipient until it is empty, `bound` is spent or `stop`
/// is given. Retries (a refused connection too) wait at most 2 s; the outbox is looked at again
/// before the sender's lock is let go, so that no message appended meanwhile waits for another
/// run. Failures go to the recipient's failure log, and so does why the sender could not start
/// (its transport, e.g. a proxy variable or a trust file it cannot use, or the outbox), as a
/// class of failure that holds no value. The options must name an outbox.
pub fn run_sender(
    mut options: SegmentOptions,
    bound: Duration,
    stop: &StopSignal,
) -> Result<SenderOutcome, SegmentError> {
    let clock = options.clock.clone();
    let started = clock.instant();
    let outbox_options = options.outbox.clone().ok_or(SegmentError::NoOutbox)?;
    let probe = Outbox::new(outbox_options, options.recipient(), Arc::new(Counters::default()), options.clock.clone());
    let mut sender_lock = match probe.lock_sender(Instant::now() + SENDER_LOCK_WAIT) {
        Ok(Some(lock)) => Some(lock),
        Ok(None) => return Ok(SenderOutcome::AlreadyRunning),
        Err(error) => return Err(cannot_start(&probe, SegmentError::Outbox(error))),
    };
    options.retry = sender_retry_policy();
    let client =
        SegmentClient::start_claiming(options, ClaimAtStart::Always).map_err(|error| cannot_start(&probe, error))?;
    let mut last_reclaim: Option<Instant> = None;
    let outcome = loop {
        if probe.consent() == Consent::Withdrawn {
            break SenderOutcome::OptedOut;
        }
        if stop.is_stopped() {
            break SenderOutcome::Stopped;
        }
        let remaining = bound.saturating_sub(clock.instant().saturating_duration_since(started));
        if remaining.is_zero() {
            break SenderOutcome::BoundSpent;
        }
        if client.flush(remaining.min(STOP_POLL)) {
            if probe.release_sender_if_empty(&mut sender_lock, Instant::now() + FINAL_CHECK_LOCK_WAIT) {
                break SenderOutcome::Emptied;
            }
            // What is left may not be takeable yet (an appender holds the folder): look again
            // at most once per poll rather than spin.
            if let Some(next) = last_reclaim.map(|at| at + STOP_POLL.min(remaining)) {
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
            client.reclaim();
            last_reclaim = Some(Instant::now());
        }
    };
    client.shutdown(Instant::now() + WRITE_BACK);
    drop(sender_lock);
    Ok(outcome)
}

/// Notes in the recipient's failure log why the sender cannot start (a detached sender has
/// nowhere else to say it), and hands the error on.
fn cannot_start(outbox: &Outbox, error: SegmentError) -> SegmentError {
    outbox.log_failure(&format!("the sender cannot start: {}", failure_class(&error)));
    error
}

/// What kept a transport from starting, as a class: the variable or setting at fault, never
/// its value (no URL, no path, no key).
fn failure_class(error: &SegmentError) -> String {
    match error {
        SegmentError::InvalidUserAgent { .. } => "the user agent is not a valid HTTP header value".to_owned(),
        SegmentError::NoOutbox => "no outbox is configured".to_owned(),
        SegmentError::InvalidWriteKey => "the write key cannot be sent in an HTTP header".to_owned(),
        SegmentError::HttpClient(error) => http_failure_class(error),
        SegmentError::Outbox(error) => match error.get_ref().and_then(|inner| inner.downcast_ref::<GateError>()) {
            Some(gate) => gate_failure_class(gate),
            None => format!("the outbox cannot be used: {}", error.kind()),
        },
        SegmentError::Spawn(_) => "its thread could not start".to_owned(),
    }
}

fn http_failure_class(error: &HttpError) -> String {
    match error {
        HttpError::InvalidProxy { variable, .. } => format!("{variable} is not a usable proxy URL"),
        HttpError::TrustFile { variable, problem, .. } => {
            let problem = match problem {
                TrustFileProblem::NotFound => "not found",
                TrustFileProblem::NotAFolder => "not a folder",
                TrustFileProblem::Read(_) => "cannot be read",
                TrustFileProblem::NoCertificate => "holds no usable certificate",
                _ => "cannot be used",
            };
            format!("{variable} names a trust file or folder that {problem}")
        }
        HttpError::InvalidUserAgent => "the user agent is not a valid HTTP header value".to_owned(),
        HttpError::Tls(_) => "TLS could not be set up".to_owned(),
        _ => "the HTTP client could not be built".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use dlt_http::{Attempt, AttemptOutcome, Decision, Failure};

    use super::*;

    #[test]
    fn the_sender_keeps_trying_with_waits_of_at_most_two_seconds() {
        let attempt =
            Attempt { number: 10_000, jitter: 0.99, ..Attempt::first(AttemptOutcome::Failed(Failure::Refused)) };
        let decision = sender_retry_policy().decide(&attempt);
        assert!(matches!(decision, Decision::Backoff(wait) if wait <= Duration::from_secs(2)), "{decision:?}");
    }
}
