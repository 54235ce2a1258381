//! Reference solutions for the exercises of chapter 16 (tests/ch16_path_mtu.rs).
//!
//! Not compiled on its own: `udp-lab dev verify` splices each region over
//! the stub of the same name and proves it passes on the real library and
//! fails under every planted bug its exercise lists. Try first, then peek.

// ANCHOR: exercise_16_1
#[test]
fn dont_fragment_over_1280_lets_1252_bytes_go_and_refuses_1253() {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::pair(1280));
    let (sender, receiver) = connected_pair(lab.host("a"), lab.host("b"), Family::V4);
    pmtu::set_dont_fragment(&sender, true).expect("don't fragment");

    let fits = sender.send(&[1u8; 1252]);
    let too_big = sender.send(&[1u8; 1253]);

    assert_eq!(
        fits.ok(),
        Some(1252),
        "1280 - 20 (IPv4) - 8 (UDP) = 1252 bytes fit"
    );
    let err = too_big.expect_err("1253 bytes need fragments, which are forbidden");
    assert!(limits::is_message_too_long(&err), "EMSGSIZE, got {err:?}");
    let got = receive(&receiver, "the 1252 bytes").expect("they arrive");
    assert_eq!(
        got.payload.len(),
        1252,
        "the datagram that fits arrived whole"
    );
}
// ANCHOR_END: exercise_16_1

// ANCHOR: exercise_16_2
#[test]
fn a_sender_that_learns_the_path_mtu_resends_in_pieces_that_fit() {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::routed(1500, 1280));
    let (sender, receiver) = connected_pair(lab.host("a"), lab.host("b"), Family::V4);
    pmtu::set_dont_fragment(&sender, true).expect("don't fragment");
    let message: Vec<u8> = (0..4000u32).map(|i| (i % 251) as u8).collect();

    sender
        .send(&message[..1400])
        .expect("the probe fits a's own link");
    kernel::wait_for_error(&sender, DEFAULT_TIMEOUT).expect("the router says: too big");
    let _ = sender.take_error(); // the EMSGSIZE the ICMP left pending
    let chunk = pmtu::path_mtu(&sender).expect("IP_MTU") - headers(Family::V4);
    for piece in message.chunks(chunk) {
        sender.send(piece).expect("each piece fits the path");
    }
    let mut received = Vec::new();
    while received.len() < message.len() {
        let got = receive(&receiver, "the next piece").expect("every piece arrives");
        assert!(
            got.payload.len() <= 1252,
            "a piece of {} bytes: larger than the path allows",
            got.payload.len()
        );
        received.extend_from_slice(&got.payload);
    }

    assert!(
        received == message,
        "the 4000 bytes arrived, in pieces that fit the 1280-byte link"
    );
}
// ANCHOR_END: exercise_16_2
