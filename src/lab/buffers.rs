//! Receive-buffer overflow, measured: a sender blasts datagrams at a receiver
//! that does not read, then the receiver counts what its buffer kept.
//!
//! Used by chapter 08's tests and by `udp-lab buffers`. Loss here is silent
//! on both sides: every `send_to` returns `Ok`, and the receiver simply never
//! sees the datagrams its full buffer refused. Only the kernel counts them:
//! [`rcvbuf_errors`] reads the count of the whole namespace, and
//! [`Overflow::drops`] the receiver's own (both in [`super::kernel`]).
//!
//! # How the receiver knows the blast is over
//! No sleep and no end marker (a marker would be dropped by the full buffer
//! like any other datagram). The blast runs to its end first: on Linux
//! loopback, `send_to` hands the datagram to the receiving socket inside the
//! same system call, so when the last `send_to` has returned, every datagram
//! is either queued or already dropped. The receiver then drains its queue
//! until it has been silent for [`SILENCE`], a margin for the rare case where
//! the kernel defers that hand-over to its `ksoftirqd` thread.
//!
//! # Platform-specific behavior
//! [`rcvbuf_errors`] reads Linux's `/proc/net/snmp` (IPv4) and
//! `/proc/net/snmp6` (IPv6), [`Overflow::drops`] its `/proc/net/udp` and
//! `/proc/net/udp6`; elsewhere both are errors (macOS shows a similar count
//! in `netstat -s -p udp`: "dropped due to full socket buffers").

use std::io;
use std::net::{SocketAddr, UdpSocket};

use crate::lab::planted::{self, Bug};
use crate::net::{self, context, Family, SILENCE};
use crate::recv::{is_timeout, MAX_DATAGRAM};
use crate::tune::{self, Tuning};

pub use super::kernel::rcvbuf_errors;

/// One blast: `count` datagrams of `payload` bytes sent at once to a receiver
/// of `family` whose `SO_RCVBUF` was set to `recv_buffer` (`None`: the default).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blast {
    /// IPv4 or IPv6 loopback.
    pub family: Family,
    /// The `SO_RCVBUF` to request before the blast; `None` keeps the OS default.
    pub recv_buffer: Option<usize>,
    /// How many datagrams to send.
    pub count: usize,
    /// The payload size of each datagram, in bytes.
    pub payload: usize,
}

/// What one blast left in the receiver's buffer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Overflow {
    /// The `SO_RCVBUF` requested (`None`: the OS default).
    pub requested: Option<usize>,
    /// The `SO_RCVBUF` the OS reported after the request (Linux: doubled, clamped).
    pub effective: usize,
    /// Datagrams `send_to` accepted.
    pub sent: usize,
    /// Datagrams `send_to` refused (0 on loopback: the sender never learns of the loss).
    pub send_errors: usize,
    /// Datagrams the receiver found in its buffer afterwards.
    pub kept: usize,
    /// Kept datagrams with the exact bytes of one sent datagram, each seen once.
    pub intact: usize,
    /// How much the kernel's receive-buffer drop counter rose during the
    /// blast (`RcvbufErrors`), or why it could not be read.
    pub rcvbuf_errors: Result<u64, String>,
    /// The receiver's own drop count after the blast (the `drops` column of
    /// its row in `/proc/net/udp`, see [`kernel::drops`](super::kernel::drops)),
    /// or why it could not be read.
    pub drops: Result<u64, String>,
}

impl Overflow {
    /// Datagrams sent but not kept.
    pub fn lost(&self) -> usize {
        if planted::active(Bug::LostBlamesTheSender) {
            return self.send_errors;
        }
        self.sent.saturating_sub(self.kept)
    }

    /// The lost share of the sent datagrams, in percent (0 when nothing was sent).
    pub fn lost_percent(&self) -> f64 {
        if self.sent == 0 {
            return 0.0;
        }
        100.0 * self.lost() as f64 / self.sent as f64
    }
}

/// The bytes of datagram number `index` of a blast: the index as 4 big-endian
/// bytes, then a filler that depends on the index, cut to `len` bytes. Each
/// datagram is different, so a receiver can tell a corrupt or repeated one.
///
/// ```
/// let d = udp_lab::lab::buffers::numbered_payload(1, 6);
/// assert_eq!(d, [0, 0, 0, 1, 11, 12]);
/// ```
pub fn numbered_payload(index: usize, len: usize) -> Vec<u8> {
    let number = (index as u32).to_be_bytes();
    let filler = (0..len).map(|j| (index.wrapping_mul(7).wrapping_add(j)) as u8);
    number.into_iter().chain(filler.skip(4)).take(len).collect()
}

/// Runs one blast on loopback and reports what the receiver kept.
///
/// The receiver does not read until every `send_to` has returned, then drains
/// its buffer (see the module documentation for why that needs no sleep).
///
/// ```
/// use udp_lab::{lab::buffers::{measure, Blast}, net::Family};
/// let seen = measure(&Blast { family: Family::V4, recv_buffer: Some(1), count: 50, payload: 1000 })?;
/// assert!(seen.kept < seen.sent || !cfg!(target_os = "linux"), "the smallest buffer overflows");
/// # Ok::<(), std::io::Error>(())
/// ```
// ANCHOR: measure
pub fn measure(blast: &Blast) -> io::Result<Overflow> {
    let tuning = Tuning {
        recv_buffer: blast.recv_buffer,
        ..Tuning::default()
    };
    let receiver = tune::bind_tuned(blast.family.any_port(), tuning)?;
    let effective = tune::recv_buffer_size(&receiver)?;
    let sender = net::bind_loopback(blast.family)?;
    let before = rcvbuf_errors(blast.family);
    let (sent, send_errors) = send_numbered(&sender, receiver.local_addr()?, blast);
    let tally = drain(&receiver, sender.local_addr()?, blast)?;
    let drops = super::kernel::drops(&receiver).map_err(|e| e.to_string());
    let rcvbuf_errors = match (before, rcvbuf_errors(blast.family)) {
        (Ok(b), Ok(a)) => Ok(a.saturating_sub(b)),
        (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
    };
    Ok(Overflow {
        requested: blast.recv_buffer,
        effective,
        sent,
        send_errors,
        kept: tally.kept,
        intact: tally.intact,
        rcvbuf_errors,
        drops,
    })
}
// ANCHOR_END: measure

/// Sends the blast's datagrams as fast as `send_to` returns; counts successes and errors.
fn send_numbered(sender: &UdpSocket, to: SocketAddr, blast: &Blast) -> (usize, usize) {
    let (mut sent, mut errors) = (0, 0);
    for index in 0..blast.count {
        match sender.send_to(&numbered_payload(index, blast.payload), to) {
            Ok(_) => sent += 1,
            Err(_) => errors += 1,
        }
    }
    (sent, errors)
}

/// What the receiver found in its buffer.
#[derive(Default)]
struct Tally {
    kept: usize,
    intact: usize,
}

// ANCHOR: drain
/// Reads every queued datagram from `from` until the socket has been silent
/// for [`SILENCE`]. Bounded: it stops after `count` datagrams plus a margin
/// for strays, even if something keeps sending.
fn drain(receiver: &UdpSocket, from: SocketAddr, blast: &Blast) -> io::Result<Tally> {
    receiver.set_read_timeout(Some(SILENCE))?;
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut seen = vec![false; blast.count];
    let mut tally = Tally::default();
    for _ in 0..blast.count + 1024 {
        let (n, source) = match receiver.recv_from(&mut buf) {
            Ok(got) => got,
            Err(e) if is_timeout(&e) => break,
            Err(e) => return Err(context(e, "draining the receive buffer after the blast")),
        };
        if source != from {
            continue; // not part of this blast
        }
        tally.kept += 1;
        if is_intact(&buf[..n], blast.payload, &mut seen) {
            tally.intact += 1;
        }
    }
    Ok(tally)
}
// ANCHOR_END: drain

/// Whether `got` is exactly one sent datagram not seen before. Payloads
/// shorter than 4 bytes carry no number: there only the length is checked.
fn is_intact(got: &[u8], payload: usize, seen: &mut [bool]) -> bool {
    if got.len() != payload {
        return false;
    }
    if payload < 4 {
        return true;
    }
    let index = u32::from_be_bytes([got[0], got[1], got[2], got[3]]) as usize;
    match seen.get_mut(index) {
        Some(was_seen) if !*was_seen && got == numbered_payload(index, payload) => {
            *was_seen = true;
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_datagram_is_not_intact_the_second_time() {
        let mut seen = vec![false; 3];
        let datagram = numbered_payload(2, 100);
        assert!(is_intact(&datagram, 100, &mut seen), "first time: intact");
        assert!(
            !is_intact(&datagram, 100, &mut seen),
            "second time: a duplicate"
        );
        assert!(
            !is_intact(&datagram[..99], 100, &mut seen),
            "a short datagram is not intact"
        );
    }
}
