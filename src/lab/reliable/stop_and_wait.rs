//! Stop-and-wait, the simplest way to move a whole stream over UDP intact
//! and in order: one numbered chunk ([`Frame::Data`]) at a time, each
//! retransmitted until acknowledged, then a [`Frame::Fin`]. The receiver
//! ([`StreamReceiver`]) accepts chunks in order and acknowledges every
//! frame; an [`Integrity`] check around every frame drops what the network
//! altered, because UDP's checksum covers one hop only.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::retry::{recv_until, RetryPolicy};
use crate::lab::planted::{self, Bug};
use crate::net;
use crate::recv::MAX_DATAGRAM;

/// One datagram of a stream transfer.
///
/// Binary layout: one type byte, a 32-bit big-endian number, then the data.
/// `Ack(n)` is cumulative: "I have every chunk below `n`". A stop-and-wait
/// sender and a go-back-N sender both work with the same receiver.
///
/// ```
/// use udp_lab::lab::reliable::Frame;
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

/// One stream transfer in progress: where to, how, and what was counted.
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

    /// Reads until `Ack(seq + 1)` comes (`true`) or `deadline` passes
    /// (`false`), counting stale ACKs and anything else.
    fn await_ack(&mut self, seq: u32, deadline: Instant) -> io::Result<bool> {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        while let Some((n, from)) = recv_until(self.sock, &mut buf, deadline)? {
            let frame = (from == self.peer)
                .then(|| self.check.open(&buf[..n]))
                .flatten();
            match frame.as_deref().and_then(Frame::decode) {
                Some(Frame::Ack { next }) if next == seq + 1 => return Ok(true),
                Some(Frame::Ack { .. }) if planted::active(Bug::AckSeqUnchecked) => {
                    return Ok(true)
                }
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

    /// Takes one datagram: accepts, counts or drops it, and acknowledges
    /// every frame from the peer.
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

    /// Accepts chunk `seq` if it is the next one; counts it otherwise.
    fn on_data(&mut self, seq: u32, chunk: &[u8]) {
        if seq == self.next && !self.finished {
            self.data.extend_from_slice(chunk);
            self.next += 1;
            self.stats.accepted += 1;
        } else if seq < self.next {
            if planted::active(Bug::DeliversDuplicates) {
                self.data.extend_from_slice(chunk);
            }
            self.stats.duplicates += 1;
        } else {
            self.stats.ahead += 1;
        }
    }

    /// Sends `Ack(next)`: everything below `next` has arrived.
    fn acknowledge(&mut self, peer: SocketAddr) -> io::Result<()> {
        let ack = self.check.seal(Frame::Ack { next: self.next }.encode());
        self.sock
            .send_to(&ack, peer)
            .map_err(|e| net::context(e, format!("acknowledging to {peer}")))?;
        self.stats.acks += 1;
        Ok(())
    }
}
