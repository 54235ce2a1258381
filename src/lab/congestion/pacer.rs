//! Pacing: a token bucket that spaces a sender's datagrams at a rate,
//! with an injectable [`Clock`] so that a test runs it on virtual time
//! ([`VirtualClock`]: no sleeping, no wall clock, the same result on a
//! loaded machine) and a program runs it on real time ([`SystemClock`]).

use std::cell::Cell;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::lab::planted::{self, Bug};
use crate::lab::relay::stamp;
use crate::net;

/// RFC 8085 §3.1.3's rate for a sender that has no RTT estimate and no
/// return traffic: one datagram every 3 seconds.
pub const NO_RTT_INTERVAL: Duration = Duration::from_secs(3);

/// Where a pacer reads the time, and how it waits.
pub trait Clock {
    /// Time since the clock's start.
    fn now(&self) -> Duration;
    /// Returns when [`Clock::now`] has reached `at` (at once if it has).
    fn sleep_until(&self, at: Duration);
}

/// Virtual time: it moves only when someone sleeps, and then at once.
/// A test that paces on it measures the schedule, not the machine.
#[derive(Debug, Default)]
pub struct VirtualClock {
    now: Cell<Duration>,
}

impl VirtualClock {
    /// A clock at 0.
    pub fn new() -> Self {
        VirtualClock::default()
    }

    /// Moves the clock forward by `by` (an application idle for a while).
    pub fn advance(&self, by: Duration) {
        self.now.set(self.now.get().saturating_add(by));
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Duration {
        self.now.get()
    }

    fn sleep_until(&self, at: Duration) {
        self.now.set(self.now.get().max(at));
    }
}

/// Real time, from the moment it was made.
#[derive(Debug)]
pub struct SystemClock {
    start: Instant,
}

impl SystemClock {
    /// A clock at 0 now.
    pub fn new() -> Self {
        SystemClock {
            start: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn sleep_until(&self, at: Duration) {
        let left = at.saturating_sub(self.now());
        if !left.is_zero() {
            std::thread::sleep(left);
        }
    }
}

/// A token bucket counted in time: one token is worth `interval`, the
/// bucket holds at most `depth` tokens and starts full. Integer arithmetic
/// on [`Duration`]s, so the same times give the same decisions everywhere.
///
/// ```
/// use std::time::Duration;
/// use udp_lab::lab::congestion::TokenBucket;
/// let ms = Duration::from_millis;
/// let mut bucket = TokenBucket::new(ms(10), 2);
/// assert!(bucket.try_take(ms(0)) && bucket.try_take(ms(0)), "two tokens to start");
/// assert!(!bucket.try_take(ms(5)), "half a token is not one");
/// assert_eq!(bucket.ready_at(ms(5)), ms(10), "the next token is whole at 10 ms");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenBucket {
    interval: Duration,
    credit: Duration,
    cap: Duration,
    last: Option<Duration>,
}

impl TokenBucket {
    /// A full bucket of `depth` tokens (at least 1), one more every `interval`.
    pub fn new(interval: Duration, depth: u32) -> Self {
        let cap = interval.saturating_mul(depth.max(1));
        TokenBucket {
            interval,
            credit: cap,
            cap,
            last: None,
        }
    }

    /// A bucket for `rate` tokens a second (at least 1).
    pub fn per_second(rate: u32, depth: u32) -> Self {
        TokenBucket::new(Duration::from_secs(1) / rate.max(1), depth)
    }

    /// The time one token is worth.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// The same bucket with no depth: credit saved while idle is never
    /// lost (the planted bug `pacer_bursts`).
    pub(crate) fn uncapped(mut self) -> Self {
        self.cap = Duration::MAX;
        self
    }

    /// Takes one token at `now` if there is one. Time never runs backward
    /// for a bucket: an earlier `now` counts as the last one.
    pub fn try_take(&mut self, now: Duration) -> bool {
        self.credit = self.credit_at(now);
        self.last = Some(self.last.map_or(now, |last| last.max(now)));
        if self.credit >= self.interval {
            self.credit -= self.interval;
            true
        } else {
            false
        }
    }

    /// The earliest time at or after `now` when a token is there.
    pub fn ready_at(&self, now: Duration) -> Duration {
        let now = self.last.map_or(now, |last| last.max(now));
        let credit = self.credit_at(now);
        now + self.interval.saturating_sub(credit)
    }

    fn credit_at(&self, now: Duration) -> Duration {
        let earned = self
            .last
            .map_or(Duration::ZERO, |last| now.saturating_sub(last));
        self.credit.saturating_add(earned).min(self.cap)
    }
}

/// A pacer: when may the next datagram leave?
///
/// ```
/// use std::time::Duration;
/// use udp_lab::lab::congestion::Pacer;
/// let mut pacer = Pacer::per_second(100, 1);
/// let times: Vec<u128> = (0..3).map(|_| pacer.schedule(Duration::ZERO).as_millis()).collect();
/// assert_eq!(times, [0, 10, 20], "asked at once, spaced by 10 ms");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Pacer {
    bucket: TokenBucket,
}

impl Pacer {
    /// At most `rate` datagrams a second, bursts of at most `burst`.
    pub fn per_second(rate: u32, burst: u32) -> Self {
        Pacer::with_bucket(TokenBucket::per_second(rate, burst))
    }

    /// RFC 8085 §3.1.3 for a low-volume application without congestion
    /// control that keeps an RTT estimate: on average no more than one
    /// datagram per RTT (`rtt` is that estimate).
    pub fn one_per_rtt(rtt: Duration) -> Self {
        Pacer::with_bucket(TokenBucket::new(rtt, 1))
    }

    /// No RTT known and no return traffic: one datagram every
    /// [`NO_RTT_INTERVAL`] (3 s).
    pub fn without_rtt() -> Self {
        Pacer::one_per_rtt(NO_RTT_INTERVAL)
    }

    fn with_bucket(mut bucket: TokenBucket) -> Self {
        if planted::active(Bug::PacerBursts) {
            bucket = bucket.uncapped();
        }
        Pacer { bucket }
    }

    /// A datagram is ready at `now`: the time it may leave (never before
    /// `now`), its token taken.
    pub fn schedule(&mut self, now: Duration) -> Duration {
        let at = self.bucket.ready_at(now);
        let taken = self.bucket.try_take(at);
        debug_assert!(taken, "ready_at promised a token");
        at
    }
}

/// A sender that paces its datagrams on a [`Clock`] and stamps each with
/// the time it left ([`stamp`]: 8 bytes, microseconds, big-endian), so a
/// stamped bottleneck can count time the way the sender did.
pub struct PacedSender<'a, C: Clock> {
    sock: &'a UdpSocket,
    to: SocketAddr,
    pacer: Pacer,
    clock: C,
    sent_at: Vec<Duration>,
}

impl<'a, C: Clock> PacedSender<'a, C> {
    /// Sends from `sock` to `to` as `pacer` allows, on `clock`.
    pub fn new(sock: &'a UdpSocket, to: SocketAddr, pacer: Pacer, clock: C) -> Self {
        PacedSender {
            sock,
            to,
            pacer,
            clock,
            sent_at: Vec::new(),
        }
    }

    /// Waits for the pacer (on the clock), then sends `payload` stamped
    /// with that time; returns the time.
    pub fn send(&mut self, payload: &[u8]) -> io::Result<Duration> {
        let at = self.pacer.schedule(self.clock.now());
        self.clock.sleep_until(at);
        self.sock
            .send_to(&stamp(at, payload), self.to)
            .map_err(|e| net::context(e, format!("sending a paced datagram to {}", self.to)))?;
        self.sent_at.push(at);
        Ok(at)
    }

    /// When each datagram left, in order.
    pub fn sent_at(&self) -> &[Duration] {
        &self.sent_at
    }

    /// The sender's clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }
}

/// The most datagrams in any window of `window` among sorted `times`
/// (each window starting at a send, both ends included).
///
/// ```
/// use std::time::Duration;
/// use udp_lab::lab::congestion::busiest_window;
/// let ms = Duration::from_millis;
/// assert_eq!(busiest_window(&[ms(0), ms(1), ms(10), ms(30)], ms(10)), 3);
/// ```
pub fn busiest_window(times: &[Duration], window: Duration) -> usize {
    times
        .iter()
        .enumerate()
        .map(|(i, start)| {
            times[i..]
                .iter()
                .take_while(|t| **t <= start.saturating_add(window))
                .count()
        })
        .max()
        .unwrap_or(0)
}
