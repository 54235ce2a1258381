//! Saturation and waste, measured: a sender at any rate offers its
//! datagrams to the relay's bottleneck, and the bottleneck's counters say
//! what got through and what was wasted. One flow through one link shows
//! goodput that stops growing, not yet congestion collapse (RFC 2914:
//! goodput that *falls*), which needs the waste to crowd out other traffic
//! on a shared link; the file keeps the name the chapter's ideas go by.

use std::io;
use std::time::Duration;

use super::pacer::{Clock, PacedSender, Pacer, VirtualClock};
use crate::lab::relay::{self, Bottleneck, BottleneckStats, Impairments, LinkClock};
use crate::net::{self, Family};

/// How many datagrams the sender may have sent that the relay has not yet
/// read: well under what a default receive buffer holds (chapter 08), so
/// the kernel drops nothing before the bottleneck sees it.
const IN_FLIGHT: u64 = 32;

/// What [`offer`] measured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offered {
    /// Datagrams the sender sent.
    pub sent: u64,
    /// The bottleneck's counters: arrived, forwarded, dropped, still queued.
    pub link: BottleneckStats,
    /// When (on the sender's virtual clock) the last datagram left.
    pub last_send: Duration,
}

impl Offered {
    /// What the sender sent that never got through: `sent - forwarded`.
    pub fn wasted(&self) -> u64 {
        self.sent - self.link.forwarded
    }
}

/// A sender pacing itself at `rate` datagrams a second on a virtual clock
/// sends for `duration` (virtual) through a relay with `link`, timed by
/// the senders' stamps ([`LinkClock::Stamped`]), toward a sink. Returns
/// the counters once every datagram reached the bottleneck.
///
/// Nothing here depends on the machine's speed: the stamps are virtual
/// time, the bottleneck decides from stamps and arrival order, and the
/// sender never runs more than 32 datagrams ahead of what the relay has
/// read, so no receive buffer overflows on the way.
///
/// ```
/// use std::time::Duration;
/// use udp_lab::lab::congestion::offer;
/// use udp_lab::lab::relay::Bottleneck;
/// let paced = offer(Bottleneck::new(100, 8), 100, Duration::from_millis(200))?;
/// assert_eq!((paced.sent, paced.link.forwarded, paced.link.dropped), (20, 20, 0));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn offer(link: Bottleneck, rate: u32, duration: Duration) -> io::Result<Offered> {
    let sink = net::bind_loopback(Family::V4)?;
    let relay = relay::spawn_with_bottleneck(
        Family::V4.any_port(),
        sink.local_addr()?,
        Impairments::none(),
        link.clock(LinkClock::Stamped),
    )?;
    let sock = net::bind_loopback(Family::V4)?;
    let pacer = Pacer::per_second(rate, 1);
    let mut sender = PacedSender::new(&sock, relay.local_addr(), pacer, VirtualClock::new());
    let count =
        u64::try_from(duration.as_micros() * u128::from(rate) / 1_000_000).unwrap_or(u64::MAX);
    for sent in 1..=count {
        sender.send(b"")?;
        if sent % IN_FLIGHT == 0 || sent == count {
            relay.wait_until("the bottleneck to see every datagram sent", |s| {
                s.bottleneck.arrived >= sent
            })?;
        }
    }
    let last_send = sender.clock().now();
    Ok(Offered {
        sent: count,
        link: relay.shutdown().bottleneck,
        last_send,
    })
}
