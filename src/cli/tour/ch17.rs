//! Tour block for chapter 17: on a LAN of test hosts, a broadcast is
//! refused without `SO_BROADCAST` and then reaches every host of the link
//! but not the host behind the router; a group datagram reaches the members
//! only, and a member that left hears nothing. On the test hosts of
//! `udp_lab::lab::hosts` (Linux, root): elsewhere the block says why it skips.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};

use udp_lab::lab::hosts::group::{self, Sending};
use udp_lab::lab::hosts::{self, Lab, LAN_BROADCAST};
use udp_lab::net::{Family, SILENCE};
use udp_lab::recv;

use super::{Report, SKIPPED};

/// The two scenes, or a skip line where there are no test hosts.
pub fn demo() -> io::Result<Report> {
    if let Err(why) = hosts::available() {
        return Ok(Report {
            lines: vec![format!("{SKIPPED}no test hosts here: {why}")],
            held: true,
        });
    }
    let lab = Lab::lan()?;
    let (broadcast, broadcast_ok) = broadcast(&lab)?;
    let (multicast, multicast_ok) = multicast(&lab)?;
    Ok(Report {
        lines: vec![broadcast, multicast],
        held: broadcast_ok && multicast_ok,
    })
}

/// Who heard a datagram: the roles whose socket received one within [`SILENCE`].
fn who_heard(socks: &[(&str, UdpSocket)]) -> io::Result<Vec<String>> {
    let mut heard = Vec::new();
    for (role, sock) in socks {
        if recv::recv_within(sock, SILENCE)?.is_some() {
            heard.push(role.to_string());
        }
    }
    Ok(heard)
}

/// a broadcasts to 192.0.2.255: first without SO_BROADCAST, then with it.
fn broadcast(lab: &Lab) -> io::Result<(String, bool)> {
    let wildcard = |role: &str, port| {
        lab.host(role)
            .bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))
    };
    let b = wildcard("b", 0)?;
    let port = b.local_addr()?.port();
    let socks = vec![
        ("b", b),
        ("c", wildcard("c", port)?),
        ("r", wildcard("r", port)?),
        ("d", wildcard("d", port)?),
    ];
    let sender = wildcard("a", 0)?;
    let to = SocketAddr::from((LAN_BROADCAST, port));
    let refused = sender.send_to(b"x", to).err();
    group::broadcast(&sender, b"to all", to)?;
    let heard = who_heard(&socks)?;
    let denied = refused.as_ref().map(|e| e.kind()) == Some(io::ErrorKind::PermissionDenied);
    Ok((
        format!(
            "broadcast to {to}: without SO_BROADCAST {}; with it heard by {} (d, behind the router, hears nothing)",
            refused.map_or_else(|| "sent!".to_string(), |e| format!("refused ({})", e.kind())),
            heard.join(", ")
        ),
        denied && heard == ["b", "c", "r"],
    ))
}

/// b and r join 239.255.17.1, c only listens; a sends; b leaves; a sends again.
fn multicast(lab: &Lab) -> io::Result<(String, bool)> {
    let g = group::group(Family::V4);
    let b = group::join(lab.host("b"), g, 0)?;
    let port = b.local_addr()?.port();
    let r = group::join(lab.host("r"), g, port)?;
    let c = lab
        .host("c")
        .bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)))?;
    let sender = group::sender(lab.host("a"), Family::V4, Sending::default())?;
    let to = SocketAddr::new(g, port);
    sender.send_to(b"members only", to)?;
    let socks = vec![("b", b), ("r", r), ("c", c)];
    let first = who_heard(&socks)?;
    group::leave(lab.host("b"), &socks[0].1, g)?;
    sender.send_to(b"after b left", to)?;
    let second = who_heard(&socks)?;
    Ok((
        format!(
            "group {to} (members b, r; c listens without joining): heard by {}; after b left, by {}",
            first.join(", "),
            second.join(", ")
        ),
        first == ["b", "r"] && second == ["r"],
    ))
}
