//! Chapter 14: being a good citizen on a shared network.
//!
//! Claim: UDP has no congestion control, so an application that sends it
//! carries the obligations TCP carries for its users (RFC 8085, BCP 145).
//! A sender that blasts into a bottleneck gets no more through than one
//! that paces at the bottleneck's rate: the difference is dropped at the
//! queue, wasted (on a link shared upstream, that waste is what turns into
//! congestion collapse). So a good citizen paces (a token bucket; a
//! low-volume sender, one datagram per RTT it has measured, or one every
//! 3 s with no RTT estimate), times its retries from the
//! round trips it measured (RFC 6298's RTO, with Karn's rule), and stops
//! when loss persists (a circuit breaker, RFC 8084).
//!
//! Nothing here reads the wall clock for a decision: the bottleneck counts
//! time in the stamps its senders put in each datagram, and the pacer runs
//! on a virtual clock. Every count below is the same on a loaded machine.
//!
//! Run: `cargo test --test ch14_congestion`

use std::net::UdpSocket;
use std::thread;
use std::time::Duration;

use proptest::prelude::*;
use udp_lab::lab::congestion::{
    self, busiest_window, BreakerSettings, Clock, PacedSender, Pacer, RtoConfig, RtoEstimator,
    VirtualClock,
};
use udp_lab::lab::relay::{
    self, stamp, stamp_of, Bottleneck, Impairments, LinkClock, Links, Plan, TailDropQueue,
};
use udp_lab::lab::reliable::{fast_retry, lossy, Client};
use udp_lab::lab::server::{self, Reply};
use udp_lab::net::{self, Family, DEFAULT_TIMEOUT};
use udp_lab::recv;

const MS: Duration = Duration::from_millis(1);

// ANCHOR: bottleneck_by_hand
#[test]
fn a_bottleneck_forwards_one_datagram_per_token_and_drops_what_its_queue_cannot_hold() {
    let sink = UdpSocket::bind("127.0.0.1:0").expect("bind the sink");
    sink.set_read_timeout(Some(DEFAULT_TIMEOUT))
        .expect("a bounded wait");
    // 100 datagrams a second (a token every 10 ms), 3 may wait, timed by the senders' stamps.
    let link = Bottleneck::new(100, 3).clock(LinkClock::Stamped);
    let relay = relay::spawn_with_bottleneck(
        Family::V4.any_port(),
        sink.local_addr().expect("sink address"),
        Impairments::none(),
        link,
    )
    .expect("start the relay");
    let sender = UdpSocket::bind("127.0.0.1:0").expect("bind the sender");

    for i in 0..8u8 {
        let datagram = stamp(Duration::ZERO, &[b'0' + i]); // all 8 at t = 0
        sender.send_to(&datagram, relay.local_addr()).expect("send");
    }
    sender
        .send_to(&stamp(30 * MS, b"late"), relay.local_addr())
        .expect("send one at t = 30 ms");
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    for _ in 0..4 {
        let (n, _from) = sink.recv_from(&mut buf).expect("a forwarded datagram");
        got.push(buf[8..n].to_vec());
    }
    let link = relay.shutdown().bottleneck;

    assert_eq!(
        got,
        [b"0", b"1", b"2", b"3"],
        "at t = 0 the bucket's one token lets datagram 0 through; 1, 2, 3 wait in the queue of 3; \
         by t = 30 ms three more tokens came (10, 20, 30 ms) and the queue drained in order"
    );
    assert_eq!(
        (link.arrived, link.forwarded, link.dropped, link.queued),
        (9, 4, 4, 1),
        "datagrams 4 to 7 found the queue full and were dropped at its tail; \"late\" waits for \
         the token of t = 40 ms: {link}"
    );
}
// ANCHOR_END: bottleneck_by_hand

// ANCHOR: conservation_law
/// Arrival times (gaps in microseconds, often 0: bursts) for the bottleneck laws.
fn gaps() -> impl Strategy<Value = Vec<u64>> {
    prop::collection::vec(prop_oneof![Just(0u64), 0..20_000u64], 1..300)
}

proptest! {
    #[test]
    fn law_every_arrival_at_the_bottleneck_is_forwarded_dropped_or_queued(
        gaps in gaps(), rate in 50u32..500, queue in 0usize..20, burst in 1u32..4,
    ) {
        let mut link = TailDropQueue::new(&Bottleneck::new(rate, queue).burst(burst));
        let (mut now, mut out) = (Duration::ZERO, 0u64);
        for gap in &gaps {
            now += Duration::from_micros(*gap);
            out += link.arrive(now, Vec::new(), ()).len() as u64;
        }
        let s = link.stats();

        prop_assert_eq!(s.forwarded, out, "the counter says what really left");
        prop_assert_eq!(
            s.arrived, s.forwarded + s.dropped + s.queued,
            "nothing vanishes uncounted: every arrival left, was dropped or still waits: {}", s
        );
        let tokens = u64::from(burst) + (now.as_micros() * u128::from(rate) / 1_000_000) as u64;
        prop_assert!(s.forwarded <= tokens, "never faster than the rate: {} > {tokens}", s.forwarded);
    }
}
// ANCHOR_END: conservation_law

// ANCHOR: collapse
#[test]
fn blasting_at_five_times_the_bottleneck_rate_delivers_no_more_than_pacing() {
    let link = Bottleneck::new(200, 16); // 200 datagrams a second, 16 may wait
    let second = Duration::from_secs(1);

    let paced = congestion::offer(link, 200, second).expect("the paced run");
    let blast = congestion::offer(link, 1000, second).expect("the blasting run");

    assert_eq!(
        (paced.link.forwarded, paced.link.dropped),
        (paced.sent, 0),
        "pacing at the bottleneck's rate: everything sent gets through: {}",
        paced.link
    );
    assert!(
        blast.link.forwarded <= paced.link.forwarded,
        "five times the datagrams in the same second, yet no more through: the link forwards \
         200 a second whoever offers more (blast {}, paced {})",
        blast.link,
        paced.link
    );
    assert!(
        blast.link.dropped >= blast.sent - paced.link.forwarded - 16,
        "the difference is wasted at the bottleneck: of {} sent, at least {} dropped at the \
         queue (all but what got through and what fits in the queue of 16): {}",
        blast.sent,
        blast.sent - paced.link.forwarded - 16,
        blast.link
    );
}
// ANCHOR_END: collapse

// ANCHOR: rto_laws
/// What an RTO estimator can be told.
#[derive(Clone, Debug)]
enum Event {
    Sample(Duration),
    Retransmitted(Duration),
    Timeout,
}

fn events() -> impl Strategy<Value = Vec<Event>> {
    // Short round trips as often as long ones: the floor matters for the short.
    let ms = || prop_oneof![1u64..100, 1u64..5_000].prop_map(Duration::from_millis);
    let event = prop_oneof![
        ms().prop_map(Event::Sample),
        ms().prop_map(Event::Retransmitted),
        Just(Event::Timeout),
    ];
    prop::collection::vec(event, 0..40)
}

/// RFC 6298's rules with a 200 ms floor and a 10 s ceiling.
const LAB: RtoConfig = RtoConfig {
    initial: Duration::from_secs(1),
    min: Duration::from_millis(200),
    max: Duration::from_secs(10),
    granularity: Duration::from_millis(1),
};

fn replay(events: &[Event]) -> RtoEstimator {
    let mut rto = RtoEstimator::new(LAB);
    for event in events {
        match event {
            Event::Sample(rtt) => _ = rto.on_sample(*rtt, false),
            Event::Retransmitted(rtt) => _ = rto.on_sample(*rtt, true),
            Event::Timeout => rto.on_timeout(),
        }
    }
    rto
}

proptest! {
    #[test]
    fn law_the_rto_stays_between_its_floor_and_its_ceiling(events in events()) {
        let rto = replay(&events).rto();
        prop_assert!(
            (LAB.min..=LAB.max).contains(&rto),
            "RTO {rto:?} outside [{:?}, {:?}] after {events:?}", LAB.min, LAB.max
        );
    }

    #[test]
    fn law_every_timeout_doubles_the_rto_up_to_the_ceiling(events in events()) {
        let mut rto = replay(&events);
        let before = rto.rto();
        rto.on_timeout();
        prop_assert_eq!(
            rto.rto(), (before * 2).min(LAB.max),
            "an expired timer backs off: RTO = 2 * RTO, capped (RFC 6298 (5.5))"
        );
    }

    #[test]
    fn law_constant_samples_make_the_rto_converge_to_that_rtt(
        events in events(), rtt_ms in 1u64..3_000,
    ) {
        let rtt = Duration::from_millis(rtt_ms);
        let mut rto = replay(&events);
        for _ in 0..100 {
            rto.on_sample(rtt, false);
        }
        let srtt = rto.srtt().expect("samples were taken");
        let settled = |rtt: Duration| (rtt + LAB.granularity).clamp(LAB.min, LAB.max);
        prop_assert!(srtt.abs_diff(rtt) <= rtt / 100, "SRTT {srtt:?} -> {rtt:?}");
        prop_assert!(
            (settled(rtt * 99 / 100)..=settled(rtt * 11 / 10)).contains(&rto.rto()),
            "100 samples of {rtt:?}: RTTVAR decays to ~0, so RTO ~ SRTT + G = {:?}, got {:?}",
            settled(rtt), rto.rto()
        );
    }

    #[test]
    fn law_a_sample_from_a_retransmitted_request_changes_nothing(
        events in events(), rtt_ms in 1u64..5_000,
    ) {
        let before = replay(&events);
        let mut after = before;
        let taken = after.on_sample(Duration::from_millis(rtt_ms), true);

        prop_assert!(!taken, "Karn's rule: the answer may be to either copy, so no sample");
        prop_assert_eq!(after, before, "SRTT, RTTVAR and the (backed-off) RTO are kept");
    }
}
// ANCHOR_END: rto_laws

/// A server that ignores the first request it receives and answers the
/// next one (upper-cased, so the sequence number survives).
fn deaf_once() -> (std::net::SocketAddr, thread::JoinHandle<()>) {
    let sock = net::bind_loopback(Family::V4).expect("bind the server");
    let addr = sock.local_addr().expect("server address");
    let handle = thread::spawn(move || {
        recv::recv_datagram(&sock, "a request to ignore").expect("the client sends");
        let request = recv::recv_datagram(&sock, "the retry").expect("the client retries");
        sock.send_to(&request.payload.to_ascii_uppercase(), request.from)
            .expect("reply");
    });
    (addr, handle)
}

// ANCHOR: karn_client
#[test]
fn an_answer_to_a_retried_request_gives_the_client_no_rtt_sample() {
    let (server, deaf) = deaf_once();
    let config = RtoConfig {
        initial: 20 * MS,
        ..RtoConfig::loopback()
    };
    let mut client = Client::new(
        net::bind_loopback(Family::V4).expect("bind"),
        server,
        fast_retry(),
    )
    .with_rto(RtoEstimator::new(config));

    let answer = client.request(b"again?").expect("the retry is answered");
    deaf.join().expect("the server thread ends");
    let rto = client.rto().expect("the client has an estimator");

    assert!(
        answer.attempts >= 2,
        "the first copy went unanswered: {answer:?}"
    );
    assert_eq!(
        (rto.samples(), rto.srtt()),
        (0, None),
        "the answer came to a retried request: it may answer either copy, so Karn's rule takes \
         no sample from it: {rto:?}"
    );
    assert!(
        rto.rto() >= 40 * MS,
        "the backed-off RTO (20 ms doubled at least once) is kept until a clean sample: {rto:?}"
    );
}
// ANCHOR_END: karn_client

// ANCHOR: rto_over_relay
#[test]
fn the_client_takes_one_rtt_sample_per_request_answered_at_the_first_attempt() {
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper).expect("start the echo server");
    let relay = relay::spawn(Family::V4.any_port(), echo.local_addr(), lossy(12)).expect("relay");
    let mut client = Client::new(
        net::bind_loopback(Family::V4).expect("bind"),
        relay.local_addr(),
        fast_retry(),
    )
    .with_rto(RtoEstimator::new(RtoConfig::loopback()));

    let answers: Vec<_> = (0..30)
        .map(|i| {
            client
                .request(format!("request {i}").as_bytes())
                .expect("answered")
        })
        .collect();
    let first_time = answers.iter().filter(|a| a.attempts == 1).count() as u64;
    let rto = client.rto().expect("the client has an estimator");

    assert!(
        first_time < 30,
        "seed 12 drops the very first request, so at least one answer came to a retry"
    );
    assert_eq!(
        rto.samples(),
        first_time,
        "one sample per request answered at its first attempt, none from a retried one: {rto:?}"
    );
    let config = rto.config();
    assert!((config.min..=config.max).contains(&rto.rto()), "{rto:?}");
}
// ANCHOR_END: rto_over_relay

// ANCHOR: pacing_law
proptest! {
    #[test]
    fn law_paced_send_times_never_exceed_the_rate_over_any_window(
        rate in 10u32..1_000,
        burst in 1u32..5,
        bursts in prop::collection::vec((0u64..2_000, 1usize..20), 1..10),
    ) {
        let (clock, mut pacer) = (VirtualClock::new(), Pacer::per_second(rate, burst));
        let mut times = Vec::new();
        for (idle_ms, count) in &bursts {
            clock.advance(Duration::from_millis(*idle_ms)); // the application is idle, then
            for _ in 0..*count {                            // wants to send `count` at once
                let at = pacer.schedule(clock.now());
                clock.sleep_until(at);
                times.push(at);
            }
        }

        let interval = Duration::from_secs(1) / rate;
        for window in [interval, interval * 10, Duration::from_secs(1)] {
            let allowed = burst as usize + (window.as_nanos() / interval.as_nanos()) as usize;
            prop_assert!(
                busiest_window(&times, window) <= allowed,
                "in a window of {window:?} at most {burst} + {rate}/s x window = {allowed} sends, \
                 got {}: idle time must not be saved up for a burst", busiest_window(&times, window)
            );
        }
    }
}
// ANCHOR_END: pacing_law

// ANCHOR: paced_sender
#[test]
fn a_paced_sender_spaces_its_datagrams_and_stamps_each_with_its_send_time() {
    let receiver = net::bind_loopback(Family::V4).expect("bind the receiver");
    let sock = net::bind_loopback(Family::V4).expect("bind the sender");
    let to = receiver.local_addr().expect("receiver address");
    let mut sender = PacedSender::new(&sock, to, Pacer::per_second(100, 1), VirtualClock::new());

    for _ in 0..5 {
        sender.send(b"paced").expect("send");
    }
    let stamps: Vec<Duration> = (0..5)
        .map(|_| recv::recv_datagram(&receiver, "a paced datagram").expect("arrives"))
        .map(|d| stamp_of(&d.payload).expect("a stamped datagram"))
        .collect();

    let expected = [0, 10, 20, 30, 40].map(|ms| ms * MS);
    assert_eq!(
        sender.sent_at(),
        expected,
        "100 a second: one every 10 ms of the sender's (virtual) clock, none early"
    );
    assert_eq!(stamps, expected, "each datagram carries the time it left");
}
// ANCHOR_END: paced_sender

// ANCHOR: one_per_rtt
#[test]
fn a_low_volume_sender_paces_at_most_one_datagram_per_measured_rtt_or_one_every_3_s_without() {
    let rtt = 80 * MS;
    let clock = VirtualClock::new();
    let mut pacer = Pacer::one_per_rtt(rtt);
    let mut no_rtt = Pacer::without_rtt();

    let times: Vec<Duration> = (0..10).map(|_| pacer.schedule(clock.now())).collect();
    let unknown: Vec<Duration> = (0..3).map(|_| no_rtt.schedule(clock.now())).collect();

    assert!(
        times.windows(2).all(|w| w[1] - w[0] >= rtt),
        "with an RTT estimate of {rtt:?}, ten datagrams wanted at once leave one RTT apart \
         (RFC 8085 §3.1.3): {times:?}"
    );
    assert_eq!(
        unknown,
        [0, 3, 6].map(Duration::from_secs),
        "with no RTT estimate (no return traffic to measure one): one datagram every 3 seconds \
         (RFC 8085 §3.1.3)"
    );
}
// ANCHOR_END: one_per_rtt

// ANCHOR: breaker
/// Seed 2 drops 6, 6 and 7 of the first three periods of 10 (loss 0.5):
/// what the plan decides, computed without sockets.
fn dropped_per_period(imp: &Impairments) -> Vec<usize> {
    let kept = Plan::run(imp, relay::Direction::ToServer, vec![Vec::new(); 30]);
    (0..3u64)
        .map(|p| 10 - kept.iter().filter(|k| k.index / 10 == p).count())
        .collect()
}

#[test]
fn a_circuit_breaker_stops_the_sender_after_three_lossy_periods_in_a_row() {
    let imp = Impairments::seeded(2).loss(0.5);
    assert_eq!(dropped_per_period(&imp), [6, 6, 7], "the seed's decisions");
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper).expect("start the echo server");
    let relay = relay::spawn(
        Family::V4.any_port(),
        echo.local_addr(),
        Links::to_server_only(imp),
    )
    .expect("relay");
    let sock = net::bind_loopback(Family::V4).expect("bind the sender");

    let stats =
        congestion::send_until_tripped(&sock, relay.local_addr(), BreakerSettings::default(), 20)
            .expect("the sender runs");

    assert!(
        stats.tripped,
        "three periods in a row lost over 30%: {stats:?}"
    );
    assert_eq!(
        (stats.periods, stats.sent),
        (3, 30),
        "it tripped at the end of the third lossy period and sent nothing more (of 20 periods allowed): {stats:?}"
    );
}

#[test]
fn a_circuit_breaker_never_trips_on_a_path_that_loses_nothing() {
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper).expect("start the echo server");
    let settings = BreakerSettings {
        wait: DEFAULT_TIMEOUT,
        ..BreakerSettings::default()
    };
    let sock = net::bind_loopback(Family::V4).expect("bind the sender");

    let stats =
        congestion::send_until_tripped(&sock, echo.local_addr(), settings, 5).expect("runs");

    assert_eq!(
        (stats.tripped, stats.periods, stats.answered),
        (false, 5, 50),
        "every datagram answered in all 5 periods: no loss, no trip: {stats:?}"
    );
}
// ANCHOR_END: breaker

// ---------------------------------------------------------------------------
// Exercises

// ANCHOR: exercise_14_1
/// Exercise 14.1: an RTO estimator takes no sample from a retransmitted request.
///
/// Hint: `RtoEstimator::new(RtoConfig::default())`, then one clean sample
/// `rto.on_sample(Duration::from_millis(100), false)` and a timeout
/// `rto.on_timeout()`. Copy the estimator (`let before = rto;`, it is `Copy`),
/// feed it `rto.on_sample(Duration::from_millis(900), true)` (an answer after a
/// retransmission), and check that it returned `false` and that `rto == before`
/// (`srtt()`, `rttvar()`, `rto()` unchanged: the backed-off RTO is kept). Uses
/// (imported at the top of this file): `RtoEstimator` (`new(RtoConfig)`,
/// `on_sample(&mut self, Duration, retransmitted: bool) -> bool`,
/// `on_timeout(&mut self)`, `rto() -> Duration`, `srtt() -> Option<Duration>`,
/// `samples() -> u64`), `RtoConfig`, `Duration`.
///
/// Catches: rto_ignores_karn
#[test]
#[ignore = "exercise 14.1: delete this line to start"]
fn an_rto_estimator_takes_no_sample_from_a_retransmitted_request() {
    todo!("exercise 14.1: write the test")
}
// ANCHOR_END: exercise_14_1

// ANCHOR: exercise_14_2
/// Exercise 14.2: a pacer idle for a second does not burst when it wakes.
///
/// Hint: a `VirtualClock::new()` and a `Pacer::per_second(50, 2)` (a token every
/// 20 ms, bursts of 2). Send 5 (`let at = pacer.schedule(clock.now());
/// clock.sleep_until(at);`, keep each `at`), then `clock.advance(Duration::from_secs(1))`
/// and send 10 more the same way. Among the 10 sent after the idle second, no
/// window of 20 ms may hold more than 2 + 1 = 3 (`busiest_window(&times,
/// Duration::from_millis(20))`), and the 10 take at least 8 x 20 ms. Uses
/// (imported at the top of this file): `VirtualClock` (`new()`, `advance(Duration)`),
/// `Clock` (`now()`, `sleep_until(Duration)`), `Pacer` (`per_second(rate: u32,
/// burst: u32)`, `schedule(&mut self, now: Duration) -> Duration`),
/// `busiest_window(&[Duration], Duration) -> usize`.
///
/// Catches: pacer_bursts
#[test]
#[ignore = "exercise 14.2: delete this line to start"]
fn a_pacer_idle_for_a_second_does_not_burst_when_it_wakes() {
    todo!("exercise 14.2: write the test")
}
// ANCHOR_END: exercise_14_2

// ANCHOR: exercise_14_3
/// Exercise 14.3: the more a sender offers past the bottleneck's rate, the more is wasted, never delivered.
///
/// Hint: the waste curve. Through `Bottleneck::new(100, 8)` (100 a second, a
/// queue of 8), offer half a second (`Duration::from_millis(500)`) at 1, 2, 4
/// and 8 times the rate: `congestion::offer(link, 100 * factor, duration)`
/// returns `Offered { sent, link: BottleneckStats { arrived, forwarded, dropped,
/// queued }, .. }`. Check for each run that `arrived == forwarded + dropped +
/// queued` and `forwarded <= ` what the paced run (factor 1) forwarded; and from
/// one factor to the next that `dropped` grows strictly while `forwarded` does
/// not. Print the curve as a table and see it with `cargo test --test
/// ch14_congestion the_more -- --nocapture`. Uses (imported at the top of
/// this file): `congestion::offer(Bottleneck, rate: u32, Duration) ->
/// io::Result<Offered>` (`.sent`, `.link`, `.wasted()`), `Bottleneck::new(rate:
/// u32, queue: usize)`, `Duration`.
///
/// Catches: queue_counts_no_drop
#[test]
#[ignore = "exercise 14.3: delete this line to start"]
fn the_more_a_sender_offers_past_the_rate_the_more_is_wasted_never_delivered() {
    todo!("exercise 14.3: write the test")
}
// ANCHOR_END: exercise_14_3
