//! Chapter 17: broadcast and multicast.
//!
//! Claim: one `send_to` can reach many hosts. To a subnet's broadcast
//! address it reaches every host on the link, but only from a socket that
//! asked for it (`SO_BROADCAST`; without it the kernel refuses with
//! `EACCES`), and never past a router. To a multicast group it reaches
//! every host that joined the group on that link and no other; the sender's
//! TTL (hop limit) says how many routers may forward it, and routers
//! forward none unless they run multicast routing; `IP_MULTICAST_LOOP`
//! decides whether the sender's own host hears it; a member that leaves
//! hears nothing more.
//!
//! The tests run on test hosts (`udp_lab::lab::hosts::Lab::lan`): hosts a,
//! b, c and router r on one bridged segment (192.0.2.0/24,
//! 2001:db8:1::/64), host d behind r (198.51.100.2). They need Linux and
//! root; elsewhere each test prints why it skips. The groups are
//! 239.255.17.1 (IPv4 Local Scope, RFC 2365) and ff15::17 (transient,
//! site-local scope).
//!
//! Run: `cargo test --test ch17_broadcast_multicast`

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::time::Duration;

use rstest::rstest;
use udp_lab::lab::hosts::capture::{Capture, Frame, Frames};
use udp_lab::lab::hosts::group::{self, Sending};
use udp_lab::lab::hosts::{self, Host, Lab, FAR_BROADCAST, LAN_BROADCAST};
use udp_lab::net::{Family, DEFAULT_TIMEOUT, SILENCE};
use udp_lab::recv;

/// Builds the LAN, or fails naming what could not be built.
#[track_caller]
fn built(lab: io::Result<Lab>) -> Lab {
    lab.unwrap_or_else(|e| panic!("building the test hosts: {e}"))
}

/// A socket of `host` bound to the IPv4 wildcard address and `port`.
#[track_caller]
fn listener(host: &Host, port: u16) -> UdpSocket {
    host.bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))
        .unwrap_or_else(|e| panic!("bind 0.0.0.0:{port} on {}: {e}", host.role))
}

/// What `sock` receives within `wait`: a datagram, or `None` after `wait` of
/// silence ([`recv::recv_within`], which also waits again when a stop and
/// continue interrupts the wait with `EINTR`, man 7 signal).
#[track_caller]
fn within(sock: &UdpSocket, wait: Duration) -> Option<recv::Datagram> {
    recv::recv_within(sock, wait).expect("wait for a datagram")
}

/// The frames `recording` holds, read one at a time until none comes for
/// [`SILENCE`] (an interrupted read, `EINTR`, loses no frame: it is read again).
#[track_caller]
fn frames_until_quiet(recording: &Capture) -> Vec<Frame> {
    let mut frames = Vec::new();
    while frames.len() < 256 {
        match recording.take(1, SILENCE) {
            Ok(next) if next.is_empty() => break,
            Ok(next) => frames.extend(next),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => panic!("reading the captured frames: {e}"),
        }
    }
    frames
}

/// `role`'s socket receives exactly one datagram, `payload`, and then silence.
#[track_caller]
fn hears_once(role: &str, sock: &UdpSocket, payload: &[u8], why: &str) {
    let got = within(sock, DEFAULT_TIMEOUT);
    assert_eq!(
        got.as_ref().map(|d| d.payload.as_slice()),
        Some(payload),
        "{role} should receive {:?}; got {got:?}: {why}",
        String::from_utf8_lossy(payload)
    );
    let again = within(sock, SILENCE);
    assert!(
        again.is_none(),
        "{role} received a second copy: {again:?}; one send, one copy per host"
    );
}

/// `role`'s socket receives nothing within [`SILENCE`].
#[track_caller]
fn hears_nothing(role: &str, sock: &UdpSocket, why: &str) {
    let got = within(sock, SILENCE);
    assert!(
        got.is_none(),
        "{role} should hear nothing, got {got:?}: {why}"
    );
}

// ANCHOR: so_broadcast
#[test]
fn broadcast_is_refused_with_eacces_until_so_broadcast_is_set() {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::lan());
    let (a, b) = (lab.host("a"), lab.host("b"));
    let receiver = b.run(|| UdpSocket::bind("0.0.0.0:0")).expect("bind on b");
    receiver
        .set_read_timeout(Some(DEFAULT_TIMEOUT))
        .expect("timeout");
    let port = receiver.local_addr().expect("b's port").port();
    let sender = a.run(|| UdpSocket::bind("0.0.0.0:0")).expect("bind on a");
    let everyone = SocketAddr::from((LAN_BROADCAST, port)); // 192.0.2.255

    let refused = sender.send_to(b"to all", everyone);
    sender.set_broadcast(true).expect("SO_BROADCAST");
    let sent = sender.send_to(b"to all", everyone);
    let mut buf = [0u8; 64];
    let (n, from) = receiver
        .recv_from(&mut buf)
        .expect("b receives the broadcast");

    let err = refused.expect_err("a broadcast without SO_BROADCAST");
    assert_eq!(
        err.kind(),
        io::ErrorKind::PermissionDenied,
        "the kernel refuses a broadcast from a socket that did not ask (EACCES), \
         so that no program floods a link by mistake; got {err:?}"
    );
    assert_eq!(
        sent.ok(),
        Some(6),
        "with SO_BROADCAST the same send_to goes"
    );
    assert_eq!(
        (&buf[..n], from.ip()),
        (&b"to all"[..], IpAddr::V4(a.v4)),
        "b, which never gave a its address, received the datagram from a"
    );
}
// ANCHOR_END: so_broadcast

// ANCHOR: every_host_on_the_link
#[test]
fn one_broadcast_reaches_every_host_on_the_link_once() {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::lan());
    let b = listener(lab.host("b"), 0);
    let port = b.local_addr().expect("port").port();
    let (c, r) = (listener(lab.host("c"), port), listener(lab.host("r"), port));
    let sender = listener(lab.host("a"), 0);

    group::broadcast(
        &sender,
        b"hello, link",
        SocketAddr::from((LAN_BROADCAST, port)),
    )
    .expect("broadcast to 192.0.2.255 with SO_BROADCAST");

    let why = "a broadcast frame (destination ff:ff:ff:ff:ff:ff) is flooded to every port of the \
               link, and every host on the subnet delivers it to its socket on that port";
    for (role, sock) in [("b", &b), ("c", &c), ("r", &r)] {
        hears_once(role, sock, b"hello, link", why);
    }
}
// ANCHOR_END: every_host_on_the_link

// ANCHOR: router_stops_broadcast
#[rstest]
#[case::the_lans_own_broadcast(LAN_BROADCAST)]
#[case::limited_broadcast(Ipv4Addr::BROADCAST)]
#[case::directed_broadcast_to_ds_subnet(FAR_BROADCAST)]
fn the_router_forwards_no_broadcast_to_the_host_behind_it(#[case] to: Ipv4Addr) {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::lan());
    let d = listener(lab.host("d"), 0);
    let port = d.local_addr().expect("port").port();
    let r = listener(lab.host("r"), port);
    let sender = listener(lab.host("a"), 0);

    group::broadcast(&sender, b"anyone there?", SocketAddr::from((to, port))).expect("broadcast");

    hears_once(
        "r",
        &r,
        b"anyone there?",
        "the router is on a's link: it receives the broadcast itself",
    );
    hears_nothing(
        "d",
        &d,
        "a broadcast ends at the router: 192.0.2.255 and 255.255.255.255 belong to a's link \
         (RFC 919, RFC 1812 section 5.3.5), and a directed broadcast to d's subnet is not \
         forwarded either (Linux: net.ipv4.conf.*.bc_forwarding = 0, RFC 2644)",
    );
}
// ANCHOR_END: router_stops_broadcast

/// Members of `family`'s group on `roles`, all on one port: (port, sockets).
#[track_caller]
fn members(lab: &Lab, family: Family, roles: &[&str]) -> (u16, Vec<UdpSocket>) {
    let g = group::group(family);
    let mut port = 0;
    let mut sockets = Vec::new();
    for role in roles {
        let sock = group::join(lab.host(role), g, port)
            .unwrap_or_else(|e| panic!("{role} joins {g}: {e}"));
        port = sock.local_addr().expect("port").port();
        sockets.push(sock);
    }
    (port, sockets)
}

/// A socket of `host` on `family`'s wildcard address and `port` that joined nothing.
#[track_caller]
fn bystander(host: &Host, family: Family, port: u16) -> UdpSocket {
    let mut at = host.any_port(family == Family::V6);
    at.set_ip(match family {
        Family::V4 => Ipv4Addr::UNSPECIFIED.into(),
        Family::V6 => std::net::Ipv6Addr::UNSPECIFIED.into(),
    });
    at.set_port(port);
    host.bind(at).expect("bind a socket that joins nothing")
}

// ANCHOR: members_only
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn one_multicast_send_reaches_every_member_and_no_other_host(#[case] family: Family) {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::lan());
    let (port, joined) = members(&lab, family, &["b", "r"]);
    let c = bystander(lab.host("c"), family, port); // same port, no join
    let sender = group::sender(lab.host("a"), family, Sending::default()).expect("a's sender");
    let to = SocketAddr::new(group::group(family), port);

    sender
        .send_to(b"members only", to)
        .expect("send to the group");

    for (role, sock) in ["b", "r"].iter().zip(&joined) {
        hears_once(
            role,
            sock,
            b"members only",
            "it joined the group on its LAN interface",
        );
    }
    hears_nothing(
        "c",
        &c,
        "c's socket listens on the same port, but c never joined the group: its kernel drops \
         the group's datagrams although the switch floods them to c's port",
    );
}
// ANCHOR_END: members_only

// ANCHOR: ttl_on_the_wire
#[rstest]
#[case::ipv4_default(Family::V4, 1)]
#[case::ipv4_ttl_5(Family::V4, 5)]
#[case::ipv6_default(Family::V6, 1)]
#[case::ipv6_hops_5(Family::V6, 5)]
fn a_group_datagram_leaves_with_the_ttl_the_sender_set(#[case] family: Family, #[case] hops: u32) {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::lan());
    let a = lab.host("a");
    let recording = Capture::start(a, "eth0", Frames::All).expect("capture on a's eth0");
    let sender = group::sender(
        a,
        family,
        Sending {
            hops,
            loopback: true,
        },
    )
    .expect("a's sender");
    let port = sender.local_addr().expect("port").port(); // nobody listens: we read the wire
    let to = SocketAddr::new(group::group(family), port);

    sender.send_to(b"how far?", to).expect("send to the group");
    let frames = frames_until_quiet(&recording);

    let seen: Vec<u8> = frames
        .iter()
        .filter_map(|f| group::hops_on_the_wire(&f.bytes, to.ip()))
        .collect();
    assert_eq!(
        seen,
        [hops as u8],
        "one packet to {} left a with TTL (hop limit) {hops}: IP_MULTICAST_TTL / \
         IPV6_MULTICAST_HOPS set it, and 1 is the default, so that a group datagram stays on \
         its link unless the program asks for more",
        to.ip()
    );
}
// ANCHOR_END: ttl_on_the_wire

// ANCHOR: router_stops_multicast
#[rstest]
#[case::ipv4_ttl_1(Family::V4, 1)]
#[case::ipv4_ttl_64(Family::V4, 64)]
#[case::ipv6_hops_1(Family::V6, 1)]
#[case::ipv6_hops_64(Family::V6, 64)]
fn no_group_datagram_crosses_a_router_without_multicast_routing(
    #[case] family: Family,
    #[case] hops: u32,
) {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::lan());
    let (port, joined) = members(&lab, family, &["b", "d"]); // d is behind r
    let sender = group::sender(
        lab.host("a"),
        family,
        Sending {
            hops,
            loopback: true,
        },
    )
    .expect("a's sender");

    sender
        .send_to(
            b"over the router?",
            SocketAddr::new(group::group(family), port),
        )
        .expect("send to the group");

    hears_once(
        "b",
        &joined[0],
        b"over the router?",
        "b is a member on a's link",
    );
    hears_nothing(
        "d",
        &joined[1],
        "r forwards unicast (ip_forward is on) but not multicast: with TTL 1 it may not \
         (the TTL would reach 0), and with any TTL a Linux router forwards a group only when \
         a multicast routing daemon (pimd, smcroute) has installed a route for it",
    );
}
// ANCHOR_END: router_stops_multicast

// ANCHOR: loopback
#[rstest]
#[case::ipv4_loop_on(Family::V4, true)]
#[case::ipv4_loop_off(Family::V4, false)]
#[case::ipv6_loop_on(Family::V6, true)]
#[case::ipv6_loop_off(Family::V6, false)]
fn multicast_loop_decides_whether_the_senders_own_host_hears_it(
    #[case] family: Family,
    #[case] loopback: bool,
) {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::lan());
    let (port, joined) = members(&lab, family, &["a", "b"]);
    let how = Sending { hops: 1, loopback };
    let sender = group::sender(lab.host("a"), family, how).expect("a's sender");

    sender
        .send_to(b"echo?", SocketAddr::new(group::group(family), port))
        .expect("send to the group");

    hears_once(
        "b",
        &joined[1],
        b"echo?",
        "b is a member on the link: the datagram went out",
    );
    let own = within(&joined[0], SILENCE);
    assert_eq!(
        own.is_some(),
        loopback,
        "a's own member socket got {own:?} with IP_MULTICAST_LOOP {loopback}: the loop option \
         (on by default) hands the sending host a copy of what it sends to a group it belongs to"
    );
}
// ANCHOR_END: loopback

// ANCHOR: leave
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn a_member_that_leaves_the_group_hears_nothing_more(#[case] family: Family) {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::lan());
    let (port, joined) = members(&lab, family, &["b", "c"]);
    let sender = group::sender(lab.host("a"), family, Sending::default()).expect("a's sender");
    let to = SocketAddr::new(group::group(family), port);

    sender.send_to(b"one", to).expect("send one");
    hears_once("b", &joined[0], b"one", "b is a member");
    hears_once("c", &joined[1], b"one", "c is a member");
    group::leave(lab.host("b"), &joined[0], to.ip()).expect("b leaves the group");
    sender.send_to(b"two", to).expect("send two");

    hears_once("c", &joined[1], b"two", "c is still a member");
    hears_nothing(
        "b",
        &joined[0],
        "b left the group (IP_DROP_MEMBERSHIP / IPV6_LEAVE_GROUP): its kernel no longer \
         accepts the group's datagrams, although its socket still has the port",
    );
}
// ANCHOR_END: leave

// ---------------------------------------------------------------------------
// Exercises. Each stub is ignored until you start it: delete its `#[ignore]`
// line, write the test, and check it with `cargo run -- exercises check N.M`.
// ---------------------------------------------------------------------------

// ANCHOR: exercise_17_1
/// Exercise 17.1: a socket bound to its host's own address hears no broadcast; one bound to the wildcard does.
///
/// Hint: `if !hosts::require() { return; }` first; `built(Lab::lan())`.
/// On b, bind b's own address: `lab.host("b").bind(SocketAddr::from((lab.host("b").v4,
/// 0)))` (192.0.2.2, any port); on c, the wildcard on the same port:
/// `listener(lab.host("c"), port)`. From `listener(lab.host("a"), 0)`,
/// `group::broadcast(&sender, b"...", SocketAddr::from((LAN_BROADCAST,
/// port)))`. Then `hears_once("c", &sock, payload, why)` and
/// `hears_nothing("b", &sock, why)`.
///
/// Catches: swallows_broadcast_error
#[test]
#[ignore = "exercise 17.1: delete this line to start"]
fn a_socket_bound_to_its_own_address_hears_no_broadcast_one_on_the_wildcard_does() {
    todo!("exercise 17.1: write the test")
}
// ANCHOR_END: exercise_17_1

// ANCHOR: exercise_17_2
/// Exercise 17.2: in a group chat each member hears every other member once and not itself, until it leaves.
///
/// Over `built(Lab::lan())` and one family (IPv4 is enough; try both with
/// rstest cases), a, b and c join the group and each sends one line with
/// loopback off; every member receives exactly the two other lines. Then c
/// leaves, a sends once more: b hears it, c hears nothing.
///
/// Hint: `if !hosts::require() { return; }`. `members(&lab, Family::V4,
/// &["a", "b", "c"])` returns `(port, Vec<UdpSocket>)`; a sender per host
/// is `group::sender(lab.host(role), Family::V4, Sending { hops: 1,
/// loopback: false })`; the group's address is
/// `SocketAddr::new(group::group(Family::V4), port)`. Receive with
/// `within(&sock, DEFAULT_TIMEOUT)` (an `Option<recv::Datagram>`,
/// `.payload` the bytes), sort each
/// member's lines, then check for silence with `hears_nothing`. Leave with
/// `group::leave(lab.host("c"), &sock, group::group(Family::V4))`.
///
/// Catches: receiver_forgets_to_join, multicast_loop_ignored, leave_keeps_membership
#[test]
#[ignore = "exercise 17.2: delete this line to start"]
fn in_a_group_chat_each_member_hears_every_other_member_once_and_not_itself() {
    todo!("exercise 17.2: write the test")
}
// ANCHOR_END: exercise_17_2
