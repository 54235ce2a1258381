//! Reference solutions for the exercises of chapter 17 (tests/ch17_broadcast_multicast.rs).
//!
//! Not compiled on its own: `udp-lab dev verify` splices each region over
//! the stub of the same name and proves it passes on the real library and
//! fails under every planted bug its exercise lists. Try first, then peek.

// ANCHOR: exercise_17_1
#[test]
fn a_socket_bound_to_its_own_address_hears_no_broadcast_one_on_the_wildcard_does() {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::lan());
    let b = lab.host("b");
    let own = b
        .bind(SocketAddr::from((b.v4, 0)))
        .expect("bind b's own 192.0.2.2");
    let port = own.local_addr().expect("port").port();
    let wildcard = listener(lab.host("c"), port);
    let sender = listener(lab.host("a"), 0);

    group::broadcast(&sender, b"to all", SocketAddr::from((LAN_BROADCAST, port)))
        .expect("broadcast");

    hears_once(
        "c (0.0.0.0)",
        &wildcard,
        b"to all",
        "a socket on the wildcard address accepts any destination of its host, 192.0.2.255 included",
    );
    hears_nothing(
        "b (192.0.2.2)",
        &own,
        "a socket bound to 192.0.2.2 accepts only datagrams sent to 192.0.2.2, not to the broadcast address",
    );
}
// ANCHOR_END: exercise_17_1

// ANCHOR: exercise_17_2
#[test]
fn in_a_group_chat_each_member_hears_every_other_member_once_and_not_itself() {
    if !hosts::require() {
        return;
    }
    let lab = built(Lab::lan());
    let roles = ["a", "b", "c"];
    let (port, joined) = members(&lab, Family::V4, &roles);
    let to = SocketAddr::new(group::group(Family::V4), port);
    let quiet = Sending {
        hops: 1,
        loopback: false,
    };
    let senders: Vec<UdpSocket> = roles
        .iter()
        .map(|r| group::sender(lab.host(r), Family::V4, quiet).expect("a sender"))
        .collect();

    for (role, sender) in roles.iter().zip(&senders) {
        sender
            .send_to(format!("from {role}").as_bytes(), to)
            .expect("send a line");
    }

    for (role, member) in roles.iter().zip(&joined) {
        let mut lines = Vec::new();
        for _ in 0..2 {
            let got = within(member, DEFAULT_TIMEOUT);
            lines.push(got.map(|d| d.text()).unwrap_or_default());
        }
        lines.sort();
        let expected: Vec<String> = roles
            .iter()
            .filter(|r| *r != role)
            .map(|r| format!("from {r}"))
            .collect();
        assert_eq!(lines, expected, "{role} hears the two others, once each");
        hears_nothing(
            role,
            member,
            "loopback is off: no member hears its own host's line",
        );
    }

    group::leave(lab.host("c"), &joined[2], to.ip()).expect("c leaves");
    senders[0].send_to(b"after c left", to).expect("send again");
    hears_once("b", &joined[1], b"after c left", "b is still a member");
    hears_nothing("c", &joined[2], "c left the group");
}
// ANCHOR_END: exercise_17_2
