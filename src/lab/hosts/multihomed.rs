//! A host with more than one address (chapter 18), and the server that
//! answers from the address each request was sent to.
//!
//! ```text
//! a 192.0.2.1 ==eth0== s eth0: 192.0.2.2 (primary), 192.0.2.3 (secondary)
//!   2001:db8:1::1            2001:db8:1::2, 2001:db8:1::3 (deprecated)
//!                          s eth1: 198.51.100.2, 2001:db8:2::2 ==== b 198.51.100.1, 2001:db8:2::1
//! ```
//!
//! Client `a` reaches all four of `s`'s addresses (its default route is
//! via `s`, which accepts a datagram for any of its addresses on any
//! interface: Linux is a *weak host*, RFC 1122 section 3.3.4.2). The source
//! the kernel picks for a reply from a wildcard-bound socket to `a` is
//! always 192.0.2.2 / 2001:db8:1::2, by construction:
//!
//! - IPv4: the route to 192.0.2.0/24 is eth0's connected route, whose
//!   preferred source is eth0's *primary* address, the first one added
//!   (`ip route` shows `src 192.0.2.2`); 192.0.2.3 in the same subnet is a
//!   *secondary*, never a route's source. A request to 198.51.100.2 (eth1)
//!   is answered through eth0 too, from eth0's address.
//! - IPv6: source address selection (RFC 6724 section 5) avoids a
//!   deprecated address (rule 3), and 2001:db8:1::3 is added deprecated
//!   (`preferred_lft 0`: it still receives); it prefers an address of the
//!   outgoing interface (rule 5), so never 2001:db8:2::2 of eth1.
//!
//! # Replying from the address asked
//! `IP_PKTINFO` (IPv4) and `IPV6_RECVPKTINFO` (IPv6) make `recvmsg` return
//! each datagram's destination address in a control message; `sendmsg`
//! with the same control message (`ipi_spec_dst`, `ipi6_addr`) sets the
//! reply's source (Stevens, UNP section 22.2). nix wraps both:
//! `ControlMessageOwned::Ipv4PacketInfo` and `ControlMessage::Ipv4PacketInfo`.

use std::io;
use std::io::{IoSlice, IoSliceMut};
use std::net::{IpAddr, SocketAddr, UdpSocket};

use super::{end, ip, unique_prefix, Lab, Link, Plan};
use crate::lab::planted::{self, Bug};
use crate::net::Family;

/// The server's addresses: (what it is, IPv4, IPv6). The first is the one
/// the kernel picks as the source of a reply to `a`.
pub const SERVER_ADDRESSES: [(&str, &str, &str); 3] = [
    ("eth0's first", "192.0.2.2", "2001:db8:1::2"),
    ("eth0's second", "192.0.2.3", "2001:db8:1::3"),
    ("eth1's", "198.51.100.2", "2001:db8:2::2"),
];

impl Lab {
    /// Client `a` and server `s` on one link (s has two addresses of each
    /// family on it), `s`'s second interface on a link to `b`; `a`'s and
    /// `b`'s default routes via `s`. See the module's diagram.
    pub fn multihomed() -> io::Result<Lab> {
        let prefix = unique_prefix();
        let plan = Plan {
            roles: &["a", "s", "b"],
            links: vec![
                Link {
                    mtu: 1500,
                    ends: [
                        end("a", "eth0", "192.0.2.1/24", "2001:db8:1::1/64"),
                        end("s", "eth0", "192.0.2.2/24", "2001:db8:1::2/64"),
                    ],
                },
                Link {
                    mtu: 1500,
                    ends: [
                        end("s", "eth1", "198.51.100.2/24", "2001:db8:2::2/64"),
                        end("b", "eth0", "198.51.100.1/24", "2001:db8:2::1/64"),
                    ],
                },
            ],
            routes: &[
                ("a", "192.0.2.2", "2001:db8:1::2"),
                ("b", "198.51.100.2", "2001:db8:2::2"),
            ],
        };
        let lab = Lab::build(&prefix, &plan, false)?;
        let s = &lab.host("s").netns;
        ip::run(&["-n", s, "addr", "add", "192.0.2.3/24", "dev", "eth0"])?;
        ip::run(&[
            "-n",
            s,
            "-6",
            "addr",
            "add",
            "2001:db8:1::3/64",
            "dev",
            "eth0",
            "nodad",
            "preferred_lft",
            "0",
        ])?;
        Ok(lab)
    }
}

/// Asks the kernel to tell `sock` each datagram's destination address:
/// `IP_PKTINFO` on an IPv4 socket, `IPV6_RECVPKTINFO` on an IPv6 one.
pub fn enable_pktinfo(sock: &UdpSocket) -> io::Result<()> {
    use nix::sys::socket::{setsockopt, sockopt};
    let done = match Family::of(&sock.local_addr()?) {
        Family::V4 => setsockopt(sock, sockopt::Ipv4PacketInfo, &true),
        Family::V6 if planted::active(Bug::PktinfoIgnoresIpv6) => Ok(()),
        Family::V6 => setsockopt(sock, sockopt::Ipv6RecvPacketInfo, &true),
    };
    done.map_err(|e| {
        crate::net::context(io::Error::from(e), "setting IP_PKTINFO / IPV6_RECVPKTINFO")
    })
}

/// One request as a pktinfo server sees it.
#[derive(Clone, Debug)]
pub struct Request {
    /// Its bytes.
    pub payload: Vec<u8>,
    /// Who sent it.
    pub from: SocketAddr,
    /// The address it was sent to, from the pktinfo control message; `None`
    /// when the socket was not asked for it ([`enable_pktinfo`]).
    pub to: Option<IpAddr>,
}

/// Receives one request (`recvmsg`, bounded by `sock`'s read timeout) with
/// its destination address when pktinfo is on. A receive interrupted by
/// `EINTR` (Linux ends one that has a timeout so when the process is
/// stopped and continued, man 7 signal) is made again, at most twice.
pub fn recv_request(sock: &UdpSocket) -> io::Result<Request> {
    let mut tries = 0;
    loop {
        match recv_request_once(sock) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted && tries < 2 => tries += 1,
            done => return done,
        }
    }
}

fn recv_request_once(sock: &UdpSocket) -> io::Result<Request> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrStorage};
    use std::os::fd::AsRawFd;
    let mut buf = vec![0u8; crate::recv::MAX_DATAGRAM];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!(libc::in_pktinfo, libc::in6_pktinfo);
    let msg = recvmsg::<SockaddrStorage>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .map_err(|e| crate::net::context(io::Error::from(e), "waiting for a request (recvmsg)"))?;
    let mut to = None;
    for cmsg in msg.cmsgs().map_err(io::Error::from)? {
        match cmsg {
            ControlMessageOwned::Ipv4PacketInfo(info) => {
                to = Some(IpAddr::from(
                    u32::from_be(info.ipi_addr.s_addr).to_be_bytes(),
                ));
            }
            ControlMessageOwned::Ipv6PacketInfo(info) => {
                to = Some(IpAddr::from(info.ipi6_addr.s6_addr));
            }
            _ => {}
        }
    }
    let from = msg
        .address
        .as_ref()
        .and_then(std_address)
        .ok_or_else(|| io::Error::other("recvmsg returned no source address"))?;
    let n = msg.bytes;
    Ok(Request {
        payload: buf[..n].to_vec(),
        from,
        to,
    })
}

/// Sends `payload` to `to` from `sock`, with source address `source` when
/// it is `Some` (`sendmsg` with `IP_PKTINFO`'s `ipi_spec_dst` or
/// `IPV6_PKTINFO`'s `ipi6_addr`), else from whatever the kernel picks.
pub fn reply_from(
    sock: &UdpSocket,
    payload: &[u8],
    to: SocketAddr,
    source: Option<IpAddr>,
) -> io::Result<usize> {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags, SockaddrStorage};
    use std::os::fd::AsRawFd;
    let source = if planted::active(Bug::RepliesFromTheWildcardsPick) {
        None
    } else {
        source
    };
    let iov = [IoSlice::new(payload)];
    let dest = SockaddrStorage::from(to);
    // The control message borrows its pktinfo: both live to the end of the call.
    let (v4, v6);
    let cmsgs: Vec<ControlMessage> = match source {
        Some(IpAddr::V4(ip)) => {
            v4 = libc::in_pktinfo {
                ipi_ifindex: 0,
                ipi_spec_dst: libc::in_addr {
                    s_addr: u32::from(ip).to_be(),
                },
                ipi_addr: libc::in_addr { s_addr: 0 },
            };
            vec![ControlMessage::Ipv4PacketInfo(&v4)]
        }
        Some(IpAddr::V6(ip)) => {
            v6 = libc::in6_pktinfo {
                ipi6_addr: libc::in6_addr {
                    s6_addr: ip.octets(),
                },
                ipi6_ifindex: 0,
            };
            vec![ControlMessage::Ipv6PacketInfo(&v6)]
        }
        None => Vec::new(),
    };
    sendmsg(
        sock.as_raw_fd(),
        &iov,
        &cmsgs,
        MsgFlags::empty(),
        Some(&dest),
    )
    .map_err(|e| crate::net::context(io::Error::from(e), format!("replying to {to} (sendmsg)")))
}

/// The lab's pktinfo echo server, one request: receives it and sends it
/// back from the address it was sent to. `sock` must have pktinfo on
/// ([`enable_pktinfo`]); returns the request it answered.
pub fn echo_once(sock: &UdpSocket) -> io::Result<Request> {
    let request = recv_request(sock)?;
    reply_from(sock, &request.payload, request.from, request.to)?;
    Ok(request)
}

fn std_address(addr: &nix::sys::socket::SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(SocketAddr::V4((*v4).into()));
    }
    addr.as_sockaddr_in6()
        .map(|v6| SocketAddr::V6((*v6).into()))
}
