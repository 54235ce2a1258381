//! Broadcast and multicast on the test hosts (chapter 17): the lab's
//! broadcaster, group members and group senders, each one socket set up
//! as a program would set it up, with the one-line hooks of the chapter's
//! planted bugs.
//!
//! # The groups, and why these
//! - IPv4 [`GROUP_V4`] = 239.255.17.1, in 239.255.0.0/16, the *IPv4 Local
//!   Scope* of administratively scoped multicast (RFC 2365 section 6.1):
//!   routers at a site's boundary never forward it, and no one is assigned
//!   it, so a lab may use it freely.
//! - IPv6 [`GROUP_V6`] = ff15::17: flags `1` (T: transient, not assigned by
//!   IANA) and scope `5` (site-local), RFC 4291 section 2.7; it never
//!   leaves a site, whatever hop limit a sender sets.
//!
//! Neither is a global group (224.0.1.0-238.255.255.255, ff0e::/16, ff1e::/16).
//!
//! # Interfaces
//! A host with a default route would send a group's datagrams out of the
//! default route's interface and join on the one the kernel picks;
//! programs should name the interface. Here every host's LAN interface is
//! `eth0`: members join on it and senders send on it (`IP_MULTICAST_IF`,
//! `IPV6_MULTICAST_IF`): IPv4 names it by its address, IPv6 by its index.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

use socket2::{InterfaceIndexOrAddress, SockRef};

use super::Host;
use crate::lab::planted::{self, Bug};
use crate::net::Family;

/// Chapter 17's IPv4 group: IPv4 Local Scope (RFC 2365).
pub const GROUP_V4: Ipv4Addr = Ipv4Addr::new(239, 255, 17, 1);

/// Chapter 17's IPv6 group: transient, site-local scope (RFC 4291).
pub const GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff15, 0, 0, 0, 0, 0, 0, 0x17);

/// The interface every LAN host of [`crate::lab::hosts::Lab::lan`] joins and sends on.
pub const LAN_IFACE: &str = "eth0";

/// Chapter 17's group of `family`.
pub fn group(family: Family) -> IpAddr {
    match family {
        Family::V4 => IpAddr::V4(GROUP_V4),
        Family::V6 => IpAddr::V6(GROUP_V6),
    }
}

/// Sends `payload` to the broadcast address `to`, as a program that means
/// to broadcast does: `SO_BROADCAST` on first (without it the kernel
/// refuses with `EACCES`, `PermissionDenied`), then `send_to`.
pub fn broadcast(sock: &UdpSocket, payload: &[u8], to: SocketAddr) -> io::Result<usize> {
    if planted::active(Bug::SwallowsBroadcastError) {
        return planted::send_swallowing_eacces(sock, payload, to);
    }
    SockRef::from(sock)
        .set_broadcast(true)
        .map_err(|e| crate::net::context(e, "setting SO_BROADCAST"))?;
    sock.send_to(payload, to)
        .map_err(|e| crate::net::context(e, format!("broadcasting to {to}")))
}

/// A member of `group` on `host`: a socket of `host` bound to the wildcard
/// address and `port` (so it receives datagrams sent to the group), that
/// has joined `group` on `eth0` (`IP_ADD_MEMBERSHIP`, `IPV6_JOIN_GROUP`),
/// with udp-lab's read timeout.
pub fn join(host: &Host, group: IpAddr, port: u16) -> io::Result<UdpSocket> {
    let wildcard = match group {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let sock = host.bind(SocketAddr::new(wildcard, port))?;
    if planted::active(Bug::ReceiverForgetsToJoin) {
        return Ok(sock);
    }
    membership(host, &sock, group, true)?;
    Ok(sock)
}

/// `sock` (a member made by [`join`] on `host`) leaves `group`
/// (`IP_DROP_MEMBERSHIP`, `IPV6_LEAVE_GROUP`): the host stops accepting the
/// group's datagrams for it once no socket of the host is a member.
pub fn leave(host: &Host, sock: &UdpSocket, group: IpAddr) -> io::Result<()> {
    if planted::active(Bug::LeaveKeepsMembership) {
        return Ok(());
    }
    membership(host, sock, group, false)
}

fn membership(host: &Host, sock: &UdpSocket, group: IpAddr, join: bool) -> io::Result<()> {
    let index = host.index(LAN_IFACE)?;
    let sock = SockRef::from(sock);
    let done = match (group, join) {
        (IpAddr::V4(g), true) => {
            sock.join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(index))
        }
        (IpAddr::V4(g), false) => {
            sock.leave_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(index))
        }
        (IpAddr::V6(g), true) => sock.join_multicast_v6(&g, index),
        (IpAddr::V6(g), false) => sock.leave_multicast_v6(&g, index),
    };
    let what = if join { "joining" } else { "leaving" };
    done.map_err(|e| crate::net::context(e, format!("{what} {group} on {LAN_IFACE}")))
}

/// How a group sender is set up.
#[derive(Clone, Copy, Debug)]
pub struct Sending {
    /// `IP_MULTICAST_TTL` / `IPV6_MULTICAST_HOPS`: how many routers may
    /// forward it (1, the default: none).
    pub hops: u32,
    /// `IP_MULTICAST_LOOP` / `IPV6_MULTICAST_LOOP`: whether members on the
    /// sender's own host receive a copy (on, by default).
    pub loopback: bool,
}

impl Default for Sending {
    /// The kernel's defaults: TTL 1, loopback on.
    fn default() -> Sending {
        Sending {
            hops: 1,
            loopback: true,
        }
    }
}

/// A socket of `host` that sends to groups of `family` out of `eth0`,
/// with `how`'s TTL (hop limit) and loopback.
pub fn sender(host: &Host, family: Family, how: Sending) -> io::Result<UdpSocket> {
    let sock = host.bind(host.any_port(family == Family::V6))?;
    let index = host.index(LAN_IFACE)?;
    let s = SockRef::from(&sock);
    let hops = if planted::active(Bug::MulticastTtlIgnored) {
        1
    } else {
        how.hops
    };
    let looped = how.loopback || planted::active(Bug::MulticastLoopIgnored);
    match family {
        Family::V4 => {
            s.set_multicast_if_v4(&host.v4)?; // eth0's address names eth0
            s.set_multicast_ttl_v4(hops)?;
            s.set_multicast_loop_v4(looped)?;
        }
        Family::V6 => {
            s.set_multicast_if_v6(index)?;
            s.set_multicast_hops_v6(hops)?;
            s.set_multicast_loop_v6(looped)?;
        }
    }
    Ok(sock)
}

/// The TTL (IPv4) or hop limit (IPv6) of an Ethernet frame carrying an IP
/// packet to `to` (a group), or `None` for any other frame.
pub fn hops_on_the_wire(frame: &[u8], to: IpAddr) -> Option<u8> {
    let ip = frame.get(14..)?;
    match (frame.get(12..14)?, to) {
        ([0x08, 0x00], IpAddr::V4(g)) => (ip.get(16..20)? == g.octets()).then(|| ip[8]),
        ([0x86, 0xdd], IpAddr::V6(g)) => (ip.get(24..40)? == g.octets()).then(|| ip[7]),
        _ => None,
    }
}
