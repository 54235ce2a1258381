//! Tour block for chapter 14: the waste of blasting (no more delivered,
//! the rest dropped) read from the bottleneck's counters ([`congestion::offer`] at the link's rate and at
//! five times it), and an RFC 6298 RTO converging on the round trips of a
//! retrying client through a relay that delays each way by 20 ms.

use std::io;
use std::time::Duration;

use udp_lab::lab::congestion::{self, RtoConfig, RtoEstimator};
use udp_lab::lab::relay::{self, Bottleneck, Impairments, LinkClock};
use udp_lab::lab::reliable::{fast_retry, Client};
use udp_lab::lab::server::{self, Reply};
use udp_lab::net::{self, Family};

use super::Report;

/// The waste, then the RTO.
pub fn demo() -> io::Result<Report> {
    let link = Bottleneck::new(200, 16).clock(LinkClock::Stamped);
    let second = Duration::from_secs(1);
    let paced = congestion::offer(link, 200, second)?;
    let blast = congestion::offer(link, 1000, second)?;
    let mut lines = vec![format!("{link}; each sender runs one virtual second:")];
    for (name, run) in [("paced at 200/s ", &paced), ("blasting 1000/s", &blast)] {
        lines.push(format!(
            "{name}: sent {:>4}, {}; wasted {}",
            run.sent,
            run.link,
            run.wasted()
        ));
    }
    let wasted = blast.link.forwarded <= paced.link.forwarded && blast.link.dropped > 0;
    let (rto_lines, converged) = rto_converging()?;
    lines.extend(rto_lines);
    Ok(Report {
        lines,
        held: wasted && converged,
    })
}

/// Ten requests through a relay delaying 20 ms each way, with an RTO
/// estimator: its SRTT, RTTVAR and RTO after each (measured, not asserted).
fn rto_converging() -> io::Result<(Vec<String>, bool)> {
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper)?;
    let slow = Impairments::seeded(1).delay(Duration::from_millis(20));
    let relay = relay::spawn(Family::V4.any_port(), echo.local_addr(), slow)?;
    let mut client = Client::new(
        net::bind_loopback(Family::V4)?,
        relay.local_addr(),
        fast_retry(),
    )
    .with_rto(RtoEstimator::new(RtoConfig::loopback()));
    let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1000.0);
    // The course's settings, not RFC 6298's: a 1 s floor would hide a 40 ms path.
    let config = RtoConfig::loopback();
    let mut lines = vec![format!(
        "RFC 6298 RTO, 10 requests through a relay delaying 20 ms each way \
         (RtoConfig::loopback(): start {}, floor {}; RFC 6298's 1 s would hide this path):",
        ms(config.initial),
        ms(config.min)
    )];
    let mut first_attempts = 0;
    for i in 1..=10 {
        let answer = client.request(format!("rtt {i}").as_bytes())?;
        first_attempts += u64::from(answer.attempts == 1);
        if let Some(rto) = client.rto() {
            lines.push(format!(
                "  request {i:>2}: rtt {}, srtt {}, rttvar {}, rto {}",
                ms(answer.elapsed),
                rto.srtt().map_or("-".into(), ms),
                ms(rto.rttvar()),
                ms(rto.rto())
            ));
        }
    }
    let held = client
        .rto()
        .is_some_and(|rto| rto.samples() == first_attempts && rto.srtt().is_some());
    Ok((lines, held))
}
