//! An impairment relay: a UDP middlebox in the test's own process that
//! drops, duplicates, reorders, delays and corrupts datagrams, exactly as a
//! seed decides.
//!
//! Loopback never loses a datagram unless a receive buffer overflows, so a
//! course needs a bad network it can control. `tc netem` needs root and a
//! qdisc that is not always there; this relay needs nothing but two sockets.
//!
//! ```text
//!  client ──▶ front socket ─┐                       ┌─▶ back socket (one per client) ──▶ server
//!                           │  Plan (ToServer) ──▶ delay line ─┘
//!  client ◀── front socket ◀┴─ delay line ◀── Plan (ToClient) ◀── back socket ◀──────── server
//! ```
//!
//! Two parts, kept apart on purpose:
//! - [`Plan`]: the pure, seeded decisions. It maps an input sequence of
//!   datagrams to an output sequence. No sockets, no clock: the same seed and
//!   the same inputs give the same outputs, on every machine, every time.
//! - [`spawn`] and [`RelayHandle`]: the socket pump that feeds real datagrams
//!   through two plans (one per direction) and sends what they release.
//!
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | [`spawn`] and [`RelayHandle`]: start, watch and stop a relay; [`deliver`]: what a relay delivers of a sequence |
//! | `impairments.rs` | the settings: [`Impairments`], [`Direction`], [`Links`] |
//! | `plan.rs` | the decisions: [`Plan`], [`Packet`], [`LinkStats`] |
//! | `engine.rs` | the threads: receivers, delay lines, the engine, [`RelayStats`] |
//! | `bottleneck.rs` | a slow link toward the server: [`Bottleneck`], [`TailDropQueue`], [`BottleneckStats`] (chapter 14) |
//!
//! # What a plan does to one datagram
//! Every datagram draws the same seven numbers from the plan's PCG64 stream,
//! whatever the settings, so datagram *i*'s fate depends only on the seed,
//! its direction and *i*: turning duplication on does not change which
//! datagrams are lost. In order:
//!
//! 1. **loss**: with probability `loss` it is dropped.
//! 2. **corruption**: with probability `corrupt` one bit of one payload byte
//!    is flipped (an empty payload has no byte to flip).
//! 3. **duplication**: with probability `duplicate` it is released twice.
//! 4. **reordering**: with probability `reorder` it is *held back* until 1 to
//!    `reorder_window` later datagrams have passed it (or until it has waited
//!    `hold`, or the relay stops: nothing is held forever).
//! 5. **delay**: once released it waits `delay` plus a random part of
//!    `jitter`. A link is a queue: delay never reorders (a datagram never
//!    leaves before the one released ahead of it). Only step 4 reorders.
//!
//! # A bottleneck
//! [`spawn_with_bottleneck`] puts a rate limit and a finite drop-tail
//! queue ([`Bottleneck`]) after the plan, toward the server: a congested
//! link on loopback, without `tc`. See `bottleneck.rs` for how it stays
//! deterministic ([`LinkClock::Stamped`]).
//!
//! # Directions
//! Each direction (client→server, server→client) has its own [`Impairments`]
//! and its own random stream; the same seed in both directions still gives
//! two independent streams ([`Direction`] salts the seed). Both directions are
//! one link each: all clients share it, as they would share a real path.
//!
//! # Timing and determinism
//! The plan decides *what* happens; the pump decides *when*. Output order is
//! timing-independent except where a clock releases held datagrams (`hold`)
//! before their overtakers came: set `hold` longer than the test and held
//! datagrams leave only by count or at [`RelayHandle::shutdown`], which
//! releases everything still held or delayed.

mod bottleneck;
mod engine;
mod impairments;
mod plan;

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc::{self, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

pub use bottleneck::{
    stamp, stamp_of, Bottleneck, BottleneckStats, LinkClock, TailDropQueue, MAX_QUEUE, MAX_RATE,
};
use engine::{named, pump, Engine, Event, Shared, STOP_POLL};
pub use engine::{RelayStats, MAX_CLIENTS};
pub use impairments::{Direction, Impairments, Links, DEFAULT_HOLD, MAX_WAIT};
pub use plan::{LinkStats, Packet, Plan};

use crate::lab::stop::Stopper;
use crate::net::{self, Family, DEFAULT_TIMEOUT};
use crate::recv;

/// How many received datagrams may wait for the engine before the
/// receiving threads block (and the kernel's buffer takes over).
const QUEUE: usize = 4096;

/// A running relay. Dropping it shuts it down too.
pub struct RelayHandle {
    addr: SocketAddr,
    server: SocketAddr,
    /// The thread reading the front socket, and the relay's stop flag.
    front: Stopper,
    events: SyncSender<Event>,
    shared: Arc<Shared>,
    engine: Option<JoinHandle<()>>,
}

/// Starts a relay listening on `listen` (port 0: the OS chooses) that
/// forwards to `server`, impairing each direction as `links` says (an
/// [`Impairments`] means the same both ways).
///
/// ```
/// use udp_lab::lab::relay::{self, Impairments};
/// use udp_lab::lab::server::{self, Reply};
/// use udp_lab::{net::{self, Family}, recv};
/// let echo = server::spawn(Family::V4.any_port(), Reply::Upper)?;
/// let relay = relay::spawn(Family::V4.any_port(), echo.local_addr(), Impairments::seeded(7))?;
/// let client = net::bind_loopback(Family::V4)?;
/// let reply = recv::request(&client, relay.local_addr(), b"via the relay", "the relayed reply")?;
/// assert_eq!((reply.payload.as_slice(), reply.from), (&b"VIA THE RELAY"[..], relay.local_addr()));
/// let stats = relay.shutdown();
/// assert_eq!((stats.to_server.sent, stats.to_client.sent), (1, 1));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn spawn(
    listen: SocketAddr,
    server: SocketAddr,
    links: impl Into<Links>,
) -> io::Result<RelayHandle> {
    start_relay(listen, server, links.into(), None)
}

/// [`spawn`], with `link` between the client→server plan and the server:
/// a rate limit and a finite drop-tail queue, counted in
/// [`RelayStats::bottleneck`].
///
/// ```
/// use udp_lab::lab::relay::{self, Bottleneck, Impairments};
/// use udp_lab::net::{self, Family};
/// let sink = net::bind_loopback(Family::V4)?;
/// let link = Bottleneck::new(10, 0); // 10 datagrams a second, no queue
/// let relay = relay::spawn_with_bottleneck(Family::V4.any_port(), sink.local_addr()?, Impairments::none(), link)?;
/// let client = net::bind_loopback(Family::V4)?;
/// for _ in 0..5 {
///     client.send_to(b"x", relay.local_addr())?;
/// }
/// let stats = relay.wait_until("5 arrivals", |s| s.bottleneck.arrived == 5)?;
/// assert!(stats.bottleneck.dropped >= 3, "a burst of 1 and no queue: most of 5 back-to-back datagrams are dropped");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn spawn_with_bottleneck(
    listen: SocketAddr,
    server: SocketAddr,
    links: impl Into<Links>,
    link: Bottleneck,
) -> io::Result<RelayHandle> {
    link.validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    start_relay(listen, server, links.into(), Some(link))
}

/// Checks the settings, binds the front socket and starts the relay.
fn start_relay(
    listen: SocketAddr,
    server: SocketAddr,
    links: Links,
    link: Option<Bottleneck>,
) -> io::Result<RelayHandle> {
    links
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let front = net::bind(listen)?;
    front.set_read_timeout(Some(STOP_POLL))?;
    start(front, net::reachable(server), (&links, link))
}

/// Starts the relay's two first threads on the bound `front` socket: the
/// one that reads it, and the engine (which starts one more per client).
fn start(
    front: UdpSocket,
    server: SocketAddr,
    links: (&Links, Option<Bottleneck>),
) -> io::Result<RelayHandle> {
    let addr = front.local_addr()?;
    let front = Arc::new(front);
    let mut receivers = Stopper::new(addr, STOP_POLL);
    let shared = Arc::new(Shared::default());
    let (events, inbox) = mpsc::sync_channel(QUEUE);
    let engine = Engine::new(
        Arc::clone(&front),
        server,
        links,
        events.clone(),
        receivers.flag(),
        Arc::clone(&shared),
    );
    let (stop, sender) = (receivers.flag(), events.clone());
    receivers.spawn(format!("udp-lab-relay-front-{}", addr.port()), move || {
        pump(&front, &stop, &sender, |from, payload| Event::FromClient {
            from,
            payload,
        })
    })?;
    let engine = named(format!("udp-lab-relay-{}", addr.port()), move || {
        engine.run(&inbox)
    })?;
    Ok(RelayHandle {
        addr,
        server,
        front: receivers,
        events,
        shared,
        engine: Some(engine),
    })
}

impl RelayHandle {
    /// The address clients send to (with the port the OS chose).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server the relay forwards to.
    pub fn server_addr(&self) -> SocketAddr {
        self.server
    }

    /// What the relay has counted so far.
    pub fn stats(&self) -> RelayStats {
        *self.shared.lock()
    }

    /// Waits until `done` holds for the relay's counters (checked each time
    /// they change), at most [`DEFAULT_TIMEOUT`]; the error names `what`.
    ///
    /// Tests use it instead of sleeping: "wait until the relay has read all
    /// 40 datagrams", then shut it down.
    pub fn wait_until(
        &self,
        what: &str,
        done: impl Fn(&RelayStats) -> bool,
    ) -> io::Result<RelayStats> {
        let guard = self.shared.lock();
        let (guard, timeout) = self
            .shared
            .changed
            .wait_timeout_while(guard, DEFAULT_TIMEOUT, |stats| !done(stats))
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if timeout.timed_out() && !done(&guard) {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("timed out after {DEFAULT_TIMEOUT:?} waiting for {what}; the relay counted {:?}", *guard),
            ));
        }
        Ok(*guard)
    }

    /// Stops the relay: it stops reading, releases everything still held or
    /// delayed (sent at once), and returns its final counters. Never hangs:
    /// every relay thread wakes at least every 50 ms to check its stop flag.
    pub fn shutdown(mut self) -> RelayStats {
        self.stop_and_join();
        self.stats()
    }

    /// Stops the front thread (the lab's one way: flag, wake-up, join),
    /// then the engine, which stops the clients' threads and sends what is
    /// left.
    fn stop_and_join(&mut self) {
        let Some(engine) = self.engine.take() else {
            return;
        };
        self.front.stop();
        // Every datagram the front thread read is already in the queue, ahead of Stop.
        let _ = self.events.send(Event::Stop);
        let _ = engine.join();
    }
}

impl Drop for RelayHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Sends `inputs` from a client through a relay that impairs the
/// client→server direction as `imp` says, to a sink socket that reads only
/// after the relay has stopped. Returns what the sink received, in order,
/// and the relay's counters.
///
/// Chapter 11's measurement: with `hold` longer than the run, what arrives
/// depends on the seed alone, never on timing (see the module's *Timing and
/// determinism*). Keep `inputs` small (a few dozen short datagrams): the
/// sink's receive buffer must hold them all, so that the kernel drops
/// none and every loss is the seed's.
///
/// ```
/// use udp_lab::lab::relay::{self, Impairments};
/// use udp_lab::net::Family;
/// let inputs: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i]).collect();
/// let (delivered, stats) = relay::deliver(Family::V4, Impairments::seeded(1), &inputs)?;
/// assert_eq!((delivered, stats.to_server.dropped), (inputs, 0), "nothing impaired, all in order");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn deliver(
    family: Family,
    imp: Impairments,
    inputs: &[Vec<u8>],
) -> io::Result<(Vec<Vec<u8>>, RelayStats)> {
    let sink = net::bind_loopback(family)?;
    let relay = spawn(
        family.any_port(),
        sink.local_addr()?,
        Links::to_server_only(imp),
    )?;
    let client = net::bind_loopback(family)?;
    for payload in inputs {
        client
            .send_to(payload, relay.local_addr())
            .map_err(|e| net::context(e, format!("sending to the relay {}", relay.local_addr())))?;
    }
    let all = inputs.len() as u64;
    relay.wait_until("the relay to read every datagram", |s| {
        s.to_server.received == all
    })?;
    let stats = relay.shutdown();
    let count = stats.to_server.sent;
    let delivered = (0..count)
        .map(|i| {
            recv::recv_datagram(&sink, &format!("relayed datagram {i} of {count}"))
                .map(|d| d.payload)
        })
        .collect::<io::Result<_>>()?;
    Ok((delivered, stats))
}
