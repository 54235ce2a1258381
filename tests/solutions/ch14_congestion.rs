//! Reference solutions for the exercises of chapter 14 (tests/ch14_congestion.rs).
//!
//! Not compiled on its own: `udp-lab dev verify` splices each region over
//! the stub of the same name and proves it passes on the real library and
//! fails under every planted bug its exercise lists. Try first, then peek.

// ANCHOR: exercise_14_1
#[test]
fn an_rto_estimator_takes_no_sample_from_a_retransmitted_request() {
    let mut rto = RtoEstimator::new(RtoConfig::default());
    rto.on_sample(Duration::from_millis(100), false);
    rto.on_timeout();
    let before = rto;

    let taken = rto.on_sample(Duration::from_millis(900), true);

    assert!(
        !taken,
        "an answer after a retransmission may answer either copy: no sample"
    );
    assert_eq!(
        rto, before,
        "SRTT, RTTVAR and the backed-off RTO are all kept (Karn's rule)"
    );
    assert_eq!(
        (rto.samples(), rto.rto()),
        (1, Duration::from_secs(2)),
        "one clean sample; RTO 1 s (the floor) backed off to 2 s and kept"
    );
}
// ANCHOR_END: exercise_14_1

// ANCHOR: exercise_14_2
#[test]
fn a_pacer_idle_for_a_second_does_not_burst_when_it_wakes() {
    let clock = VirtualClock::new();
    let mut pacer = Pacer::per_second(50, 2);
    let mut send = |count: usize| -> Vec<Duration> {
        (0..count)
            .map(|_| {
                let at = pacer.schedule(clock.now());
                clock.sleep_until(at);
                at
            })
            .collect()
    };

    send(5);
    clock.advance(Duration::from_secs(1));
    let after_idle = send(10);

    let busiest = busiest_window(&after_idle, Duration::from_millis(20));
    assert!(
        busiest <= 3,
        "after an idle second, at most the bucket's 2 plus 1 token per 20 ms: got {busiest} \
         in 20 ms ({after_idle:?})"
    );
    let span = after_idle[9] - after_idle[0];
    assert!(
        span >= Duration::from_millis(8 * 20),
        "10 datagrams, bursts of 2: the other 8 wait a token each (20 ms), got {span:?}"
    );
}
// ANCHOR_END: exercise_14_2

// ANCHOR: exercise_14_3
#[test]
fn the_more_a_sender_offers_past_the_rate_the_more_is_wasted_never_delivered() {
    let link = Bottleneck::new(100, 8);
    let duration = Duration::from_millis(500);
    let runs: Vec<(u32, congestion::Offered)> = [1, 2, 4, 8]
        .into_iter()
        .map(|factor| {
            let run = congestion::offer(link, 100 * factor, duration).expect("the run");
            (factor, run)
        })
        .collect();

    println!("factor  sent  forwarded  dropped  queued  wasted");
    for (factor, run) in &runs {
        let s = run.link;
        println!(
            "{factor:>6}  {:>4}  {:>9}  {:>7}  {:>6}  {:>6}",
            run.sent,
            s.forwarded,
            s.dropped,
            s.queued,
            run.wasted()
        );
        assert_eq!(
            s.arrived,
            s.forwarded + s.dropped + s.queued,
            "x{factor}: every arrival is accounted for: {s}"
        );
        assert!(
            s.forwarded <= runs[0].1.link.forwarded,
            "x{factor} delivers no more than pacing: {s}"
        );
    }
    for pair in runs.windows(2) {
        let ((low, a), (high, b)) = (&pair[0], &pair[1]);
        assert!(
            b.link.dropped > a.link.dropped && b.link.forwarded <= a.link.forwarded,
            "from x{low} to x{high}: more dropped ({} -> {}), no more forwarded ({} -> {})",
            a.link.dropped,
            b.link.dropped,
            a.link.forwarded,
            b.link.forwarded
        );
    }
}
// ANCHOR_END: exercise_14_3
