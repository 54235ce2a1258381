//! Reference solutions for the exercises of chapter 06 (tests/ch06_truncation.rs).
//!
//! Not compiled on its own: `udp-lab exercises --verify` splices each region
//! over the stub of the same name and proves it passes. Try first, then peek.

// ANCHOR: exercise_6_1
/// Hint: socket2's `SockRef::from(&sock).recv_from_vectored(&mut [MaybeUninitSlice::new(&mut buf)])`
/// returns `RecvFlags`; `is_truncated()` is the kernel's `MSG_TRUNC` output flag.
/// Send 2000 bytes then 1000 bytes, read both into 1024-byte buffers.
#[test]
fn vectored_receive_flags_a_truncated_datagram() {
    let (receiver, sender, to) = pair(Family::V4);
    sender
        .send_to(&numbered_bytes(LONG), to)
        .expect("send 2000 bytes");
    sender
        .send_to(&numbered_bytes(1000), to)
        .expect("send 1000 bytes");

    let sock = SockRef::from(&receiver);
    let mut seen = Vec::new();
    for _ in 0..2 {
        let mut buf = [MaybeUninit::<u8>::uninit(); ARTICLE_BUFFER];
        let (n, flags, _) = sock
            .recv_from_vectored(&mut [socket2::MaybeUninitSlice::new(&mut buf)])
            .expect("both datagrams are queued");
        seen.push((n, flags.is_truncated()));
    }

    assert_eq!(
        seen,
        [(ARTICLE_BUFFER, true), (1000, false)],
        "the 2000-byte datagram is cut to 1024 and flagged; the 1000-byte one fits and is not"
    );
}
// ANCHOR_END: exercise_6_1

// ANCHOR: exercise_6_2
/// Hint: send two datagrams, receive the first into an empty buffer
/// (`recv_from(&mut [])`), then receive normally: what comes is the second.
/// Unix returns `Ok((0, _))`; Windows reports `WSAEMSGSIZE` (use `cfg!(windows)`).
#[test]
fn read_into_empty_buffer_consumes_a_whole_datagram() {
    let (receiver, sender, to) = pair(Family::V4);
    sender
        .send_to(b"first", to)
        .expect("send the first datagram");
    sender
        .send_to(b"second", to)
        .expect("send the second datagram");

    let empty = receiver.recv_from(&mut []);
    if cfg!(windows) {
        assert!(
            empty.is_err_and(|e| limits::is_message_too_long(&e)),
            "Windows: WSAEMSGSIZE"
        );
    } else {
        let (n, _) = empty.expect("Unix: an empty read succeeds");
        assert_eq!(
            n, 0,
            "nothing fits in an empty buffer, so 0 bytes are copied"
        );
    }
    let next = recv::recv_datagram(&receiver, "the second datagram").expect("it arrives");

    assert_eq!(
        next.text(),
        "second",
        "the empty read took the whole first datagram off the queue"
    );
}
// ANCHOR_END: exercise_6_2
