//! Chapter 06: truncation.
//!
//! Claim: a datagram longer than the receive buffer is cut to the buffer's
//! size and the rest is discarded for good; the length a receive returns is
//! the only truth about where the new datagram ends. The article reads with
//! `data, client_addr = server.recvfrom(1024)`: every datagram over 1024
//! bytes loses its tail there, silently.
//!
//! Also proved here: how a program learns a datagram's true size first
//! (Linux's `MSG_PEEK | MSG_TRUNC`), and the stale bytes a reused buffer shows.
//!
//! Run: `cargo test --test ch06_truncation`

use std::ffi::c_int;
use std::io;
use std::mem::MaybeUninit;
use std::net::{SocketAddr, UdpSocket};

use rstest::rstest;
use socket2::SockRef;
use udp_lab::limits;
use udp_lab::net::{self, Family};
use udp_lab::recv;

/// The article's receive size: `recvfrom(1024)`.
const ARTICLE_BUFFER: usize = 1024;

/// A datagram longer than the article's buffer.
const LONG: usize = 2000;

/// A receiver and a sender on the loopback of `family`, and the receiver's address.
fn pair(family: Family) -> (UdpSocket, UdpSocket, SocketAddr) {
    let receiver = net::bind_loopback(family).expect("bind the receiver");
    let sender = net::bind_loopback(family).expect("bind the sender");
    let to = receiver.local_addr().expect("the receiver's address");
    (receiver, sender, to)
}

/// `len` bytes where every position is recognisable (byte i is i mod 251).
fn numbered_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Sends a 2000-byte datagram, then the 4-byte datagram "next"; returns the long one.
fn send_long_then_next(sender: &UdpSocket, to: SocketAddr) -> Vec<u8> {
    let long = numbered_bytes(LONG);
    sender.send_to(&long, to).expect("send 2000 bytes");
    sender.send_to(b"next", to).expect("send the next datagram");
    long
}

/// Reads one datagram into a buffer of `capacity` bytes; returns the bytes received.
fn read_into(sock: &UdpSocket, capacity: usize) -> Vec<u8> {
    let mut buf = vec![0u8; capacity];
    let (n, _) = recv::recv_into(sock, &mut buf, "the datagram").expect("a datagram is queued");
    buf.truncate(n);
    buf
}

/// Whether a receive failed because the datagram did not fit (Windows' `WSAEMSGSIZE`).
fn is_cut_error<T>(got: &io::Result<T>) -> bool {
    got.as_ref().is_err_and(limits::is_message_too_long)
}

/// The text of the next whole datagram.
fn next_text(sock: &UdpSocket) -> String {
    recv::recv_datagram(sock, "the datagram after the long one")
        .expect("it arrives")
        .text()
}

// ANCHOR: recv_with_flags
/// `MSG_PEEK` (look, leave the datagram queued) as the OS spells it.
#[cfg(unix)]
const MSG_PEEK: c_int = libc::MSG_PEEK;
#[cfg(windows)]
const MSG_PEEK: c_int = 2;

/// `MSG_TRUNC` as an input flag: "return the datagram's real length, even
/// if it did not fit". Linux honours it; Windows has no such flag (0: none).
#[cfg(unix)]
const MSG_TRUNC: c_int = libc::MSG_TRUNC;
#[cfg(windows)]
const MSG_TRUNC: c_int = 0;

/// `recvfrom(sock, buf, capacity, flags)`: std's `recv_from` passes no
/// flags, so this goes through socket2. Returns what the call reported (with
/// `MSG_TRUNC` on Linux: the datagram's real size) and the bytes it copied.
fn recv_with_flags(
    sock: &UdpSocket,
    capacity: usize,
    flags: c_int,
) -> io::Result<(usize, Vec<u8>)> {
    // Memory the kernel will write into: not initialised yet, and Rust says so.
    let mut buf = vec![MaybeUninit::<u8>::uninit(); capacity];
    // The same socket, seen by socket2, which passes `flags` to recvfrom.
    let (reported, _from) = SockRef::from(sock).recv_from_with_flags(&mut buf, flags)?;
    // The kernel wrote min(reported, capacity) bytes: `reported` may be larger.
    let copied = buf[..reported.min(capacity)]
        .iter()
        // SAFETY: these bytes were initialised by the receive above.
        .map(|b| unsafe { b.assume_init() })
        .collect();
    Ok((reported, copied))
}
// ANCHOR_END: recv_with_flags

// ANCHOR: truncated_rest_is_lost
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn datagram_larger_than_buffer_is_truncated_and_rest_is_lost(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let (receiver, sender, to) = pair(family);
    let long = send_long_then_next(&sender, to);

    let mut buf = [0u8; ARTICLE_BUFFER];
    let first = receiver.recv_from(&mut buf).map(|(n, _)| n);
    if cfg!(windows) {
        assert!(is_cut_error(&first), "Windows: WSAEMSGSIZE");
    } else {
        assert_eq!(
            first.ok(),
            Some(ARTICLE_BUFFER),
            "recvfrom(1024) returns 1024 of the 2000 bytes"
        );
    }
    assert!(
        buf[..] == long[..ARTICLE_BUFFER],
        "the buffer holds the datagram's first 1024 bytes"
    );

    assert_eq!(
        next_text(&receiver),
        "next",
        "the 976 bytes that did not fit are gone: the next read starts with the next datagram"
    );
}
// ANCHOR_END: truncated_rest_is_lost

// ANCHOR: peek_true_size
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn peek_with_msg_trunc_reports_the_true_size_so_nothing_is_cut(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let (receiver, sender, to) = pair(family);
    let long = numbered_bytes(LONG);
    sender.send_to(&long, to).expect("send 2000 bytes");

    // Peek into a 1-byte buffer: the datagram stays queued.
    let peeked = recv_with_flags(&receiver, 1, MSG_PEEK | MSG_TRUNC).map(|(size, _)| size);
    if cfg!(target_os = "linux") {
        let size = peeked.expect("Linux honours MSG_PEEK | MSG_TRUNC");
        assert_eq!(
            size, LONG,
            "MSG_TRUNC makes the peek report the datagram's real size"
        );
        assert!(
            read_into(&receiver, size) == long,
            "a buffer of the peeked size gets it whole"
        );
    } else if cfg!(windows) {
        assert!(is_cut_error(&peeked), "Windows: WSAEMSGSIZE");
    } else {
        let size = peeked.expect("a peek succeeds on other Unix systems");
        assert!(
            (1..=LONG).contains(&size),
            "between the bytes copied and the real size: {size}"
        );
    }
}
// ANCHOR_END: peek_true_size

// ANCHOR: msg_trunc_receive
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn msg_trunc_receive_reports_the_true_size_but_still_cuts(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let (receiver, sender, to) = pair(family);
    let long = send_long_then_next(&sender, to);

    let got = recv_with_flags(&receiver, ARTICLE_BUFFER, MSG_TRUNC);
    if cfg!(target_os = "linux") {
        let (reported, copied) = got.expect("Linux honours MSG_TRUNC");
        assert_eq!(
            reported, LONG,
            "MSG_TRUNC reports the real size, not the 1024 copied"
        );
        assert!(
            copied == long[..ARTICLE_BUFFER],
            "only the first 1024 bytes were copied"
        );
    } else if cfg!(windows) {
        assert!(is_cut_error(&got), "Windows: WSAEMSGSIZE");
    } else {
        let (reported, _) = got.expect("a receive succeeds on other Unix systems");
        assert!(
            (ARTICLE_BUFFER..=LONG).contains(&reported),
            "1024 copied or 2000 real: {reported}"
        );
    }
    assert_eq!(
        next_text(&receiver),
        "next",
        "knowing the size does not bring the 976 bytes back"
    );
}
// ANCHOR_END: msg_trunc_receive

// ANCHOR: exact_size_buffer
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn buffer_of_exactly_the_datagram_size_loses_nothing(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let (receiver, sender, to) = pair(family);
    let long = numbered_bytes(LONG);
    sender.send_to(&long, to).expect("send 2000 bytes");

    let got = read_into(&receiver, LONG);

    assert_eq!(
        got.len(),
        LONG,
        "a buffer of exactly the datagram's size receives all of it"
    );
    assert!(got == long, "and every byte is the byte that was sent");
}
// ANCHOR_END: exact_size_buffer

// ANCHOR: stale_tail
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn reused_buffer_keeps_a_stale_tail_and_only_the_first_n_bytes_are_new(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let (receiver, sender, to) = pair(family);
    sender
        .send_to(b"GOODBYE, WORLD", to)
        .expect("send the longer datagram");
    sender.send_to(b"HI", to).expect("send the shorter one");

    let mut buf = [0u8; ARTICLE_BUFFER]; // one buffer, reused for every read
    let (first, _) =
        recv::recv_into(&receiver, &mut buf, "the longer datagram").expect("it arrives");
    let (n, _) = recv::recv_into(&receiver, &mut buf, "the shorter datagram").expect("it arrives");

    assert_eq!(&buf[..n], b"HI", "buf[..n] is exactly the new datagram");
    assert_eq!(
        String::from_utf8_lossy(&buf[..first]),
        "HIODBYE, WORLD",
        "past n the buffer still holds the older datagram: printing all of it shows stale bytes"
    );
}
// ANCHOR_END: stale_tail

// ANCHOR: exercise_6_1
/// Exercise 6.1: the echo server's reply to a 2,000-byte request is whole, and a 1,024-byte buffer flags it truncated.
///
/// Hint: start the upper-casing echo server, send it 2,000 bytes of `b'a'` from
/// a client. Peek at the reply with a roomy buffer (`client.peek_from(&mut
/// [0u8; 4096])`): it is 2,000 bytes (the server kept the whole request). Then
/// read it into a 1,024-byte buffer with socket2's
/// `SockRef::from(&client).recv_from_vectored(&mut [MaybeUninitSlice::new(&mut
/// buf)])`: it returns 1,024 bytes and `RecvFlags::is_truncated()` is true (the
/// kernel's `MSG_TRUNC`). Uses: `udp_lab::lab::server::{self, Reply}` (not
/// imported here: add a `use` inside your test); `server::spawn(SocketAddr,
/// Reply) -> io::Result<ServerHandle>` (`.local_addr()`);
/// `net::bind_loopback(Family)`; `UdpSocket::peek_from(&mut [u8]) ->
/// io::Result<(usize, SocketAddr)>`; `SockRef::from(&UdpSocket)` (imported),
/// `recv_from_vectored(&mut [MaybeUninitSlice]) -> io::Result<(usize,
/// RecvFlags, SockAddr)>` (write `socket2::MaybeUninitSlice::new(&mut buf)`,
/// with `buf: [MaybeUninit<u8>; 1024]`, `MaybeUninit` imported).
///
/// Catches: truncates_at_1024, splits_long_replies
#[test]
#[ignore = "exercise 6.1: delete this line to start"]
fn echo_reply_to_a_long_request_is_whole_and_flagged_truncated_in_a_short_buffer() {
    todo!("exercise 6.1: write the test")
}
// ANCHOR_END: exercise_6_1

// ANCHOR: exercise_6_2
/// Exercise 6.2: a short request after a long one gets a reply without the long one's tail.
///
/// Hint: a server reuses one receive buffer for every datagram; only the first
/// `n` bytes of a receive are new, the rest is the last datagram's tail. Send
/// the echo server 100 bytes of `b'x'`, take the reply, then send `b"ok"`: the
/// reply must be exactly `"OK"`, 2 bytes. Uses: `udp_lab::lab::server::{self,
/// Reply}` (not imported here: add a `use` inside your test);
/// `server::spawn(SocketAddr, Reply) -> io::Result<ServerHandle>`
/// (`.local_addr()`); `net::bind_loopback(Family)`; `recv::request(&UdpSocket,
/// to: SocketAddr, payload: &[u8], what: &str) -> io::Result<Datagram>`
/// (`.payload: Vec<u8>`, `.text()`).
///
/// Catches: stale_buffer_tail
#[test]
#[ignore = "exercise 6.2: delete this line to start"]
fn echo_reply_to_a_short_request_after_a_long_one_has_no_stale_tail() {
    todo!("exercise 6.2: write the test")
}
// ANCHOR_END: exercise_6_2
