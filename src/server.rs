//! The article's echo servers, run in background threads of the calling
//! process and controlled through a [`ServerHandle`].
//!
//! Two reply styles, both from the article:
//! - [`Reply::Upper`]: the first server, `sendto(data.upper(), client_addr)`.
//! - [`Reply::Threaded`]: `socketserver.ThreadingUDPServer`'s handler,
//!   replying `"<thread name> [<DATA UPPER-CASED>]"`.
//!
//! *How* datagrams are dispatched to threads (one thread, a thread per
//! datagram, a pool, one socket per thread, batches) is the server's
//! [`Model`](crate::models::Model), chosen with [`crate::models::spawn`].
//! [`spawn`] keeps the article's pairing: `Reply::Upper` on one thread,
//! `Reply::Threaded` with a new thread for every datagram.
//!
//! # Bad input
//! A server must survive what the network brings. Upper-casing here works on
//! bytes, as Python's `bytes.upper()` does: ASCII letters are upper-cased and
//! every other byte is returned unchanged. So a request that is not UTF-8
//! gets its bytes back (ASCII letters upper-cased) and is counted in
//! [`ServerStats::non_utf8`]; the article's own server crashes on it instead,
//! because it decodes the bytes to print them. An empty request gets an empty
//! reply (threaded: `"Thread-N []"`). A reply that cannot be sent (a threaded
//! reply to a 65507-byte request is longer than any datagram) is counted in
//! [`ServerStats::send_errors`]; the server goes on.
//!
//! # Shutting down
//! A thread blocked in `recv_from` does not notice a flag. [`ServerHandle::shutdown`]
//! sets the flag and then sends the server an empty "wake-up" datagram: the
//! blocked `recv_from` returns, the thread sees the flag and ends. A server
//! with N receiving threads (a pool on one socket, or N sockets sharing a
//! port) needs N wake-ups, and they must reach N *different* threads. So
//! the handle sends one, waits until some thread has ended (and closed its
//! socket, which leaves a `SO_REUSEPORT` group), then sends the next: each
//! wake-up lands on a thread that is still receiving. The sockets' short
//! read timeout is the safety net if a wake-up is dropped (a full receive
//! buffer): every thread checks the flag at least that often. Requests still
//! queued when the server stops are not served; handler threads already
//! started are joined, so the final counters are complete.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::ops::Add;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::models::{self, Model};
use crate::net;

/// How often a server blocked in `recv_from` checks its stop flag when no
/// wake-up datagram reaches it.
pub(crate) const STOP_POLL: Duration = Duration::from_millis(200);

/// What the server sends back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Reply {
    /// The request with ASCII letters upper-cased (the article's first server).
    Upper,
    /// `"<thread name> [<REQUEST UPPER-CASED>]"` (the article's
    /// `ThreadingUDPServer`); [`spawn`] answers each datagram on a new thread.
    Threaded,
}

/// The upper-casing reply: ASCII letters upper-cased, all other bytes kept,
/// like Python's `bytes.upper()`.
///
/// ```
/// assert_eq!(udp_lab::server::upper_reply(b"hello 1"), b"HELLO 1");
/// assert_eq!(udp_lab::server::upper_reply(b"\xff\xfeab"), b"\xff\xfeAB");
/// ```
pub fn upper_reply(request: &[u8]) -> Vec<u8> {
    request.to_ascii_uppercase()
}

/// The threaded server's reply: `"<thread name> [<REQUEST UPPER-CASED>]"`.
///
/// ```
/// let reply = udp_lab::server::threaded_reply("Thread-7", b"Thread-1 [3]");
/// assert_eq!(reply, b"Thread-7 [THREAD-1 [3]]");
/// ```
pub fn threaded_reply(thread_name: &str, request: &[u8]) -> Vec<u8> {
    let mut reply = Vec::with_capacity(thread_name.len() + request.len() + 3);
    write_reply(Reply::Threaded, thread_name, request, &mut reply);
    reply
}

/// Writes the reply to `request` into `out` (cleared first), so a server
/// loop reuses one buffer instead of allocating a reply per datagram.
pub(crate) fn write_reply(style: Reply, thread_name: &str, request: &[u8], out: &mut Vec<u8>) {
    out.clear();
    if style == Reply::Threaded {
        out.extend_from_slice(thread_name.as_bytes());
        out.extend_from_slice(b" [");
    }
    out.extend(request.iter().map(u8::to_ascii_uppercase));
    if style == Reply::Threaded {
        out.push(b']');
    }
}

/// What a server has counted so far. Every datagram it received is in
/// `received`; none disappears without a counter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Datagrams received (the shutdown wake-up excluded).
    pub received: u64,
    /// Replies sent successfully.
    pub replied: u64,
    /// Received datagrams with no payload.
    pub empty: u64,
    /// Received datagrams whose payload is not valid UTF-8 (answered anyway).
    pub non_utf8: u64,
    /// Replies the OS refused to send (for example a reply over 65507 bytes).
    pub send_errors: u64,
    /// Errors returned by `recv_from` other than the read timeout.
    pub recv_errors: u64,
    /// Handler threads started (the thread-per-datagram model only).
    pub threads_spawned: u64,
}

impl Add for ServerStats {
    type Output = ServerStats;

    fn add(self, other: ServerStats) -> ServerStats {
        ServerStats {
            received: self.received + other.received,
            replied: self.replied + other.replied,
            empty: self.empty + other.empty,
            non_utf8: self.non_utf8 + other.non_utf8,
            send_errors: self.send_errors + other.send_errors,
            recv_errors: self.recv_errors + other.recv_errors,
            threads_spawned: self.threads_spawned + other.threads_spawned,
        }
    }
}

/// One worker thread's counters. Each receiving thread has its own, on its
/// own cache line, and [`ServerHandle::stats`] adds them up when asked: no
/// two threads ever write the same counter on the hot path (only a
/// thread-per-datagram server's handlers share their dispatcher's).
#[derive(Default)]
#[repr(align(64))]
pub(crate) struct Counters {
    received: AtomicU64,
    replied: AtomicU64,
    empty: AtomicU64,
    non_utf8: AtomicU64,
    send_errors: AtomicU64,
    recv_errors: AtomicU64,
    threads_spawned: AtomicU64,
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    fn snapshot(&self) -> ServerStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ServerStats {
            received: get(&self.received),
            replied: get(&self.replied),
            empty: get(&self.empty),
            non_utf8: get(&self.non_utf8),
            send_errors: get(&self.send_errors),
            recv_errors: get(&self.recv_errors),
            threads_spawned: get(&self.threads_spawned),
        }
    }

    /// Counts one received request (and whether it is empty or not UTF-8).
    pub(crate) fn count_request(&self, request: &[u8]) {
        bump(&self.received);
        if request.is_empty() {
            bump(&self.empty);
        }
        if !request.is_ascii() && std::str::from_utf8(request).is_err() {
            bump(&self.non_utf8);
        }
    }

    /// Counts one reply, sent or refused.
    pub(crate) fn count_sent(&self, sent: bool) {
        bump(if sent {
            &self.replied
        } else {
            &self.send_errors
        });
    }

    pub(crate) fn count_recv_error(&self) {
        bump(&self.recv_errors);
    }

    pub(crate) fn count_thread(&self) {
        bump(&self.threads_spawned);
    }
}

/// One request the server handled, as shown to an [`Observer`].
#[derive(Debug)]
pub struct Served<'a> {
    /// Who sent the request (and receives the reply).
    pub from: SocketAddr,
    /// The request's bytes.
    pub request: &'a [u8],
    /// The reply's bytes.
    pub reply: &'a [u8],
    /// Whether the reply was sent (`Err` carries why not).
    pub sent: &'a io::Result<usize>,
}

/// Called once per request, for logging (`udp-lab serve` prints a line).
pub type Observer = Arc<dyn Fn(&Served<'_>) + Send + Sync>;

/// Counts a reply that was sent (or not) and shows it to the observer.
pub(crate) fn report(counters: &Counters, observer: Option<&Observer>, served: &Served<'_>) {
    counters.count_sent(served.sent.is_ok());
    if let Some(observer) = observer {
        observer(served);
    }
}

/// What one receiving thread needs to answer a request: the reply style,
/// its name (for threaded replies), its counters, the observer, and a reply
/// buffer reused for every datagram.
pub(crate) struct Responder {
    style: Reply,
    name: String,
    counters: Arc<Counters>,
    observer: Option<Observer>,
    out: Vec<u8>,
}

impl Responder {
    pub(crate) fn new(
        style: Reply,
        name: String,
        counters: Arc<Counters>,
        observer: Option<Observer>,
    ) -> Responder {
        Responder {
            style,
            name,
            counters,
            observer,
            out: Vec::new(),
        }
    }

    /// The reply style.
    pub(crate) fn style(&self) -> Reply {
        self.style
    }

    /// The name threaded replies carry.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// This thread's counters.
    pub(crate) fn counters(&self) -> &Counters {
        &self.counters
    }

    /// The observer, if any.
    pub(crate) fn observer(&self) -> Option<&Observer> {
        self.observer.as_ref()
    }

    /// Counts `request`, then answers it.
    pub(crate) fn handle(&mut self, sock: &UdpSocket, request: &[u8], from: SocketAddr) {
        self.counters.count_request(request);
        self.answer(sock, request, from);
    }

    /// Builds the reply in the reused buffer and sends it to `to`.
    pub(crate) fn answer(&mut self, sock: &UdpSocket, request: &[u8], to: SocketAddr) {
        write_reply(self.style, &self.name, request, &mut self.out);
        let sent = sock.send_to(&self.out, to);
        let served = Served {
            from: to,
            request,
            reply: &self.out,
            sent: &sent,
        };
        report(&self.counters, self.observer.as_ref(), &served);
    }
}

/// A receiving thread about to be started: its name, its counters and its
/// loop (which owns its socket, so the socket closes when the loop ends).
pub(crate) struct WorkerThread {
    pub(crate) name: String,
    pub(crate) counters: Arc<Counters>,
    pub(crate) body: Box<dyn FnOnce() + Send>,
}

/// A running server. Dropping it shuts the server down too.
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    counters: Vec<Arc<Counters>>,
    workers: Vec<JoinHandle<()>>,
    /// One message each time a worker has ended and closed its socket.
    exited: Receiver<()>,
}

impl ServerHandle {
    /// Starts `workers`, serving on `addr`, all stopped by `stop`. If one
    /// cannot be started, those already running are stopped again.
    pub(crate) fn launch(
        addr: SocketAddr,
        stop: Arc<AtomicBool>,
        workers: Vec<WorkerThread>,
    ) -> io::Result<ServerHandle> {
        let (exit_tx, exited) = mpsc::channel();
        let mut handle = ServerHandle {
            addr,
            stop,
            counters: Vec::with_capacity(workers.len()),
            workers: Vec::with_capacity(workers.len()),
            exited,
        };
        for worker in workers {
            handle.counters.push(Arc::clone(&worker.counters));
            let thread = start_worker(worker, exit_tx.clone())
                .map_err(|e| net::context(e, "starting a server thread"))?;
            handle.workers.push(thread);
        }
        Ok(handle)
    }

    /// The address the server is bound to (with the port the OS chose).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the server has counted so far, all its threads added up.
    pub fn stats(&self) -> ServerStats {
        self.worker_stats()
            .into_iter()
            .fold(ServerStats::default(), Add::add)
    }

    /// What each receiving thread (each socket, for the `reuseport` model)
    /// has counted so far, in the order the threads were started.
    pub fn worker_stats(&self) -> Vec<ServerStats> {
        self.counters.iter().map(|c| c.snapshot()).collect()
    }

    /// Stops the server, waits for its threads, and returns its final counts.
    /// Never hangs: see the module documentation.
    pub fn shutdown(mut self) -> ServerStats {
        self.stop_and_join();
        self.stats()
    }

    fn stop_and_join(&mut self) {
        if self.workers.is_empty() {
            return;
        }
        self.stop.store(true, Ordering::SeqCst);
        self.wake_every_worker();
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }

    /// Sends one wake-up datagram at a time until every worker has ended:
    /// each lands on a worker that is still receiving, because an ended
    /// worker has closed its socket (see the module documentation).
    fn wake_every_worker(&self) {
        let waker = UdpSocket::bind(net::Family::of(&self.addr).any_port()).ok();
        let mut running = self.workers.len();
        while running > 0 {
            if let Some(waker) = &waker {
                let _ = waker.send_to(&[], net::reachable(self.addr));
            }
            // A lost wake-up costs at most one STOP_POLL: the worker's read
            // timeout ends its wait and it sees the flag.
            match self.exited.recv_timeout(STOP_POLL * 2) {
                Ok(()) => running -= 1,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
        }
    }
}

/// Starts one worker thread; it reports on `exited` once its loop (and so
/// its socket) is gone.
fn start_worker(worker: WorkerThread, exited: Sender<()>) -> io::Result<JoinHandle<()>> {
    let body = worker.body;
    thread::Builder::new().name(worker.name).spawn(move || {
        body();
        let _ = exited.send(());
    })
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Starts a server with `reply` on `bind` (use port 0 to let the OS choose),
/// in the article's model for that reply: [`Reply::Upper`] on one thread
/// ([`Model::Single`]), [`Reply::Threaded`] with a new thread per datagram
/// ([`Model::ThreadPerDatagram`]).
///
/// ```
/// use udp_lab::server::{self, Reply};
/// let echo = server::spawn("127.0.0.1:0".parse().unwrap(), Reply::Upper)?;
/// println!("serving on {}", echo.local_addr());
/// let stats = echo.shutdown();
/// assert_eq!(stats.received, 0);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn spawn(bind: SocketAddr, reply: Reply) -> io::Result<ServerHandle> {
    spawn_observed(bind, reply, None)
}

/// Like [`spawn`], calling `observer` for every request served.
pub fn spawn_observed(
    bind: SocketAddr,
    reply: Reply,
    observer: Option<Observer>,
) -> io::Result<ServerHandle> {
    let config = models::ServerConfig {
        observer,
        ..models::ServerConfig::new(Model::articles(reply), reply)
    };
    models::spawn_with(bind, config)
}
