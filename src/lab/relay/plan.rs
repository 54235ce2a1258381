//! The relay's pure, seeded decisions: a [`Plan`] maps the datagrams of
//! one direction to what leaves (dropped, corrupted, duplicated, held back
//! so later ones overtake, delayed), and counts it in [`LinkStats`]. No
//! sockets and no clock, so the same seed and the same inputs give the same
//! outputs on every machine: the property tests of chapter 11 run plans
//! alone, and the relay's engine runs two of them on real datagrams.

use std::fmt;
use std::time::Duration;

use rand_core::{Rng, SeedableRng};
use rand_pcg::Pcg64;

use super::impairments::{Direction, Impairments};

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

impl fmt::Display for LinkStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "received {}, dropped {}, duplicated {}, corrupted {}, reordered {}, sent {}, send errors {}",
            self.received, self.dropped, self.duplicated, self.corrupted, self.reordered, self.sent, self.send_errors
        )
    }
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

/// A datagram held back: how many copies leave with it, how many more
/// overtakers it waits for, how many have passed it.
struct Held<R> {
    packet: Packet<R>,
    copies: u8,
    wait: usize,
    overtaken: usize,
}

/// The pure, seeded decisions of one direction: datagrams in, datagrams out.
///
/// ```
/// use udp_lab::lab::relay::{Direction, Impairments, Plan};
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

    /// Draws the next datagram's seven numbers and turns them into its fate.
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

    /// Releases `copies` of `packet` (counted).
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

    /// Releases a held datagram early (flush), reordered if anything overtook it.
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
