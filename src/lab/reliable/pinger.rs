//! A UDP pinger (Kurose & Ross's lab): numbered pings to an echo server,
//! each waiting for its own echo, with round-trip times and loss. A late
//! echo of an earlier ping is counted, never taken for the current one.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::retry::recv_until;
use crate::lab::planted::{self, Bug};
use crate::net;
use crate::recv::MAX_DATAGRAM;

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
            sent if planted::active(Bug::PingMiscountsLoss) => {
                100.0 * self.received() as f64 / sent as f64
            }
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
/// let ping = udp_lab::lab::reliable::ping_message(3, 1_700_000_000.25);
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

/// Reads until the echo of ping `seq` comes (`true`) or `deadline` passes
/// (`false`), counting late echoes and strangers in `report`.
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
        if from == target && planted::active(Bug::PingTakesAnyEcho) {
            return Ok(true);
        }
        match (from == target, echo_seq(echo)) {
            (true, Some(s)) if s < seq => report.late += 1,
            _ => report.rejected += 1,
        }
    }
    Ok(planted::active(Bug::TimeoutIsAnAnswer))
}

/// The sequence number of an echoed `"PING <seq> <time>"`.
fn echo_seq(echo: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(echo).ok()?;
    let mut words = text.strip_prefix("PING ")?.split(' ');
    words.next()?.parse().ok()
}

/// Now, in seconds since 1970 (what a ping carries).
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
