//! Concurrency models: seven ways to dispatch a UDP server's datagrams to
//! threads (or tasks), each serving both of the article's reply styles.
//!
//! | [`Model`] | threads | sockets | system calls per datagram |
//! |---|---|---|---|
//! | `single` | 1 | 1 | 2 (`recv_from`, `send_to`) |
//! | `thread-per-datagram` | 1 + one new thread per datagram | 1 | 2, plus a thread created and joined |
//! | `pool` | N, all blocked in `recv_from` on one socket | 1 | 2 |
//! | `reuseport` | N, one per socket | N, one port (`SO_REUSEPORT`) | 2 |
//! | `batch` | 1 | 1 | 2 per *batch* (`recvmmsg`, `sendmmsg`) |
//! | `tokio` | 1, a current-thread runtime running one task | 1 | 2, plus `epoll_wait` when the socket runs dry |
//! | `tokio-multi` | N runtime workers running N tasks on one socket | 1 | 2, plus `epoll_wait` when the socket runs dry |
//!
//! On loopback a datagram costs the kernel little; what dominates is the
//! system call around it (entering and leaving the kernel, waking the
//! receiver). `batch` pays that once for up to [`BATCH`] datagrams.
//!
//! With [`Reply::Threaded`] the reply names the thread that produced it:
//! `Thread-N` for a thread-per-datagram handler (as Python names them),
//! otherwise the receiving thread's name (`single`, `pool-2`,
//! `reuseport-3`, `batch`), or the task's for the async models (`tokio`,
//! `tokio-multi-2`), so a reply tells which worker served it.
//!
//! ```
//! use udp_lab::lab::server::{models::{self, Model}, Reply};
//! use udp_lab::{net::{self, Family}, recv};
//!
//! let server = models::spawn(Family::V4.any_port(), Model::Pool, Reply::Threaded)?;
//! let client = net::bind_loopback(Family::V4)?;
//! let reply = recv::request(&client, server.local_addr(), b"hi", "the pool's reply")?;
//! assert!(reply.text().starts_with("pool-"), "{}", reply.text());
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Platform-specific behavior
//! - `batch` uses Linux's `recvmmsg`/`sendmmsg` (through `nix`, in
//!   `batch.rs`); elsewhere it runs the `single` loop under the same name.
//!   The one place that chooses is `worker`, below.
//! - `reuseport` needs `SO_REUSEPORT`: Linux spreads senders over the
//!   sockets by a hash of the 4-tuple; macOS and the BSDs accept the shared
//!   bind but deliver each datagram to one socket (the last bound); Windows
//!   has no such option, and starting the model fails there.
//! - `tokio` and `tokio-multi` exist only in a build with the cargo feature
//!   `tokio` (`tokio.rs`); without it [`Model::built`] says how to get
//!   them, and starting them fails with that line.

#[cfg(target_os = "linux")]
mod batch;
#[cfg(feature = "tokio")]
mod tokio;

use std::fmt;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use super::echo::{parse_name, Counters, Observer, Reply, Responder};
use super::handle::{ServerHandle, WorkerThread};
use crate::lab::planted::{self, Bug};
use crate::lab::stop::{Stopper, STOP_POLL};
use crate::net;
use crate::recv::{is_timeout, MAX_DATAGRAM};
use crate::tune::{self, Tuning};

/// The most datagrams the `batch` model receives (and answers) per system call.
pub const BATCH: usize = 64;

/// How a server dispatches datagrams to threads. Named on the command
/// line as [`Model::name`] writes it (`Display` and `FromStr` agree).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Model {
    /// One thread, one socket, a `recv_from`/`send_to` loop.
    Single,
    /// The article's `ThreadingUDPServer`: a new thread for each datagram.
    ThreadPerDatagram,
    /// N threads, each blocked in `recv_from` on the same socket.
    Pool,
    /// N sockets bound to one address with `SO_REUSEPORT`, a thread each.
    ReusePort,
    /// One socket, drained and answered in batches (`recvmmsg`/`sendmmsg`).
    Batch,
    /// One thread running tokio's current-thread runtime: one task that
    /// `.await`s each datagram (cargo feature `tokio`).
    Tokio,
    /// tokio's multi-thread runtime: N tasks on N worker threads, one
    /// socket (cargo feature `tokio`).
    TokioMulti,
}

impl Model {
    /// Every model, simplest first; the last two need the cargo feature
    /// `tokio` ([`Model::built`]).
    pub const ALL: [Model; 7] = [
        Model::Single,
        Model::ThreadPerDatagram,
        Model::Pool,
        Model::ReusePort,
        Model::Batch,
        Model::Tokio,
        Model::TokioMulti,
    ];

    /// The model's name on the command line (`thread-per-datagram`).
    pub fn name(self) -> &'static str {
        match self {
            Model::Single => "single",
            Model::ThreadPerDatagram => "thread-per-datagram",
            Model::Pool => "pool",
            Model::ReusePort => "reuseport",
            Model::Batch => "batch",
            Model::Tokio => "tokio",
            Model::TokioMulti => "tokio-multi",
        }
    }

    /// Whether this build can run the model: `Err` names the cargo feature
    /// a tokio model needs and how to build with it (one line, for the CLI).
    ///
    /// ```
    /// use udp_lab::lab::server::models::Model;
    /// assert!(Model::Single.built().is_ok());
    /// assert_eq!(Model::Tokio.built().is_ok(), cfg!(feature = "tokio"));
    /// ```
    pub fn built(self) -> Result<Model, String> {
        let async_model = matches!(self, Model::Tokio | Model::TokioMulti);
        if async_model && !cfg!(feature = "tokio") {
            return Err(format!(
                "the {self} model is not in this build: it needs the cargo feature \"tokio\" \
                 (cargo run --features tokio -- ... --model {self})"
            ));
        }
        Ok(self)
    }

    /// The article's model for a reply style: its first server answers on
    /// one thread, its `ThreadingUDPServer` on a new thread per datagram.
    pub fn articles(reply: Reply) -> Model {
        match reply {
            Reply::Upper => Model::Single,
            Reply::Threaded => Model::ThreadPerDatagram,
        }
    }

    /// How many threads receive datagrams when the model has `workers`.
    pub fn receivers(self, workers: usize) -> usize {
        match self {
            Model::Pool if planted::active(Bug::PoolIgnoresWorkers) => workers.max(1) + 1,
            Model::Pool | Model::ReusePort => workers.max(1),
            _ => 1,
        }
    }
}

impl fmt::Display for Model {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Model {
    type Err = String;

    /// Parses a model name as [`Model::name`] writes it.
    fn from_str(text: &str) -> Result<Model, String> {
        parse_name(&Model::ALL, Model::name, "model", text)
    }
}

/// The number of worker threads `pool` and `reuseport` use unless told:
/// one per CPU, at least two (so they are really concurrent).
pub fn default_workers() -> usize {
    thread::available_parallelism().map_or(2, |n| n.get().max(2))
}

/// Everything that decides how a server runs.
#[derive(Clone)]
pub struct ServerConfig {
    /// How datagrams are dispatched to threads.
    pub model: Model,
    /// What is sent back.
    pub reply: Reply,
    /// Threads (and for `reuseport`, sockets) of `pool` and `reuseport`.
    pub workers: usize,
    /// Called for every request served (logging); `None` on the fast path.
    pub observer: Option<Observer>,
}

impl ServerConfig {
    /// `model` with `reply`, [`default_workers`] and no observer.
    pub fn new(model: Model, reply: Reply) -> ServerConfig {
        ServerConfig {
            model,
            reply,
            workers: default_workers(),
            observer: None,
        }
    }
}

/// Starts a server of `model` answering with `reply` on `bind` (port 0:
/// the OS chooses), with [`default_workers`] threads where the model has
/// several.
pub fn spawn(bind: SocketAddr, model: Model, reply: Reply) -> io::Result<ServerHandle> {
    spawn_with(bind, ServerConfig::new(model, reply))
}

/// Starts a server as `config` says.
pub fn spawn_with(bind: SocketAddr, config: ServerConfig) -> io::Result<ServerHandle> {
    config
        .model
        .built()
        .map_err(|why| io::Error::new(io::ErrorKind::Unsupported, why))?;
    let sockets = bind_sockets(bind, &config)?;
    let addr = sockets[0].local_addr()?;
    let threads = Stopper::new(addr, STOP_POLL);
    let workers = sockets
        .into_iter()
        .enumerate()
        .map(|(i, sock)| worker(&config, i, sock, threads.flag()))
        .collect::<io::Result<_>>()?;
    ServerHandle::launch(addr, threads, workers)
}

/// The sockets the model receives on, one per receiving thread, each with
/// the short read timeout that lets a thread notice the stop flag.
fn bind_sockets(bind: SocketAddr, config: &ServerConfig) -> io::Result<Vec<UdpSocket>> {
    let receivers = config.model.receivers(config.workers);
    let sockets = match config.model {
        Model::ReusePort => bind_reuseport_group(bind, receivers)?,
        _ => {
            let first = net::bind(bind)?;
            let mut all = Vec::with_capacity(receivers);
            for _ in 1..receivers {
                // try_clone: a second descriptor of the *same* socket.
                all.push(first.try_clone()?);
            }
            all.insert(0, first);
            all
        }
    };
    if planted::active(Bug::KeepsPortAfterShutdown) {
        std::mem::forget(sockets[0].try_clone()?); // a descriptor never closed
    }
    for sock in &sockets {
        sock.set_read_timeout(Some(STOP_POLL))?;
    }
    Ok(sockets)
}

/// `n` sockets bound to one address with `SO_REUSEPORT`: the first gets the
/// port (the OS picks it when `bind` has port 0), the others join it.
fn bind_reuseport_group(bind: SocketAddr, n: usize) -> io::Result<Vec<UdpSocket>> {
    let tuning = Tuning {
        reuse_port: true,
        ..Tuning::default()
    };
    let first = tune::bind_tuned(bind, tuning)?;
    let addr = first.local_addr()?;
    let mut group = vec![first];
    for _ in 1..n {
        let sock = tune::bind_tuned(addr, tuning).map_err(|e| {
            net::context(
                e,
                "joining a SO_REUSEPORT group (the reuseport model needs Linux, macOS or a BSD)",
            )
        })?;
        group.push(sock);
    }
    Ok(group)
}

/// The thread that serves `sock` as receiver number `index` of the model.
fn worker(
    config: &ServerConfig,
    index: usize,
    sock: UdpSocket,
    stop: Arc<AtomicBool>,
) -> io::Result<WorkerThread> {
    let model = config.model;
    #[cfg(feature = "tokio")]
    if matches!(model, Model::Tokio | Model::TokioMulti) {
        return tokio::worker(config, sock, stop); // one host thread, its runtime
    }
    let name = match model {
        Model::Pool | Model::ReusePort => format!("{model}-{}", index + 1),
        Model::ThreadPerDatagram => "dispatcher".to_string(),
        _ => model.name().to_string(),
    };
    let counters = Arc::new(Counters::default());
    let (reply, observer) = (config.reply, config.observer.clone());
    let body: Box<dyn FnOnce() + Send> = match model {
        Model::ThreadPerDatagram => {
            let dispatcher = Dispatcher {
                reply,
                counters: Arc::clone(&counters),
                observer,
            };
            Box::new(move || dispatcher.serve(sock, &stop))
        }
        _ => {
            let responder = Responder::new(reply, name.clone(), Arc::clone(&counters), observer);
            match model {
                #[cfg(target_os = "linux")]
                Model::Batch => Box::new(move || batch::serve(&sock, &stop, responder, BATCH)),
                // Elsewhere `batch` has no recvmmsg: it runs the `single` loop.
                // (The tokio models never get here: `tokio::worker`, or
                // refused by `spawn_with` without the feature.)
                _ => Box::new(move || serve_each(&sock, &stop, responder)),
            }
        }
    };
    Ok(WorkerThread {
        name,
        counters,
        body,
    })
}

/// Receives one datagram; `None` on a timeout or an error (counted), so
/// the caller checks its stop flag and tries again.
fn receive(sock: &UdpSocket, buf: &mut [u8], counters: &Counters) -> Option<(usize, SocketAddr)> {
    let len = planted::receive_length(buf.len());
    match sock.recv_from(&mut buf[..len]) {
        Ok((n, from)) if planted::active(Bug::MergesQueuedRequests) => {
            Some((planted::merge_next(sock, buf, n, from), from))
        }
        Ok(got) => Some(got),
        Err(e) if is_timeout(&e) => None,
        // e.g. Windows' WSAECONNRESET after an ICMP error: count, go on.
        Err(_) => {
            counters.count_recv_error();
            None
        }
    }
}

/// `single`, `pool` and `reuseport`: receive, answer, repeat, on this
/// thread, until the stop flag is seen.
fn serve_each(sock: &UdpSocket, stop: &AtomicBool, mut responder: Responder) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut longest = 0; // what planted::stale_length remembers
    while !stop.load(Ordering::Relaxed) {
        let Some((n, from)) = receive(sock, &mut buf, responder.counters()) else {
            continue;
        };
        if stop.load(Ordering::Relaxed) || stops_here(n) {
            break; // the wake-up datagram (or a late request): stop now
        }
        let n = planted::stale_length(n, &mut longest);
        responder.handle(sock, &buf[..n], from);
    }
}

/// Whether the loop ends on a request of `n` bytes: never, unless the
/// planted bug `stops_on_empty_request` takes 0 bytes for an end of stream.
fn stops_here(n: usize) -> bool {
    n == 0 && planted::active(Bug::StopsOnEmptyRequest)
}

/// `thread-per-datagram`: the receiving thread starts a new handler thread
/// for every datagram, as Python's `ThreadingUDPServer` does.
struct Dispatcher {
    reply: Reply,
    counters: Arc<Counters>,
    observer: Option<Observer>,
}

impl Dispatcher {
    /// Receives and dispatches until the stop flag is seen, then joins
    /// the handlers still running.
    fn serve(self, sock: UdpSocket, stop: &AtomicBool) {
        let sock = Arc::new(sock);
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut handlers: Vec<JoinHandle<()>> = Vec::new();
        let mut next_thread = 1u64;
        let mut longest = 0; // what planted::stale_length remembers
        while !stop.load(Ordering::Relaxed) {
            let Some((n, from)) = receive(&sock, &mut buf, &self.counters) else {
                continue;
            };
            if stop.load(Ordering::Relaxed) || stops_here(n) {
                break;
            }
            let n = planted::stale_length(n, &mut longest);
            self.counters.count_request(&buf[..n]);
            let name = format!("Thread-{next_thread}");
            if !planted::active(Bug::ReusesThreadNames) {
                next_thread += 1;
            }
            handlers.retain(|h| !h.is_finished());
            handlers.extend(self.spawn_handler(&sock, name, &buf[..n], from));
        }
        // Joined before the socket closes, so the final counters are complete.
        for handler in handlers {
            let _ = handler.join();
        }
    }

    /// Starts one handler thread named `name` that answers `request`. If the
    /// OS refuses a new thread, the request is answered here instead.
    fn spawn_handler(
        &self,
        sock: &Arc<UdpSocket>,
        name: String,
        request: &[u8],
        from: SocketAddr,
    ) -> Option<JoinHandle<()>> {
        let mut responder = Responder::new(
            self.reply,
            name.clone(),
            Arc::clone(&self.counters),
            self.observer.clone(),
        );
        let (sock_for_thread, owned) = (Arc::clone(sock), request.to_vec());
        let spawned = thread::Builder::new()
            .name(name)
            .spawn(move || responder.answer(&sock_for_thread, &owned, from));
        match spawned {
            Ok(handle) => {
                self.counters.count_thread();
                Some(handle)
            }
            Err(_) => {
                let here = thread::current().name().unwrap_or("dispatcher").to_string();
                let mut inline = Responder::new(
                    self.reply,
                    here,
                    Arc::clone(&self.counters),
                    self.observer.clone(),
                );
                inline.answer(sock, request, from);
                None
            }
        }
    }
}
