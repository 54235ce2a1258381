//! Chapter 16: path MTU and fragmentation.
//!
//! Claim: a UDP datagram larger than the smallest MTU on its path is cut
//! into IP fragments, and losing any one of them loses the whole datagram;
//! with "don't fragment" set, the sender is told instead: `EMSGSIZE` at
//! once when its own link is too small, and, when a router's next link is
//! smaller, an ICMP "fragmentation needed" ("packet too big" over IPv6)
//! that lowers the path MTU the kernel reports (`IP_MTU`, `IPV6_MTU`).
//! RFC 8085's advice follows: keep datagrams under the path MTU.
//!
//! Every test but one runs on test hosts (`udp_lab::lab::hosts`): network
//! namespaces joined by veth links of chosen MTUs, addressed from the
//! documentation ranges, built for the test and deleted after it even when
//! it fails. They need Linux and root; elsewhere each test prints why it
//! skips. Their counters (`/proc/net/snmp` of each host) belong to the
//! test alone, so a count can be compared exactly.
//!
//! Run: `cargo test --test ch16_path_mtu`

use std::io;
use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use rstest::rstest;
use udp_lab::lab::hosts::capture::{self, Capture, Frames};
use udp_lab::lab::hosts::{self, pmtu, send_fragments, Host, IcmpWatch, Lab};
use udp_lab::lab::kernel;
use udp_lab::limits;
use udp_lab::net::{self, Family, DEFAULT_TIMEOUT, SILENCE};
use udp_lab::recv;

/// Builds `lab`, or fails naming what could not be built.
#[track_caller]
fn built(lab: io::Result<Lab>) -> Lab {
    lab.unwrap_or_else(|e| panic!("building the test hosts: {e}"))
}

/// A socket of `from` connected to a new socket of `to`, in `family`:
/// (sender, receiver).
#[track_caller]
fn connected_pair(from: &Host, to: &Host, family: Family) -> (UdpSocket, UdpSocket) {
    let v6 = family == Family::V6;
    let receiver = to.bind(to.any_port(v6)).expect("bind the receiver");
    let sender = from.bind(from.any_port(v6)).expect("bind the sender");
    sender
        .connect(receiver.local_addr().expect("receiver address"))
        .expect("connect the sender to the receiver");
    (sender, receiver)
}

/// Runs `call` again while a signal interrupts it (`EINTR`): a receive
/// with a timeout is not restarted by the kernel, and on a loaded machine
/// about one run in fifty of this file saw one (measured on Linux 6.18).
fn again_on_signal<T>(mut call: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match call() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// `recv::recv_datagram` through [`again_on_signal`].
fn receive(sock: &UdpSocket, what: &str) -> io::Result<recv::Datagram> {
    again_on_signal(|| recv::recv_datagram(sock, what))
}

/// The headers in front of a UDP payload: IPv4 20 + UDP 8, IPv6 40 + UDP 8.
fn headers(family: Family) -> usize {
    match family {
        Family::V4 => 28,
        Family::V6 => 48,
    }
}

// ANCHOR: one_packet_or_two
#[rstest]
#[case::fits_in_one_packet(1472, 0)]
#[case::one_byte_more_needs_two_fragments(1473, 2)]
fn over_a_1500_byte_link_1472_bytes_go_whole_and_1473_in_two_fragments(
    #[case] size: usize,
    #[case] fragments: u64,
) {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::pair(1500)); // a 192.0.2.1 ==1500== b 192.0.2.2
    let (a, b) = (lab.host("a"), lab.host("b"));
    let receiver = b
        .run(|| UdpSocket::bind(b.any_port(false)))
        .expect("bind on b");
    receiver
        .set_read_timeout(Some(DEFAULT_TIMEOUT))
        .expect("timeout");
    let sender = a
        .run(|| UdpSocket::bind(a.any_port(false)))
        .expect("bind on a");
    let to = receiver.local_addr().expect("receiver address");
    let created_before = a.snmp("Ip", "FragCreates").expect("a's /proc/net/snmp");

    let sent = sender.send_to(&vec![b'x'; size], to).expect("send_to");
    let mut buf = [0u8; 2048];
    let (n, from) =
        again_on_signal(|| receiver.recv_from(&mut buf)).expect("the datagram arrives at b");

    let created = a.snmp("Ip", "FragCreates").expect("a's /proc/net/snmp") - created_before;
    assert_eq!(
        (sent, n, from),
        (size, size, sender.local_addr().expect("sender address")),
        "b receives the whole {size}-byte datagram in one recv_from, fragmented or not: \
         the receiver's kernel reassembles before the socket sees anything"
    );
    assert_eq!(
        created, fragments,
        "a's kernel created {fragments} fragments for {size} bytes (got {created}): \
         20 (IPv4) + 8 (UDP) + 1472 = 1500 fits the link's MTU, one byte more does not"
    );
}
// ANCHOR_END: one_packet_or_two

// ANCHOR: emsgsize
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn a_datagram_over_the_path_mtu_with_dont_fragment_fails_with_emsgsize(#[case] family: Family) {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::pair(1500));
    let (sender, _receiver) = connected_pair(lab.host("a"), lab.host("b"), family);
    pmtu::set_dont_fragment(&sender, true).expect("IP_MTU_DISCOVER = IP_PMTUDISC_DO");
    let largest = 1500 - headers(family);

    let fits = sender.send(&vec![0u8; largest]);
    let too_big = sender.send(&vec![0u8; largest + 1]);

    assert_eq!(
        fits.ok(),
        Some(largest),
        "{largest} bytes fill the 1500-byte MTU exactly ({family})"
    );
    let err = too_big.expect_err("one byte more than the path MTU, and fragmenting is forbidden");
    assert!(
        limits::is_message_too_long(&err),
        "with don't-fragment set the kernel refuses at once with EMSGSIZE, instead of \
         cutting the datagram into fragments; got {err:?}"
    );
}
// ANCHOR_END: emsgsize

// ANCHOR: ip_mtu
#[rstest]
fn ip_mtu_of_a_connected_socket_is_its_links_mtu(#[values(1280, 1500, 9000)] mtu: u32) {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::pair(mtu));
    let (sender, _receiver) = connected_pair(lab.host("a"), lab.host("b"), Family::V4);

    let path_mtu = pmtu::path_mtu(&sender).expect("IP_MTU on a connected socket");

    assert_eq!(
        path_mtu, mtu as usize,
        "with no router between them, the path MTU from a to b is their link's MTU"
    );
}
// ANCHOR_END: ip_mtu

// ANCHOR: fragmentation_needed
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn fragmentation_needed_from_the_router_lowers_the_senders_path_mtu(#[case] family: Family) {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::routed(1500, 1280)); // a ==1500== r ==1280== b
    let (sender, receiver) = connected_pair(lab.host("a"), lab.host("b"), family);
    pmtu::set_dont_fragment(&sender, true).expect("don't fragment");
    let before = pmtu::path_mtu(&sender).expect("IP_MTU before");

    sender
        .send(&[0u8; 1400])
        .expect("1400 bytes fit a's own 1500-byte link");
    kernel::wait_for_error(&sender, DEFAULT_TIMEOUT).expect("the router's ICMP error arrives");
    let pending = sender.take_error().expect("SO_ERROR");
    let after = pmtu::path_mtu(&sender).expect("IP_MTU after");
    let resent = sender.send(&[0u8; 1400]);

    assert_eq!(
        before, 1500,
        "before any ICMP, the path MTU is a's link's MTU"
    );
    assert!(
        pending.as_ref().is_some_and(limits::is_message_too_long),
        "the ICMP reached the connected socket as a pending EMSGSIZE (SO_ERROR); got {pending:?}"
    );
    assert_eq!(
        after, 1280,
        "the router could not forward 1400 bytes onto its 1280-byte link without fragmenting; \
         it said so (ICMP fragmentation needed / packet too big, with its MTU) and a's kernel \
         lowered the path MTU to b ({family})"
    );
    let err = resent.expect_err("the same 1400 bytes again");
    assert!(
        limits::is_message_too_long(&err),
        "now refused at a: EMSGSIZE, got {err:?}"
    );
    let fits = 1280 - headers(family);
    sender
        .send(&vec![7u8; fits])
        .expect("a datagram that fits the path");
    let got = receive(&receiver, "the datagram that fits the path").expect("b receives");
    assert_eq!(
        got.payload.len(),
        fits,
        "{fits} bytes = 1280 minus the headers cross both links"
    );
}
// ANCHOR_END: fragmentation_needed

// ANCHOR: ipv6_loopback
#[test]
fn ipv6_loopback_with_dontfrag_takes_65488_bytes_and_refuses_65489() {
    if !cfg!(target_os = "linux") {
        net::skip_even_under_ci("IPV6_DONTFRAG through udp-lab's pmtu helpers is Linux's");
        return;
    }
    if !net::require(Family::V6) {
        return;
    }
    let receiver = net::bind_loopback(Family::V6).expect("bind [::1]");
    let sender = net::bind_loopback(Family::V6).expect("bind [::1]");
    sender
        .connect(receiver.local_addr().expect("address"))
        .expect("connect");
    pmtu::set_dont_fragment(&sender, true).expect("IPV6_DONTFRAG");

    let fits = sender.send(&vec![0u8; 65_488]);
    let too_big = sender.send(&vec![0u8; 65_489]);

    assert_eq!(
        fits.ok(),
        Some(65_488),
        "lo's MTU is 65,536: 65,536 - 40 (IPv6) - 8 (UDP) = 65,488 bytes go in one packet"
    );
    let err = too_big.expect_err("one byte more, with IPV6_DONTFRAG");
    assert!(
        limits::is_message_too_long(&err),
        "without IPV6_DONTFRAG 65,489 bytes would go as fragments (chapter 07); with it, EMSGSIZE; got {err:?}"
    );
}
// ANCHOR_END: ipv6_loopback

/// b's reassembly counters: (ReasmOKs, ReasmFails, ReasmTimeout).
fn reassembly(b: &Host) -> (u64, u64, u64) {
    let counter = |name| b.snmp("Ip", name).expect("b's /proc/net/snmp");
    (
        counter("ReasmOKs"),
        counter("ReasmFails"),
        counter("ReasmTimeout"),
    )
}

/// Hosts a ==1500== b, b's reassembly timeout 1 s (instead of 30), a
/// receiver on b and, on a, the socket the fragments claim to come from:
/// (lab, receiver, source socket).
fn fragment_lab() -> (Lab, UdpSocket, UdpSocket) {
    let lab = built(Lab::pair(1500));
    let b = lab.host("b");
    b.sysctl("net/ipv4/ipfrag_time", "1")
        .expect("b's ipfrag_time (per namespace)");
    let receiver = b.bind(b.any_port(false)).expect("bind on b");
    let source = lab
        .host("a")
        .bind(lab.host("a").any_port(false))
        .expect("bind on a");
    (lab, receiver, source)
}

fn v4(addr: SocketAddr) -> SocketAddrV4 {
    match addr {
        SocketAddr::V4(v4) => v4,
        SocketAddr::V6(_) => panic!("the fragment lab is IPv4"),
    }
}

// ANCHOR: hand_made_fragments
#[test]
fn both_hand_made_fragments_arrive_as_one_datagram() {
    if !hosts::require() {
        return;
    }
    let (lab, receiver, source) = fragment_lab();
    let ends = (
        v4(source.local_addr().expect("a")),
        v4(receiver.local_addr().expect("b")),
    );
    let before = reassembly(lab.host("b"));

    let cut = send_fragments(lab.host("a"), ends, &[b'f'; 1473], 1500, None).expect("send both");
    let got = receive(&receiver, "the reassembled datagram").expect("it arrives");

    assert_eq!(cut, 2, "1473 bytes over a 1500-byte link: two fragments");
    assert_eq!(
        got.payload, [b'f'; 1473],
        "b reassembled the two fragments into the datagram"
    );
    assert_eq!(
        reassembly(lab.host("b")).0 - before.0,
        1,
        "ReasmOKs rose by one"
    );
}
// ANCHOR_END: hand_made_fragments

// ANCHOR: one_fragment_lost
#[test]
fn losing_one_fragment_loses_the_whole_datagram() {
    if !hosts::require() {
        return;
    }
    let (lab, receiver, source) = fragment_lab();
    let ends = (
        v4(source.local_addr().expect("a")),
        v4(receiver.local_addr().expect("b")),
    );
    let (_, fails, timeouts) = reassembly(lab.host("b"));
    let icmp = IcmpWatch::open(lab.host("a")).expect("a raw ICMP socket on a");

    send_fragments(lab.host("a"), ends, &[b'f'; 1473], 1500, Some(1)).expect("send the first only");
    let time_exceeded = icmp
        .next_of_type(11, Duration::from_secs(10))
        .expect("watch a's ICMP");
    let arrived = again_on_signal(|| recv::recv_within(&receiver, SILENCE)).expect("wait at b");

    assert_eq!(
        time_exceeded,
        Some((11, 1)),
        "after ipfrag_time (1 s here) b gave up on the datagram and told a: ICMP time exceeded, \
         code 1 (fragment reassembly time exceeded)"
    );
    assert!(
        arrived.is_none(),
        "1472 of 1473 bytes reached b, yet nothing is delivered: {arrived:?}"
    );
    let (_, fails_after, timeouts_after) = reassembly(lab.host("b"));
    assert_eq!(
        (fails_after - fails, timeouts_after - timeouts),
        (1, 1),
        "b counted one failed reassembly (ReasmFails), by timeout (ReasmTimeout)"
    );
}
// ANCHOR_END: one_fragment_lost

// ANCHOR: capture
#[test]
fn a_capture_at_the_receiver_holds_the_two_fragments_of_a_1473_byte_datagram() {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::pair(1500));
    let (a, b) = (lab.host("a"), lab.host("b"));
    let recording =
        Capture::start(b, "eth0", Frames::Ipv4).expect("an AF_PACKET socket on b's eth0");
    let (sender, receiver) = connected_pair(a, b, Family::V4);
    let pcap = tempfile::NamedTempFile::new().expect("a temporary pcap file");

    sender.send(&[b'x'; 1473]).expect("send 1473 bytes");
    receive(&receiver, "the reassembled datagram").expect("it arrives");
    let frames = recording
        .take(2, DEFAULT_TIMEOUT)
        .expect("read the captured frames");
    capture::write_pcap(pcap.path(), &frames).expect("write the pcap file");
    let read_back = capture::read_pcap(pcap.path()).expect("read the pcap file back");

    let fragments: Vec<_> = read_back
        .iter()
        .filter_map(|f| capture::ipv4_fragment(f))
        .collect();
    let [(id1, more1, offset1, len1), (id2, more2, offset2, len2)] = fragments[..] else {
        panic!("expected two IPv4 frames on b's link, got {fragments:?}");
    };
    assert_eq!(
        id1, id2,
        "both fragments carry one IP identification: that is how b pairs them"
    );
    assert_eq!(
        [(more1, offset1, len1), (more2, offset2, len2)],
        [(true, 0, 1480), (false, 1480, 1)],
        "8 + 1473 bytes of UDP cut as 1480 bytes (\"more fragments\" set) then 1 byte at offset 1480"
    );
}
// ANCHOR_END: capture

// ---------------------------------------------------------------------------
// Exercises. Each stub is ignored until you start it: delete its `#[ignore]`
// line, write the test, and check it with `cargo run -- exercises check N.M`.
// ---------------------------------------------------------------------------

// ANCHOR: exercise_16_1
/// Exercise 16.1: over a 1280-byte link, don't-fragment lets 1252 bytes go and refuses 1253.
///
/// Hint: `if !hosts::require() { return; }` first. `built(Lab::pair(1280))`
/// gives hosts `a` and `b` (`lab.host("a")`); `connected_pair(a, b,
/// Family::V4)` returns `(sender, receiver)` sockets; then
/// `pmtu::set_dont_fragment(&sender, true)`, `sender.send(&[u8])` (an
/// `io::Result<usize>`), and `limits::is_message_too_long(&err)`. Also check
/// that the 1252 bytes arrive at `receiver` (`receive(&receiver, "what")`,
/// this file's `recv::recv_datagram` that waits again after a signal).
///
/// Catches: clears_dont_fragment
#[test]
#[ignore = "exercise 16.1: delete this line to start"]
fn dont_fragment_over_1280_lets_1252_bytes_go_and_refuses_1253() {
    todo!("exercise 16.1: write the test")
}
// ANCHOR_END: exercise_16_1

// ANCHOR: exercise_16_2
/// Exercise 16.2: a sender that learns the path MTU resends its message in pieces that fit.
///
/// Over `built(Lab::routed(1500, 1280))` (a ==1500== r ==1280== b), send
/// 4000 bytes from a to b (IPv4) the way PLPMTUD-minded software does, and
/// check that they all arrive, in pieces that fit the path.
///
/// Hint: `if !hosts::require() { return; }`, then `connected_pair(lab.host("a"),
/// lab.host("b"), Family::V4)` and `pmtu::set_dont_fragment(&sender, true)`.
/// Send a 1400-byte probe (it fits a's own link); wait for the router's ICMP
/// with `kernel::wait_for_error(&sender, DEFAULT_TIMEOUT)` (an
/// `io::Result<()>`), take the pending error with `sender.take_error()`, read
/// `pmtu::path_mtu(&sender)` (an `io::Result<usize>`) and send the 4000 bytes
/// in chunks of `path_mtu - headers(Family::V4)` (`<[u8]>::chunks`). Receive
/// with `receive(&receiver, "what")` (this file's) until 4000 bytes came;
/// assert no piece exceeds 1252 bytes and the concatenation is the message.
///
/// Catches: clears_dont_fragment, path_mtu_is_the_link_mtu
#[test]
#[ignore = "exercise 16.2: delete this line to start"]
fn a_sender_that_learns_the_path_mtu_resends_in_pieces_that_fit() {
    todo!("exercise 16.2: write the test")
}
// ANCHOR_END: exercise_16_2
