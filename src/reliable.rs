//! Reliability built on UDP, as a course builds it next: a request/response
//! client with retries, a stop-and-wait stream transfer, and a pinger.
//!
//! UDP is "best effort": a datagram arrives once, twice, late, altered or not
//! at all, and the sender is never told. Everything here is the
//! application's answer to that, with one mechanism per problem:
//!
//! | problem | mechanism |
//! |---|---|
//! | a request or its reply is lost | timeout and retry, the timeout doubling each time ([`RetryPolicy`]) |
//! | a reply is duplicated or arrives after a retry was answered | a sequence number in every request; replies for an earlier number are dropped |
//! | a stranger sends a "reply" | replies are accepted only from the server's address |
//! | a stream must arrive whole and in order | stop-and-wait: one numbered chunk at a time, each acknowledged ([`send_stream`], [`StreamReceiver`]) |
//! | the network alters bytes | an end-to-end check ([`Integrity`]), because UDP's checksum covers one hop only |
//!
//! # Timing and correctness
//! Timeouts decide only *when* to send again, never *what* is accepted:
//! acceptance is by sequence number and source address. So a slow machine
//! can add retransmissions but cannot change what is delivered.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::net;
use crate::recv::{is_timeout, MAX_DATAGRAM};

/// When to give up waiting and send again, and when to give up for good.
///
/// ```
/// use std::time::Duration;
/// use udp_lab::reliable::RetryPolicy;
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

/// One answered request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
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
/// use udp_lab::net::{self, Family};
/// use udp_lab::reliable::{Client, RetryPolicy};
/// use udp_lab::server::{self, Reply};
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
        }
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
    pub fn request(&mut self, payload: &[u8]) -> io::Result<Reply> {
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
            let deadline = Instant::now() + self.policy.timeout_for(attempt);
            if let Some(payload) = self.await_reply(seq, deadline)? {
                self.stats.answered += 1;
                return Ok(Reply {
                    seq,
                    payload,
                    attempts: attempt,
                    elapsed: started.elapsed(),
                });
            }
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
            if from != self.server {
                self.stats.strangers += 1;
                continue;
            }
            match split_seq(&buf[..n]) {
                Some((s, payload)) if s == seq => return Ok(Some(payload.to_vec())),
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
fn recv_until(
    sock: &UdpSocket,
    buf: &mut [u8],
    deadline: Instant,
) -> io::Result<Option<(usize, SocketAddr)>> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(None);
        }
        sock.set_read_timeout(Some(left))?;
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

// ---------------------------------------------------------------------------
// Stop-and-wait

/// One datagram of a stream transfer.
///
/// Binary layout: one type byte, a 32-bit big-endian number, then the data.
/// `Ack(n)` is cumulative: "I have every chunk below `n`". A stop-and-wait
/// sender and a go-back-N sender both work with the same receiver.
///
/// ```
/// use udp_lab::reliable::Frame;
/// let frame = Frame::Data { seq: 7, chunk: b"abc".to_vec() };
/// assert_eq!(frame.encode(), b"D\0\0\0\x07abc");
/// assert_eq!(Frame::decode(&frame.encode()), Some(frame));
/// assert_eq!(Frame::decode(b"X\0\0\0\0"), None);
/// assert_eq!(Frame::decode(b"D\0\0\0\0"), None, "DATA carries at least one byte");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// Chunk number `seq` of the stream.
    Data {
        /// The chunk's number, from 0.
        seq: u32,
        /// The chunk's bytes.
        chunk: Vec<u8>,
    },
    /// The end: the stream had `seq` chunks.
    Fin {
        /// The number of chunks (the number after the last one).
        seq: u32,
    },
    /// Every chunk below `next` has arrived (and the FIN when `next` is past it).
    Ack {
        /// The next chunk the receiver expects.
        next: u32,
    },
}

/// Bytes of a frame before its data.
pub const FRAME_HEADER: usize = 5;

impl Frame {
    /// The frame as bytes.
    pub fn encode(&self) -> Vec<u8> {
        let (kind, number, data): (u8, u32, &[u8]) = match self {
            Frame::Data { seq, chunk } => (b'D', *seq, chunk),
            Frame::Fin { seq } => (b'F', *seq, &[]),
            Frame::Ack { next } => (b'A', *next, &[]),
        };
        let mut bytes = Vec::with_capacity(FRAME_HEADER + data.len());
        bytes.push(kind);
        bytes.extend_from_slice(&number.to_be_bytes());
        bytes.extend_from_slice(data);
        bytes
    }

    /// Parses a frame; `None` for anything malformed.
    pub fn decode(bytes: &[u8]) -> Option<Frame> {
        let number = u32::from_be_bytes(bytes.get(1..FRAME_HEADER)?.try_into().ok()?);
        let rest = &bytes[FRAME_HEADER..];
        match (bytes[0], rest.is_empty()) {
            // A DATA frame carries at least one byte: an empty one can only
            // be a damaged FIN (one flipped bit turns 'F' into 'D').
            (b'D', false) => Some(Frame::Data {
                seq: number,
                chunk: rest.to_vec(),
            }),
            (b'F', true) => Some(Frame::Fin { seq: number }),
            (b'A', true) => Some(Frame::Ack { next: number }),
            _ => None,
        }
    }
}

/// An end-to-end check around every frame: [`Integrity::seal`] before
/// sending, [`Integrity::open`] after receiving (`None`: drop it).
///
/// UDP's own checksum is recomputed by every sender, including a relay that
/// changed the bytes, so it cannot see that change. Only the two ends can.
pub trait Integrity: Sync {
    /// The bytes to send for `frame` (e.g. the frame followed by a checksum).
    fn seal(&self, frame: Vec<u8>) -> Vec<u8>;
    /// The frame inside `datagram`, or `None` when the check fails.
    fn open(&self, datagram: &[u8]) -> Option<Vec<u8>>;
}

/// No check at all: frames go out as they are (what most UDP applications do).
#[derive(Clone, Copy, Debug, Default)]
pub struct Unchecked;

impl Integrity for Unchecked {
    fn seal(&self, frame: Vec<u8>) -> Vec<u8> {
        frame
    }
    fn open(&self, datagram: &[u8]) -> Option<Vec<u8>> {
        Some(datagram.to_vec())
    }
}

/// Settings of a stop-and-wait transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StopAndWait {
    /// Bytes of stream per DATA frame.
    pub chunk_size: usize,
    /// Retransmission timeouts and the retry budget of each frame.
    pub retry: RetryPolicy,
}

impl Default for StopAndWait {
    /// 1 KiB chunks, 50 ms doubling to 400 ms, 40 attempts per frame.
    fn default() -> Self {
        StopAndWait {
            chunk_size: 1024,
            retry: RetryPolicy {
                first_timeout: Duration::from_millis(50),
                max_timeout: Duration::from_millis(400),
                attempts: 40,
            },
        }
    }
}

/// What a stream sender counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderStats {
    /// Frames (DATA and FIN) in the stream.
    pub frames: u64,
    /// Datagrams sent, retransmissions included.
    pub sent: u64,
    /// Sends after a timeout.
    pub retransmissions: u64,
    /// ACKs that acknowledged nothing new (duplicates, late ones), dropped.
    pub stale_acks: u64,
    /// Datagrams dropped: not from the peer, failed the check, or not an ACK.
    pub rejected: u64,
}

/// Sends `data` to `peer` one chunk at a time, each retransmitted until
/// acknowledged, then a FIN. Returns when the FIN is acknowledged, i.e. when
/// the receiver holds the whole stream.
///
/// The socket is used unconnected; only the peer's datagrams count.
pub fn send_stream(
    sock: &UdpSocket,
    peer: SocketAddr,
    data: &[u8],
    settings: &StopAndWait,
    check: &dyn Integrity,
) -> io::Result<SenderStats> {
    let chunks: Vec<&[u8]> = data.chunks(settings.chunk_size.max(1)).collect();
    let count = u32::try_from(chunks.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "the stream has more than 2^32 chunks",
        )
    })?;
    let frames = chunks
        .iter()
        .zip(0..)
        .map(|(chunk, seq)| Frame::Data {
            seq,
            chunk: chunk.to_vec(),
        })
        .chain([Frame::Fin { seq: count }]);
    let mut sender = StopAndWaitSender {
        sock,
        peer,
        settings,
        check,
        stats: SenderStats::default(),
    };
    for (frame, seq) in frames.zip(0u32..) {
        sender.deliver(&frame, seq)?;
    }
    Ok(sender.stats)
}

struct StopAndWaitSender<'a> {
    sock: &'a UdpSocket,
    peer: SocketAddr,
    settings: &'a StopAndWait,
    check: &'a dyn Integrity,
    stats: SenderStats,
}

impl StopAndWaitSender<'_> {
    /// Sends frame number `seq` until `Ack(seq + 1)` comes back.
    fn deliver(&mut self, frame: &Frame, seq: u32) -> io::Result<()> {
        self.stats.frames += 1;
        let datagram = self.check.seal(frame.encode());
        let retry = self.settings.retry;
        for attempt in 1..=retry.attempts.max(1) {
            if attempt > 1 {
                self.stats.retransmissions += 1;
            }
            self.sock
                .send_to(&datagram, self.peer)
                .map_err(|e| net::context(e, format!("sending frame {seq} to {}", self.peer)))?;
            self.stats.sent += 1;
            if self.await_ack(seq, Instant::now() + retry.timeout_for(attempt))? {
                return Ok(());
            }
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "frame {seq} was never acknowledged by {} in {} attempts",
                self.peer,
                retry.attempts.max(1)
            ),
        ))
    }

    fn await_ack(&mut self, seq: u32, deadline: Instant) -> io::Result<bool> {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        while let Some((n, from)) = recv_until(self.sock, &mut buf, deadline)? {
            let frame = (from == self.peer)
                .then(|| self.check.open(&buf[..n]))
                .flatten();
            match frame.as_deref().and_then(Frame::decode) {
                Some(Frame::Ack { next }) if next == seq + 1 => return Ok(true),
                Some(Frame::Ack { next }) if next <= seq => self.stats.stale_acks += 1,
                _ => self.stats.rejected += 1,
            }
        }
        Ok(false)
    }
}

/// What a stream receiver counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Chunks accepted into the stream.
    pub accepted: u64,
    /// DATA frames already accepted before (retransmissions, duplicates), acknowledged again.
    pub duplicates: u64,
    /// DATA frames ahead of the next expected one, dropped (a go-back-N sender resends them).
    pub ahead: u64,
    /// Datagrams dropped: not from the peer, failed the check, or not a frame.
    pub rejected: u64,
    /// ACKs sent.
    pub acks: u64,
}

/// The receiving end of a stream: accepts chunks in order, acknowledges
/// every frame with the next number it expects.
///
/// The first frame's source becomes the peer; datagrams from anyone else
/// are dropped. After the FIN, [`StreamReceiver::linger`] keeps answering
/// retransmissions, because the last ACK may be lost and only the sender can
/// tell (the two-generals problem: someone must wait).
pub struct StreamReceiver<'a> {
    sock: &'a UdpSocket,
    check: &'a dyn Integrity,
    peer: Option<SocketAddr>,
    next: u32,
    finished: bool,
    data: Vec<u8>,
    stats: ReceiverStats,
}

impl<'a> StreamReceiver<'a> {
    /// A receiver reading from `sock` (its read timeout bounds every wait).
    pub fn new(sock: &'a UdpSocket, check: &'a dyn Integrity) -> Self {
        StreamReceiver {
            sock,
            check,
            peer: None,
            next: 0,
            finished: false,
            data: Vec::new(),
            stats: ReceiverStats::default(),
        }
    }

    /// Receives until the FIN, then returns the whole stream. Fails when no
    /// datagram comes for the socket's read timeout.
    pub fn receive(&mut self) -> io::Result<Vec<u8>> {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        while !self.finished {
            let (n, from) =
                crate::recv::recv_into(self.sock, &mut buf, "the next frame of the stream")?;
            self.handle(&buf[..n], from)?;
        }
        Ok(self.data.clone())
    }

    /// After the FIN: keeps acknowledging retransmitted frames until
    /// `sender_done()` is true or no datagram came for `quiet`.
    pub fn linger(&mut self, quiet: Duration, sender_done: impl Fn() -> bool) -> io::Result<()> {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let poll = quiet
            .min(Duration::from_millis(20))
            .max(Duration::from_millis(1));
        let mut silent_since = Instant::now();
        while !sender_done() && silent_since.elapsed() < quiet {
            if let Some((n, from)) = recv_until(self.sock, &mut buf, Instant::now() + poll)? {
                self.handle(&buf[..n], from)?;
                silent_since = Instant::now();
            }
        }
        Ok(())
    }

    /// What the receiver counted.
    pub fn stats(&self) -> ReceiverStats {
        self.stats
    }

    fn handle(&mut self, datagram: &[u8], from: SocketAddr) -> io::Result<()> {
        let peer = *self.peer.get_or_insert(from);
        let frame = (from == peer).then(|| self.check.open(datagram)).flatten();
        match frame.as_deref().and_then(Frame::decode) {
            Some(Frame::Data { seq, chunk }) => self.on_data(seq, &chunk),
            Some(Frame::Fin { seq }) if seq == self.next && !self.finished => {
                self.finished = true;
                self.next += 1;
            }
            Some(Frame::Fin { .. }) => self.stats.duplicates += 1,
            _ => {
                self.stats.rejected += 1;
                return Ok(());
            }
        }
        self.acknowledge(peer)
    }

    fn on_data(&mut self, seq: u32, chunk: &[u8]) {
        if seq == self.next && !self.finished {
            self.data.extend_from_slice(chunk);
            self.next += 1;
            self.stats.accepted += 1;
        } else if seq < self.next {
            self.stats.duplicates += 1;
        } else {
            self.stats.ahead += 1;
        }
    }

    fn acknowledge(&mut self, peer: SocketAddr) -> io::Result<()> {
        let ack = self.check.seal(Frame::Ack { next: self.next }.encode());
        self.sock
            .send_to(&ack, peer)
            .map_err(|e| net::context(e, format!("acknowledging to {peer}")))?;
        self.stats.acks += 1;
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Pinger

/// Settings of a ping run (Kurose & Ross's UDP pinger lab).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PingSettings {
    /// How many pings.
    pub count: u32,
    /// How long each ping waits for its echo.
    pub timeout: Duration,
    /// The least time between two pings' sends.
    pub interval: Duration,
}

impl Default for PingSettings {
    /// 10 pings, one per second, each waiting 1 s (as in the lab).
    fn default() -> Self {
        PingSettings {
            count: 10,
            timeout: Duration::from_secs(1),
            interval: Duration::from_secs(1),
        }
    }
}

/// The outcome of one ping.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PingResult {
    /// The ping's sequence number, from 1.
    pub seq: u32,
    /// The round-trip time, or `None` when no echo came within the timeout.
    pub rtt: Option<Duration>,
}

/// What a ping run saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PingReport {
    /// One entry per ping, in order.
    pub results: Vec<PingResult>,
    /// Echoes of earlier pings (late, or duplicated on the way), dropped.
    pub late: u64,
    /// Datagrams dropped: from another address, or not an echo of one of our pings.
    pub rejected: u64,
}

impl PingReport {
    /// Pings sent.
    pub fn sent(&self) -> usize {
        self.results.len()
    }

    /// Pings answered in time.
    pub fn received(&self) -> usize {
        self.results.iter().filter(|r| r.rtt.is_some()).count()
    }

    /// Lost pings as a percentage of those sent (0 when none was sent).
    pub fn loss_percent(&self) -> f64 {
        match self.sent() {
            0 => 0.0,
            sent => 100.0 * (sent - self.received()) as f64 / sent as f64,
        }
    }

    /// The answered pings' round-trip times.
    pub fn rtts(&self) -> Vec<Duration> {
        self.results.iter().filter_map(|r| r.rtt).collect()
    }

    /// (min, avg, max) round-trip time, or `None` when nothing was answered.
    pub fn rtt_summary(&self) -> Option<(Duration, Duration, Duration)> {
        let rtts = self.rtts();
        let min = *rtts.iter().min()?;
        let max = *rtts.iter().max()?;
        let avg = rtts.iter().sum::<Duration>() / u32::try_from(rtts.len()).ok()?;
        Some((min, avg, max))
    }
}

/// The ping message: `"PING <seq> <unix time in seconds>"`, all upper-case so
/// an upper-casing echo server returns it unchanged.
///
/// ```
/// let ping = udp_lab::reliable::ping_message(3, 1_700_000_000.25);
/// assert_eq!(ping, b"PING 3 1700000000.250");
/// assert_eq!(ping.to_ascii_uppercase(), ping);
/// ```
pub fn ping_message(seq: u32, unix_seconds: f64) -> Vec<u8> {
    format!("PING {seq} {unix_seconds:.3}").into_bytes()
}

/// Sends `settings.count` pings to `target`, one at a time; each waits up
/// to `settings.timeout` for its echo, byte for byte, from `target`.
/// `on_result` sees each outcome as it happens (for printing).
pub fn ping(
    sock: &UdpSocket,
    target: SocketAddr,
    settings: &PingSettings,
    mut on_result: impl FnMut(&PingResult),
) -> io::Result<PingReport> {
    let mut report = PingReport::default();
    for seq in 1..=settings.count {
        let started = Instant::now();
        let message = ping_message(seq, unix_seconds());
        sock.send_to(&message, target)
            .map_err(|e| net::context(e, format!("sending ping {seq} to {target}")))?;
        let rtt = await_echo(
            sock,
            target,
            seq,
            &message,
            started + settings.timeout,
            &mut report,
        )?
        .then(|| started.elapsed());
        let result = PingResult { seq, rtt };
        on_result(&result);
        report.results.push(result);
        if seq < settings.count {
            pause_until(started + settings.interval);
        }
    }
    Ok(report)
}

fn await_echo(
    sock: &UdpSocket,
    target: SocketAddr,
    seq: u32,
    message: &[u8],
    deadline: Instant,
    report: &mut PingReport,
) -> io::Result<bool> {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while let Some((n, from)) = recv_until(sock, &mut buf, deadline)? {
        let echo = &buf[..n];
        if from == target && echo == message {
            return Ok(true);
        }
        match (from == target, echo_seq(echo)) {
            (true, Some(s)) if s < seq => report.late += 1,
            _ => report.rejected += 1,
        }
    }
    Ok(false)
}

/// The sequence number of an echoed `"PING <seq> <time>"`.
fn echo_seq(echo: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(echo).ok()?;
    let mut words = text.strip_prefix("PING ")?.split(' ');
    words.next()?.parse().ok()
}

fn unix_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Waits until `when` (the interval between pings): the pinger's pacing.
fn pause_until(when: Instant) {
    let left = when.saturating_duration_since(Instant::now());
    if !left.is_zero() {
        std::thread::sleep(left);
    }
}
