//! The one way the lab stops a thread that serves a socket: set a stop
//! flag, wake the thread with a datagram, join it. The echo servers'
//! [`ServerHandle`](crate::lab::server::ServerHandle), the relay's
//! [`RelayHandle`](crate::lab::relay::RelayHandle) and `udp-lab bench`'s bare
//! loop all stop their receiving threads through a [`Stopper`].
//!
//! # Why a wake-up datagram
//! A thread blocked in `recv_from` does not notice a flag. So [`Stopper::stop`]
//! sets the flag and then sends the served address an empty "wake-up"
//! datagram: the blocked `recv_from` returns, the thread sees the flag and
//! ends. A server with N receiving threads (a pool on one socket, or N
//! sockets sharing a port) needs N wake-ups, and they must reach N
//! *different* threads. So the stopper sends one, waits until some thread
//! has ended (and closed its socket, which leaves a `SO_REUSEPORT` group),
//! then sends the next: each wake-up lands on a thread that is still
//! receiving. The sockets' short read timeout ([`STOP_POLL`]) is the safety
//! net if a wake-up is dropped (a full receive buffer): every thread checks
//! the flag at least that often.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::net::{self, Family};

/// How often a serving thread blocked in `recv_from` checks its stop flag
/// when no wake-up datagram reaches it: the read timeout its socket gets.
pub const STOP_POLL: Duration = Duration::from_millis(200);

/// The receiving threads of one address, and the one way to stop them.
/// Dropping it stops them too.
///
/// A thread started with [`Stopper::spawn`] must own its socket (so that
/// the socket closes when the thread ends), give the socket a read timeout
/// of at most the `poll` given to [`Stopper::new`], and return once the
/// [`flag`](Stopper::flag) is set and a datagram or that timeout woke it.
///
/// ```
/// use std::sync::atomic::Ordering;
/// use udp_lab::{lab::stop::{Stopper, STOP_POLL}, net::{self, Family}};
///
/// let sock = net::bind_loopback(Family::V4)?;
/// sock.set_read_timeout(Some(STOP_POLL))?;
/// let mut threads = Stopper::new(sock.local_addr()?, STOP_POLL);
/// let stop = threads.flag();
/// threads.spawn("sink".to_string(), move || {
///     let mut buf = [0u8; 16];
///     while !stop.load(Ordering::Relaxed) {
///         let _ = sock.recv_from(&mut buf); // a datagram or the read timeout
///     }
/// })?;
/// threads.stop(); // returns as soon as the wake-up datagram has arrived
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Stopper {
    addr: SocketAddr,
    poll: Duration,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    /// Cloned into every thread, which sends once it has ended.
    exit_notices: Sender<()>,
    /// One message each time a thread has ended (and closed its socket).
    exited: Receiver<()>,
}

impl Stopper {
    /// No thread yet. `addr` is where the threads receive (an unspecified
    /// address is woken through loopback); `poll` is their sockets' read
    /// timeout, the longest a lost wake-up delays the stop.
    pub fn new(addr: SocketAddr, poll: Duration) -> Stopper {
        let (exit_notices, exited) = mpsc::channel();
        Stopper {
            addr,
            poll,
            stop: Arc::new(AtomicBool::new(false)),
            threads: Vec::new(),
            exit_notices,
            exited,
        }
    }

    /// The stop flag the threads check: `true` once they must end.
    pub fn flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Starts a thread named `name` running `body`; it reports its end to
    /// the stopper, even when `body` panics.
    pub fn spawn(&mut self, name: String, body: impl FnOnce() + Send + 'static) -> io::Result<()> {
        let notice = ExitNotice(self.exit_notices.clone());
        let doing = format!("starting thread {name}");
        let thread = thread::Builder::new()
            .name(name)
            .spawn(move || {
                let _notice = notice; // dropped after body, and its socket, are gone
                body();
            })
            .map_err(|e| net::context(e, doing))?;
        self.threads.push(thread);
        Ok(())
    }

    /// Sets the flag, wakes every thread, and waits for all of them. Never
    /// hangs (see the module documentation); a second call does nothing.
    pub fn stop(&mut self) {
        if self.threads.is_empty() {
            return;
        }
        self.stop.store(true, Ordering::SeqCst);
        self.wake_every_thread();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }

    /// Sends one wake-up datagram at a time until every thread has ended:
    /// each lands on a thread that is still receiving, because an ended
    /// thread has closed its socket.
    fn wake_every_thread(&self) {
        let waker = UdpSocket::bind(Family::of(&self.addr).any_port()).ok();
        let mut running = self.threads.len();
        while running > 0 {
            if let Some(waker) = &waker {
                let _ = waker.send_to(&[], net::reachable(self.addr));
            }
            // A lost wake-up costs at most one poll: the thread's read
            // timeout ends its wait and it sees the flag.
            if self.exited.recv_timeout(self.poll * 2).is_ok() {
                running -= 1;
            }
        }
    }
}

impl Drop for Stopper {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Tells the stopper that a thread has ended, when dropped: at the end of
/// the thread, or while a panic unwinds it.
struct ExitNotice(Sender<()>);

impl Drop for ExitNotice {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}
