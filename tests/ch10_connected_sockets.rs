//! Chapter 10: connected UDP sockets, and the ICMP errors only they hear.
//!
//! Claim: the article says that sending to a server that does not exist
//! raises no error. That is true of the article's *unconnected* socket
//! (chapter 04). A UDP socket that called `connect` is told: the ICMP "port
//! unreachable" that comes back turns into `ECONNREFUSED` on its next
//! receive or send. `connect` also makes the kernel filter what the socket
//! receives (its peer only), and changes what `send` and `send_to` accept.
//!
//! Run: `cargo test --test ch10_connected_sockets`

use std::io::ErrorKind;
use std::net::UdpSocket;

use rstest::rstest;
use serial_test::file_serial;
use udp_lab::lab::kernel;
use udp_lab::net::{self, Family, SILENCE};
use udp_lab::recv;

fn bound(family: Family) -> UdpSocket {
    net::bind_loopback(family).expect("bind a loopback socket")
}

/// A port where nothing receives: held by a socket connected to itself
/// (see chapter 04), so no other test can take it meanwhile. The tests that
/// send to one hold the file lock `icmp`: chapter 04's test of the kernel's
/// ICMP counters needs them quiet while it counts.
fn closed_port(family: Family) -> net::ClosedPort {
    net::closed_port(family).expect("hold a closed port")
}

/// The ICMP error as the OS names it on a connected socket.
fn refused_kind() -> ErrorKind {
    if cfg!(windows) {
        ErrorKind::ConnectionReset // WSAECONNRESET
    } else {
        ErrorKind::ConnectionRefused // ECONNREFUSED
    }
}

// ANCHOR: connected_refused
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
#[file_serial(icmp)]
fn connected_socket_hears_that_nothing_listens_as_connection_refused(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let (client, nobody) = (bound(family), closed_port(family));
    client
        .connect(nobody.addr())
        .expect("connect only records the peer: no packet is sent");

    let sent = client.send(b"anyone?");
    let heard = client.recv(&mut [0u8; 64]);

    assert!(
        matches!(sent, Ok(7)),
        "the send itself succeeds, as on any UDP socket: {sent:?}"
    );
    let err = heard.expect_err("the recv must not return data: nobody is there to send any");
    // Windows: our closed port is a socket connected to itself, which may
    // discard the datagram without any ICMP; then the recv only times out.
    let windows_silence = cfg!(windows) && recv::is_timeout(&err);
    assert!(
        err.kind() == refused_kind() || windows_silence,
        "the kernel answered the datagram with ICMP port unreachable; a connected socket knows its peer, \
         so the kernel matches the ICMP to it and the next call reports it ({:?}): {err}",
        refused_kind()
    );
}
// ANCHOR_END: connected_refused

// ANCHOR: second_send_refused
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
#[file_serial(icmp)]
fn refusal_fails_the_next_send_too_not_only_a_recv(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    if !cfg!(target_os = "linux") {
        return net::skip_even_under_ci("asserted on Linux only");
    }
    let (client, nobody) = (bound(family), closed_port(family));
    client.connect(nobody.addr()).expect("connect");
    client.send(b"first").expect("the first send succeeds");
    // On loopback the refusal is normally pending already when send returns;
    // wait for it (poll reports POLLERR) so that the test does not depend on it.
    kernel::wait_for_error(&client, SILENCE).expect("the ICMP port unreachable comes back");

    let second = client.send(b"second");

    assert_eq!(
        second.as_ref().map_err(|e| e.kind()),
        Err(ErrorKind::ConnectionRefused),
        "the pending ECONNREFUSED fails whatever call comes next, here a send: {second:?}"
    );
}
// ANCHOR_END: second_send_refused

// ANCHOR: unconnected_silent
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
#[file_serial(icmp)]
fn unconnected_socket_is_not_told_that_nothing_listens(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let (client, nobody) = (bound(family), closed_port(family));

    let sent = client.send_to(b"anyone?", nobody.addr());
    let heard = recv::recv_within(&client, SILENCE);

    assert!(matches!(sent, Ok(7)), "send_to succeeds: {sent:?}");
    if cfg!(windows) {
        // Windows may report the ICMP error even to an unconnected socket
        // (WSAECONNRESET), or hear nothing when our closed port (a socket
        // connected to itself) discarded the datagram without an ICMP.
        let reset = matches!(&heard, Err(e) if e.kind() == ErrorKind::ConnectionReset);
        assert!(
            reset || matches!(heard, Ok(None)),
            "WSAECONNRESET on recvfrom, or silence: {heard:?}"
        );
    } else {
        let heard = heard
            .expect("no error on Unix: the ICMP message reached the host, not the application");
        assert!(
            heard.is_none(),
            "nothing arrives within {SILENCE:?}: {heard:?}"
        );
        assert!(
            client.take_error().expect("SO_ERROR").is_none(),
            "and no error is pending (SO_ERROR)"
        );
    }
    // Not told is not "nothing happened". Linux shows the refusal to the same
    // socket once it asks (IP_RECVERR, chapter 04): the next datagram's comes back.
    if cfg!(target_os = "linux") {
        kernel::set_recv_errors(&client, true).expect("setsockopt IP_RECVERR");
        client.send_to(b"anyone?", nobody.addr()).expect("send_to");
        let refusal = kernel::next_queued_error(&client, SILENCE).expect("MSG_ERRQUEUE");
        assert!(
            refusal
                .as_ref()
                .is_some_and(|r| r.error.kind() == ErrorKind::ConnectionRefused
                    && r.destination == nobody.addr()),
            "expected ECONNREFUSED for {} on the error queue: the kernel did answer with ICMP \
             port unreachable; got {refusal:?}",
            nobody.addr()
        );
    }
}
// ANCHOR_END: unconnected_silent

// ANCHOR: peer_filter
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn connected_socket_receives_only_from_its_peer(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let (client, peer, stranger) = (bound(family), bound(family), bound(family));
    let client_addr = client.local_addr().expect("client address");
    client
        .connect(peer.local_addr().expect("peer address"))
        .expect("connect to the peer");

    stranger
        .send_to(b"from a stranger", client_addr)
        .expect("the stranger's send_to succeeds");
    peer.send_to(b"from the peer", client_addr)
        .expect("the peer's send_to succeeds");
    let first = recv::recv_datagram(&client, "the peer's datagram").expect("the peer is heard");
    let then = recv::recv_within(&client, SILENCE).expect("no error");

    assert_eq!(
        first.text(),
        "from the peer",
        "the stranger's datagram came first but was never queued"
    );
    assert_eq!(
        then, None,
        "nothing else comes: the kernel dropped the stranger's datagram on arrival"
    );
}
// ANCHOR_END: peer_filter

// ANCHOR: queued_before_connect
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn datagrams_queued_before_connect_stay_queued(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let (client, peer, stranger) = (bound(family), bound(family), bound(family));
    let client_addr = client.local_addr().expect("client address");
    stranger
        .send_to(b"early", client_addr)
        .expect("the stranger sends before connect");
    client
        .peek_from(&mut [0u8; 16])
        .expect("peek: the early datagram is in the queue");

    client
        .connect(peer.local_addr().expect("peer address"))
        .expect("connect to the peer");
    peer.send_to(b"from the peer", client_addr)
        .expect("the peer sends after connect");
    let first = recv::recv_datagram(&client, "the first datagram after connect")
        .expect("something is queued");

    if cfg!(target_os = "linux") {
        assert_eq!(
            (first.text().as_str(), first.from),
            ("early", stranger.local_addr().expect("stranger address")),
            "Linux filters datagrams as they arrive; connect does not purge the queue, so a datagram from \
             a stranger that was already queued is still received after connect"
        );
    } else {
        println!(
            "{}: first datagram after connect was {:?} (asserted on Linux only)",
            std::env::consts::OS,
            first
        );
    }
}
// ANCHOR_END: queued_before_connect

// ANCHOR: send_needs_destination
#[test]
fn send_without_a_destination_fails_on_an_unconnected_socket() {
    let client = bound(Family::V4);

    let err = client
        .send(b"to whom?")
        .expect_err("an unconnected socket has no destination for send");

    if cfg!(windows) {
        assert_eq!(
            err.kind(),
            ErrorKind::NotConnected,
            "Windows: WSAENOTCONN: {err}"
        );
    } else {
        assert_eq!(
            err.raw_os_error(),
            Some(libc::EDESTADDRREQ),
            "Unix: EDESTADDRREQ, \"destination address required\": send() names no address and none was \
             connected: {err}"
        );
    }
}
// ANCHOR_END: send_needs_destination

// ANCHOR: send_to_when_connected
#[test]
fn send_to_another_address_on_a_connected_socket_depends_on_the_os() {
    let (client, peer, other) = (bound(Family::V4), bound(Family::V4), bound(Family::V4));
    client
        .connect(peer.local_addr().expect("peer address"))
        .expect("connect to the peer");

    let sent = client.send_to(b"elsewhere", other.local_addr().expect("other address"));

    if cfg!(any(
        target_os = "macos",
        target_os = "ios",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly"
    )) {
        let err = sent.expect_err("BSD kernels refuse a destination on a connected UDP socket");
        assert_eq!(err.raw_os_error(), Some(libc::EISCONN), "EISCONN: {err}");
    } else {
        assert!(
            matches!(sent, Ok(9)),
            "Linux and Windows send it, overriding the peer once: {sent:?}"
        );
        let got =
            recv::recv_datagram(&other, "the datagram sent past the peer").expect("it arrives");
        assert_eq!(
            got.text(),
            "elsewhere",
            "it went to the address given, not to the connected peer"
        );
    }
}
// ANCHOR_END: send_to_when_connected

// ---------------------------------------------------------------------------
// Exercises

// ANCHOR: relay_hears_refusals
/// The relay of chapter 11 connects its socket toward the server, so it is
/// told when nothing listens there: the refusal surfaces as an error on
/// that socket's next receive, which the relay counts.
#[test]
#[file_serial(icmp)]
fn a_relay_in_front_of_an_absent_server_counts_the_refusal() {
    use udp_lab::lab::relay::{self, Links};
    let absent = closed_port(Family::V4);
    let relay = relay::spawn(Family::V4.any_port(), absent.addr(), Links::default())
        .expect("start the relay");
    let client = bound(Family::V4);
    client
        .send_to(b"anyone there?", relay.local_addr())
        .expect("send to the relay");

    let counted = relay.wait_until("a refused receive", |stats| stats.recv_errors >= 1);
    assert!(
        counted.is_ok(),
        "expected the relay to count at least 1 receive error (ECONNREFUSED on its connected socket); \
         got {counted:?}: an unconnected socket is never told"
    );
}
// ANCHOR_END: relay_hears_refusals

// ANCHOR: exercise_10_1
/// Exercise 10.1: a retrying client takes no reply from a stranger.
///
/// Hint: an unconnected socket hears anyone; the lab's retrying client filters
/// by source as a connected socket would. Play the server yourself: a plain
/// socket (`bound(Family::V4)`). Start `client.request(b"hello")` in a thread;
/// receive the request on your server socket (`recv::recv_datagram`: it is `"1
/// hello"`, the client numbers its requests, and `.from` is the client). Then a
/// stranger socket sends `"1 FAKE"` to the client, and only after it your
/// server sends `"1 REAL"`. The answer the thread returns must be `REAL`, and
/// `client.stats().strangers` 1. Uses: `udp_lab::lab::reliable::{Client,
/// RetryPolicy}` (not imported here: add a `use` inside your test);
/// `Client::new(UdpSocket, server: SocketAddr, RetryPolicy::default()) ->
/// Client`, `client.request(&[u8]) -> io::Result<Answer>` (`.payload:
/// Vec<u8>`), `client.stats().strangers: u64`; `bound(Family) -> UdpSocket` (in
/// this file); `recv::recv_datagram(&UdpSocket, what: &str) ->
/// io::Result<Datagram>` (`.from`); `std::thread::spawn` and its
/// `JoinHandle::join()` (write the full path).
///
/// Catches: accepts_reply_from_any_address
#[test]
#[ignore = "exercise 10.1: delete this line to start"]
fn a_retrying_client_takes_no_reply_from_a_stranger() {
    todo!("exercise 10.1: write the test")
}
// ANCHOR_END: exercise_10_1

// ANCHOR: exercise_10_2
/// Exercise 10.2: the relay forwards to its client only what the server sent.
///
/// Hint: the relay gives each client its own socket toward the server,
/// connected to it: the kernel then delivers that socket only the server's
/// datagrams. Play the server with a plain socket (`bound(Family::V4)`), start
/// `relay::spawn(Family::V4.any_port(), server_addr, Links::default())` (no
/// impairment), and send `b"hello"` from a client to the relay. Your server
/// receives it from the relay's socket (`.from`). Now a stranger sends
/// `b"injected"` to that socket, and only then your server sends `b"real"` to
/// it. The client must receive `real`, and then nothing more within `SILENCE`.
/// Uses: `udp_lab::lab::relay::{self, Links}` (not imported here: add a `use`
/// inside your test); `relay::spawn(listen: SocketAddr, server: SocketAddr,
/// Links) -> io::Result<RelayHandle>` (`.local_addr()`); `bound(Family) ->
/// UdpSocket` (in this file); `recv::recv_datagram(&UdpSocket, what: &str) ->
/// io::Result<Datagram>` (`.payload`, `.from`); `recv::recv_within(&UdpSocket,
/// SILENCE) -> io::Result<Option<Datagram>>`.
///
/// Catches: relay_hears_strangers
#[test]
#[ignore = "exercise 10.2: delete this line to start"]
fn the_relay_forwards_to_its_client_only_what_the_server_sent() {
    todo!("exercise 10.2: write the test")
}
// ANCHOR_END: exercise_10_2
