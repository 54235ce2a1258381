//! Chapter 03: message boundaries (no "sticky packets").
//!
//! Claim: UDP keeps message boundaries. N sends arrive as N receives, each
//! exactly as sent, never merged with another and never split, however large
//! the receive buffer. A TCP stream does not: the same five writes are read
//! back as one run of bytes, with Nagle's algorithm on or off.
//!
//! The article: "不会粘包" ("no sticky packets"); "发送端send了几次,接收端必须recv
//! 几次(无论recv时指定了多大的缓冲区)" ("as many times as the sender sends, the
//! receiver must recv, whatever buffer size recv is given").
//!
//! Run: `cargo test --test ch03_message_boundaries`

use std::io::Write;
use std::net::{Shutdown, UdpSocket};
use std::time::Duration;

use proptest::collection::vec;
use proptest::prelude::*;
use rstest::rstest;
use udp_lab::net::{self, Family};
use udp_lab::recv::{self, MAX_DATAGRAM};
use udp_lab::tcp;
use udp_lab::tune;

/// The article's five messages.
const HELLOS: [&[u8]; 5] = [b"Hello1", b"Hello2", b"Hello3", b"Hello4", b"Hello5"];

/// The largest UDP payload that fits Ethernet's 1500-byte MTU (the most a
/// frame carries) over IPv4: 1500 - 20 (IPv4 header) - 8 (UDP header).
const ETHERNET_PAYLOAD: usize = 1472;

// ANCHOR: five_sends_five_receives
#[rstest]
#[case::ipv4(Family::V4, "127.0.0.1:0")]
#[case::ipv6(Family::V6, "[::1]:0")]
fn five_sends_arrive_as_five_receives(#[case] family: Family, #[case] any_port: &str) {
    if !net::require(family) {
        return;
    }
    let client = UdpSocket::bind(any_port).expect("bind the client");
    let server = UdpSocket::bind(any_port).expect("bind the server");
    server
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("a read timeout: a missing datagram fails the test instead of hanging it");
    let to = server.local_addr().expect("server address");

    for hello in HELLOS {
        client.send_to(hello, to).expect("send_to on loopback");
    }
    // All five are queued before the first receive, and the buffer has room
    // for 64 KiB: if UDP merged datagrams, this is where it would show.
    let mut buf = vec![0u8; 64 * 1024];
    for hello in HELLOS {
        let (n, _) = server
            .recv_from(&mut buf)
            .expect("one of the five datagrams arrives within 5 s");
        assert_eq!(
            &buf[..n],
            hello,
            "each receive returns exactly one datagram, {:?}, never two merged into the 64 KiB buffer",
            String::from_utf8_lossy(hello)
        );
    }
}
// ANCHOR_END: five_sends_five_receives

// ANCHOR: boundaries_law
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn law_every_send_is_one_receive_exactly_as_sent_in_order(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    proptest!(ProptestConfig::with_cases(64), |(payloads in payload_sequences())| {
        let receiver = receiver_with_room_for(family, &payloads);
        let sender = sender_of_large_datagrams(family);
        let to = receiver.local_addr().expect("receiver address");
        for payload in &payloads {
            let sent = sender.send_to(payload, to).expect("send_to on loopback");
            prop_assert_eq!(sent, payload.len(), "one send_to sends the whole payload");
        }
        for (i, sent) in payloads.iter().enumerate() {
            let got = recv::recv_datagram(&receiver, "the next datagram")
                .expect("every datagram was queued: the buffer has room for all");
            prop_assert!(
                &got.payload == sent,
                "receive {} of {}: sent {}, received {}; each receive returns exactly one \
                 whole datagram, in the order one sender sent them on loopback",
                i + 1,
                payloads.len(),
                describe(sent),
                describe(&got.payload)
            );
        }
    });
}
// ANCHOR_END: boundaries_law

// ANCHOR: law_inputs
/// A sequence of 1 to 26 payloads, shuffled: up to 24 that fit Ethernet's
/// 1500-byte MTU (0..=1472 bytes) and up to 2 large ones (1473..=60000 bytes).
/// Bounded so that all of them fit in the receive buffer at once (see
/// [`receiver_with_room_for`]): a drop by overflow is chapter 08, not a merge.
fn payload_sequences() -> impl Strategy<Value = Vec<Vec<u8>>> {
    (
        vec(payload(0..=ETHERNET_PAYLOAD), 1..=24),
        vec(payload(ETHERNET_PAYLOAD + 1..=60_000), 0..=2),
    )
        .prop_flat_map(|(mut all, large)| {
            all.extend(large);
            Just(all).prop_shuffle()
        })
}

/// A payload of a length drawn from `sizes`, filled from a drawn seed so that
/// payloads differ (a merged or reordered one would not compare equal).
fn payload(sizes: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<u8>> {
    (sizes, any::<u8>()).prop_map(|(len, seed)| {
        (0..len)
            .map(|i| seed.wrapping_add((i % 251) as u8))
            .collect()
    })
}

/// What the kernel may charge a queued datagram against the receive buffer,
/// generously: Linux charges 832 B for an empty one, 2304 B for 1472 B and
/// 60832 B for 60000 B (its "truesize", measured on Linux 6.18).
fn generous_charge(len: usize) -> usize {
    2 * len + 1024
}

/// A receiver whose buffer holds every payload at once, so none is dropped
/// before the first receive. Fails (it is the test's precondition) when the
/// OS will not grant that much.
fn receiver_with_room_for(family: Family, payloads: &[Vec<u8>]) -> UdpSocket {
    let needed: usize = payloads.iter().map(|p| generous_charge(p.len())).sum();
    let receiver = net::bind_loopback(family).expect("bind the receiver");
    let granted = tune::set_recv_buffer_size(&receiver, needed).expect("set SO_RCVBUF");
    assert!(
        granted >= needed,
        "precondition: the receive buffer must hold all {} datagrams sent before the first receive \
         ({needed} B), the OS granted {granted} B; raise net.core.rmem_max",
        payloads.len()
    );
    receiver
}
// ANCHOR_END: law_inputs

/// A sender that may send datagrams up to the maximum size: macOS refuses a
/// datagram larger than the send buffer (9216 B by default) with EMSGSIZE.
fn sender_of_large_datagrams(family: Family) -> UdpSocket {
    let sender = net::bind_loopback(family).expect("bind the sender");
    tune::set_send_buffer_size(&sender, 2 * MAX_DATAGRAM).expect("set SO_SNDBUF");
    sender
}

/// A payload in a failure message: its length and first bytes.
fn describe(payload: &[u8]) -> String {
    format!(
        "{} bytes starting {:?}",
        payload.len(),
        &payload[..payload.len().min(8)]
    )
}

// ANCHOR: tcp_stream_merges
#[rstest]
#[case::ipv4_nagle_on(Family::V4, false)]
#[case::ipv4_nagle_off(Family::V4, true)]
#[case::ipv6_nagle_on(Family::V6, false)]
#[case::ipv6_nagle_off(Family::V6, true)]
fn five_tcp_writes_come_back_from_one_read_merged(#[case] family: Family, #[case] nodelay: bool) {
    if !net::require(family) {
        return;
    }
    let mut pair = tcp::tcp_pair(family, nodelay).expect("a connected TCP pair on loopback");
    for hello in HELLOS {
        pair.client.write_all(hello).expect("write");
    }
    pair.client
        .shutdown(Shutdown::Write)
        .expect("close the client's sending side (FIN)");

    // One read into a 1024-byte buffer that waits until the peer has closed,
    // so the answer does not depend on how fast the bytes arrived.
    let mut buf = [0u8; 1024];
    let n = tcp::recv_waiting_for_all(&pair.server, &mut buf).expect("one read");

    assert_eq!(
        String::from_utf8_lossy(&buf[..n]),
        "Hello1Hello2Hello3Hello4Hello5",
        "one TCP read returned all five writes glued together (TCP_NODELAY = {nodelay}): a stream \
         carries bytes, not messages, so nothing marks where one write ended"
    );
}
// ANCHOR_END: tcp_stream_merges

// ANCHOR: echo_counts_back_to_back
/// The echo server is a UDP receiver too: two requests one client sends
/// back to back, before the server has read either, are two receives for
/// it, two requests in its counters, and two replies.
#[test]
fn echo_server_counts_two_back_to_back_requests_as_two_and_answers_each() {
    use udp_lab::lab::server::{self, Reply};
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper).expect("start the echo server");
    let client = net::bind_loopback(Family::V4).expect("bind the client");
    for request in [&b"first"[..], b"second"] {
        client
            .send_to(request, echo.local_addr())
            .expect("send_to on loopback");
    }

    let first = recv::recv_datagram(&client, "the first reply").expect("the first is answered");
    assert_eq!(
        first.text(),
        "FIRST",
        "expected the first request alone, upper-cased; got {:?}: a server that read both \
         requests as one would merge them",
        first.text()
    );
    recv::recv_datagram(&client, "the second reply").expect("the second is answered on its own");
    let stats = echo.shutdown();
    assert_eq!(
        (stats.received, stats.replied),
        (2, 2),
        "two sends are two receives for the server, each answered: {stats:?}"
    );
}
// ANCHOR_END: echo_counts_back_to_back

// ANCHOR: exercise_3_1
/// Exercise 3.1: the echo server answers a burst of requests of every size with one reply each, in order.
///
/// Hint: one client sends 12 requests without waiting for replies, of sizes 0,
/// 1, 5, 1023, 1024, 1025, 3000, 2, 1500, 0, 4000 and 7 bytes, each a different
/// lower-case letter repeated; then it receives 12 replies with
/// `recv::recv_datagram`: reply i must be request i upper-cased, byte for byte
/// (the single-threaded server answers in order). Then
/// `recv::recv_within(&client, net::SILENCE)` must be `Ok(None)`: no 13th
/// piece. A reply too short, too long, merged or split means a boundary was
/// lost. Uses: `udp_lab::lab::server::{self, Reply}` (not imported here: write
/// the full path or add a `use` inside your test); `server::spawn(SocketAddr,
/// Reply) -> io::Result<ServerHandle>` (`.local_addr()`),
/// `server::upper_reply(&[u8]) -> Vec<u8>`; `net::bind_loopback(Family) ->
/// io::Result<UdpSocket>`; `UdpSocket::send_to`;
/// `recv::recv_datagram(&UdpSocket, what: &str) -> io::Result<Datagram>`
/// (`.payload: Vec<u8>`); `recv::recv_within(&UdpSocket, net::SILENCE) ->
/// io::Result<Option<Datagram>>`.
///
/// Catches: merges_queued_requests, splits_long_replies, truncates_at_1024,
/// stale_buffer_tail
#[test]
#[ignore = "exercise 3.1: delete this line to start"]
fn echo_server_answers_each_request_of_a_burst_with_its_own_reply() {
    todo!("exercise 3.1: write the test")
}
// ANCHOR_END: exercise_3_1

// ANCHOR: exercise_3_2
/// Exercise 3.2: a 65,527-byte IPv6 datagram is fragmented on loopback yet arrives as one, there and back.
///
/// Hint: IPv6's largest payload (65,527 B) plus its headers is more than
/// loopback's MTU (65,536 B): the kernel sends it as 2 fragments and
/// reassembles it before UDP sees it. Send `patterned(len)` of
/// `Family::V6.max_payload()` bytes to the upper-casing echo server on `::1`
/// and receive the reply in one `recv::recv_datagram`: it must be the request
/// upper-cased, all 65,527 bytes. Read the counters before and after: the
/// request and the reply were each fragmented, so `Ip6FragCreates` rose by at
/// least 4 and `Ip6ReasmOKs` by at least 2 (`>=`: they count the whole
/// machine). Skip unless `net::require(Family::V6)` and Linux. Keep the
/// `#[serial_test::file_serial(frag)]` line: it keeps other fragmenting tests
/// from running meanwhile. The client must have room for the reply:
/// `tune::set_recv_buffer_size(&client, 256 * 1024)`. Uses:
/// `udp_lab::lab::server::{self, Reply}` and `udp_lab::lab::kernel` (not
/// imported here: full paths); `kernel::snmp6(name: &str) -> io::Result<u64>`;
/// `server::spawn`, `server::upper_reply(&[u8]) -> Vec<u8>`;
/// `net::bind_loopback`; `tune::set_recv_buffer_size(&UdpSocket, usize) ->
/// io::Result<usize>`; `recv::recv_datagram(&UdpSocket, what: &str) ->
/// io::Result<Datagram>`.
///
/// Catches: truncates_at_1024, ipv4_sized_buffer, splits_long_replies
#[test]
#[ignore = "exercise 3.2: delete this line to start"]
#[serial_test::file_serial(frag)]
fn largest_ipv6_datagram_is_fragmented_yet_arrives_as_one_there_and_back() {
    todo!("exercise 3.2: write the test")
}
// ANCHOR_END: exercise_3_2
