//! Reference solutions for the exercises of chapter 10 (tests/ch10_connected_sockets.rs).
//!
//! Not compiled on its own: `udp-lab exercises --verify` splices each region
//! over the stub of the same name and proves it passes. Try first, then peek.

// ANCHOR: exercise_10_1
#[test]
fn refusal_is_reported_once_then_the_socket_sends_again() {
    let (client, nobody) = (bound(Family::V4), closed_port(Family::V4));
    client
        .connect(nobody.addr())
        .expect("connect to a port where nothing listens");
    client.send(b"one").expect("the first send succeeds");

    let err = client
        .recv(&mut [0u8; 16])
        .expect_err("the ICMP port unreachable is reported");
    let again = client.send(b"two");

    assert_eq!(err.kind(), refused_kind(), "the refusal, once: {err}");
    assert!(
        matches!(again, Ok(3)),
        "reporting the error cleared it (like reading SO_ERROR): the next send succeeds: {again:?}"
    );
}
// ANCHOR_END: exercise_10_1

// ANCHOR: exercise_10_2
#[test]
fn connecting_again_switches_which_peer_is_heard() {
    let (client, first, second) = (bound(Family::V4), bound(Family::V4), bound(Family::V4));
    let client_addr = client.local_addr().expect("client address");
    let second_addr = second.local_addr().expect("second address");
    client
        .connect(first.local_addr().expect("first address"))
        .expect("connect to the first peer");
    client
        .connect(second_addr)
        .expect("connect again, to the second peer");

    first
        .send_to(b"from first", client_addr)
        .expect("the first peer sends");
    second
        .send_to(b"from second", client_addr)
        .expect("the second peer sends");
    let got = recv::recv_datagram(&client, "a datagram from the current peer")
        .expect("the second is heard");

    assert_eq!(
        (got.text().as_str(), got.from),
        ("from second", second_addr),
        "the second connect replaced the peer: the old peer's datagram was filtered out"
    );
}
// ANCHOR_END: exercise_10_2

// ANCHOR: exercise_10_3
#[test]
fn peer_addr_names_the_peer_only_after_connect() {
    let (client, peer) = (bound(Family::V4), bound(Family::V4));
    let peer_addr = peer.local_addr().expect("peer address");

    let before = client
        .peer_addr()
        .expect_err("a fresh UDP socket has no peer");
    client.connect(peer_addr).expect("connect");
    let after = client.peer_addr().expect("a connected socket has a peer");

    assert_eq!(
        before.kind(),
        ErrorKind::NotConnected,
        "getpeername on an unconnected socket: {before}"
    );
    assert_eq!(
        after, peer_addr,
        "connect recorded the peer; no packet was exchanged to do it"
    );
}
// ANCHOR_END: exercise_10_3
