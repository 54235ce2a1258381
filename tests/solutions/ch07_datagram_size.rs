//! Reference solutions for the exercises of chapter 07 (tests/ch07_datagram_size.rs).
//!
//! Not compiled on its own: `udp-lab exercises --verify` splices each region
//! over the stub of the same name and proves it passes. Try first, then peek.

// ANCHOR: exercise_7_1
/// Hint: `connect` the sender to the receiver, then `send` (not `send_to`)
/// `family.max_payload() + 1` bytes; compare `raw_os_error()` with `limits::EMSGSIZE`.
#[test]
fn connected_oversized_send_fails_with_emsgsize_too() {
    let (_receiver, sender, to) = pair(Family::V4);
    sender
        .connect(to)
        .expect("connect the sender to the receiver");

    let err = sender
        .send(&vec![b'x'; Family::V4.max_payload() + 1])
        .expect_err("connecting changes nothing about the size limit");

    assert_eq!(
        err.raw_os_error(),
        Some(limits::EMSGSIZE),
        "a connected send of 65508 bytes fails like send_to: EMSGSIZE, got {err}"
    );
}
// ANCHOR_END: exercise_7_1

// ANCHOR: exercise_7_2
/// Hint: after the failed send of 65508 bytes, `recv::recv_within(&receiver, net::SILENCE)`
/// must return `Ok(None)`: not even a cut-down datagram left the sender.
#[test]
fn oversized_send_sends_nothing_at_all() {
    let (receiver, sender, to) = pair(Family::V4);
    let too_big = vec![b'x'; Family::V4.max_payload() + 1];
    assert!(
        sender.send_to(&too_big, to).is_err(),
        "65508 bytes are refused"
    );

    let arrived = recv::recv_within(&receiver, net::SILENCE).expect("waiting for silence");

    assert!(
        arrived.is_none(),
        "EMSGSIZE is decided before sending: nothing, not even a cut-down datagram, arrives; got {:?} bytes",
        arrived.map(|d| d.payload.len())
    );
}
// ANCHOR_END: exercise_7_2
