//! The loopback server every test server here is made of: a listener on 127.0.0.1:0, a thread
//! per connection, a count of the connections it accepted, a way to close the listener alone,
//! and a shutdown on drop that closes every socket and joins every thread.

use std::collections::HashMap;
use std::io;
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Locks `mutex`, carrying on past a panic in another test thread.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A count that tests can wait on.
#[derive(Debug, Default)]
pub(crate) struct Counter {
    count: Mutex<usize>,
    changed: Condvar,
}

impl Counter {
    pub(crate) fn add(&self, n: usize) {
        self.fetch_add(n);
    }

    /// Adds `n`; the count before.
    fn fetch_add(&self, n: usize) -> usize {
        let mut count = lock(&self.count);
        let before = *count;
        *count += n;
        drop(count);
        self.changed.notify_all();
        before
    }

    pub(crate) fn get(&self) -> usize {
        *lock(&self.count)
    }

    /// True once the count reached `count`; false when `timeout` passed first.
    pub(crate) fn wait_for(&self, count: usize, timeout: Duration) -> bool {
        let guard = lock(&self.count);
        let (guard, _) =
            self.changed.wait_timeout_while(guard, timeout, |n| *n < count).unwrap_or_else(PoisonError::into_inner);
        *guard >= count
    }
}

/// What connection handlers see of their server: whether it stopped, interruptible sleeps, the
/// registry of sockets it closes when it stops, and which connection they were handed.
#[derive(Clone)]
pub(crate) struct Ctx {
    shared: Arc<Shared>,
    connection: usize,
}

#[derive(Default)]
struct Shared {
    stopped: Mutex<bool>,
    /// The listener is to close (or closed); the connections it accepted go on.
    not_accepting: Mutex<bool>,
    wake: Condvar,
    live: Mutex<Live>,
    accepted: Counter,
}

#[derive(Default)]
struct Live {
    next_id: u64,
    streams: HashMap<u64, TcpStream>,
    workers: Vec<JoinHandle<()>>,
}

/// A registered socket; unregistered when dropped.
pub(crate) struct Tracked {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        lock(&self.shared.live).streams.remove(&self.id);
    }
}

impl Ctx {
    /// Which connection the handler was handed, counting from 0 in accept order.
    pub(crate) fn connection(&self) -> usize {
        self.connection
    }

    pub(crate) fn is_stopped(&self) -> bool {
        *lock(&self.shared.stopped)
    }

    fn is_accepting(&self) -> bool {
        !*lock(&self.shared.not_accepting) && !self.is_stopped()
    }

    /// Sleeps for `duration`, or less if the server stops: true when the whole time passed.
    pub(crate) fn sleep(&self, duration: Duration) -> bool {
        let deadline = Instant::now().checked_add(duration);
        let mut stopped = lock(&self.shared.stopped);
        loop {
            if *stopped {
                return false;
            }
            let left = match deadline {
                Some(deadline) => deadline.saturating_duration_since(Instant::now()),
                None => Duration::from_secs(3600),
            };
            if left.is_zero() {
                return true;
            }
            stopped = self.shared.wake.wait_timeout(stopped, left).unwrap_or_else(PoisonError::into_inner).0;
        }
    }

    /// Blocks until the server stops.
    pub(crate) fn wait_until_stopped(&self) {
        let stopped = lock(&self.shared.stopped);
        drop(self.shared.wake.wait_while(stopped, |stopped| !*stopped).unwrap_or_else(PoisonError::into_inner));
    }

    /// Registers `stream` to be shut down when the server stops. `None` (and the stream shut
    /// down) when it has stopped already.
    pub(crate) fn track(&self, stream: &TcpStream) -> Option<Tracked> {
        let clone = stream.try_clone().ok()?;
        let stopped = lock(&self.shared.stopped);
        if *stopped {
            let _ = stream.shutdown(Shutdown::Both);
            return None;
        }
        let mut live = lock(&self.shared.live);
        let id = live.next_id;
        live.next_id += 1;
        live.streams.insert(id, clone);
        drop(stopped);
        Some(Tracked { shared: self.shared.clone(), id })
    }

    /// Counts a connection accepted (and tracked); the context its handler gets.
    fn accepted(&self) -> Self {
        Self { shared: self.shared.clone(), connection: self.shared.accepted.fetch_add(1) }
    }

    fn add_worker(&self, worker: JoinHandle<()>) {
        let mut live = lock(&self.shared.live);
        live.workers.retain(|worker| !worker.is_finished());
        live.workers.push(worker);
    }
}

/// A listener on 127.0.0.1:0 handing each connection to `handler` on its own thread, counting
/// the connections it accepts.
pub(crate) struct Server {
    addr: SocketAddr,
    ctx: Ctx,
    acceptor: Mutex<Option<JoinHandle<()>>>,
}

impl Server {
    pub(crate) fn start<H>(name: &str, handler: H) -> io::Result<Self>
    where
        H: Fn(TcpStream, &Ctx) + Send + Sync + 'static,
    {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let ctx = Ctx { shared: Arc::default(), connection: 0 };
        let handler = Arc::new(handler);
        let worker_name = format!("{name}-conn");
        let acceptor = {
            let ctx = ctx.clone();
            thread::Builder::new().name(format!("{name}-accept")).spawn(move || {
                for stream in listener.incoming() {
                    if !ctx.is_accepting() {
                        break;
                    }
                    let Ok(stream) = stream else {
                        // Out of descriptors, an aborted handshake: try again shortly.
                        ctx.sleep(Duration::from_millis(5));
                        continue;
                    };
                    let Some(tracked) = ctx.track(&stream) else { break };
                    let (handler, worker_ctx) = (handler.clone(), ctx.accepted());
                    let worker = thread::Builder::new().name(worker_name.clone()).spawn(move || {
                        let _tracked = tracked;
                        handler(stream, &worker_ctx);
                    });
                    if let Ok(worker) = worker {
                        ctx.add_worker(worker);
                    }
                }
            })?
        };
        Ok(Self { addr, ctx, acceptor: Mutex::new(Some(acceptor)) })
    }

    /// Closes the listener, so that the port refuses from now on, and keeps the connections
    /// already accepted. Returns once the port is closed.
    pub(crate) fn stop_accepting(&self) {
        *lock(&self.ctx.shared.not_accepting) = true;
        self.join_acceptor();
    }

    /// Wakes the acceptor, which then sees a flag set before, and waits until it (and with it
    /// the listener) is gone.
    fn join_acceptor(&self) {
        let Some(acceptor) = lock(&self.acceptor).take() else { return };
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        let _ = acceptor.join();
    }

    /// The address it listens on.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections accepted so far (the one that wakes the acceptor on drop is not counted).
    pub(crate) fn connections(&self) -> usize {
        self.ctx.shared.accepted.get()
    }

    /// True once `count` connections were accepted; false when `timeout` passed first.
    pub(crate) fn wait_for_connections(&self, count: usize, timeout: Duration) -> bool {
        self.ctx.shared.accepted.wait_for(count, timeout)
    }
}

impl Drop for Server {
    /// Stops accepting, closes every connection and joins every thread.
    fn drop(&mut self) {
        *lock(&self.ctx.shared.stopped) = true;
        self.ctx.shared.wake.notify_all();
        self.join_acceptor();
        let workers = {
            let mut live = lock(&self.ctx.shared.live);
            for stream in live.streams.values() {
                let _ = stream.shutdown(Shutdown::Both);
            }
            std::mem::take(&mut live.workers)
        };
        for worker in workers {
            let _ = worker.join();
        }
    }
}
