//! The named background thread with its own current-thread tokio runtime.

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
    let runtime = OwnedRuntime(Some(tokio::runtime::Builder::new_current_thread().enable_all().build()?));
    thread::Builder::new().name(name.into()).spawn(move || runtime.block_on(future))
}

/// A runtime that shuts down without waiting for its blocking tasks (a resolver stuck in
/// `getaddrinfo`, say) when dropped: after its future completed, or unused when the thread could
/// not be spawned (then in the caller's thread, where a blocking drop inside the caller's own
/// async context would panic).
struct OwnedRuntime(Option<Runtime>);

impl OwnedRuntime {
    fn block_on<F: Future>(self, future: F) -> F::Output {
        match &self.0 {
            Some(runtime) => runtime.block_on(future),
            // The runtime is taken only by `drop`.
            None => unreachable!("an owned runtime is present until dropped"),
        }
    }
}

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}
