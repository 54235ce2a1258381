//! Reference solutions for the exercises of chapter 11 (tests/ch11_impairments.rs).
//!
//! Not compiled on its own: `udp-lab dev verify` splices each region over
//! the stub of the same name and proves it passes on the real library and
//! fails under every planted bug its exercise lists. Try first, then peek.

// ANCHOR: exercise_11_1
#[test]
fn two_seeds_lose_different_datagrams_and_every_loss_is_counted() {
    use std::collections::BTreeSet;

    let inputs = numbered(40);
    let lost_with = |seed: u64| -> BTreeSet<Vec<u8>> {
        let (delivered, stats) =
            through_relay(Family::V4, Impairments::seeded(seed).loss(0.3), &inputs);
        assert_eq!(
            delivered.len() as u64 + stats.to_server.dropped,
            40,
            "seed {seed}: every datagram either arrived or was counted as dropped: {stats:?}"
        );
        assert!(
            delivered.iter().all(|d| inputs.contains(d)),
            "seed {seed}: loss invents nothing"
        );
        inputs
            .iter()
            .filter(|sent| !delivered.contains(sent))
            .cloned()
            .collect()
    };

    let (first, second) = (lost_with(1), lost_with(2));
    assert_ne!(
        first, second,
        "seeds 1 and 2 lose different datagrams: the seed decides which"
    );
}
// ANCHOR_END: exercise_11_1

// ANCHOR: exercise_11_2
#[test]
fn exactly_the_corrupted_datagrams_arrive_altered() {
    let inputs = numbered(40);

    let (delivered, stats) =
        through_relay(Family::V4, Impairments::seeded(9).corrupt(0.3), &inputs);
    let altered = delivered
        .iter()
        .zip(&inputs)
        .filter(|(got, sent)| got != sent)
        .count() as u64;

    assert_eq!(
        delivered.len(),
        40,
        "corruption alone neither drops nor adds"
    );
    assert!(
        stats.to_server.corrupted > 0,
        "seed 9 at 30% corrupts some of 40: {stats:?}"
    );
    assert_eq!(
        altered, stats.to_server.corrupted,
        "every counted corruption, and only those, arrived altered"
    );
}
// ANCHOR_END: exercise_11_2

// ANCHOR: exercise_11_3
#[test]
fn held_datagram_is_released_by_the_clock_when_no_overtaker_comes() {
    let sink = net::bind_loopback(Family::V4).expect("bind the sink");
    let hold_all = Impairments::seeded(2)
        .reorder(4, 1.0)
        .hold(Duration::from_millis(20));
    let relay = relay::spawn(
        Family::V4.any_port(),
        sink.local_addr().expect("sink"),
        relay::Links::to_server_only(hold_all),
    )
    .expect("start the relay");
    let client = net::bind_loopback(Family::V4).expect("bind the client");

    client
        .send_to(b"alone", relay.local_addr())
        .expect("send_to the relay");
    let got = recv::recv_datagram(&sink, "the held datagram").expect("released by the clock");

    assert_eq!(
        got.payload, b"alone",
        "held for overtakers that never came, then released by its deadline"
    );
    assert_eq!(
        relay.stats().to_server.reordered,
        0,
        "nobody overtook it: it was held, not reordered"
    );
}
// ANCHOR_END: exercise_11_3
