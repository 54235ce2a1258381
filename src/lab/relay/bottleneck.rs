//! A bottleneck you can see: a rate limit (a token bucket) and a finite
//! queue that drops at its tail, in front of the relay's forwarding toward
//! the server. Loopback carries gigabits and has no queue to fill; this is
//! the slow link a shared network has somewhere, with counters.
//!
//! # Deterministic by construction
//! [`TailDropQueue`] decides from the arrival order and a clock it is
//! given, never from the machine's timing. With [`LinkClock::Stamped`],
//! that clock is the sender's own: each datagram carries the time it left
//! ([`stamp`]), and the link counts its tokens in that time. A sender that
//! paces on a virtual clock then meets exactly the same bottleneck on a
//! quiet laptop and on a loaded 2-core CI runner. With
//! [`LinkClock::Relay`] (for real programs, `udp-lab relay --rate`) the
//! clock is the relay's: time since it started.

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use super::plan::Packet;
use crate::lab::congestion::TokenBucket;
use crate::lab::planted::{self, Bug};

/// The largest rate a bottleneck accepts, in datagrams a second.
pub const MAX_RATE: u32 = 1_000_000;

/// The longest queue a bottleneck accepts, in datagrams.
pub const MAX_QUEUE: usize = 100_000;

/// Where a bottleneck reads the time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkClock {
    /// The time each datagram carries in its first 8 bytes ([`stamp`]);
    /// a datagram without a stamp arrives at the time of the one before.
    Stamped,
    /// The relay's own clock: time since it started.
    Relay,
}

/// A bottleneck's settings: `rate` datagrams a second, bursts of up to
/// `burst`, and up to `queue` datagrams waiting; a datagram that finds the
/// queue full is dropped (drop-tail).
///
/// ```
/// use udp_lab::lab::relay::{Bottleneck, LinkClock};
/// let link = Bottleneck::new(200, 16).burst(1).clock(LinkClock::Stamped);
/// assert!(link.validate().is_ok());
/// assert!(Bottleneck::new(0, 16).validate().is_err(), "a rate of 0 carries nothing");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bottleneck {
    /// Datagrams per second the link forwards.
    pub rate: u32,
    /// Tokens the bucket holds: datagrams that may leave back to back.
    pub burst: u32,
    /// Datagrams that may wait for a token.
    pub queue: usize,
    /// Where the link reads the time.
    pub clock: LinkClock,
}

impl Bottleneck {
    /// `rate` datagrams a second, a queue of `queue`, bursts of 1, the relay's clock.
    pub const fn new(rate: u32, queue: usize) -> Self {
        Bottleneck {
            rate,
            burst: 1,
            queue,
            clock: LinkClock::Relay,
        }
    }

    /// Sets the bucket's depth.
    pub const fn burst(mut self, burst: u32) -> Self {
        self.burst = burst;
        self
    }

    /// Sets where the link reads the time.
    pub const fn clock(mut self, clock: LinkClock) -> Self {
        self.clock = clock;
        self
    }

    /// Checks the settings; the error is one sentence naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=MAX_RATE).contains(&self.rate) {
            return Err(format!(
                "the rate must be 1 to {MAX_RATE} datagrams a second, got {}",
                self.rate
            ));
        }
        if !(1..=10_000).contains(&self.burst) {
            return Err(format!(
                "the burst must be 1 to 10000 datagrams, got {}",
                self.burst
            ));
        }
        if self.queue > MAX_QUEUE {
            return Err(format!(
                "the queue must hold at most {MAX_QUEUE} datagrams, got {}",
                self.queue
            ));
        }
        Ok(())
    }
}

impl fmt::Display for Bottleneck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let clock = match self.clock {
            LinkClock::Stamped => "the senders' stamps",
            LinkClock::Relay => "the relay's clock",
        };
        write!(
            f,
            "bottleneck {}/s, bursts of {}, queue {} (drop-tail), timed by {clock}",
            self.rate, self.burst, self.queue
        )
    }
}

/// What a bottleneck has counted: `arrived = forwarded + dropped + queued`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BottleneckStats {
    /// Datagrams that reached the bottleneck.
    pub arrived: u64,
    /// Datagrams it let through.
    pub forwarded: u64,
    /// Datagrams that found the queue full.
    pub dropped: u64,
    /// Datagrams waiting now (at shutdown: never sent).
    pub queued: u64,
}

impl fmt::Display for BottleneckStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "arrived {}, forwarded {}, dropped at the queue {}, still queued {}",
            self.arrived, self.forwarded, self.dropped, self.queued
        )
    }
}

/// The bottleneck's decisions: datagrams and times in, datagrams out.
///
/// ```
/// use std::time::Duration;
/// use udp_lab::lab::relay::{Bottleneck, TailDropQueue};
/// let mut link = TailDropQueue::new(&Bottleneck::new(100, 2)); // one every 10 ms, 2 may wait
/// let now = Duration::ZERO;
/// let out: usize = (0..5).map(|i| link.arrive(now, vec![i], ()).len()).sum();
/// let stats = link.stats();
/// assert_eq!((out, stats.queued, stats.dropped), (1, 2, 2), "1 leaves, 2 wait, 2 are dropped");
/// ```
pub struct TailDropQueue<R> {
    bucket: TokenBucket,
    waiting: VecDeque<Packet<R>>,
    limit: usize,
    now: Duration,
    next_index: u64,
    stats: BottleneckStats,
}

impl<R> TailDropQueue<R> {
    /// An empty queue with a full bucket.
    pub fn new(link: &Bottleneck) -> Self {
        TailDropQueue {
            bucket: TokenBucket::per_second(link.rate, link.burst),
            waiting: VecDeque::new(),
            limit: link.queue,
            now: Duration::ZERO,
            next_index: 0,
            stats: BottleneckStats::default(),
        }
    }

    /// A datagram arrives at `now`: first whatever waited and has a token
    /// by `now` leaves, then this one leaves at once (a token, nobody
    /// ahead), waits (room in the queue) or is dropped (queue full).
    /// Returns what leaves, in order.
    pub fn arrive(&mut self, now: Duration, payload: Vec<u8>, route: R) -> Vec<Packet<R>> {
        let packet = Packet {
            payload,
            route,
            delay: Duration::ZERO,
            index: self.next_index,
        };
        self.next_index += 1;
        self.stats.arrived += 1;
        let mut out = self.serve(now);
        if self.waiting.is_empty() && self.bucket.try_take(self.now) {
            self.stats.forwarded += 1;
            out.push(packet);
        } else if self.waiting.len() < self.limit {
            self.waiting.push_back(packet);
        } else if !planted::active(Bug::QueueCountsNoDrop) {
            self.stats.dropped += 1;
        }
        self.stats.queued = self.waiting.len() as u64;
        out
    }

    /// Lets through every waiting datagram whose token came by `now`, each
    /// at its token's time: the link works through its queue continuously,
    /// one datagram per token, even when nothing arrives.
    pub fn serve(&mut self, now: Duration) -> Vec<Packet<R>> {
        let now = self.now.max(now);
        let mut out = Vec::new();
        while !self.waiting.is_empty() {
            let at = self.bucket.ready_at(self.now);
            if at > now || !self.bucket.try_take(at) {
                break;
            }
            self.now = at;
            out.extend(self.waiting.pop_front());
            self.stats.forwarded += 1;
        }
        self.now = now;
        self.stats.queued = self.waiting.len() as u64;
        out
    }

    /// When the first waiting datagram will have its token, if any waits.
    pub fn next_service(&self) -> Option<Duration> {
        (!self.waiting.is_empty()).then(|| self.bucket.ready_at(self.now))
    }

    /// The time of the last arrival or service.
    pub fn now(&self) -> Duration {
        self.now
    }

    /// What it has counted.
    pub fn stats(&self) -> BottleneckStats {
        self.stats
    }
}

/// `payload` with `at` in front: 8 bytes, microseconds, big-endian.
pub fn stamp(at: Duration, payload: &[u8]) -> Vec<u8> {
    let micros = u64::try_from(at.as_micros()).unwrap_or(u64::MAX);
    [&micros.to_be_bytes()[..], payload].concat()
}

/// The time a stamped datagram carries; `None` when it is shorter than a stamp.
pub fn stamp_of(datagram: &[u8]) -> Option<Duration> {
    let bytes: [u8; 8] = datagram.get(..8)?.try_into().ok()?;
    Some(Duration::from_micros(u64::from_be_bytes(bytes)))
}
