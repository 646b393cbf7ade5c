//! The named background thread with its own current-thread tokio runtime, and that runtime.

use std::future::Future;
use std::io;
use std::thread::{self, JoinHandle};

use tokio::runtime::Runtime;

/// Starts a thread named `name` that runs `future` to completion on its own current-thread
/// tokio runtime (I/O and time enabled), and returns its handle.
///
/// Works whether or not the caller runs inside a tokio runtime. A runtime that cannot be built
/// or a thread that cannot be spawned is an `Err`, never a panic.
pub fn spawn_runtime_thread<F>(name: impl Into<String>, future: F) -> io::Result<JoinHandle<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let runtime = CurrentThreadRuntime::new()?;
    thread::Builder::new().name(name.into()).spawn(move || runtime.block_on(future))
}

/// A current-thread tokio runtime (I/O and time enabled) that shuts down without waiting for
/// its blocking tasks (a resolver stuck in `getaddrinfo`, say) when dropped, so dropping it
/// never blocks and never panics, even inside a host's async code (where dropping a tokio
/// runtime the ordinary way panics).
///
/// For a thread that is not a tokio worker and must wait for a request:
/// [`spawn_runtime_thread`] runs one on a thread of its own, and a client called on a thread
/// someone else owns (an exporter's batch thread, say) keeps one to block on.
///
/// ```
/// let runtime = dlt_http::CurrentThreadRuntime::new()?;
/// assert_eq!(runtime.block_on(async { 1 + 1 }), 2);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug)]
pub struct CurrentThreadRuntime(Option<Runtime>);

impl CurrentThreadRuntime {
    /// Builds the runtime; an `Err` when the OS refuses what it needs (no panic).
    pub fn new() -> io::Result<Self> {
        Ok(Self(Some(tokio::runtime::Builder::new_current_thread().enable_all().build()?)))
    }

    /// Runs `future` to completion on this thread.
    ///
    /// # Panics
    ///
    /// Inside an async runtime, as tokio's `Runtime::block_on` does: check
    /// `tokio::runtime::Handle::try_current().is_err()` first when that may happen.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        match &self.0 {
            Some(runtime) => runtime.block_on(future),
            // The runtime is taken only by `drop`.
            None => unreachable!("the runtime is present until dropped"),
        }
    }
}

impl Drop for CurrentThreadRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
