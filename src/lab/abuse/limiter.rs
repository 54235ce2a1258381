//! Per-source rate limiting (chapter 15): a token bucket for every source
//! address, so that one source that floods a server cannot take the
//! answers that other sources are owed.
//!
//! # A clock that is the requests themselves
//! A textbook bucket refills with wall-clock time (r tokens per second).
//! Then what a test sees depends on how fast the machine is, and a test
//! that asserts it is a timing assertion. This bucket's clock is the
//! server's own request count instead: every request the limiter sees,
//! from any source, is one tick, and a bucket gains one token every
//! [`RateLimit::refill_every`] ticks, up to [`RateLimit::burst`]. The same
//! sequence of requests is then limited the same way on every machine, and
//! the fairness it gives is the same: a source may use at most about one
//! request in `refill_every` of all the server sees, after its burst.
//!
//! Sources are keyed by address *and port*, so two clients on one host (as
//! in the chapter's test, both on 127.0.0.1) have buckets of their own. A
//! real server keys by address or prefix, since a flooder can change ports
//! (and, with forged sources, addresses: that is what address validation is
//! for). The table is bounded: when [`MAX_SOURCES`] sources are known, it is
//! cleared (a flood of forged sources can only hand out fresh bursts).

use std::collections::HashMap;
use std::net::SocketAddr;

use crate::lab::planted::{self, Bug};

/// How many sources the limiter remembers before it starts afresh.
pub const MAX_SOURCES: usize = 65_536;

/// A token bucket's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests a source may send at once (the bucket's size), at least 1.
    pub burst: u64,
    /// Requests seen (from all sources) per token refilled, at least 1.
    pub refill_every: u64,
}

impl RateLimit {
    /// The most requests one source sending `n` in a row, alone, gets
    /// through: its burst, plus one per `refill_every` requests seen.
    pub fn most_admitted_alone(self, n: u64) -> u64 {
        n.min(self.burst + n / self.refill_every.max(1))
    }
}

#[derive(Clone, Copy)]
struct Bucket {
    tokens: u64,
    /// The clock reading when the bucket last refilled.
    last: u64,
}

/// The limiter's state: its clock and one bucket per source.
pub struct Limiter {
    limit: RateLimit,
    clock: u64,
    buckets: HashMap<SocketAddr, Bucket>,
}

impl Limiter {
    /// An empty limiter: every source starts with a full bucket.
    pub fn new(limit: RateLimit) -> Limiter {
        Limiter {
            limit: RateLimit {
                burst: limit.burst.max(1),
                refill_every: limit.refill_every.max(1),
            },
            clock: 0,
            buckets: HashMap::new(),
        }
    }

    /// Ticks the clock and says whether a request from `from` may be answered.
    pub fn admit(&mut self, from: SocketAddr) -> bool {
        self.clock += 1;
        if self.buckets.len() >= MAX_SOURCES && !self.buckets.contains_key(&from) {
            self.buckets.clear();
        }
        let RateLimit {
            burst,
            refill_every,
        } = self.limit;
        let now = self.clock;
        let bucket = self.buckets.entry(from).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let earned = (now - bucket.last) / refill_every;
        bucket.tokens = (bucket.tokens + earned).min(burst);
        bucket.last += earned * refill_every;
        if bucket.tokens == 0 && !planted::active(Bug::LimiterLetsFloodThrough) {
            return false;
        }
        bucket.tokens = bucket.tokens.saturating_sub(1);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lone_source_gets_its_burst_then_one_in_refill_every() {
        let limit = RateLimit {
            burst: 5,
            refill_every: 10,
        };
        let mut limiter = Limiter::new(limit);
        let from: SocketAddr = "192.0.2.1:9".parse().unwrap();
        let admitted = (0..100).filter(|_| limiter.admit(from)).count() as u64;
        assert!(
            admitted <= limit.most_admitted_alone(100),
            "admitted {admitted}"
        );
        assert!(admitted >= 5 + 100 / 10 - 1, "admitted {admitted}");
    }
}
