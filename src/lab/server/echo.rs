//! What an echo server answers, and what it counts: the article's two reply
//! styles ([`Reply`]), the functions that build them, the counters every
//! receiving thread keeps, and the [`Responder`] that answers one request.
//! Every concurrency model ([`models`](super::models)) serves through these,
//! so a reply never depends on how the datagram reached its thread.
//!
//! How a request that is empty, not UTF-8 or too big to answer is handled:
//! the "Bad input" section of the [`server`](super) documentation.

use std::fmt;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::ops::Add;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::guard::Amplification;
use crate::lab::planted::{self, Bug};

/// What the server sends back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The request with ASCII letters upper-cased (the article's first server).
    Upper,
    /// `"<thread name> [<REQUEST UPPER-CASED>]"` (the article's
    /// `ThreadingUDPServer`); [`spawn`](super::spawn) answers each datagram
    /// on a new thread.
    Threaded,
}

impl Reply {
    /// Both styles, the article's first server first.
    pub const ALL: [Reply; 2] = [Reply::Upper, Reply::Threaded];

    /// The style's name on the command line: `upper` or `threaded`.
    pub fn name(self) -> &'static str {
        match self {
            Reply::Upper => "upper",
            Reply::Threaded => "threaded",
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Reply {
    type Err = String;

    /// Parses a style name as [`Reply::name`] writes it.
    fn from_str(text: &str) -> Result<Reply, String> {
        parse_name(&Reply::ALL, Reply::name, "reply style", text)
    }
}

/// The value of `all` whose `name` is `text`, or an error naming `what`
/// was expected and listing the names: the one parser behind the lab's
/// named enums ([`Reply`], [`Model`](super::models::Model)).
pub(crate) fn parse_name<T: Copy>(
    all: &[T],
    name: fn(T) -> &'static str,
    what: &str,
    text: &str,
) -> Result<T, String> {
    all.iter()
        .copied()
        .find(|v| name(*v) == text)
        .ok_or_else(|| {
            let names: Vec<&str> = all.iter().map(|v| name(*v)).collect();
            format!(
                "unknown {what} {text:?}: expected one of {}",
                names.join(", ")
            )
        })
}

/// The upper-casing reply: ASCII letters upper-cased, all other bytes kept,
/// like Python's `bytes.upper()`.
///
/// ```
/// use udp_lab::lab::server::upper_reply;
/// assert_eq!(upper_reply(b"hello 1"), b"HELLO 1");
/// assert_eq!(upper_reply(b"\xff\xfeab"), b"\xff\xfeAB");
/// ```
pub fn upper_reply(request: &[u8]) -> Vec<u8> {
    request.to_ascii_uppercase()
}

/// The threaded server's reply: `"<thread name> [<REQUEST UPPER-CASED>]"`.
///
/// ```
/// let reply = udp_lab::lab::server::threaded_reply("Thread-7", b"Thread-1 [3]");
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
    if planted::active(Bug::UpperCasesEveryByte) {
        out.iter_mut().for_each(|b| *b = planted::clear_bit_5(b));
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
    /// Replies not sent because they were longer than the amplification
    /// cap allows (chapter 15, [`Guard::max_amplification`](super::Guard)).
    pub over_amplification: u64,
    /// Requests dropped by the per-source rate limiter (chapter 15).
    pub rate_limited: u64,
    /// Requests without a valid address token, answered only with a token
    /// (or with nothing, when the token would be larger; chapter 15).
    pub challenged: u64,
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
            over_amplification: self.over_amplification + other.over_amplification,
            rate_limited: self.rate_limited + other.rate_limited,
            challenged: self.challenged + other.challenged,
        }
    }
}

/// One worker thread's counters. Each receiving thread has its own, on its
/// own cache line, and [`ServerHandle::stats`](super::ServerHandle::stats)
/// adds them up when asked: no two threads ever write the same counter on
/// the hot path (only a thread-per-datagram server's handlers share their
/// dispatcher's).
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
    over_amplification: AtomicU64,
    rate_limited: AtomicU64,
    challenged: AtomicU64,
}

/// Adds one to a counter; order with other counters does not matter.
fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Counters {
    /// The counts so far.
    pub(crate) fn snapshot(&self) -> ServerStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ServerStats {
            received: get(&self.received),
            replied: get(&self.replied),
            empty: get(&self.empty),
            non_utf8: get(&self.non_utf8),
            send_errors: get(&self.send_errors),
            recv_errors: get(&self.recv_errors),
            threads_spawned: get(&self.threads_spawned),
            over_amplification: get(&self.over_amplification),
            rate_limited: get(&self.rate_limited),
            challenged: get(&self.challenged),
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
        if sent && planted::active(Bug::MiscountsReplies) {
            return;
        }
        bump(if sent {
            &self.replied
        } else {
            &self.send_errors
        });
    }

    /// Counts one failed `recv_from` (not a timeout).
    pub(crate) fn count_recv_error(&self) {
        bump(&self.recv_errors);
    }

    /// Counts one handler thread started.
    pub(crate) fn count_thread(&self) {
        bump(&self.threads_spawned);
    }

    /// Counts one reply withheld by the amplification cap.
    pub(crate) fn count_over_amplification(&self) {
        bump(&self.over_amplification);
    }

    /// Counts one request dropped by the rate limiter.
    pub(crate) fn count_rate_limited(&self) {
        bump(&self.rate_limited);
    }

    /// Counts one request answered only with a token (or nothing).
    pub(crate) fn count_challenged(&self) {
        bump(&self.challenged);
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

/// Sends one reply to `to` from `sock`; each planted bug of the sending
/// step is one line here.
fn send_reply(sock: &UdpSocket, reply: &[u8], to: SocketAddr) -> io::Result<usize> {
    let to = if planted::active(Bug::AnswersThePreviousClient) {
        planted::previous_client(to)
    } else {
        to
    };
    if planted::active(Bug::ReplyFromAnotherSocket) {
        return planted::send_from_another_socket(reply, to);
    }
    if planted::active(Bug::SplitsLongReplies) {
        return planted::send_split(sock, reply, to);
    }
    if planted::active(Bug::CutsOversizedReplies) {
        return sock.send_to(planted::fit(reply, to), to);
    }
    sock.send_to(reply, to)
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
    /// The amplification cap (chapter 15): `None` answers every request.
    cap: Option<Amplification>,
}

impl Responder {
    /// A responder named `name`, counting into `counters`.
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
            cap: None,
        }
    }

    /// The same responder, withholding every reply longer than `cap`
    /// allows (counted in [`ServerStats::over_amplification`]).
    pub(crate) fn capped(mut self, cap: Option<Amplification>) -> Responder {
        self.cap = cap;
        self
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
        if request.is_empty() && planted::active(Bug::IgnoresEmptyRequest) {
            return;
        }
        write_reply(self.style, &self.name, request, &mut self.out);
        if self.over_cap(request.len()) {
            self.counters.count_over_amplification();
            return;
        }
        let sent = send_reply(sock, &self.out, to);
        let served = Served {
            from: to,
            request,
            reply: &self.out,
            sent: &sent,
        };
        report(&self.counters, self.observer.as_ref(), &served);
    }

    /// Whether the reply in the buffer is longer than the cap allows for a
    /// request of `request_len` bytes.
    fn over_cap(&self, request_len: usize) -> bool {
        let Some(cap) = self.cap else { return false };
        !cap.allows(request_len, self.out.len()) && !planted::active(Bug::AmplificationCapIgnored)
    }
}
