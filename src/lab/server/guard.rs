//! A guarded echo server (chapter 15): the article's replies behind three
//! defences against abuse, each optional, each counted in [`ServerStats`]:
//!
//! | [`Guard`] field | what it refuses | counter |
//! |---|---|---|
//! | `max_amplification` | a reply longer than factor x its request | `over_amplification` |
//! | `rate_limit` | a request over its source's token bucket | `rate_limited` |
//! | `validate` | a full answer to a source without a valid token | `challenged` |
//!
//! It runs the `single` model's loop on one thread: the defences keep state
//! per source (the buckets), and one thread keeps that state without locks.
//! For a guarded server, `received = replied + send_errors +
//! over_amplification + rate_limited + challenged`.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::echo::{Counters, Observer, Reply, Responder};
use super::handle::{ServerHandle, WorkerThread};
use crate::lab::abuse::limiter::{Limiter, RateLimit};
use crate::lab::abuse::token::{self, TokenKey};
use crate::lab::stop::{Stopper, STOP_POLL};
use crate::net;
use crate::recv::{is_timeout, MAX_DATAGRAM};

/// The largest ratio of reply bytes to request bytes a server may send:
/// with a factor of 1 no reply is longer than its request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Amplification(f64);

impl Amplification {
    /// A cap of `factor` (a finite number above 0), or `None`.
    pub fn new(factor: f64) -> Option<Amplification> {
        (factor.is_finite() && factor > 0.0).then_some(Amplification(factor))
    }

    /// The factor.
    pub fn factor(self) -> f64 {
        self.0
    }

    /// Whether a reply of `reply_len` bytes to a request of `request_len`
    /// bytes is within the cap (an empty reply always is).
    pub fn allows(self, request_len: usize, reply_len: usize) -> bool {
        reply_len as f64 <= self.0 * request_len as f64
    }
}

impl FromStr for Amplification {
    type Err = String;

    /// Parses a factor such as `1` or `3.5`.
    fn from_str(text: &str) -> Result<Amplification, String> {
        let hint = "give a factor above 0, such as 1 (no reply longer than its request)";
        let factor: f64 = text
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not a number: {hint}"))?;
        Amplification::new(factor).ok_or_else(|| format!("{factor} is not above 0: {hint}"))
    }
}

/// The defences of a guarded server; `Guard::default()` has none.
#[derive(Clone, Default)]
pub struct Guard {
    /// No reply longer than this factor times its request.
    pub max_amplification: Option<Amplification>,
    /// A token bucket per source address.
    pub rate_limit: Option<RateLimit>,
    /// Answer in full only requests carrying this key's token for their source.
    pub validate: Option<TokenKey>,
}

impl Guard {
    /// Whether any defence is on.
    pub fn is_on(&self) -> bool {
        self.max_amplification.is_some() || self.rate_limit.is_some() || self.validate.is_some()
    }
}

/// Starts a guarded server with `reply` on `bind`, on one thread named
/// `single` (the name threaded replies carry).
///
/// ```
/// use udp_lab::lab::server::{self, Amplification, Guard, Reply};
/// use udp_lab::{net::{self, Family}, recv};
///
/// let guard = Guard { max_amplification: Amplification::new(1.0), ..Guard::default() };
/// let server = server::spawn_guarded(Family::V4.any_port(), Reply::Upper, guard, None)?;
/// let client = net::bind_loopback(Family::V4)?;
/// let reply = recv::request(&client, server.local_addr(), b"hi", "the reply")?;
/// assert_eq!(reply.payload, b"HI"); // as long as the request: within a factor of 1
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn spawn_guarded(
    bind: SocketAddr,
    reply: Reply,
    guard: Guard,
    observer: Option<Observer>,
) -> io::Result<ServerHandle> {
    let sock = net::bind(bind)?;
    sock.set_read_timeout(Some(STOP_POLL))?;
    let addr = sock.local_addr()?;
    let threads = Stopper::new(addr, STOP_POLL);
    let counters = Arc::new(Counters::default());
    let responder = Responder::new(reply, "single".to_string(), Arc::clone(&counters), observer)
        .capped(guard.max_amplification);
    let stop = threads.flag();
    let mut gate = Gate {
        limiter: guard.rate_limit.map(Limiter::new),
        key: guard.validate,
        responder,
    };
    let worker = WorkerThread {
        name: "single".to_string(),
        counters,
        body: Box::new(move || gate.serve(&sock, &stop)),
    };
    ServerHandle::launch(addr, threads, vec![worker])
}

/// The guarded loop's state: the buckets, the key, the responder.
struct Gate {
    limiter: Option<Limiter>,
    key: Option<TokenKey>,
    responder: Responder,
}

impl Gate {
    fn serve(&mut self, sock: &UdpSocket, stop: &AtomicBool) {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        while !stop.load(Ordering::Relaxed) {
            let (n, from) = match sock.recv_from(&mut buf) {
                Ok(got) => got,
                Err(e) if is_timeout(&e) => continue,
                Err(_) => {
                    self.responder.counters().count_recv_error();
                    continue;
                }
            };
            if stop.load(Ordering::Relaxed) {
                break; // the wake-up datagram
            }
            self.handle(sock, &buf[..n], from);
        }
    }

    /// Counts the request, then lets each defence refuse it in turn.
    fn handle(&mut self, sock: &UdpSocket, request: &[u8], from: SocketAddr) {
        let counters = self.responder.counters();
        counters.count_request(request);
        if let Some(limiter) = &mut self.limiter {
            if !limiter.admit(from) {
                counters.count_rate_limited();
                return;
            }
        }
        let Some(key) = &self.key else {
            return self.responder.answer(sock, request, from);
        };
        match token::split_token(request) {
            Some((tok, payload)) if key.check(from, tok) => {
                self.responder.answer(sock, payload, from)
            }
            _ => {
                counters.count_challenged();
                // Never more bytes to an unproven address than it sent.
                if request.len() >= token::RETRY_LEN {
                    let _ = sock.send_to(&token::retry_reply(&key.token_for(from)), from);
                }
            }
        }
    }
}
