//! Being a good citizen on a shared network (chapter 14): what RFC 8085
//! (BCP 145) asks of an application that sends UDP without a congestion
//! controller, as small machines a test can drive.
//!
//! | file | what it holds | RFC |
//! |---|---|---|
//! | `rto.rs` | [`RtoEstimator`]: SRTT, RTTVAR, RTO with floor, ceiling, backoff and Karn's rule | RFC 6298 |
//! | `pacer.rs` | [`TokenBucket`], [`Pacer`], [`PacedSender`], and the [`Clock`] they run on ([`VirtualClock`], [`SystemClock`]) | RFC 8085 §3.1.3 |
//! | `breaker.rs` | [`CircuitBreaker`]: stop a sender after sustained loss; [`send_until_tripped`] | RFC 8084 |
//! | `collapse.rs` | [`offer`]: a paced sender at any rate into the relay's bottleneck, and the counters (the waste that becomes collapse on a shared link) | RFC 8085 §3.1, RFC 2914 |
//!
//! The slow link itself is the relay's ([`crate::lab::relay::Bottleneck`]).

mod breaker;
mod collapse;
mod pacer;
mod rto;

pub use breaker::{send_until_tripped, BreakerSettings, BreakerStats, CircuitBreaker};
pub use collapse::{offer, Offered};
pub use pacer::{
    busiest_window, Clock, PacedSender, Pacer, SystemClock, TokenBucket, VirtualClock,
    NO_RTT_INTERVAL,
};
pub use rto::{RtoConfig, RtoEstimator};
