//! The article's echo servers, run in a background thread of the calling
//! process and controlled through a [`ServerHandle`].
//!
//! Two reply styles, both from the article:
//! - [`Reply::Upper`]: the first server, `sendto(data.upper(), client_addr)`.
//! - [`Reply::Threaded`]: `socketserver.ThreadingUDPServer`, a new thread
//!   per datagram replying `"<thread name> [<DATA UPPER-CASED>]"`.
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
//! sets the flag and then sends the server one empty "wake-up" datagram so
//! its `recv_from` returns at once; the socket's short read timeout is the
//! safety net if that datagram is dropped (a full receive buffer). Requests
//! still queued when the server stops are not served; handler threads already
//! started are joined, so the final counters are complete.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use crate::net;
use crate::recv::{is_timeout, MAX_DATAGRAM};

/// How often a server blocked in `recv_from` checks its stop flag when no
/// wake-up datagram reaches it.
const STOP_POLL: Duration = Duration::from_millis(200);

/// What the server sends back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Reply {
    /// The request with ASCII letters upper-cased (the article's first server).
    Upper,
    /// One thread per datagram, reply `"<thread name> [<REQUEST UPPER-CASED>]"`
    /// (the article's `ThreadingUDPServer`).
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
    reply.extend_from_slice(thread_name.as_bytes());
    reply.extend_from_slice(b" [");
    reply.extend(request.iter().map(u8::to_ascii_uppercase));
    reply.push(b']');
    reply
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
    /// Handler threads started ([`Reply::Threaded`] only).
    pub threads_spawned: u64,
}

#[derive(Default)]
struct Counters {
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

/// A running server. Dropping it shuts the server down too.
pub struct ServerHandle {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    counters: Arc<Counters>,
    thread: Option<JoinHandle<()>>,
}

impl ServerHandle {
    /// The address the server is bound to (with the port the OS chose).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the server has counted so far.
    pub fn stats(&self) -> ServerStats {
        self.counters.snapshot()
    }

    /// Stops the server, waits for its threads, and returns its final counts.
    /// Never hangs: see the module documentation.
    pub fn shutdown(mut self) -> ServerStats {
        self.stop_and_join();
        self.stats()
    }

    fn stop_and_join(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::SeqCst);
        // Wake the server's blocked recv_from; if this datagram is lost the
        // STOP_POLL read timeout ends the wait instead.
        if let Ok(waker) = UdpSocket::bind(net::Family::of(&self.addr).any_port()) {
            let _ = waker.send_to(&[], net::reachable(self.addr));
        }
        let _ = thread.join();
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Starts a server with `reply` on `bind` (use port 0 to let the OS choose).
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
    let sock = net::bind(bind)?;
    sock.set_read_timeout(Some(STOP_POLL))?;
    let addr = sock.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let counters = Arc::new(Counters::default());
    let worker = Worker {
        sock: Arc::new(sock),
        reply,
        counters: Arc::clone(&counters),
        observer,
    };
    let stop_flag = Arc::clone(&stop);
    let thread = thread::Builder::new()
        .name(format!("udp-lab-server-{}", addr.port()))
        .spawn(move || worker.serve_until(&stop_flag))
        .map_err(|e| net::context(e, "starting the server thread"))?;
    Ok(ServerHandle {
        addr,
        stop,
        counters,
        thread: Some(thread),
    })
}

/// The receive loop and what it shares with handler threads.
#[derive(Clone)]
struct Worker {
    sock: Arc<UdpSocket>,
    reply: Reply,
    counters: Arc<Counters>,
    observer: Option<Observer>,
}

impl Worker {
    fn serve_until(&self, stop: &AtomicBool) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut handlers: Vec<JoinHandle<()>> = Vec::new();
        let mut next_thread = 1u64;
        while !stop.load(Ordering::SeqCst) {
            let (n, from) = match self.sock.recv_from(&mut buf) {
                Ok(got) => got,
                Err(e) if is_timeout(&e) => continue,
                // e.g. Windows' WSAECONNRESET after an ICMP error: count, go on.
                Err(_) => {
                    bump(&self.counters.recv_errors);
                    continue;
                }
            };
            if stop.load(Ordering::SeqCst) {
                break; // the wake-up datagram (or a late request): stop now
            }
            self.count_request(&buf[..n]);
            match self.reply {
                Reply::Upper => self.answer(&buf[..n], from, upper_reply(&buf[..n])),
                Reply::Threaded => {
                    let name = format!("Thread-{next_thread}");
                    next_thread += 1;
                    handlers.retain(|h| !h.is_finished());
                    handlers.extend(self.spawn_handler(name, &buf[..n], from));
                }
            }
        }
        for handler in handlers {
            let _ = handler.join();
        }
    }

    fn count_request(&self, request: &[u8]) {
        bump(&self.counters.received);
        if request.is_empty() {
            bump(&self.counters.empty);
        }
        if std::str::from_utf8(request).is_err() {
            bump(&self.counters.non_utf8);
        }
    }

    /// Starts one handler thread, as `ThreadingUDPServer` does. If the OS
    /// refuses a new thread, the request is answered inline instead.
    fn spawn_handler(
        &self,
        name: String,
        request: &[u8],
        from: SocketAddr,
    ) -> Option<JoinHandle<()>> {
        let worker = self.clone();
        let owned = request.to_vec();
        let spawned = thread::Builder::new().name(name.clone()).spawn(move || {
            let reply = threaded_reply(&name, &owned);
            worker.answer(&owned, from, reply);
        });
        match spawned {
            Ok(handle) => {
                bump(&self.counters.threads_spawned);
                Some(handle)
            }
            Err(_) => {
                let here = thread::current().name().unwrap_or("server").to_string();
                self.answer(request, from, threaded_reply(&here, request));
                None
            }
        }
    }

    fn answer(&self, request: &[u8], to: SocketAddr, reply: Vec<u8>) {
        let sent = self.sock.send_to(&reply, to);
        bump(if sent.is_ok() {
            &self.counters.replied
        } else {
            &self.counters.send_errors
        });
        if let Some(observer) = &self.observer {
            observer(&Served {
                from: to,
                request,
                reply: &reply,
                sent: &sent,
            });
        }
    }
}
