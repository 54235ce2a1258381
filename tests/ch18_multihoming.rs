//! Chapter 18: one host, two addresses.
//!
//! Claim: a UDP server bound to the wildcard address on a host with more
//! than one address answers from the address the kernel picks for the
//! route back, which need not be the address the client asked; a client
//! that checks where its reply comes from (a connected socket, chapter 10)
//! then never sees the answer. With `IP_PKTINFO` (IPv6:
//! `IPV6_RECVPKTINFO`) the server learns each request's destination
//! address and replies from it (`sendmsg` with the same control message,
//! UNP section 22.2); a socket bound to each address does the same.
//!
//! The tests run on test hosts (`udp_lab::lab::hosts::Lab::multihomed`):
//! client a (192.0.2.1, 2001:db8:1::1) and server s, which has 192.0.2.2
//! and 192.0.2.3 (2001:db8:1::2, and 2001:db8:1::3 deprecated) on the
//! interface a's link reaches, and 198.51.100.2 (2001:db8:2::2) on a second
//! interface. For a reply to a, s's kernel always picks 192.0.2.2 /
//! 2001:db8:1::2 (the module's documentation says why). They need Linux
//! and root; elsewhere each test prints why it skips.
//!
//! Run: `cargo test --test ch18_multihoming`

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use rstest::rstest;
use udp_lab::lab::hosts::multihomed;
use udp_lab::lab::hosts::{self, Host, Lab};
use udp_lab::net::{DEFAULT_TIMEOUT, SILENCE};
use udp_lab::recv;

/// Builds the hosts, or fails naming what could not be built.
#[track_caller]
fn built(lab: io::Result<Lab>) -> Lab {
    lab.unwrap_or_else(|e| panic!("building the test hosts: {e}"))
}

/// The source s's kernel picks for a reply to a: eth0's first address.
fn kernel_pick(asked: IpAddr) -> IpAddr {
    match asked {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 2)),
    }
}

/// The wildcard address of `asked`'s family, port 0.
fn wildcard(asked: IpAddr) -> SocketAddr {
    match asked {
        IpAddr::V4(_) => SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)),
        IpAddr::V6(_) => SocketAddr::from((Ipv6Addr::UNSPECIFIED, 0)),
    }
}

/// A server socket of s on the wildcard address, and a client socket of
/// a connected to the server's port at `asked`: (server, client).
#[track_caller]
fn wildcard_server_and_connected_client(lab: &Lab, asked: IpAddr) -> (UdpSocket, UdpSocket) {
    let server = lab
        .host("s")
        .bind(wildcard(asked))
        .expect("bind the server on s");
    let port = server.local_addr().expect("server port").port();
    (
        server,
        client_of(lab.host("a"), SocketAddr::new(asked, port)),
    )
}

/// A socket of `a` connected to `to`.
#[track_caller]
fn client_of(a: &Host, to: SocketAddr) -> UdpSocket {
    let client = a.bind(wildcard(to.ip())).expect("bind the client on a");
    client.connect(to).expect("connect the client");
    client
}

/// What `sock` receives within `wait`: a datagram, or `None` after `wait` of
/// silence ([`recv::recv_within`], which also waits again when a stop and
/// continue interrupts the wait with `EINTR`, man 7 signal).
#[track_caller]
fn within(sock: &UdpSocket, wait: Duration) -> Option<recv::Datagram> {
    recv::recv_within(sock, wait).expect("wait for a datagram")
}

// ANCHOR: wildcard_pick
#[rstest]
#[case::ipv4_second_address_of_eth0("192.0.2.3")]
#[case::ipv4_address_of_eth1("198.51.100.2")]
#[case::ipv6_deprecated_address_of_eth0("2001:db8:1::3")]
#[case::ipv6_address_of_eth1("2001:db8:2::2")]
fn a_wildcard_server_answers_from_the_address_the_kernel_picks_not_the_one_asked(
    #[case] asked: IpAddr,
) {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::multihomed());
    let (a, s) = (lab.host("a"), lab.host("s"));
    let server = s
        .run(|| UdpSocket::bind(wildcard(asked)))
        .expect("bind on s");
    let client = a
        .run(|| UdpSocket::bind(wildcard(asked)))
        .expect("bind on a");
    let port = server.local_addr().expect("server port").port();

    client
        .send_to(b"who are you?", (asked, port))
        .expect("send_to");
    let request = within(&server, DEFAULT_TIMEOUT).expect("the request reaches s");
    server
        .send_to(&request.payload, request.from)
        .expect("the server's reply");
    let reply = within(&client, DEFAULT_TIMEOUT).expect("the reply reaches a");
    let replier = reply.from;

    assert_eq!(
        replier.ip(),
        kernel_pick(asked),
        "a asked {asked}; the reply came from {replier}: a socket bound to the wildcard address \
         has no source address of its own, so the kernel takes the route's choice for the way \
         back to a, eth0's first address, whatever address the request was sent to"
    );
}
// ANCHOR_END: wildcard_pick

// ANCHOR: connected_client_drops_it
#[rstest]
#[case::ipv4_second_address_of_eth0("192.0.2.3")]
#[case::ipv4_address_of_eth1("198.51.100.2")]
#[case::ipv6_deprecated_address_of_eth0("2001:db8:1::3")]
#[case::ipv6_address_of_eth1("2001:db8:2::2")]
fn a_connected_client_never_sees_the_reply_from_the_other_address(#[case] asked: IpAddr) {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::multihomed());
    let (server, client) = wildcard_server_and_connected_client(&lab, asked);

    client.send(b"who are you?").expect("send");
    let request = within(&server, DEFAULT_TIMEOUT).expect("the request arrives at s");
    server
        .send_to(&request.payload, request.from)
        .expect("reply");
    let reply = within(&client, SILENCE);

    assert!(
        reply.is_none(),
        "the client is connected to {asked}; the reply left s from {} and its kernel dropped it \
         before the socket, as a connected socket drops every datagram from another address \
         (chapter 10): the client waits for an answer that came; got {reply:?}",
        kernel_pick(asked)
    );
}
// ANCHOR_END: connected_client_drops_it

// ANCHOR: pktinfo_learns
#[rstest]
#[case::ipv4_first_address_of_eth0("192.0.2.2")]
#[case::ipv4_second_address_of_eth0("192.0.2.3")]
#[case::ipv4_address_of_eth1("198.51.100.2")]
#[case::ipv6_first_address_of_eth0("2001:db8:1::2")]
#[case::ipv6_deprecated_address_of_eth0("2001:db8:1::3")]
#[case::ipv6_address_of_eth1("2001:db8:2::2")]
fn ip_pktinfo_tells_the_server_the_address_each_request_was_sent_to(#[case] asked: IpAddr) {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::multihomed());
    let (server, client) = wildcard_server_and_connected_client(&lab, asked);
    multihomed::enable_pktinfo(&server).expect("IP_PKTINFO / IPV6_RECVPKTINFO");

    client.send(b"which address?").expect("send");
    let request = multihomed::recv_request(&server).expect("recvmsg at s");

    assert_eq!(
        request.to,
        Some(asked),
        "with pktinfo on, recvmsg returns a control message (IP_PKTINFO's ipi_addr, \
         IPV6_PKTINFO's ipi6_addr) holding the destination address of the datagram"
    );
}
// ANCHOR_END: pktinfo_learns

// ANCHOR: pktinfo_replies
#[rstest]
#[case::ipv4_second_address_of_eth0("192.0.2.3")]
#[case::ipv4_address_of_eth1("198.51.100.2")]
#[case::ipv6_deprecated_address_of_eth0("2001:db8:1::3")]
#[case::ipv6_address_of_eth1("2001:db8:2::2")]
fn a_pktinfo_server_replies_from_the_address_the_client_asked(#[case] asked: IpAddr) {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::multihomed());
    let (server, client) = wildcard_server_and_connected_client(&lab, asked);
    multihomed::enable_pktinfo(&server).expect("IP_PKTINFO / IPV6_RECVPKTINFO");

    client.send(b"answer me from there").expect("send");
    multihomed::echo_once(&server).expect("the pktinfo server answers one request");
    let reply = within(&client, DEFAULT_TIMEOUT);

    assert_eq!(
        reply.as_ref().map(|d| (d.payload.as_slice(), d.from.ip())),
        Some((&b"answer me from there"[..], asked)),
        "the server sent its reply with the request's destination as the source \
         (sendmsg with IP_PKTINFO's ipi_spec_dst / IPV6_PKTINFO's ipi6_addr), so the connected \
         client accepts it; got {reply:?}"
    );
}
// ANCHOR_END: pktinfo_replies

// ANCHOR: bound_per_address
#[rstest]
#[case::ipv4_second_address_of_eth0("192.0.2.3")]
#[case::ipv4_address_of_eth1("198.51.100.2")]
#[case::ipv6_deprecated_address_of_eth0("2001:db8:1::3")]
#[case::ipv6_address_of_eth1("2001:db8:2::2")]
fn a_server_socket_bound_to_the_address_asked_replies_from_it(#[case] asked: IpAddr) {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::multihomed());
    let server = lab
        .host("s")
        .bind(SocketAddr::new(asked, 0))
        .expect("bind the server to one of s's addresses");
    let client = client_of(lab.host("a"), server.local_addr().expect("server address"));

    client.send(b"hello there").expect("send");
    let request = within(&server, DEFAULT_TIMEOUT).expect("the request arrives at s");
    server
        .send_to(&request.payload, request.from)
        .expect("reply");
    let reply = within(&client, DEFAULT_TIMEOUT);

    assert_eq!(
        reply.map(|d| d.from.ip()),
        Some(asked),
        "a socket bound to {asked} sends from {asked}: the other way to answer from the \
         address asked, one socket per address (what BIND and ntpd do)"
    );
}
// ANCHOR_END: bound_per_address

// ---------------------------------------------------------------------------
// Exercises. Each stub is ignored until you start it: delete its `#[ignore]`
// line, write the test, and check it with `cargo run -- exercises check N.M`.
// ---------------------------------------------------------------------------

// ANCHOR: exercise_18_1
/// Exercise 18.1: a client that checks the reply's source rejects the wildcard server and accepts the pktinfo server.
///
/// Hint: `if !hosts::require() { return; }`, then `built(Lab::multihomed())`.
/// Two servers on s, both `lab.host("s").bind(wildcard(asked))` with `asked:
/// IpAddr = "192.0.2.3".parse().expect("an address")`; pktinfo on for the second with
/// `multihomed::enable_pktinfo(&server)`. An *unconnected* client on a
/// (`lab.host("a").bind(wildcard(asked))`) sends to each server's port at
/// `asked`; the first answers with `within(&server, DEFAULT_TIMEOUT)` (an `Option<recv::Datagram>`)
/// and `server.send_to(&request.payload, request.from)`, the second with
/// `multihomed::echo_once(&server)`. Receive both replies with
/// `within(&client, DEFAULT_TIMEOUT)` (`.from` of the datagram is
/// the source) and compare each `.from` with `SocketAddr::new(asked, port)`.
///
/// Catches: replies_from_the_wildcards_pick
#[test]
#[ignore = "exercise 18.1: delete this line to start"]
fn a_client_that_checks_the_source_rejects_the_wildcard_server_and_accepts_the_pktinfo_server() {
    todo!("exercise 18.1: write the test")
}
// ANCHOR_END: exercise_18_1

// ANCHOR: exercise_18_2
/// Exercise 18.2: one pktinfo server per family answers clients at all six addresses, each from the address it asked.
///
/// One server socket of each family on s (wildcard address), pktinfo on;
/// six connected clients on a, one per address of s (192.0.2.2,
/// 192.0.2.3, 198.51.100.2, 2001:db8:1::2, 2001:db8:1::3, 2001:db8:2::2),
/// each sending its own address as text. Every client receives, from the
/// address it asked, the reply to its own request.
///
/// Hint: `if !hosts::require() { return; }`, `built(Lab::multihomed())`;
/// servers: `lab.host("s").bind(wildcard(ip))` then
/// `multihomed::enable_pktinfo(&server)`; clients: `client_of(lab.host("a"),
/// SocketAddr::new(ip, port))`, `client.send(ip.to_string().as_bytes())`.
/// Let each server answer three requests with `multihomed::echo_once(&server)`
/// (an `io::Result<multihomed::Request>`), then
/// `within(&client, DEFAULT_TIMEOUT)` on each client: an
/// `Option<recv::Datagram>` whose `.from` and `.text()` you check.
///
/// Catches: replies_from_the_wildcards_pick, pktinfo_ignores_ipv6
#[test]
#[ignore = "exercise 18.2: delete this line to start"]
fn one_pktinfo_server_per_family_answers_all_six_addresses_each_from_the_address_asked() {
    todo!("exercise 18.2: write the test")
}
// ANCHOR_END: exercise_18_2
