//! Reference solutions for the exercises of chapter 06 (tests/ch06_truncation.rs).
//!
//! Not compiled on its own: `udp-lab dev verify` splices each region over
//! the stub of the same name and proves it passes on the real library and
//! fails under every planted bug its exercise lists. Try first, then peek.

// ANCHOR: exercise_6_1
#[test]
fn echo_reply_to_a_long_request_is_whole_and_flagged_truncated_in_a_short_buffer() {
    use udp_lab::lab::server::{self, Reply};

    let echo = server::spawn(Family::V4.any_port(), Reply::Upper).expect("start the echo server");
    let client = net::bind_loopback(Family::V4).expect("bind the client");
    client
        .send_to(&[b'a'; LONG], echo.local_addr())
        .expect("send 2000 bytes");

    let (whole, _) = client
        .peek_from(&mut [0u8; 4096])
        .expect("peek at the reply");
    assert_eq!(
        whole, LONG,
        "the server read the whole request and answered all of it, in one datagram"
    );

    let mut buf = [MaybeUninit::<u8>::uninit(); 1024];
    let (n, flags, _) = SockRef::from(&client)
        .recv_from_vectored(&mut [socket2::MaybeUninitSlice::new(&mut buf)])
        .expect("receive into 1024 bytes");
    assert!(
        n == 1024 && flags.is_truncated(),
        "a 2000-byte reply read into 1024 bytes: 1024 bytes and MSG_TRUNC; got {n} bytes, \
         truncated: {}",
        flags.is_truncated()
    );
}
// ANCHOR_END: exercise_6_1

// ANCHOR: exercise_6_2
#[test]
fn echo_reply_to_a_short_request_after_a_long_one_has_no_stale_tail() {
    use udp_lab::lab::server::{self, Reply};

    let echo = server::spawn(Family::V4.any_port(), Reply::Upper).expect("start the echo server");
    let client = net::bind_loopback(Family::V4).expect("bind the client");
    recv::request(&client, echo.local_addr(), &[b'x'; 100], "the long reply")
        .expect("the long request is answered");

    let reply = recv::request(&client, echo.local_addr(), b"ok", "the short reply")
        .expect("the short request is answered");

    assert_eq!(
        reply.text(),
        "OK",
        "only the first n bytes of a reused buffer are the new datagram; got {} bytes",
        reply.payload.len()
    );
}
// ANCHOR_END: exercise_6_2
