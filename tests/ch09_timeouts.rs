//! Chapter 09: timeouts.
//!
//! Claim: a receive with no read timeout waits forever when the reply is
//! lost; a read timeout turns that wait into an error (`WouldBlock` on Unix,
//! `TimedOut` on Windows), and a non-blocking socket does not wait at all.
//! The article's client calls `client.recvfrom(1024)` with no timeout: one
//! lost reply and it hangs.
//!
//! Run: `cargo test --test ch09_timeouts`

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rstest::rstest;
use udp_lab::net::{self, Family, DEFAULT_TIMEOUT};
use udp_lab::recv;

/// The read timeout the tests set: short, so the suite stays fast.
const READ_TIMEOUT: Duration = Duration::from_millis(200);

/// How early a timed-out read may return: the kernel counts time in clock
/// ticks (Linux: 1, 4 or 10 ms; Windows: about 15.6 ms) and the first tick
/// of a wait is only partly waited.
const ONE_TICK: Duration = Duration::from_millis(20);

/// A "server" that receives requests and never answers (every reply is
/// lost), and its address.
fn silent_server(family: Family) -> (UdpSocket, SocketAddr) {
    let server = net::bind_loopback(family).expect("bind the silent server");
    let addr = server.local_addr().expect("the server's address");
    (server, addr)
}

/// The error a timed-out read returns on this OS.
fn timeout_kind() -> io::ErrorKind {
    if cfg!(windows) {
        io::ErrorKind::TimedOut
    } else {
        io::ErrorKind::WouldBlock
    }
}

// ANCHOR: read_timeout
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn read_timeout_turns_a_lost_reply_into_an_error(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let (_server, server) = silent_server(family);
    let client = net::bind_loopback(family).expect("bind the client");
    client
        .set_read_timeout(Some(READ_TIMEOUT))
        .expect("set the read timeout");
    client.send_to(b"hello", server).expect("send the request");

    let started = Instant::now();
    let err = client
        .recv_from(&mut [0u8; 1024])
        .expect_err("no reply comes: the read must give up");
    let waited = started.elapsed();

    assert_eq!(
        err.kind(),
        timeout_kind(),
        "Unix: WouldBlock (EAGAIN), Windows: TimedOut; got {err}"
    );
    assert!(
        recv::is_timeout(&err),
        "recv::is_timeout accepts both kinds"
    );
    assert!(
        waited >= READ_TIMEOUT - ONE_TICK,
        "it gave up only after about {READ_TIMEOUT:?}, not {waited:?}"
    );
}
// ANCHOR_END: read_timeout

// ANCHOR: nonblocking
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn nonblocking_read_returns_would_block_without_waiting(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let sock = net::bind_loopback(family).expect("bind a socket");
    sock.set_read_timeout(None)
        .expect("no read timeout: a blocking read would wait forever");
    sock.set_nonblocking(true)
        .expect("make the socket non-blocking");

    // Read in a helper thread, so that a read that does wait fails the test instead of hanging it.
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(sock.recv_from(&mut [0u8; 1024]).map(|(n, _)| n)));
    let got = rx
        .recv_timeout(DEFAULT_TIMEOUT)
        .expect("a non-blocking read returns at once, never waits");

    let err = got.expect_err("nothing was sent, so there is nothing to read");
    assert_eq!(
        err.kind(),
        io::ErrorKind::WouldBlock,
        "every OS: WouldBlock, 'try again later'; got {err}"
    );
}
// ANCHOR_END: nonblocking

// ANCHOR: zero_timeout
#[test]
fn zero_read_timeout_is_rejected_as_invalid_input() {
    let sock = net::bind_loopback(Family::V4).expect("bind a socket");

    let err = sock
        .set_read_timeout(Some(Duration::ZERO))
        .expect_err("std refuses a zero timeout");

    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "std says: {err}");
    assert_eq!(
        sock.read_timeout().expect("read the timeout back"),
        Some(DEFAULT_TIMEOUT),
        "the refused call changed nothing (to the OS, 0 would mean 'wait forever')"
    );
}
// ANCHOR_END: zero_timeout

// ANCHOR: exercise_9_1
/// Exercise 9.1: a zero write timeout is rejected too.
///
/// Hint: the same as the read timeout, with
/// `set_write_timeout(Some(Duration::ZERO))`. Uses (imported at the top of this
/// file unless said): `net::bind_loopback(Family) -> io::Result<UdpSocket>`;
/// `UdpSocket::set_write_timeout(Option<Duration>) -> io::Result<()>`;
/// `io::ErrorKind::InvalidInput`.
#[test]
#[ignore = "exercise 9.1: delete this line to start"]
fn zero_write_timeout_is_rejected_too() {
    todo!("exercise 9.1: write the test")
}
// ANCHOR_END: exercise_9_1

// ANCHOR: exercise_9_2
/// Exercise 9.2: a socket still receives after a timed-out read.
///
/// Hint: let one read time out (nothing was sent yet), then send a datagram to
/// the same socket and receive it with `recv::recv_datagram`. Uses (imported at
/// the top of this file unless said): `net::bind_loopback(Family) ->
/// io::Result<UdpSocket>`; `set_read_timeout(Some(Duration))`;
/// `recv::is_timeout(&io::Error) -> bool`; `recv::recv_datagram(&UdpSocket,
/// what: &str) -> io::Result<Datagram>` (`.payload: Vec<u8>`, `.from`,
/// `.text()`).
#[test]
#[ignore = "exercise 9.2: delete this line to start"]
fn socket_still_receives_after_a_timed_out_read() {
    todo!("exercise 9.2: write the test")
}
// ANCHOR_END: exercise_9_2
