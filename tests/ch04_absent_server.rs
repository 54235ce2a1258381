//! Chapter 04: sending to an absent server.
//!
//! Claim: `send_to` an address where nothing listens succeeds, with the byte
//! count, on an unconnected socket; the sender learns nothing about the fate
//! of the datagram, and can go on sending. The article:
//! "服务端不存在的时候,客户端照发无误,不会报错" ("when the server does not
//! exist, the client sends as usual, without error"); UDP "只管发,至于他收不收得到
//! 都不会去考虑" ("just sends; whether the other side receives it is not considered").
//!
//! Connected sockets behave differently (ECONNREFUSED): chapter 10.
//!
//! Run: `cargo test --test ch04_absent_server`

use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};

use rstest::rstest;
use serial_test::file_serial;
use udp_lab::lab::kernel::{self, QueuedError};
use udp_lab::net::{self, ClosedPort, Family};
use udp_lab::recv::{self, Datagram};

// ANCHOR: absent_server
/// A loopback address where nothing receives, held for the test's duration
/// (see `net::closed_port`: to any sender it is a port nobody bound).
fn absent_server(family: Family) -> ClosedPort {
    net::closed_port(family).expect("hold a port where nothing receives")
}
// ANCHOR_END: absent_server

/// Waits [`net::SILENCE`] for anything to come back to `sock`. On Windows an
/// ICMP "port unreachable" may surface as `WSAECONNRESET` on this receive
/// instead: it is returned as `Err` for the test to judge.
fn listen_for_an_answer(sock: &UdpSocket) -> io::Result<Option<Datagram>> {
    recv::recv_within(sock, net::SILENCE)
}

// ANCHOR: told_with_recverr
/// Linux: asks for ICMP errors on `sock` (`IP_RECVERR`), sends `to` one
/// datagram, and returns the error the kernel queued for it on the socket's
/// error queue (`recvmsg(MSG_ERRQUEUE)`), waiting at most [`net::DEFAULT_TIMEOUT`].
fn refusal_with_recverr(sock: &UdpSocket, to: SocketAddr) -> QueuedError {
    kernel::set_recv_errors(sock, true).expect("setsockopt IP_RECVERR");
    sock.send_to(b"hello again", to)
        .expect("send_to returns Ok: the refusal comes after");
    let refusal =
        kernel::next_queued_error(sock, net::DEFAULT_TIMEOUT).expect("recvmsg(MSG_ERRQUEUE)");
    refusal.unwrap_or_else(|| {
        panic!(
            "expected the ICMP port unreachable the kernel sends back for {to}, queued for a socket \
             that asked; got nothing within {:?}",
            net::DEFAULT_TIMEOUT
        )
    })
}
// ANCHOR_END: told_with_recverr

// ANCHOR: send_returns_ok
#[rstest]
#[case::ipv4(Family::V4, "127.0.0.1:0")]
#[case::ipv6(Family::V6, "[::1]:0")]
#[file_serial(icmp)] // see kernel_counts_what_the_sender_is_not_told
fn send_to_absent_server_returns_ok_with_the_byte_count(
    #[case] family: Family,
    #[case] any_port: &str,
) {
    if !net::require(family) {
        return;
    }
    let client = UdpSocket::bind(any_port).expect("bind the client");
    let nobody = absent_server(family);

    let sent = client.send_to(b"hello", nobody.addr());

    assert_eq!(
        sent.expect("send_to an address where nothing listens is not an error"),
        5,
        "send_to returns the 5 bytes it handed to the network: the datagram left, and that is \
         all the sender is told"
    );
}
// ANCHOR_END: send_returns_ok

// ANCHOR: sender_learns_nothing
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
#[file_serial(icmp)] // see kernel_counts_what_the_sender_is_not_told
fn sender_hears_nothing_back_from_an_absent_server(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let client = net::bind_loopback(family).expect("bind the client");
    let nobody = absent_server(family);
    client
        .send_to(b"hello", nobody.addr())
        .expect("send_to returns Ok");

    let heard = listen_for_an_answer(&client);

    let windows_reset = matches!(&heard, Err(e) if e.kind() == io::ErrorKind::ConnectionReset);
    assert!(
        matches!(heard, Ok(None)) || (cfg!(windows) && windows_reset),
        "an unconnected socket hears nothing: no reply (nobody is there) and no error (the \
         ICMP port unreachable is not passed to an unconnected socket; Windows alone may \
         report it as WSAECONNRESET); got {heard:?}"
    );
    // Silence proves something only if a refusal did come back. Linux shows it
    // to the same socket once it asks (IP_RECVERR): the next datagram is refused.
    if cfg!(target_os = "linux") {
        let refusal = refusal_with_recverr(&client, nobody.addr());
        assert_eq!(
            (refusal.error.kind(), refusal.destination),
            (io::ErrorKind::ConnectionRefused, nobody.addr()),
            "the kernel did answer with ICMP port unreachable (ECONNREFUSED for the address sent \
             to); it only kept it from the socket that did not ask: {refusal:?}"
        );
    }
}
// ANCHOR_END: sender_learns_nothing

// ANCHOR: sending_goes_on
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
#[file_serial(icmp)] // see kernel_counts_what_the_sender_is_not_told
fn later_sends_to_an_absent_server_return_ok_too(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let client = net::bind_loopback(family).expect("bind the client");
    let nobody = absent_server(family);
    client
        .send_to(b"first", nobody.addr())
        .expect("the first send_to returns Ok");
    // Give the ICMP "port unreachable" for the first datagram all the time
    // it needs to come back (on loopback it takes microseconds).
    let _ = listen_for_an_answer(&client);

    let second = client.send_to(b"second", nobody.addr());

    let windows_reset = matches!(&second, Err(e) if e.kind() == io::ErrorKind::ConnectionReset);
    assert!(
        matches!(second, Ok(6)) || (cfg!(windows) && windows_reset),
        "no error sticks to an unconnected socket: the second send_to returns Ok(6) as the first \
         did; got {second:?}"
    );
}
// ANCHOR_END: sending_goes_on

// ANCHOR: recverr_names_the_address
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
#[file_serial(icmp)] // see kernel_counts_what_the_sender_is_not_told
fn with_ip_recverr_an_unconnected_socket_is_told_which_address_refused(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    if !cfg!(target_os = "linux") {
        return net::skip_even_under_ci("IP_RECVERR is Linux's");
    }
    let client = net::bind_loopback(family).expect("bind the client");
    let nobody = absent_server(family);

    let refusal = refusal_with_recverr(&client, nobody.addr());

    let port_unreachable = match family {
        Family::V4 => (3, 3), // ICMP destination unreachable, port unreachable
        Family::V6 => (1, 4), // ICMPv6 destination unreachable, port unreachable
    };
    assert_eq!(
        (refusal.error.kind(), refusal.destination, refusal.icmp),
        (io::ErrorKind::ConnectionRefused, nobody.addr(), Some(port_unreachable)),
        "the error queue says what the ICMP said: ECONNREFUSED, for the datagram sent to {}: {refusal:?}",
        nobody.addr()
    );
    assert_eq!(
        refusal.offender,
        Some(family.loopback()),
        "and who said it: the host that sent the ICMP, here our own loopback"
    );
    assert!(
        client.take_error().expect("SO_ERROR").is_none(),
        "reading the error queue also cleared the socket's pending error"
    );
}
// ANCHOR_END: recverr_names_the_address

// ANCHOR: recverr_fails_next_send
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
#[file_serial(icmp)] // see kernel_counts_what_the_sender_is_not_told
fn with_ip_recverr_a_refusal_fails_the_next_send_to_any_address(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    if !cfg!(target_os = "linux") {
        return net::skip_even_under_ci("IP_RECVERR is Linux's");
    }
    let client = net::bind_loopback(family).expect("bind the client");
    let nobody = absent_server(family);
    let listener = net::bind_loopback(family).expect("bind a socket that does listen");
    let listening = listener.local_addr().expect("the listener's address");
    kernel::set_recv_errors(&client, true).expect("setsockopt IP_RECVERR");
    client
        .send_to(b"first", nobody.addr())
        .expect("the first send_to returns Ok");
    kernel::wait_for_error(&client, net::SILENCE).expect("the refusal becomes pending");

    let to_someone_else = client.send_to(b"second", listening);
    let arrived = recv::recv_within(&listener, net::SILENCE).expect("receive");
    let third = client.send_to(b"third", listening);

    assert_eq!(
        to_someone_else.as_ref().map_err(io::Error::kind),
        Err(io::ErrorKind::ConnectionRefused),
        "the pending refusal (from {}) fails the next call, a send_to a listening socket: {to_someone_else:?}",
        nobody.addr()
    );
    assert_eq!(
        arrived, None,
        "and that datagram was not sent: the listener got nothing"
    );
    assert!(
        matches!(third, Ok(5)),
        "the error was reported once, then cleared: the next send_to works, got {third:?}"
    );
}
// ANCHOR_END: recverr_fails_next_send

// ANCHOR: kernel_counts
/// Three counters of the network namespace (Linux) for `family`: datagrams
/// dropped because no socket took them, ICMP port unreachables sent, and
/// ICMP destination unreachables received.
fn icmp_counters(family: Family) -> [u64; 3] {
    let read = |counter: io::Result<u64>| counter.expect("a counter of /proc/net/snmp or snmp6");
    match family {
        Family::V4 => [
            read(kernel::snmp("Udp", "NoPorts")),
            read(kernel::snmp("Icmp", "OutDestUnreachs")),
            read(kernel::snmp("Icmp", "InDestUnreachs")),
        ],
        Family::V6 => [
            read(kernel::snmp6("Udp6NoPorts")),
            read(kernel::snmp6("Icmp6OutDestUnreachs")),
            read(kernel::snmp6("Icmp6InDestUnreachs")),
        ],
    }
}

#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
// The counters are the whole network namespace's: any test sending to a
// closed port raises them. Every such test here holds the file lock `icmp`
// (test processes side by side wait too), so that during this test only this
// test's datagrams raise them; other programs still may: so `>=`, never `==`.
#[file_serial(icmp)]
fn kernel_counts_what_the_sender_is_not_told(#[case] family: Family) {
    const COUNT: u64 = 20;
    if !net::require(family) {
        return;
    }
    if !cfg!(target_os = "linux") {
        return net::skip_even_under_ci("these counters are Linux's /proc/net/snmp");
    }
    let client = net::bind_loopback(family).expect("bind the client");
    let nobody = absent_server(family);
    // IP_RECVERR tells when each datagram's ICMP has come back: no sleeping.
    kernel::set_recv_errors(&client, true).expect("setsockopt IP_RECVERR");
    let before = icmp_counters(family);
    for _ in 0..COUNT {
        client
            .send_to(b"hello", nobody.addr())
            .expect("send_to returns Ok");
        let refusal = kernel::next_queued_error(&client, net::SILENCE).expect("MSG_ERRQUEUE");
        assert!(
            refusal.is_some(),
            "expected this datagram's refusal on the error queue within {:?}, got none",
            net::SILENCE
        );
    }
    let after = icmp_counters(family);

    let rose: Vec<u64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    assert!(
        rose.iter().all(|&r| r >= COUNT),
        "{COUNT} datagrams to a closed port: expected NoPorts (dropped, no socket), OutDestUnreachs \
         (ICMP sent) and InDestUnreachs (ICMP received) each to rise by at least {COUNT}, got {rose:?}"
    );
}
// ANCHOR_END: kernel_counts

// ANCHOR: stopped_server_is_absent
/// Once stopped, a server is an absent server: nothing of it is left on its
/// port, so a socket connected to that address hears the kernel's refusal
/// (chapter 10) instead of silence.
#[test]
#[file_serial(icmp)] // it makes the kernel send an ICMP port unreachable
fn a_connected_client_of_a_stopped_server_hears_the_refusal() {
    use udp_lab::lab::server::{self, Reply};
    // Its port lies below the ephemeral range: once the server stops, no
    // socket of another test binding port 0 can be handed that port and take
    // the next datagram (`net::free_port_below_ephemeral_range`).
    let port = net::free_port_below_ephemeral_range().expect("a free port for the server");
    let echo = server::spawn(SocketAddr::from((Ipv4Addr::LOCALHOST, port)), Reply::Upper)
        .expect("start the echo server");
    let client = net::bind_loopback(Family::V4).expect("bind the client");
    client
        .connect(echo.local_addr())
        .expect("connect the client to the server");
    client
        .send(b"are you there?")
        .expect("send to the running server");
    recv::recv_datagram(&client, "the reply").expect("the running server answers");
    echo.shutdown();

    client
        .send(b"and now?")
        .expect("send returns Ok: the refusal comes after");
    // What must come is waited for as long as any answer (a busy machine can
    // hand the ICMP to the socket late); silence is what would take this long.
    let got = recv::recv_within(&client, net::DEFAULT_TIMEOUT);
    assert!(
        matches!(&got, Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset)),
        "expected ECONNREFUSED (WSAECONNRESET on Windows): a stopped server leaves no socket on its \
         port; got {got:?}, as if something still held the port and queued the request"
    );
}
// ANCHOR_END: stopped_server_is_absent

// ANCHOR: exercise_4_1
/// Exercise 4.1: a stopped server's port is free to bind again.
///
/// Hint: start `server::spawn(family.any_port(), Reply::Upper)`, check it
/// answers one request, note its `local_addr()`, then `shutdown()` it. A
/// stopped server must leave nothing behind on its port: `net::bind(addr)` on
/// that very address must now succeed (a socket still open there would make it
/// fail with `AddrInUse`, and would swallow requests unread, so a sender would
/// never get a refusal). Do it for each family `net::family_available` allows.
/// Uses: `udp_lab::lab::server::{self, Reply}` (not imported here: add a `use`
/// inside your test); `server::spawn(SocketAddr, Reply) ->
/// io::Result<ServerHandle>` (`.local_addr()`, `.shutdown()`);
/// `net::bind_loopback(Family)`, `net::bind(SocketAddr) ->
/// io::Result<UdpSocket>`; `recv::request(&UdpSocket, to: SocketAddr, payload:
/// &[u8], what: &str) -> io::Result<Datagram>`; `Family::ALL`,
/// `net::family_available`.
///
/// Catches: keeps_port_after_shutdown
#[test]
#[ignore = "exercise 4.1: delete this line to start"]
fn a_stopped_servers_port_is_free_to_bind_again() {
    todo!("exercise 4.1: write the test")
}
// ANCHOR_END: exercise_4_1

// ANCHOR: exercise_4_2
/// Exercise 4.2: IP_RECVERR tells the sender which of two absent servers refused.
///
/// Hint: Linux only (`if !cfg!(target_os = "linux") { return; }`). Hold two
/// closed ports (`absent_server(family)` twice). One socket,
/// `kernel::set_recv_errors(&sock, true)`; send to the first, take the error
/// with `kernel::next_queued_error(&sock, net::SILENCE)`: its `destination` is
/// the first port's `addr()`; then the same for the second. Keep the
/// `#[file_serial(icmp)]` line (the ICMP tests share the kernel's counters).
/// Uses (imported at the top of this file): `absent_server(Family) ->
/// ClosedPort` (`.addr() -> SocketAddr`); `net::bind_loopback(Family)`,
/// `net::require(Family) -> bool`; `kernel::set_recv_errors(&UdpSocket, bool)
/// -> io::Result<()>`; `kernel::next_queued_error(&UdpSocket, Duration) ->
/// io::Result<Option<QueuedError>>` (`.destination: SocketAddr`, `.error:
/// io::Error`); `Family::ALL`.
///
/// Catches: recverr_wrong_destination
#[test]
#[ignore = "exercise 4.2: delete this line to start"]
#[file_serial(icmp)]
fn ip_recverr_tells_which_of_two_absent_servers_refused() {
    todo!("exercise 4.2: write the test")
}
// ANCHOR_END: exercise_4_2
