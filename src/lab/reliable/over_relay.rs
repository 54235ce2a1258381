//! Chapter 12's demonstrations, run through the relay of chapter 11: its
//! bad network ([`lossy`]), a retry policy fast enough for loopback
//! ([`fast_retry`]), requests by a retrying client ([`requests_through`])
//! and a whole stream ([`transfer`]). The chapter's tests assert on what
//! they return; `udp-lab tour` prints it.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use super::{Answer, Client, ClientStats, Integrity, ReceiverStats, RetryPolicy, StreamReceiver};
use crate::lab::relay::{self, Impairments, Links, RelayStats};
use crate::lab::server::{self, Reply};
use crate::net::{self, Family, DEFAULT_TIMEOUT};

/// The course's bad network, both ways: 20% loss, 5% duplication, and 20%
/// of datagrams held back until up to 4 later ones overtake them (30 ms at
/// most).
pub fn lossy(seed: u64) -> Impairments {
    Impairments::seeded(seed)
        .loss(0.2)
        .duplicate(0.05)
        .reorder(4, 0.2)
        .hold(Duration::from_millis(30))
}

/// Short timeouts keep the course fast: loss comes from the relay's seed,
/// not from the clock. A generous attempt budget: a slow machine only adds
/// retries.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        first_timeout: Duration::from_millis(20),
        max_timeout: Duration::from_millis(200),
        attempts: 40,
    }
}

// ANCHOR: requests_through
/// What [`requests_through`] saw.
#[derive(Debug)]
pub struct Requests {
    /// Each request, `"request 1"` ..., and the answer the client took.
    pub answered: Vec<(String, Answer)>,
    /// The relay's counters: what it dropped, duplicated, reordered.
    pub relay: RelayStats,
    /// The client's counters: its retries, the stale replies it dropped.
    pub client: ClientStats,
}

/// Sends `"request 1"` to `"request {count}"` from a retrying [`Client`]
/// (with `policy`) through a relay impairing both ways as `imp` says, to an
/// upper-casing echo server, one after the other. Fails when a request is
/// not answered within the policy's attempts.
pub fn requests_through(
    imp: Impairments,
    policy: RetryPolicy,
    count: usize,
) -> io::Result<Requests> {
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper)?;
    let relay = relay::spawn(Family::V4.any_port(), echo.local_addr(), imp)?;
    let mut client = Client::new(net::bind_loopback(Family::V4)?, relay.local_addr(), policy);
    let answered = (1..=count)
        .map(|i| {
            let request = format!("request {i}");
            client
                .request(request.as_bytes())
                .map(|answer| (request, answer))
        })
        .collect::<io::Result<_>>()?;
    Ok(Requests {
        answered,
        relay: relay.shutdown(),
        client: client.stats(),
    })
}
// ANCHOR_END: requests_through

/// Runs a stream receiver (with `check`) behind a relay with `links` and
/// calls `send` with a sender socket and the relay's address. The receiver
/// keeps answering retransmissions until `send` returns. Gives back what
/// the receiver assembled, what `send` returned, and the receiver's
/// counters; fails only when the sockets or the relay cannot be set up.
pub fn transfer<T: Send>(
    family: Family,
    links: Links,
    check: &dyn Integrity,
    send: impl FnOnce(&UdpSocket, SocketAddr) -> T + Send,
) -> io::Result<(io::Result<Vec<u8>>, T, ReceiverStats)> {
    let receiver = net::bind_loopback(family)?;
    let relay = relay::spawn(family.any_port(), receiver.local_addr()?, links)?;
    let sender = net::bind_loopback(family)?;
    let sender_done = AtomicBool::new(false);
    thread::scope(|scope| {
        let receiving = scope.spawn(|| {
            let mut end = StreamReceiver::new(&receiver, check);
            let data = end.receive();
            // The stream is complete: a failure now can only cost the
            // sender its last ACK, and `send`'s result shows that.
            let _ = end.linger(DEFAULT_TIMEOUT, || sender_done.load(Ordering::SeqCst));
            (data, end.stats())
        });
        let sent = send(&sender, relay.local_addr());
        sender_done.store(true, Ordering::SeqCst);
        let (data, stats) = receiving
            .join()
            .map_err(|_| io::Error::other("the stream receiver's thread panicked"))?;
        Ok((data, sent, stats))
    })
}
