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

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use crate::net::{self, Family, DEFAULT_TIMEOUT};
use crate::recv::{is_timeout, MAX_DATAGRAM};

/// How long a held datagram waits for its overtakers unless told otherwise.
pub const DEFAULT_HOLD: Duration = Duration::from_millis(100);

/// The longest delay, jitter or hold a relay accepts (a day: anything
/// longer is a mistake, and would overflow the clock arithmetic).
pub const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// How often a relay thread blocked in `recv` checks its stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);

/// How long the relay's engine sleeps when nothing is held or delayed.
const IDLE_WAIT: Duration = Duration::from_secs(1);

/// The most clients one relay serves (each gets a socket and a thread).
/// Datagrams from further clients are counted in [`RelayStats::turned_away`].
pub const MAX_CLIENTS: usize = 256;

/// How many received datagrams may wait for the engine before the
/// receiving threads block (and the kernel's buffer takes over).
const QUEUE: usize = 4096;

/// What the relay does to the datagrams of one direction. All off by
/// default ([`Impairments::none`]): the relay is then a faithful forwarder.
///
/// ```
/// use std::time::Duration;
/// use udp_lab::relay::Impairments;
/// let lossy = Impairments::seeded(7).loss(0.2).duplicate(0.05).reorder(4, 0.25).delay(Duration::from_millis(20));
/// assert!(lossy.validate().is_ok());
/// assert!(Impairments::seeded(7).loss(1.5).validate().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Impairments {
    /// The seed of the random stream (salted per [`Direction`]).
    pub seed: u64,
    /// Probability that a datagram is dropped.
    pub loss: f64,
    /// Probability that a (surviving) datagram is released twice.
    pub duplicate: f64,
    /// Probability that one bit of one payload byte is flipped.
    pub corrupt: f64,
    /// Probability that a datagram is held back so later ones overtake it.
    pub reorder: f64,
    /// The most later datagrams that overtake a held one (1 when `reorder` is used with 0).
    pub reorder_window: usize,
    /// The longest a held datagram waits for its overtakers before it is released anyway.
    pub hold: Duration,
    /// Fixed delay added to every datagram.
    pub delay: Duration,
    /// Extra random delay, from zero to this (order is kept: see the module docs).
    pub jitter: Duration,
}

impl Default for Impairments {
    fn default() -> Self {
        Impairments::none()
    }
}

impl Impairments {
    /// No impairment at all, seed 0.
    pub const fn none() -> Self {
        Impairments {
            seed: 0,
            loss: 0.0,
            duplicate: 0.0,
            corrupt: 0.0,
            reorder: 0.0,
            reorder_window: 0,
            hold: DEFAULT_HOLD,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
        }
    }

    /// No impairment yet, with this seed.
    pub const fn seeded(seed: u64) -> Self {
        Impairments {
            seed,
            ..Impairments::none()
        }
    }

    /// Sets the loss probability.
    pub const fn loss(mut self, p: f64) -> Self {
        self.loss = p;
        self
    }

    /// Sets the duplication probability.
    pub const fn duplicate(mut self, p: f64) -> Self {
        self.duplicate = p;
        self
    }

    /// Sets the corruption probability (one flipped bit per corrupted datagram).
    pub const fn corrupt(mut self, p: f64) -> Self {
        self.corrupt = p;
        self
    }

    /// Holds a datagram back with probability `p` until 1 to `window` later
    /// datagrams have overtaken it.
    pub const fn reorder(mut self, window: usize, p: f64) -> Self {
        self.reorder_window = window;
        self.reorder = p;
        self
    }

    /// Sets how long a held datagram waits for its overtakers at most.
    pub const fn hold(mut self, hold: Duration) -> Self {
        self.hold = hold;
        self
    }

    /// Sets the fixed delay.
    pub const fn delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Sets the random extra delay (0 to `jitter`).
    pub const fn jitter(mut self, jitter: Duration) -> Self {
        self.jitter = jitter;
        self
    }

    /// Whether these settings change nothing: every datagram passes at once, intact.
    pub fn is_identity(&self) -> bool {
        self.loss == 0.0
            && self.duplicate == 0.0
            && self.corrupt == 0.0
            && self.reorder == 0.0
            && self.delay.is_zero()
            && self.jitter.is_zero()
    }

    /// Checks that every probability is a number from 0 to 1 and every wait
    /// at most [`MAX_WAIT`]; the error is one sentence naming the setting.
    pub fn validate(&self) -> Result<(), String> {
        for (name, p) in [
            ("loss", self.loss),
            ("duplication", self.duplicate),
            ("corruption", self.corrupt),
            ("reordering", self.reorder),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!(
                    "the {name} probability must be a number from 0 to 1, got {p}"
                ));
            }
        }
        for (name, wait) in [
            ("delay", self.delay),
            ("jitter", self.jitter),
            ("hold", self.hold),
        ] {
            if wait > MAX_WAIT {
                return Err(format!(
                    "the {name} must be at most {MAX_WAIT:?}, got {wait:?}"
                ));
            }
        }
        Ok(())
    }
}

impl fmt::Display for Impairments {
    /// Only what is on: `loss 0.2, duplication 0.05, seed 7`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        for (name, p) in [
            ("loss", self.loss),
            ("duplication", self.duplicate),
            ("corruption", self.corrupt),
        ] {
            if p > 0.0 {
                parts.push(format!("{name} {p}"));
            }
        }
        if self.reorder > 0.0 {
            parts.push(format!(
                "reordering {} (window {}, hold at most {:?})",
                self.reorder,
                self.window(),
                self.hold
            ));
        }
        if !self.delay.is_zero() || !self.jitter.is_zero() {
            parts.push(format!(
                "delay {:?} + up to {:?} jitter",
                self.delay, self.jitter
            ));
        }
        if parts.is_empty() {
            parts.push("no impairment".into());
        }
        write!(f, "{}, seed {}", parts.join(", "), self.seed)
    }
}

impl Impairments {
    fn window(&self) -> usize {
        self.reorder_window.max(1)
    }
}

/// Which way a datagram travels through the relay.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From a client to the server.
    ToServer,
    /// From the server back to a client.
    ToClient,
}

impl Direction {
    /// Mixed into the seed, so the two directions draw independent streams.
    fn salt(self) -> u64 {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 0x9E37_79B9_7F4A_7C15,
        }
    }
}

/// What a plan (or one direction of a relay) has counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Datagrams that entered.
    pub received: u64,
    /// Datagrams dropped on purpose.
    pub dropped: u64,
    /// Datagrams released twice.
    pub duplicated: u64,
    /// Datagrams with one bit flipped.
    pub corrupted: u64,
    /// Datagrams released after at least one later datagram overtook them.
    pub reordered: u64,
    /// Copies released: `received - dropped + duplicated` once nothing is held.
    pub released: u64,
    /// Copies the relay sent (relay only; a plan leaves it 0).
    pub sent: u64,
    /// Copies the OS refused to send (relay only).
    pub send_errors: u64,
}

/// One datagram as a [`Plan`] releases it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet<R> {
    /// The bytes to send (flipped bit included, if corrupted).
    pub payload: Vec<u8>,
    /// Where it goes (the relay uses the client's address).
    pub route: R,
    /// How long to delay it once released.
    pub delay: Duration,
    /// Which input it came from: 0 for the first datagram pushed.
    pub index: u64,
}

/// The seven numbers one datagram draws: always all seven, so that every
/// datagram's fate depends on its index only.
struct Fate {
    lost: bool,
    flip: Option<u64>,
    duplicated: bool,
    hold: usize,
    delay: Duration,
}

struct Held<R> {
    packet: Packet<R>,
    copies: u8,
    wait: usize,
    overtaken: usize,
}

/// The pure, seeded decisions of one direction: datagrams in, datagrams out.
///
/// ```
/// use udp_lab::relay::{Direction, Impairments, Plan};
/// let inputs: Vec<Vec<u8>> = (0..100u8).map(|i| vec![i]).collect();
/// let lossy = Impairments::seeded(7).loss(0.2);
/// let once = Plan::run(&lossy, Direction::ToServer, inputs.clone());
/// let again = Plan::run(&lossy, Direction::ToServer, inputs);
/// assert_eq!(once, again, "same seed, same inputs: same outputs");
/// assert!(once.len() < 100, "some were dropped");
/// ```
pub struct Plan<R> {
    imp: Impairments,
    rng: Pcg64,
    next_index: u64,
    held: Vec<Held<R>>,
    stats: LinkStats,
}

impl<R: Clone> Plan<R> {
    /// A plan for one direction, seeded from `imp.seed` and `direction`.
    pub fn new(imp: &Impairments, direction: Direction) -> Self {
        Plan {
            imp: *imp,
            rng: Pcg64::seed_from_u64(imp.seed ^ direction.salt()),
            next_index: 0,
            held: Vec::new(),
            stats: LinkStats::default(),
        }
    }

    /// Decides the fate of one datagram and returns what leaves now: nothing
    /// (dropped or held), one or two copies, and any held datagrams whose
    /// overtakers have now all passed (after this one).
    pub fn push(&mut self, payload: Vec<u8>, route: R) -> Vec<Packet<R>> {
        let index = self.next_index;
        self.next_index += 1;
        self.stats.received += 1;
        let fate = self.draw();
        if fate.lost {
            self.stats.dropped += 1;
            return Vec::new();
        }
        let mut payload = payload;
        if let Some(word) = fate.flip {
            if flip_one_bit(&mut payload, word) {
                self.stats.corrupted += 1;
            }
        }
        let copies = if fate.duplicated { 2 } else { 1 };
        self.stats.duplicated += u64::from(fate.duplicated);
        let packet = Packet {
            payload,
            route,
            delay: fate.delay,
            index,
        };
        if fate.hold > 0 {
            self.held.push(Held {
                packet,
                copies,
                wait: fate.hold,
                overtaken: 0,
            });
            return Vec::new();
        }
        let mut out = Vec::new();
        self.pass(packet, copies, &mut out);
        out
    }

    /// Releases every held datagram, in the order they were held.
    pub fn flush(&mut self) -> Vec<Packet<R>> {
        let mut out = Vec::new();
        for held in std::mem::take(&mut self.held) {
            self.release(held, &mut out);
        }
        out
    }

    /// How many datagrams are held back right now.
    pub fn held(&self) -> usize {
        self.held.len()
    }

    /// What the plan has counted so far.
    pub fn stats(&self) -> LinkStats {
        self.stats
    }

    fn draw(&mut self) -> Fate {
        let imp = self.imp;
        let mut unit = || unit_interval(self.rng.next_u64());
        let (lost, corrupted, duplicated, held) = (
            unit() < imp.loss,
            unit() < imp.corrupt,
            unit() < imp.duplicate,
            unit() < imp.reorder,
        );
        let (flip_word, hold_word, delay_word) = (
            self.rng.next_u64(),
            self.rng.next_u64(),
            self.rng.next_u64(),
        );
        let jitter_ns = u64::try_from(imp.jitter.as_nanos()).unwrap_or(u64::MAX);
        Fate {
            lost,
            flip: corrupted.then_some(flip_word),
            duplicated,
            hold: if held {
                1 + (hold_word % imp.window() as u64) as usize
            } else {
                0
            },
            delay: imp.delay.saturating_add(Duration::from_nanos(
                delay_word % jitter_ns.saturating_add(1),
            )),
        }
    }

    fn emit(&mut self, packet: Packet<R>, copies: u8, out: &mut Vec<Packet<R>>) {
        if copies > 1 {
            out.push(packet.clone());
        }
        out.push(packet);
        self.stats.released += u64::from(copies);
    }

    /// Emits a datagram; every held datagram it overtakes (a lower index)
    /// counts one overtaker. A held datagram whose wait is over leaves next
    /// (the lowest index first), and overtakes in turn. So a held datagram
    /// is released after exactly its wait of overtakers: never more than
    /// the window.
    fn pass(&mut self, packet: Packet<R>, copies: u8, out: &mut Vec<Packet<R>>) {
        let mut next = Some((packet, copies));
        while let Some((packet, copies)) = next.take() {
            for held in self
                .held
                .iter_mut()
                .filter(|h| h.packet.index < packet.index)
            {
                held.wait -= 1;
                held.overtaken += 1;
            }
            self.emit(packet, copies, out);
            if let Some(at) = self.held.iter().position(|h| h.wait == 0) {
                let held = self.held.remove(at);
                self.stats.reordered += 1;
                next = Some((held.packet, held.copies));
            }
        }
    }

    fn release(&mut self, held: Held<R>, out: &mut Vec<Packet<R>>) {
        if held.overtaken > 0 {
            self.stats.reordered += 1;
        }
        self.emit(held.packet, held.copies, out);
    }
}

impl Plan<()> {
    /// Pushes every input through a fresh plan, then flushes: the whole
    /// output sequence for these inputs.
    pub fn run(
        imp: &Impairments,
        direction: Direction,
        inputs: impl IntoIterator<Item = Vec<u8>>,
    ) -> Vec<Packet<()>> {
        let mut plan = Plan::new(imp, direction);
        let mut out: Vec<Packet<()>> = inputs
            .into_iter()
            .flat_map(|payload| plan.push(payload, ()))
            .collect();
        out.extend(plan.flush());
        out
    }
}

/// A uniform number in [0, 1) from the top 53 bits of `word` (exact in f64).
fn unit_interval(word: u64) -> f64 {
    (word >> 11) as f64 / (1u64 << 53) as f64
}

/// Flips bit `word >> 61` of byte `word % len`; false when there is no byte.
fn flip_one_bit(payload: &mut [u8], word: u64) -> bool {
    if payload.is_empty() {
        return false;
    }
    let at = (word % payload.len() as u64) as usize;
    payload[at] ^= 1 << (word >> 61);
    true
}

/// What each direction of a relay does.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Links {
    /// Impairments of datagrams from clients to the server.
    pub to_server: Impairments,
    /// Impairments of datagrams from the server back to clients.
    pub to_client: Impairments,
}

impl Links {
    /// The same impairments both ways (still two independent random streams).
    pub fn both(imp: Impairments) -> Self {
        Links {
            to_server: imp,
            to_client: imp,
        }
    }

    /// Impairments toward the server only; replies pass untouched.
    pub fn to_server_only(imp: Impairments) -> Self {
        Links {
            to_server: imp,
            to_client: Impairments::seeded(imp.seed),
        }
    }

    /// Checks both directions (see [`Impairments::validate`]).
    pub fn validate(&self) -> Result<(), String> {
        self.to_server.validate()?;
        self.to_client.validate()
    }
}

impl From<Impairments> for Links {
    fn from(imp: Impairments) -> Self {
        Links::both(imp)
    }
}

/// What a relay has counted so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RelayStats {
    /// Datagrams from clients toward the server.
    pub to_server: LinkStats,
    /// Datagrams from the server back to clients.
    pub to_client: LinkStats,
    /// Distinct clients seen (each got its own socket toward the server).
    pub clients: u64,
    /// Datagrams from clients beyond [`MAX_CLIENTS`], dropped uncounted by the plans.
    pub turned_away: u64,
    /// Errors from `recv` other than timeouts (e.g. `ConnectionRefused`
    /// on a client's socket toward a server that is not there).
    pub recv_errors: u64,
}

impl fmt::Display for LinkStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "received {}, dropped {}, duplicated {}, corrupted {}, reordered {}, sent {}, send errors {}",
            self.received, self.dropped, self.duplicated, self.corrupted, self.reordered, self.sent, self.send_errors
        )
    }
}

enum Event {
    FromClient {
        from: SocketAddr,
        payload: Vec<u8>,
    },
    FromServer {
        client: SocketAddr,
        payload: Vec<u8>,
    },
    RecvError,
    Stop,
}

#[derive(Default)]
struct Shared {
    stats: Mutex<RelayStats>,
    changed: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, RelayStats> {
        self.stats
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A running relay. Dropping it shuts it down too.
pub struct RelayHandle {
    addr: SocketAddr,
    server: SocketAddr,
    stop: Arc<AtomicBool>,
    events: SyncSender<Event>,
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

/// Starts a relay listening on `listen` (port 0: the OS chooses) that
/// forwards to `server`, impairing each direction as `links` says (an
/// [`Impairments`] means the same both ways).
///
/// ```
/// use udp_lab::net::{self, Family};
/// use udp_lab::relay::{self, Impairments};
/// use udp_lab::{recv, server::{self, Reply}};
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
    let links = links.into();
    links
        .validate()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let front = Arc::new(net::bind(listen)?);
    front.set_read_timeout(Some(STOP_POLL))?;
    let addr = front.local_addr()?;
    let server = net::reachable(server);
    let stop = Arc::new(AtomicBool::new(false));
    let shared = Arc::new(Shared::default());
    let (events, inbox) = mpsc::sync_channel(QUEUE);
    let engine = Engine::new(
        Arc::clone(&front),
        server,
        &links,
        events.clone(),
        Arc::clone(&stop),
        Arc::clone(&shared),
    );
    let receiver = {
        let (stop, events) = (Arc::clone(&stop), events.clone());
        named(format!("udp-lab-relay-front-{}", addr.port()), move || {
            pump(&front, &stop, &events, |from, payload| Event::FromClient {
                from,
                payload,
            })
        })?
    };
    let engine = named(format!("udp-lab-relay-{}", addr.port()), move || {
        engine.run(&inbox)
    })?;
    Ok(RelayHandle {
        addr,
        server,
        stop,
        events,
        shared,
        threads: vec![receiver, engine],
    })
}

fn named(name: String, body: impl FnOnce() + Send + 'static) -> io::Result<JoinHandle<()>> {
    thread::Builder::new()
        .name(name)
        .spawn(body)
        .map_err(|e| net::context(e, "starting a relay thread"))
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

    fn stop_and_join(&mut self) {
        if self.threads.is_empty() {
            return;
        }
        self.stop.store(true, Ordering::SeqCst);
        let mut threads = std::mem::take(&mut self.threads);
        let engine = threads.pop();
        for receiver in threads {
            let _ = receiver.join();
        }
        // Every datagram the front thread read is already in the queue, ahead of Stop.
        let _ = self.events.send(Event::Stop);
        if let Some(engine) = engine {
            let _ = engine.join();
        }
    }
}

impl Drop for RelayHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// A receiving thread's loop: every datagram becomes an event for the engine.
fn pump(
    sock: &UdpSocket,
    stop: &AtomicBool,
    events: &SyncSender<Event>,
    wrap: impl Fn(SocketAddr, Vec<u8>) -> Event,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while !stop.load(Ordering::SeqCst) {
        let event = match sock.recv_from(&mut buf) {
            Ok((n, from)) => wrap(from, buf[..n].to_vec()),
            Err(e) if is_timeout(&e) => continue,
            Err(_) => Event::RecvError,
        };
        if stop.load(Ordering::SeqCst) || events.send(event).is_err() {
            return;
        }
    }
}

/// A FIFO of released datagrams, each sent when its delay is over.
#[derive(Default)]
struct DelayLine {
    queue: VecDeque<(Instant, Packet<SocketAddr>)>,
    last: Option<Instant>,
}

impl DelayLine {
    fn schedule(&mut self, packets: Vec<Packet<SocketAddr>>, now: Instant) {
        for packet in packets {
            // Never before the one ahead: a link is a queue.
            let at = self
                .last
                .map_or(now + packet.delay, |last| last.max(now + packet.delay));
            self.last = Some(at);
            self.queue.push_back((at, packet));
        }
    }

    fn next_due(&self) -> Option<Instant> {
        self.queue.front().map(|(at, _)| *at)
    }

    fn pop_due(&mut self, now: Instant) -> Option<Packet<SocketAddr>> {
        if self.next_due()? <= now {
            self.queue.pop_front().map(|(_, packet)| packet)
        } else {
            None
        }
    }
}

/// One direction inside the engine: its plan, since when it holds, its delay line.
struct Link {
    plan: Plan<SocketAddr>,
    hold: Duration,
    held_since: Option<Instant>,
    line: DelayLine,
    sent: u64,
    send_errors: u64,
}

impl Link {
    fn new(imp: &Impairments, direction: Direction) -> Self {
        Link {
            plan: Plan::new(imp, direction),
            hold: imp.hold,
            held_since: None,
            line: DelayLine::default(),
            sent: 0,
            send_errors: 0,
        }
    }

    fn push(&mut self, payload: Vec<u8>, route: SocketAddr, now: Instant) {
        let out = self.plan.push(payload, route);
        self.line.schedule(out, now);
        self.held_since = match self.plan.held() {
            0 => None,
            _ => Some(self.held_since.unwrap_or(now)),
        };
    }

    /// Releases the held datagrams once the oldest has waited `hold`.
    fn release_overdue(&mut self, now: Instant) {
        if self
            .held_since
            .is_some_and(|since| now >= since + self.hold)
        {
            let out = self.plan.flush();
            self.line.schedule(out, now);
            self.held_since = None;
        }
    }

    fn next_wake(&self) -> Option<Instant> {
        let hold_over = self.held_since.map(|since| since + self.hold);
        [hold_over, self.line.next_due()]
            .into_iter()
            .flatten()
            .min()
    }

    fn stats(&self) -> LinkStats {
        LinkStats {
            sent: self.sent,
            send_errors: self.send_errors,
            ..self.plan.stats()
        }
    }
}

/// The relay's one deciding thread: it owns both plans and every send.
struct Engine {
    front: Arc<UdpSocket>,
    server: SocketAddr,
    up: Link,
    down: Link,
    clients: HashMap<SocketAddr, Arc<UdpSocket>>,
    receivers: Vec<JoinHandle<()>>,
    events: SyncSender<Event>,
    stop: Arc<AtomicBool>,
    shared: Arc<Shared>,
    turned_away: u64,
    recv_errors: u64,
}

impl Engine {
    fn new(
        front: Arc<UdpSocket>,
        server: SocketAddr,
        links: &Links,
        events: SyncSender<Event>,
        stop: Arc<AtomicBool>,
        shared: Arc<Shared>,
    ) -> Self {
        Engine {
            front,
            server,
            up: Link::new(&links.to_server, Direction::ToServer),
            down: Link::new(&links.to_client, Direction::ToClient),
            clients: HashMap::new(),
            receivers: Vec::new(),
            events,
            stop,
            shared,
            turned_away: 0,
            recv_errors: 0,
        }
    }

    fn run(mut self, inbox: &Receiver<Event>) {
        loop {
            let now = Instant::now();
            let wake = [self.up.next_wake(), self.down.next_wake()]
                .into_iter()
                .flatten()
                .min();
            let wait = wake.map_or(IDLE_WAIT, |at| at.saturating_duration_since(now));
            match inbox.recv_timeout(wait) {
                Ok(Event::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Ok(event) => self.handle(event),
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.send_due(Instant::now());
            self.publish();
        }
        self.finish(inbox);
    }

    fn handle(&mut self, event: Event) {
        let now = Instant::now();
        match event {
            Event::FromClient { from, payload } => {
                if self.route_for(from).is_some() {
                    self.up.push(payload, from, now);
                } else {
                    self.turned_away += 1;
                }
            }
            Event::FromServer { client, payload } => self.down.push(payload, client, now),
            Event::RecvError => self.recv_errors += 1,
            Event::Stop => {}
        }
    }

    /// The client's own socket toward the server, made (with its receiving
    /// thread) on the client's first datagram. `None` past [`MAX_CLIENTS`] or
    /// when the OS refuses a socket or a thread.
    fn route_for(&mut self, client: SocketAddr) -> Option<Arc<UdpSocket>> {
        if let Some(sock) = self.clients.get(&client) {
            return Some(Arc::clone(sock));
        }
        if self.clients.len() >= MAX_CLIENTS {
            return None;
        }
        let sock = Arc::new(socket_toward(self.server).ok()?);
        let (stop, events, reader) = (
            Arc::clone(&self.stop),
            self.events.clone(),
            Arc::clone(&sock),
        );
        let name = format!("udp-lab-relay-client-{}", client.port());
        let receiver = named(name, move || {
            pump(&reader, &stop, &events, |_, payload| Event::FromServer {
                client,
                payload,
            })
        })
        .ok()?;
        self.receivers.push(receiver);
        self.clients.insert(client, Arc::clone(&sock));
        Some(sock)
    }

    fn send_due(&mut self, now: Instant) {
        self.up.release_overdue(now);
        self.down.release_overdue(now);
        while let Some(packet) = self.up.line.pop_due(now) {
            let sent = self
                .clients
                .get(&packet.route)
                .map(|sock| sock.send(&packet.payload));
            count_send(&mut self.up, sent.is_some_and(|r| r.is_ok()));
        }
        while let Some(packet) = self.down.line.pop_due(now) {
            let sent = self.front.send_to(&packet.payload, packet.route);
            count_send(&mut self.down, sent.is_ok());
        }
    }

    /// After Stop: the receiving threads end, what they had read is
    /// pushed, and everything held or delayed is sent at once.
    fn finish(mut self, inbox: &Receiver<Event>) {
        self.stop.store(true, Ordering::SeqCst);
        // Keep draining while they end: a receiver blocked on a full queue
        // must get its place before it can see the stop flag.
        while self.receivers.iter().any(|r| !r.is_finished()) {
            if let Ok(event) = inbox.recv_timeout(STOP_POLL) {
                self.handle(event);
            }
        }
        for receiver in std::mem::take(&mut self.receivers) {
            let _ = receiver.join();
        }
        while let Ok(event) = inbox.try_recv() {
            self.handle(event);
        }
        let far_future = Instant::now() + Duration::from_secs(365 * 24 * 3600);
        for link in [&mut self.up, &mut self.down] {
            let out = link.plan.flush();
            link.line.schedule(out, Instant::now());
            link.held_since = None;
        }
        self.send_due(far_future);
        self.publish();
    }

    fn publish(&self) {
        let mut stats = self.shared.lock();
        *stats = RelayStats {
            to_server: self.up.stats(),
            to_client: self.down.stats(),
            clients: self.clients.len() as u64,
            turned_away: self.turned_away,
            recv_errors: self.recv_errors,
        };
        self.shared.changed.notify_all();
    }
}

fn count_send(link: &mut Link, ok: bool) {
    if ok {
        link.sent += 1;
    } else {
        link.send_errors += 1;
    }
}

/// A socket connected to `server`, bound to loopback when the server is on
/// loopback (and to every address otherwise). Connected, so the kernel
/// delivers it only the server's datagrams (chapter 10).
fn socket_toward(server: SocketAddr) -> io::Result<UdpSocket> {
    let family = Family::of(&server);
    let ip = match (server.ip().is_loopback(), family) {
        (true, _) => family.loopback(),
        (false, Family::V4) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        (false, Family::V6) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let sock = net::bind(SocketAddr::new(ip, 0))?;
    sock.set_read_timeout(Some(STOP_POLL))?;
    sock.connect(server)
        .map_err(|e| net::context(e, format!("connecting the relay's socket to {server}")))?;
    Ok(sock)
}
