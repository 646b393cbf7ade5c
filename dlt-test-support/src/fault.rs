//! A userspace fault proxy: what a bad network does, without netem or a packet filter.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::proxy::{Shape, relay};
use crate::server::{Ctx, Server, lock};

/// What the fault proxy does to a new connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Fault {
    /// Nothing: bytes pass both ways as they come.
    #[default]
    None,
    /// Each piece the upstream sends is held this long before it is passed on: one small answer,
    /// one added delay.
    Delay(Duration),
    /// The connection is accepted and never read (the request sits in kernel buffers; no answer).
    AcceptNeverRead,
    /// The upstream's answer is passed on one byte at a time, this long apart (a byte a second:
    /// `SlowDrip(Duration::from_secs(1))`).
    SlowDrip(Duration),
    /// The first bytes of the request are read, then the connection is reset (RST, not FIN).
    Reset,
}

/// A TCP proxy on loopback in front of `upstream` that applies a [`Fault`] to each new
/// connection; the fault can be changed while it runs. Shut down on drop.
pub struct FaultProxy {
    fault: Arc<Mutex<Fault>>,
    server: Server,
}

impl FaultProxy {
    /// Starts it in front of `upstream`, which must be on loopback (a [`Recorder`](crate::Recorder)'s
    /// address, say): anything else is `InvalidInput`.
    pub fn start(upstream: SocketAddr, fault: Fault) -> io::Result<Self> {
        if !upstream.ip().is_loopback() {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "the fault proxy only fronts loopback addresses"));
        }
        let fault = Arc::new(Mutex::new(fault));
        let current = fault.clone();
        let server = Server::start("fault-proxy", move |client: TcpStream, ctx: &Ctx| {
            let fault = *lock(&current);
            apply(fault, client, upstream, ctx);
        })?;
        Ok(Self { fault, server })
    }

    /// Applies `fault` to connections accepted from now on.
    pub fn set_fault(&self, fault: Fault) {
        *lock(&self.fault) = fault;
    }

    /// `http://127.0.0.1:<port>`: the upstream's URL, through the faults.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.server.connections()
    }

    /// True once `count` connections were accepted; false when `timeout` passed first.
    pub fn wait_for_connections(&self, count: usize, timeout: Duration) -> bool {
        self.server.wait_for_connections(count, timeout)
    }
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy").field("url", &self.url()).field("fault", &*lock(&self.fault)).finish()
    }
}

fn apply(fault: Fault, client: TcpStream, upstream: SocketAddr, ctx: &Ctx) {
    let down = match fault {
        Fault::AcceptNeverRead => return ctx.wait_until_stopped(),
        Fault::Reset => return reset(client),
        Fault::None => Shape::Plain,
        Fault::Delay(delay) => Shape::Delayed(delay),
        Fault::SlowDrip(interval) => Shape::Drip(interval),
    };
    let Ok(upstream) = TcpStream::connect_timeout(&upstream, Duration::from_secs(5)) else { return };
    let Some(_tracked) = ctx.track(&upstream) else { return };
    relay(&client, &upstream, Shape::Plain, down, ctx);
}

/// Reads what the client sent first, then closes with a zero linger: the kernel sends RST.
fn reset(mut client: TcpStream) {
    let mut buffer = [0u8; 16 * 1024];
    let _ = client.read(&mut buffer);
    let _ = socket2::SockRef::from(&client).set_linger(Some(Duration::ZERO));
}
