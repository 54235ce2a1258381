//! Chapter 02: empty datagrams.
//!
//! Claim: a UDP datagram may carry zero bytes of payload, and it is still a
//! datagram: it is sent as 0 bytes, received as 0 bytes from its sender, takes
//! one receive of its own, and the echo server answers it with an empty reply.
//! The article: "客户端允许发空" ("the client is allowed to send empty").
//!
//! Contrast: on a TCP stream an empty write sends nothing at all, and a read
//! of 0 bytes means "the peer closed", not "an empty message".
//!
//! Run: `cargo test --test ch02_empty_datagrams`

use std::io::{Read, Write};
use std::net::{Shutdown, UdpSocket};
use std::ops::RangeInclusive;
use std::time::{Duration, Instant};

use rstest::rstest;
use udp_lab::lab::kernel::{self, SocketRow};
use udp_lab::lab::server::{self, Reply};
use udp_lab::net::{self, Family, DEFAULT_TIMEOUT, SILENCE};
use udp_lab::recv;
use udp_lab::tcp;
use udp_lab::tune::{self, Tuning};

// ANCHOR: empty_datagram_round_trip
#[rstest]
#[case::ipv4(Family::V4, "127.0.0.1:0")]
#[case::ipv6(Family::V6, "[::1]:0")]
fn empty_datagram_is_delivered_as_zero_bytes_from_its_sender(
    #[case] family: Family,
    #[case] any_port: &str,
) {
    if !net::require(family) {
        return;
    }
    let sender = UdpSocket::bind(any_port).expect("bind the sender");
    let receiver = UdpSocket::bind(any_port).expect("bind the receiver");
    receiver
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("a read timeout: if nothing arrives, the test fails instead of hanging");

    let sent = sender
        .send_to(b"", receiver.local_addr().expect("receiver address"))
        .expect("send_to");
    let mut buf = [0u8; 1024];
    let (n, from) = receiver
        .recv_from(&mut buf)
        .expect("an empty datagram is delivered within 5 s");

    assert_eq!(
        sent, 0,
        "send_to reports the payload bytes it sent: none, but the call succeeded"
    );
    assert_eq!(
        n, 0,
        "recv_from returns 0 bytes: the datagram arrived, with an empty payload"
    );
    assert_eq!(
        from,
        sender.local_addr().expect("sender address"),
        "an empty datagram still carries its source address in the IP and UDP headers"
    );
}
// ANCHOR_END: empty_datagram_round_trip

// ANCHOR: empty_datagram_takes_one_receive
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn empty_datagram_takes_one_receive_of_its_own(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let sender = net::bind_loopback(family).expect("bind the sender");
    let receiver = net::bind_loopback(family).expect("bind the receiver");
    let to = receiver.local_addr().expect("receiver address");

    sender.send_to(b"", to).expect("send the empty datagram");
    sender.send_to(b"x", to).expect("send \"x\"");
    let first =
        recv::recv_datagram(&receiver, "the first datagram (empty)").expect("first receive");
    let second =
        recv::recv_datagram(&receiver, "the second datagram (\"x\")").expect("second receive");

    assert_eq!(
        first.text(),
        "",
        "the first receive returns the empty datagram: it is queued like any other, not skipped"
    );
    assert_eq!(
        second.text(),
        "x",
        "only the second receive returns \"x\": the empty one used up a receive"
    );
}
// ANCHOR_END: empty_datagram_takes_one_receive

// ANCHOR: echo_server_empty_reply
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn echo_server_answers_an_empty_request_with_an_empty_reply(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let echo = server::spawn(family.any_port(), Reply::Upper).expect("start the echo server");
    let client = net::bind_loopback(family).expect("bind the client");

    let reply = recv::request(
        &client,
        echo.local_addr(),
        b"",
        "the reply to an empty request",
    )
    .expect("the server answers an empty request: b''.upper() is b'', sent back as a datagram");

    assert_eq!(
        reply.payload.len(),
        0,
        "the reply is empty: data.upper() of nothing is nothing"
    );
    assert_eq!(
        reply.from,
        echo.local_addr(),
        "the empty reply comes from the server's address"
    );
    assert_eq!(
        echo.shutdown().empty,
        1,
        "the server counted exactly one empty request"
    );
}
// ANCHOR_END: echo_server_empty_reply

// ANCHOR: empty_datagrams_fill_a_buffer
/// Empty datagrams sent at once to a receiver that does not read yet.
const EMPTY_BLAST: u64 = 300;

/// How many queued datagrams of `truesize` bytes a receive buffer of
/// `budget` bytes keeps. Linux 6.18 and later queue a datagram only if it
/// fits, or if the queue is empty (measured on 6.18). Linux 5.15 to 6.17
/// queue one whenever the queue is not yet over budget: one more (read from
/// their source, not run here), unless a distribution backported the 6.18
/// rule without changing the version number, so both are accepted there.
fn kept_by_kernel(budget: u64, truesize: u64) -> RangeInclusive<u64> {
    let fits = (budget / truesize).max(1);
    if kernel::version() >= Some((6, 18)) {
        fits..=fits
    } else {
        fits..=fits + 1
    }
}

#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn a_receive_buffer_holds_a_predictable_number_of_empty_datagrams_then_drops_the_rest(
    #[case] family: Family,
) {
    if !net::require(family) {
        return;
    }
    if !cfg!(target_os = "linux") {
        return net::skip_even_under_ci("this test reads Linux's /proc/net/udp");
    }
    let receiver = receiver_of_the_default_size(family);
    let sender = net::bind_loopback(family).expect("bind the sender");
    let to = receiver.local_addr().expect("receiver address");

    sender.send_to(b"", to).expect("send one empty datagram");
    receiver
        .peek_from(&mut [])
        .expect("wait until it is queued");
    let truesize = kernel::queued_bytes(&receiver).expect("what its queue is charged");
    for _ in 1..EMPTY_BLAST {
        sender
            .send_to(b"", to)
            .expect("send_to returns Ok, lost or not");
    }
    let dropped = once_all_accounted_for(&receiver, truesize).drops;
    let received = count_until_silence(&receiver);

    let budget = tune::recv_buffer_size(&receiver).expect("read SO_RCVBUF") as u64;
    let expected = kept_by_kernel(budget, truesize);
    println!(
        "{family}: truesize {truesize} B, budget {budget} B, kept {received} of {EMPTY_BLAST}"
    );
    assert!(
        truesize >= 256,
        "an empty datagram is charged its truesize, hundreds of bytes of bookkeeping for 0 bytes \
         of payload: expected at least 256 B, got {truesize} B"
    );
    assert!(
        expected.contains(&received) && received + dropped == EMPTY_BLAST,
        "a {budget} B buffer at {truesize} B per empty datagram keeps {expected:?} of \
         {EMPTY_BLAST} on Linux {} and drops the rest: got {received} received, {dropped} dropped",
        kernel::version().map_or("(unknown)".to_string(), |(major, minor)| format!(
            "{major}.{minor}"
        ))
    );
}
// ANCHOR_END: empty_datagrams_fill_a_buffer

/// A receiver whose buffer is the size Linux gives by default
/// (`net.core.rmem_default`, 212,992 B), whatever this machine's default:
/// 106,496 B requested = 212,992 B effective, because Linux doubles the
/// request.
fn receiver_of_the_default_size(family: Family) -> UdpSocket {
    let tuning = Tuning {
        recv_buffer: Some(106_496),
        ..Tuning::default()
    };
    tune::bind_tuned(family.any_port(), tuning).expect("bind the receiver")
}

/// The receiver's row of `/proc/net/udp` once each of the [`EMPTY_BLAST`]
/// datagrams is queued or dropped: on loopback they are when `send_to`
/// returns, unless the kernel handed the work to its `ksoftirqd` thread.
fn once_all_accounted_for(receiver: &UdpSocket, truesize: u64) -> SocketRow {
    let deadline = Instant::now() + DEFAULT_TIMEOUT;
    loop {
        let row = kernel::socket_row(receiver.local_addr().expect("address")).expect("its row");
        if row.rx_queue / truesize + row.drops >= EMPTY_BLAST || Instant::now() > deadline {
            return row;
        }
        std::thread::yield_now();
    }
}

/// Receives until nothing has come for [`SILENCE`]; returns how many came.
fn count_until_silence(receiver: &UdpSocket) -> u64 {
    let mut count = 0;
    while recv::recv_within(receiver, SILENCE)
        .expect("receive")
        .is_some()
    {
        count += 1;
    }
    count
}

// ANCHOR: tcp_empty_write
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn on_tcp_zero_bytes_is_never_a_message_only_the_end_of_the_stream(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let mut pair = tcp::tcp_pair(family, true).expect("a connected TCP pair on loopback");
    let mut buf = [0u8; 1024];

    assert_eq!(
        pair.client.write(b"").expect("empty write"),
        0,
        "an empty write writes 0 bytes"
    );
    pair.client.write_all(b"x").expect("write \"x\"");
    let first = pair.server.read(&mut buf).expect("first read");
    pair.client
        .shutdown(Shutdown::Write)
        .expect("close the client's sending side (FIN)");
    let after_close = pair
        .server
        .read(&mut buf)
        .expect("read after the peer closed");

    assert_eq!(
        &buf[..first],
        b"x",
        "the first read returns \"x\" (1 byte), not 0: the empty write left no trace in the \
         stream, whereas UDP's first receive returned the empty datagram"
    );
    assert_eq!(
        after_close, 0,
        "a TCP read returns 0 bytes only when the peer has closed: end of stream"
    );
}
// ANCHOR_END: tcp_empty_write

// ANCHOR: empty_counted_as_empty
/// The server counts an empty request as empty (`ServerStats::empty`)
/// whatever it received before: a 0-byte datagram is a message of its own,
/// not what is left of the last one.
#[test]
fn echo_server_counts_an_empty_request_after_a_longer_one_as_empty() {
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper).expect("start the echo server");
    let client = net::bind_loopback(Family::V4).expect("bind the client");
    for request in [&b"not empty"[..], b""] {
        recv::request(&client, echo.local_addr(), request, "the echo reply")
            .expect("the echo server answers each request");
    }
    let stats = echo.shutdown();

    assert_eq!(
        (stats.received, stats.empty),
        (2, 1),
        "expected 2 requests received, 1 of them empty; got {stats:?}: the server saw the empty \
         one as longer than 0 bytes"
    );
}
// ANCHOR_END: empty_counted_as_empty

// ANCHOR: exercise_2_1
/// Exercise 2.1: the echo server answers two empty requests with two empty replies, then still serves.
///
/// Hint: for each family that `net::family_available` allows: start
/// `server::spawn(family.any_port(), Reply::Upper)`, send `b""` twice with
/// `recv::request` (each reply must be 0 bytes), then send `b"still there"`:
/// the reply must be `"STILL THERE"`. A 0-byte datagram is a message, not TCP's
/// end of stream: a server must neither skip it nor stop on it. Uses (imported
/// at the top of this file): `Family::ALL`, `net::family_available(Family) ->
/// bool`; `net::bind_loopback(Family) -> io::Result<UdpSocket>`;
/// `server::spawn(SocketAddr, Reply) -> io::Result<ServerHandle>`
/// (`.local_addr()`); `recv::request(&UdpSocket, to: SocketAddr, payload:
/// &[u8], what: &str) -> io::Result<Datagram>` (`.payload: Vec<u8>`, `.text()
/// -> String`).
///
/// Catches: ignores_empty_request, stops_on_empty_request
#[test]
#[ignore = "exercise 2.1: delete this line to start"]
fn echo_server_answers_two_empty_requests_then_still_serves() {
    todo!("exercise 2.1: write the test")
}
// ANCHOR_END: exercise_2_1

// ANCHOR: exercise_2_2
/// Exercise 2.2: an empty datagram through the threaded server gets Thread-1 [].
///
/// Hint: start the server with `Reply::Threaded` and send it `b""` with
/// `recv::request`. A new server names its first handler thread `Thread-1`, and
/// the reply is `"<thread name> [<REQUEST UPPER-CASED>]"`. Do it for each
/// family `net::family_available` allows. Uses (imported at the top of this
/// file): `Family::ALL`, `net::family_available(Family) -> bool`;
/// `net::bind_loopback(Family) -> io::Result<UdpSocket>`;
/// `server::spawn(SocketAddr, Reply) -> io::Result<ServerHandle>`
/// (`.local_addr()`); `recv::request(&UdpSocket, to: SocketAddr, payload:
/// &[u8], what: &str) -> io::Result<Datagram>` (`.text() -> String`).
///
/// Catches: ignores_empty_request, stops_on_empty_request
#[test]
#[ignore = "exercise 2.2: delete this line to start"]
fn empty_datagram_through_the_threaded_server_gets_thread_1_brackets() {
    todo!("exercise 2.2: write the test")
}
// ANCHOR_END: exercise_2_2
