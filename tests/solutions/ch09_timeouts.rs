//! Reference solutions for the exercises of chapter 09 (tests/ch09_timeouts.rs).
//!
//! Not compiled on its own: `udp-lab exercises --verify` splices each region
//! over the stub of the same name and proves it passes. Try first, then peek.

// ANCHOR: exercise_9_1
/// Hint: the same as the read timeout, with `set_write_timeout(Some(Duration::ZERO))`.
#[test]
fn zero_write_timeout_is_rejected_too() {
    let sock = net::bind_loopback(Family::V4).expect("bind a socket");

    let err = sock
        .set_write_timeout(Some(Duration::ZERO))
        .expect_err("std refuses a zero timeout");

    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "std says: {err}");
    assert_eq!(
        sock.write_timeout().expect("read the timeout back"),
        None,
        "still no write timeout"
    );
}
// ANCHOR_END: exercise_9_1

// ANCHOR: exercise_9_2
/// Hint: let one read time out (nothing was sent yet), then send a datagram to
/// the same socket and receive it with `recv::recv_datagram`.
#[test]
fn socket_still_receives_after_a_timed_out_read() {
    let receiver = net::bind_loopback(Family::V4).expect("bind the receiver");
    receiver
        .set_read_timeout(Some(READ_TIMEOUT))
        .expect("set a short read timeout");
    let err = receiver
        .recv_from(&mut [0u8; 64])
        .expect_err("nothing was sent yet");
    assert!(
        recv::is_timeout(&err),
        "the first read times out, got {err}"
    );

    let sender = net::bind_loopback(Family::V4).expect("bind the sender");
    sender
        .send_to(b"late", receiver.local_addr().expect("address"))
        .expect("send after the timeout");
    receiver
        .set_read_timeout(Some(DEFAULT_TIMEOUT))
        .expect("wait long enough now");
    let got =
        recv::recv_datagram(&receiver, "the datagram sent after the timeout").expect("it arrives");

    assert_eq!(
        got.text(),
        "late",
        "a timeout is not an error state: the socket works as before"
    );
}
// ANCHOR_END: exercise_9_2
