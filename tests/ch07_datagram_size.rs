//! Chapter 07: datagram size.
//!
//! Claim: one UDP datagram carries at most 65507 bytes over IPv4 and 65527
//! over IPv6; up to that size it arrives whole (on loopback), one byte more
//! and `send_to` fails with `EMSGSIZE` before anything is sent. The article
//! never says how big a message may be; its `recvfrom(1024)` assumes small.
//!
//! Also proved here, as a proptest law: every size from 0 to the family's
//! largest (65507 over IPv4, 65527 over IPv6) makes the round trip through
//! the echo server intact.
//!
//! Run: `cargo test --test ch07_datagram_size`

use std::net::{SocketAddr, UdpSocket};

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};
use rstest::rstest;
use serial_test::file_serial;
use udp_lab::lab::kernel;
use udp_lab::lab::server::{self, Reply};
use udp_lab::limits;
use udp_lab::net::{self, Family};
use udp_lab::recv;
use udp_lab::tune;

/// Socket buffers big enough for the largest datagram on every OS: macOS
/// refuses to send a datagram larger than the send buffer (9216 bytes by default).
const ROOMY: usize = 256 * 1024;

/// A socket on the loopback of `family` whose buffers hold the largest datagram.
fn roomy_socket(family: Family) -> UdpSocket {
    let sock = net::bind_loopback(family).expect("bind a socket");
    tune::set_send_buffer_size(&sock, ROOMY).expect("raise SO_SNDBUF");
    tune::set_recv_buffer_size(&sock, ROOMY).expect("raise SO_RCVBUF");
    sock
}

/// A receiver and a sender that both fit the largest datagram, and where to send.
fn pair(family: Family) -> (UdpSocket, UdpSocket, SocketAddr) {
    let receiver = roomy_socket(family);
    let to = receiver.local_addr().expect("the receiver's address");
    (receiver, roomy_socket(family), to)
}

/// `len` bytes in a pattern that starts at `seed`, so a shifted or
/// repeated piece would not compare equal.
fn patterned(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i % 251) as u8))
        .collect()
}

// ANCHOR: largest_payload
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
#[file_serial(frag)] // see largest_ipv6_datagram_is_fragmented_even_on_loopback
fn largest_payload_arrives_intact(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let (receiver, sender, to) = pair(family);
    let largest = patterned(family.max_payload(), 7);

    sender
        .send_to(&largest, to)
        .expect("the largest payload is accepted");
    let got =
        recv::recv_datagram(&receiver, "the largest datagram").expect("it arrives on loopback");

    assert_eq!(
        got.payload.len(),
        family.max_payload(),
        "{family}: all the bytes, in one datagram"
    );
    assert!(
        got.payload == largest,
        "{family}: every byte is the byte that was sent"
    );
}
// ANCHOR_END: largest_payload

// ANCHOR: ipv6_fragmented
#[test]
// Ip6FragCreates and Ip6ReasmOKs count for the whole network namespace. The
// tests here that send IPv6 datagrams too large for one loopback packet hold
// the file lock `frag`, so only this test's datagrams raise them meanwhile;
// other programs still may: so `>=`, never `==`.
#[file_serial(frag)]
fn largest_ipv6_datagram_is_fragmented_even_on_loopback() {
    const COUNT: u64 = 5;
    if !net::require(Family::V6) {
        return;
    }
    if !cfg!(target_os = "linux") {
        return net::skip_even_under_ci("these counters are Linux's /proc/net/snmp6");
    }
    let counters = || {
        let read = |name| kernel::snmp6(name).expect("a counter of /proc/net/snmp6");
        (read("Ip6FragCreates"), read("Ip6ReasmOKs"))
    };
    let (receiver, sender, to) = pair(Family::V6);
    let largest = patterned(Family::V6.max_payload(), 3);

    let before = counters();
    for _ in 0..COUNT {
        sender
            .send_to(&largest, to)
            .expect("send the largest IPv6 payload");
        let got = recv::recv_datagram(&receiver, "the largest IPv6 datagram").expect("it arrives");
        assert!(got.payload == largest, "it arrives whole, as one datagram");
    }
    let after = counters();

    let (created, reassembled) = (after.0 - before.0, after.1 - before.1);
    assert!(
        created >= 2 * COUNT && reassembled >= COUNT,
        "65,527 B + 8 (UDP) + 40 (IPv6) = 65,575 B is more than loopback's MTU of 65,536 B, so \
         each of the {COUNT} datagrams leaves as 2 fragments and is reassembled once: expected \
         Ip6FragCreates +{} and Ip6ReasmOKs +{COUNT} at least, got +{created} and +{reassembled}",
        2 * COUNT
    );
}
// ANCHOR_END: ipv6_fragmented

// ANCHOR: one_byte_too_many
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn one_byte_over_the_largest_payload_fails_with_emsgsize(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let (_receiver, sender, to) = pair(family);
    let too_big = vec![b'x'; family.max_payload() + 1];

    let err = sender
        .send_to(&too_big, to)
        .expect_err("no datagram can carry this many bytes");

    assert_eq!(
        err.raw_os_error(),
        Some(limits::EMSGSIZE),
        "{family}: {} bytes do not fit the 16-bit length field, so send_to fails with EMSGSIZE; got {err}",
        too_big.len()
    );
}
// ANCHOR_END: one_byte_too_many

// ANCHOR: round_trip_law
/// The largest payload the law sends over `family`: every byte the protocol
/// allows, except on macOS, whose echo server cannot reply above its
/// 9216-byte default send buffer.
fn largest_law_size(family: Family) -> usize {
    if cfg!(target_os = "macos") {
        9216
    } else {
        family.max_payload()
    }
}

/// The edges, tried on every run: empty, one byte, the Ethernet limit and
/// one past it, the largest.
fn edge_sizes(family: Family) -> [usize; 5] {
    [
        0,
        1,
        limits::ETHERNET_IPV4_PAYLOAD,
        limits::ETHERNET_IPV4_PAYLOAD + 1,
        largest_law_size(family),
    ]
}

/// One round trip of `size` patterned bytes: the reply must be the whole
/// request upper-cased.
fn round_trips_intact(
    client: &UdpSocket,
    echo: SocketAddr,
    size: usize,
    seed: u8,
) -> Result<(), TestCaseError> {
    let payload = patterned(size, seed);
    let reply = recv::request(client, echo, &payload, "the echo reply")
        .map_err(|e| TestCaseError::fail(format!("{size} bytes: {e}")))?;
    prop_assert!(
        reply.payload == server::upper_reply(&payload),
        "{} bytes in, {} bytes back: the reply must be the whole request upper-cased",
        size,
        reply.payload.len()
    );
    Ok(())
}

/// A proptest runner for `cases` cases that saves each failure (shrunk) in
/// `tests/ch07_datagram_size.proptest-regressions` and replays it first.
fn runner(cases: u32) -> TestRunner {
    TestRunner::new(Config {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        source_file: Some(file!()),
        ..Config::default()
    })
}

#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
#[file_serial(frag)] // IPv6 sizes above 65,488 B are fragmented: see largest_ipv6_datagram_is_fragmented_even_on_loopback
fn law_every_payload_size_round_trips_intact_through_the_echo_server(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let echo = server::spawn(family.any_port(), Reply::Upper).expect("start the echo server");
    let client = roomy_socket(family);
    let largest = largest_law_size(family);
    for size in edge_sizes(family) {
        if let Err(failed) = round_trips_intact(&client, echo.local_addr(), size, 0) {
            panic!("{family}, an edge size: {failed}");
        }
    }
    let sizes_between = (0..=largest, any::<u8>());
    let outcome = runner(48).run(&sizes_between, |(size, seed)| {
        round_trips_intact(&client, echo.local_addr(), size, seed)
    });

    outcome.unwrap_or_else(|failed| {
        panic!("{family}: every size from 0 to {largest} must make the round trip intact: {failed}")
    });
}
// ANCHOR_END: round_trip_law

// ANCHOR: exercise_7_1
/// Exercise 7.1: the echo server answers the largest request of each family whole.
///
/// Hint: for each family `net::require` allows: the upper-casing echo server, a
/// client from `roomy_socket(family)` (room for the largest reply), a request
/// of `patterned(family.max_payload(), 1)` bytes (65,507 over IPv4, 65,527 over
/// IPv6), and `recv::request`: the reply must be
/// `server::upper_reply(&request)`, every byte. A server whose buffer is any
/// smaller cuts the largest requests without a word. Keep the
/// `#[file_serial(frag)]` line (the IPv6 one is fragmented, see the chapter).
/// Uses (imported at the top of this file): `server::spawn(SocketAddr, Reply)
/// -> io::Result<ServerHandle>` (`.local_addr()`), `server::upper_reply(&[u8])
/// -> Vec<u8>`; `roomy_socket(Family) -> UdpSocket`, `patterned(len, seed: u8)
/// -> Vec<u8>` (in this file); `family.max_payload() -> usize`;
/// `recv::request(&UdpSocket, to: SocketAddr, payload: &[u8], what: &str) ->
/// io::Result<Datagram>`.
///
/// Catches: ipv4_sized_buffer, truncates_at_1024, splits_long_replies
#[test]
#[ignore = "exercise 7.1: delete this line to start"]
#[file_serial(frag)]
fn echo_server_answers_the_largest_request_of_each_family_whole() {
    todo!("exercise 7.1: write the test")
}
// ANCHOR_END: exercise_7_1

// ANCHOR: exercise_7_2
/// Exercise 7.2: a reply too long for one datagram is refused and counted, never cut.
///
/// Hint: the threaded server's reply is its thread's name and brackets around
/// the request: to a request of `Family::V4.max_payload()` bytes it is longer
/// than any datagram. Send one with a plain `send_to` from
/// `roomy_socket(Family::V4)`; nothing may come back
/// (`recv::recv_within(&client, net::SILENCE)` is `Ok(None)`: not even a
/// cut-down reply), and after `shutdown()` the server's `send_errors` is 1 and
/// `replied` 0. Then the server still answered? Check it answered a small
/// request before you shut it down. Uses (imported at the top of this file):
/// `server::spawn(SocketAddr, Reply::Threaded)`; `roomy_socket(Family) ->
/// UdpSocket` (in this file); `recv::recv_within(&UdpSocket, net::SILENCE) ->
/// io::Result<Option<Datagram>>`; `recv::request`; `ServerStats { send_errors,
/// replied, .. }`.
///
/// Catches: cuts_oversized_replies
#[test]
#[ignore = "exercise 7.2: delete this line to start"]
fn a_reply_too_long_for_one_datagram_is_refused_never_cut() {
    todo!("exercise 7.2: write the test")
}
// ANCHOR_END: exercise_7_2
