//! Timeout and retry, the first answer to loss: a [`RetryPolicy`] (wait,
//! double the wait, give up after N), a request/response [`Client`] that
//! numbers its requests so a late or duplicated reply is never taken for
//! the current one, and `recv_until`, the deadline-bounded receive every
//! mechanism of this module waits with.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::lab::congestion::RtoEstimator;
use crate::lab::planted::{self, Bug};
use crate::net;
use crate::recv::{is_timeout, MAX_DATAGRAM};

/// When to give up waiting and send again, and when to give up for good.
///
/// ```
/// use std::time::Duration;
/// use udp_lab::lab::reliable::RetryPolicy;
/// let policy = RetryPolicy { first_timeout: Duration::from_millis(20), max_timeout: Duration::from_millis(100), attempts: 6 };
/// let waits: Vec<u128> = (1..=6).map(|a| policy.timeout_for(a).as_millis()).collect();
/// assert_eq!(waits, [20, 40, 80, 100, 100, 100], "doubling, capped");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// How long the first attempt waits for its answer.
    pub first_timeout: Duration,
    /// The longest any attempt waits (the doubling stops here).
    pub max_timeout: Duration,
    /// How many times a request is sent before giving up (at least 1).
    pub attempts: u32,
}

impl Default for RetryPolicy {
    /// 200 ms doubling to 2 s, 8 attempts: about 11 s before giving up.
    fn default() -> Self {
        RetryPolicy {
            first_timeout: Duration::from_millis(200),
            max_timeout: Duration::from_secs(2),
            attempts: 8,
        }
    }
}

impl RetryPolicy {
    /// The wait of attempt number `attempt` (1 is the first):
    /// `first_timeout * 2^(attempt-1)`, at most `max_timeout`.
    pub fn timeout_for(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.first_timeout
            .saturating_mul(1u32 << doublings)
            .min(self.max_timeout)
    }
}

/// What a [`Client`] has seen so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Requests answered.
    pub answered: u64,
    /// Datagrams sent (first attempts and retries).
    pub sent: u64,
    /// Sends after a timeout.
    pub retries: u64,
    /// Replies for an earlier sequence number: duplicates or late answers, dropped.
    pub stale: u64,
    /// Datagrams from an address other than the server's, dropped.
    pub strangers: u64,
    /// Datagrams from the server that do not start with a sequence number, dropped.
    pub malformed: u64,
}

/// One answered request: what [`Client::request`] returns. (Not the echo
/// servers' reply *style*, [`crate::lab::server::Reply`].)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The request's sequence number.
    pub seq: u64,
    /// The reply's bytes after its `"<seq> "` prefix.
    pub payload: Vec<u8>,
    /// How many times the request was sent (1 when the first was answered).
    pub attempts: u32,
    /// From the first send to the accepted reply.
    pub elapsed: Duration,
}

/// A request/response client over UDP with retries.
///
/// Wire format: a request is `"<seq> <payload>"` (seq in ASCII decimal); a
/// reply must start with the same `"<seq> "`. An echo server, even one that
/// upper-cases, keeps digits and the space, so the article's server works as
/// is.
///
/// ```
/// use udp_lab::lab::reliable::{Client, RetryPolicy};
/// use udp_lab::lab::server::{self, Reply};
/// use udp_lab::net::{self, Family};
/// let echo = server::spawn(Family::V4.any_port(), Reply::Upper)?;
/// let mut client = Client::new(net::bind_loopback(Family::V4)?, echo.local_addr(), RetryPolicy::default());
/// let reply = client.request(b"hello")?;
/// assert_eq!((reply.seq, reply.payload.as_slice()), (1, &b"HELLO"[..]));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct Client {
    sock: UdpSocket,
    server: SocketAddr,
    policy: RetryPolicy,
    next_seq: u64,
    stats: ClientStats,
    /// When set, it times each attempt instead of `policy` (chapter 14).
    rto: Option<RtoEstimator>,
}

impl Client {
    /// A client that sends from `sock` to `server`. The socket stays
    /// unconnected: filtering by source is done here, visibly.
    pub fn new(sock: UdpSocket, server: SocketAddr, policy: RetryPolicy) -> Self {
        Client {
            sock,
            server,
            policy,
            next_seq: 1,
            stats: ClientStats::default(),
            rto: None,
        }
    }

    /// The same client, timing its attempts with an RFC 6298 estimator
    /// (chapter 14) instead of the policy's fixed timeouts: each attempt
    /// waits `rto.rto()`, an expiry backs it off, and an answer to a first
    /// attempt is a round-trip sample (an answer to a retry is not: Karn's
    /// rule). The policy still says how many attempts.
    ///
    /// ```
    /// use udp_lab::lab::congestion::{RtoConfig, RtoEstimator};
    /// use udp_lab::lab::reliable::{fast_retry, Client};
    /// use udp_lab::lab::server::{self, Reply};
    /// use udp_lab::net::{self, Family};
    /// let echo = server::spawn(Family::V4.any_port(), Reply::Upper)?;
    /// let mut client = Client::new(net::bind_loopback(Family::V4)?, echo.local_addr(), fast_retry())
    ///     .with_rto(RtoEstimator::new(RtoConfig::loopback()));
    /// client.request(b"hello")?;
    /// assert_eq!(client.rto().map(|r| r.samples()), Some(1));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn with_rto(mut self, rto: RtoEstimator) -> Self {
        self.rto = Some(rto);
        self
    }

    /// The client's estimator, when it has one.
    pub fn rto(&self) -> Option<&RtoEstimator> {
        self.rto.as_ref()
    }

    /// How long attempt number `attempt` waits.
    fn timeout_for(&self, attempt: u32) -> Duration {
        self.rto
            .map_or_else(|| self.policy.timeout_for(attempt), |rto| rto.rto())
    }

    /// The client's own address (where replies must come to).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.sock.local_addr()
    }

    /// What the client has seen so far.
    pub fn stats(&self) -> ClientStats {
        self.stats
    }

    /// Sends `payload` with the next sequence number and waits for its
    /// reply, retrying as the policy says. Fails with `TimedOut` when every
    /// attempt went unanswered.
    pub fn request(&mut self, payload: &[u8]) -> io::Result<Answer> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut datagram = format!("{seq} ").into_bytes();
        datagram.extend_from_slice(payload);
        let started = Instant::now();
        for attempt in 1..=self.policy.attempts.max(1) {
            if attempt > 1 {
                self.stats.retries += 1;
            }
            self.sock.send_to(&datagram, self.server).map_err(|e| {
                net::context(e, format!("sending request {seq} to {}", self.server))
            })?;
            self.stats.sent += 1;
            let deadline = Instant::now() + self.timeout_for(attempt);
            if let Some(payload) = self.await_reply(seq, deadline)? {
                self.stats.answered += 1;
                if let Some(rto) = &mut self.rto {
                    rto.on_sample(started.elapsed(), attempt > 1);
                }
                return Ok(Answer {
                    seq,
                    payload,
                    attempts: attempt,
                    elapsed: started.elapsed(),
                });
            }
            if let Some(rto) = &mut self.rto {
                rto.on_timeout();
            }
        }
        if planted::active(Bug::TimeoutIsAnAnswer) {
            let attempts = self.policy.attempts.max(1);
            let elapsed = started.elapsed();
            return Ok(Answer {
                seq,
                payload: Vec::new(),
                attempts,
                elapsed,
            });
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "no reply to request {seq} from {} after {} attempts ({:?} in all)",
                self.server,
                self.policy.attempts.max(1),
                started.elapsed()
            ),
        ))
    }

    /// Reads until the reply for `seq` comes (`Some(its payload)`) or the
    /// deadline passes (`None`), dropping and counting everything else.
    fn await_reply(&mut self, seq: u64, deadline: Instant) -> io::Result<Option<Vec<u8>>> {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        while let Some((n, from)) = recv_until(&self.sock, &mut buf, deadline)? {
            if from != self.server && !planted::active(Bug::AcceptsReplyFromAnyAddress) {
                self.stats.strangers += 1;
                continue;
            }
            match split_seq(&buf[..n]) {
                Some((s, payload)) if s == seq => return Ok(Some(payload.to_vec())),
                Some((_, payload)) if planted::active(Bug::RetryTakesStaleReply) => {
                    return Ok(Some(payload.to_vec()))
                }
                Some((s, _)) if s < seq => self.stats.stale += 1,
                _ => self.stats.malformed += 1,
            }
        }
        Ok(None)
    }
}

/// `"<seq> <rest>"` split into the number and the rest.
fn split_seq(datagram: &[u8]) -> Option<(u64, &[u8])> {
    let space = datagram.iter().position(|&b| b == b' ')?;
    let digits = std::str::from_utf8(&datagram[..space]).ok()?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((digits.parse().ok()?, &datagram[space + 1..]))
}

/// Receives one datagram if one comes before `deadline`; `Ok(None)` when
/// the deadline passes. ICMP errors a connected socket may report are
/// treated as "nothing yet" too: they say a datagram was lost.
pub(super) fn recv_until(
    sock: &UdpSocket,
    buf: &mut [u8],
    deadline: Instant,
) -> io::Result<Option<(usize, SocketAddr)>> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        let wait = (!planted::active(Bug::ClientsWaitForever)).then_some(left);
        sock.set_read_timeout(wait)?;
        match sock.recv_from(buf) {
            Ok(got) => return Ok(Some(got)),
            Err(e) if is_timeout(&e) => return Ok(None),
            Err(e) if is_icmp_report(&e) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// `ConnectionRefused` (Unix, connected socket) or `ConnectionReset`
/// (Windows' `WSAECONNRESET`): an ICMP error about an earlier datagram.
fn is_icmp_report(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset
    )
}
