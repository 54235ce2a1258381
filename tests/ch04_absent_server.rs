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
use std::net::UdpSocket;

use rstest::rstest;
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

// ANCHOR: send_returns_ok
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn send_to_absent_server_returns_ok_with_the_byte_count(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let client = net::bind_loopback(family).expect("bind the client");
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
}
// ANCHOR_END: sender_learns_nothing

// ANCHOR: sending_goes_on
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
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

// ANCHOR: exercise_4_1
/// Exercise 4.1: the same socket can still talk to a real server after sending into the void.
///
/// Hint: send into the void first (`absent_server(family)`), then start an echo
/// server with `server::spawn(family.any_port(), Reply::Upper)` and use
/// `recv::request` from the *same* client socket: the reply arrives. Loop over
/// `Family::ALL`, skipping a family when `net::family_available` says no. Uses
/// (imported at the top of this file unless said): `Family::ALL`,
/// `net::family_available(Family) -> bool`; `absent_server(Family) ->
/// ClosedPort` (in this file); `net::bind_loopback(Family) ->
/// io::Result<UdpSocket>`; `server::spawn(SocketAddr, Reply) ->
/// io::Result<ServerHandle>` (not imported at the top: add `use
/// udp_lab::server::{self, Reply};` inside your test);
/// `recv::request(&UdpSocket, to: SocketAddr, payload: &[u8], what: &str) ->
/// io::Result<Datagram>`.
#[test]
#[ignore = "exercise 4.1: delete this line to start"]
fn same_socket_still_talks_to_a_real_server_after_sending_into_the_void() {
    todo!("exercise 4.1: write the test")
}
// ANCHOR_END: exercise_4_1

// ANCHOR: exercise_4_2
/// Exercise 4.2: a server started after the send receives nothing.
///
/// Hint: send to `absent_server(family)` and note its `addr()`. Then free the
/// port (`drop` the `ClosedPort`), bind a socket to that very address with
/// `net::bind(addr)`, and listen with `recv::recv_within(&sock, net::SILENCE)`:
/// nothing comes. Nobody kept the datagram for later: the kernel dropped it the
/// moment it found no socket to take it. Uses (imported at the top of this file
/// unless said): `Family::ALL`, `net::family_available(Family) -> bool`;
/// `absent_server(Family) -> ClosedPort` (`.addr() -> SocketAddr`);
/// `net::bind(SocketAddr) -> io::Result<UdpSocket>`;
/// `recv::recv_within(&UdpSocket, net::SILENCE) ->
/// io::Result<Option<Datagram>>`.
#[test]
#[ignore = "exercise 4.2: delete this line to start"]
fn server_started_after_the_send_receives_nothing() {
    todo!("exercise 4.2: write the test")
}
// ANCHOR_END: exercise_4_2
