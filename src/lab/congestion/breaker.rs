//! A transport circuit breaker (RFC 8084): the last line of defence of a
//! UDP sender without congestion control. It measures loss over periods
//! and stops the sender when loss stays high for several periods in a row:
//! a flow that the path cannot carry is ended, not pushed harder.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::net;
use crate::recv::MAX_DATAGRAM;

/// When the breaker trips.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BreakerSettings {
    /// Datagrams per measurement period.
    pub period: u32,
    /// A period is lossy when more than this share of its datagrams went unanswered (0 to 1).
    pub loss_threshold: f64,
    /// The breaker trips after this many lossy periods in a row.
    pub trip_after: u32,
    /// How long a period waits for its last answers before it is measured.
    pub wait: Duration,
}

impl Default for BreakerSettings {
    /// Periods of 10 datagrams; trips after 3 periods in a row losing more than 30%.
    fn default() -> Self {
        BreakerSettings {
            period: 10,
            loss_threshold: 0.3,
            trip_after: 3,
            wait: Duration::from_millis(100),
        }
    }
}

/// What a breaker has measured.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BreakerStats {
    /// Measurement periods ended.
    pub periods: u64,
    /// Periods whose loss was over the threshold.
    pub lossy_periods: u64,
    /// Lossy periods in a row, up to the last one.
    pub consecutive: u64,
    /// Datagrams sent.
    pub sent: u64,
    /// Datagrams answered within their period.
    pub answered: u64,
    /// Whether the breaker tripped (the sender stopped).
    pub tripped: bool,
}

/// The breaker's decisions, without sockets: feed it each period's counts.
///
/// ```
/// use udp_lab::lab::congestion::{BreakerSettings, CircuitBreaker};
/// let mut breaker = CircuitBreaker::new(BreakerSettings::default());
/// assert!(!breaker.end_period(10, 5), "one lossy period is not sustained loss");
/// assert!(!breaker.end_period(10, 5));
/// assert!(breaker.end_period(10, 5), "the third lossy period in a row trips it");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CircuitBreaker {
    settings: BreakerSettings,
    stats: BreakerStats,
}

impl CircuitBreaker {
    /// A closed breaker (the sender may send).
    pub fn new(settings: BreakerSettings) -> Self {
        CircuitBreaker {
            settings,
            stats: BreakerStats::default(),
        }
    }

    /// Ends a period in which `sent` datagrams got `answered` answers;
    /// returns whether the breaker is now tripped.
    pub fn end_period(&mut self, sent: u64, answered: u64) -> bool {
        let s = &mut self.stats;
        s.periods += 1;
        s.sent += sent;
        s.answered += answered;
        let lost = sent.saturating_sub(answered) as f64;
        let lossy = sent > 0 && lost / sent as f64 > self.settings.loss_threshold;
        if lossy {
            s.lossy_periods += 1;
            s.consecutive += 1;
        } else {
            s.consecutive = 0;
        }
        if s.consecutive >= u64::from(self.settings.trip_after.max(1)) {
            s.tripped = true;
        }
        s.tripped
    }

    /// Whether the sender must stop.
    pub fn tripped(&self) -> bool {
        self.stats.tripped
    }

    /// What it has measured.
    pub fn stats(&self) -> BreakerStats {
        self.stats
    }
}

/// Sends periods of numbered datagrams (`"P<period> D<n>"`, upper-case, so
/// an upper-casing echo server returns them unchanged) from `sock` to an
/// echo server at `to`, counting each period's echoes, until the breaker
/// trips or `max_periods` have passed. An echo of an earlier period is
/// late and does not count. Nothing is sent after the breaker trips.
pub fn send_until_tripped(
    sock: &UdpSocket,
    to: SocketAddr,
    settings: BreakerSettings,
    max_periods: u64,
) -> io::Result<BreakerStats> {
    let mut breaker = CircuitBreaker::new(settings);
    for period in 0..max_periods {
        for n in 0..settings.period {
            sock.send_to(format!("P{period} D{n}").as_bytes(), to)
                .map_err(|e| net::context(e, format!("sending period {period} to {to}")))?;
        }
        let answered = echoes_of(sock, period, settings.period, settings.wait)?;
        if breaker.end_period(u64::from(settings.period), answered) {
            break;
        }
    }
    Ok(breaker.stats())
}

/// Counts distinct echoes of `period` until all `expected` came or `wait`
/// passed since the last one.
fn echoes_of(sock: &UdpSocket, period: u64, expected: u32, wait: Duration) -> io::Result<u64> {
    let prefix = format!("P{period} D");
    let mut seen = vec![false; expected as usize];
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut deadline = Instant::now() + wait;
    while seen.iter().any(|s| !s) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        sock.set_read_timeout(Some(left))?;
        let n = match sock.recv(&mut buf) {
            Ok(n) => n,
            Err(e) if crate::recv::is_timeout(&e) => break,
            Err(e) => return Err(e),
        };
        let text = String::from_utf8_lossy(&buf[..n]);
        if let Some(i) = text
            .strip_prefix(&prefix)
            .and_then(|d| d.parse::<usize>().ok())
        {
            if let Some(slot) = seen.get_mut(i) {
                *slot = true;
                deadline = Instant::now() + wait;
            }
        }
    }
    Ok(seen.iter().filter(|s| **s).count() as u64)
}
