//! What a relay does to one direction's datagrams: the settings
//! ([`Impairments`]), the two directions ([`Direction`]) and a relay's pair
//! of settings ([`Links`]). Plain values, checked by
//! [`Impairments::validate`] before a relay starts; the
//! [`Plan`](super::Plan) turns them into decisions.

use std::fmt;
use std::time::Duration;

/// How long a held datagram waits for its overtakers unless told otherwise.
pub const DEFAULT_HOLD: Duration = Duration::from_millis(100);

/// The longest delay, jitter or hold a relay accepts (a day: anything
/// longer is a mistake, and would overflow the clock arithmetic).
pub const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// What the relay does to the datagrams of one direction. All off by
/// default ([`Impairments::none`]): the relay is then a faithful forwarder.
///
/// ```
/// use std::time::Duration;
/// use udp_lab::lab::relay::Impairments;
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
    /// The reordering window as used: at least 1 (a held datagram waits
    /// for one overtaker even when `reorder_window` is 0).
    pub(super) fn window(&self) -> usize {
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
    pub(super) fn salt(self) -> u64 {
        match self {
            Direction::ToServer => 0,
            Direction::ToClient => 0x9E37_79B9_7F4A_7C15,
        }
    }
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
