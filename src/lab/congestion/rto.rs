//! The retransmission timer of RFC 6298, for any request/response protocol
//! on UDP: a smoothed round-trip time (SRTT), its variation (RTTVAR), and a
//! timeout (RTO) computed from both, doubled on every expiry, and never
//! fed a sample it cannot trust (Karn's rule).

use std::time::Duration;

use crate::lab::planted::{self, Bug};

/// The estimator's fixed settings: where the RTO starts, its floor and
/// ceiling, and the clock granularity G.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtoConfig {
    /// The RTO before any sample (RFC 6298 (2.1): 1 second).
    pub initial: Duration,
    /// The smallest RTO (RFC 6298 (2.4): 1 second; a lab on loopback uses less).
    pub min: Duration,
    /// The largest RTO, backoff included (RFC 6298 (2.5): at least 60 seconds).
    pub max: Duration,
    /// The clock granularity G: the RTO is at least SRTT + G.
    pub granularity: Duration,
}

impl Default for RtoConfig {
    /// RFC 6298's values: start at 1 s, floor 1 s, ceiling 60 s, G = 1 ms.
    fn default() -> Self {
        RtoConfig {
            initial: Duration::from_secs(1),
            min: Duration::from_secs(1),
            max: Duration::from_secs(60),
            granularity: Duration::from_millis(1),
        }
    }
}

impl RtoConfig {
    /// Settings for a course on loopback, where a round trip takes
    /// microseconds: start at 200 ms, floor 10 ms, ceiling 2 s. Never use
    /// these on a real path: RFC 6298's floor of 1 s is there for a reason
    /// (delayed acknowledgements, spurious retransmissions).
    pub const fn loopback() -> Self {
        RtoConfig {
            initial: Duration::from_millis(200),
            min: Duration::from_millis(10),
            max: Duration::from_secs(2),
            granularity: Duration::from_millis(1),
        }
    }
}

/// An RFC 6298 estimator: feed it round-trip samples and timeouts, read
/// the RTO to wait for the next answer.
///
/// ```
/// use std::time::Duration;
/// use udp_lab::lab::congestion::{RtoConfig, RtoEstimator};
/// let mut rto = RtoEstimator::new(RtoConfig::default());
/// assert_eq!(rto.rto(), Duration::from_secs(1), "no sample yet: the initial RTO");
/// rto.on_sample(Duration::from_millis(100), false);
/// // SRTT = 100 ms, RTTVAR = 50 ms, RTO = 100 + 4 * 50 = 300 ms, raised to the 1 s floor.
/// assert_eq!(rto.rto(), Duration::from_secs(1));
/// rto.on_timeout();
/// assert_eq!(rto.rto(), Duration::from_secs(2), "backed off: doubled");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtoEstimator {
    config: RtoConfig,
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
    samples: u64,
}

impl RtoEstimator {
    /// A fresh estimator: no sample, RTO = `config.initial` (within the floor and ceiling).
    pub fn new(config: RtoConfig) -> Self {
        RtoEstimator {
            config,
            srtt: None,
            rttvar: Duration::ZERO,
            rto: config.initial.clamp(config.min, config.max.max(config.min)),
            samples: 0,
        }
    }

    /// How long to wait for the next answer now.
    pub fn rto(&self) -> Duration {
        self.rto
    }

    /// The smoothed round-trip time, once a sample was taken.
    pub fn srtt(&self) -> Option<Duration> {
        self.srtt
    }

    /// The round-trip time's variation (0 before the first sample).
    pub fn rttvar(&self) -> Duration {
        self.rttvar
    }

    /// How many samples were taken (retransmitted requests' are not).
    pub fn samples(&self) -> u64 {
        self.samples
    }

    /// The settings.
    pub fn config(&self) -> RtoConfig {
        self.config
    }

    /// One round-trip measurement `rtt` of a request. When the request was
    /// `retransmitted`, the answer may be to any of its copies: the sample
    /// is ambiguous and is ignored (Karn's rule, RFC 6298 (3)); the
    /// backed-off RTO stays until a clean sample comes. Returns whether the
    /// sample was taken.
    pub fn on_sample(&mut self, rtt: Duration, retransmitted: bool) -> bool {
        if retransmitted && !planted::active(Bug::RtoIgnoresKarn) {
            return false;
        }
        let (srtt, rttvar) = match self.srtt {
            // (2.2): the first measurement R.
            None => (rtt, rtt / 2),
            // (2.3): RTTVAR first, from the SRTT before this sample.
            Some(srtt) => {
                let error = srtt.abs_diff(rtt);
                (srtt * 7 / 8 + rtt / 8, self.rttvar * 3 / 4 + error / 4)
            }
        };
        self.srtt = Some(srtt);
        self.rttvar = rttvar;
        self.samples += 1;
        let rto = srtt.saturating_add(self.config.granularity.max(rttvar.saturating_mul(4)));
        self.rto = self.clamp(rto);
        true
    }

    /// The timer expired: back off, RTO = 2 * RTO, up to the ceiling (RFC 6298 (5.5)).
    pub fn on_timeout(&mut self) {
        self.rto = self.clamp(self.rto.saturating_mul(2));
    }

    fn clamp(&self, rto: Duration) -> Duration {
        rto.max(self.config.min)
            .min(self.config.max.max(self.config.min))
    }
}
