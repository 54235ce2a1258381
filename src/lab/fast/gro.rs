//! GRO (generic receive offload) for UDP: with `UDP_GRO` on, the kernel may
//! hand one `recvmsg` many queued datagrams of one size from one sender,
//! glued together, and says where to cut them in a `UDP_GRO` control
//! message (`SOL_UDP`, an `int`: the segment size). A receiver that ignores
//! the control message sees merged messages: chapter 03's "sticky packets",
//! back on purpose.
//!
//! When does the kernel merge? A GSO super-datagram sent on loopback reaches
//! a GRO socket whole, every time (it is never cut: measured on Linux 6.18).
//! Datagrams sent one by one are merged only when they meet in a GRO
//! engine of a network device, which loopback's path does not run: measured
//! on Linux 6.18, ten `send_to`s arrive as ten receives.

use std::io;
use std::net::{SocketAddr, UdpSocket};

use crate::lab::planted::{self, Bug};

/// What one GRO receive got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GroReceive {
    /// Bytes received (all in the buffer: `GRO_BUFFER` never truncates).
    pub len: usize,
    /// The segment size from the `UDP_GRO` control message: `Some` when
    /// the kernel merged datagrams of this size; `None` for one datagram.
    pub segment: Option<usize>,
    /// The sender.
    pub from: SocketAddr,
}

/// Turns `UDP_GRO` on (or off) on `sock`.
pub fn enable_gro(sock: &UdpSocket, on: bool) -> io::Result<()> {
    imp::enable_gro(sock, on)
}

/// Receives into `buf` with `recvmsg`, reading the `UDP_GRO` control
/// message. Waits at most the socket's read timeout.
pub fn recv_gro(sock: &UdpSocket, buf: &mut [u8]) -> io::Result<GroReceive> {
    let mut got = imp::recv_gro(sock, buf)?;
    if planted::active(Bug::GroIgnoresSegmentSize) {
        got.segment = None;
    }
    Ok(got)
}

/// Cuts a received message back into the datagrams that were sent: pieces
/// of `segment` bytes, the last one possibly shorter; the whole message as
/// one datagram when there is no segment size (an empty message is one
/// empty datagram).
///
/// ```
/// use udp_lab::lab::fast::split;
///
/// let pieces = split(b"aaabbbc", Some(3));
/// assert_eq!(pieces, [&b"aaa"[..], b"bbb", b"c"]);
/// assert_eq!(split(b"aaabbbc", None), [&b"aaabbbc"[..]]);
/// ```
pub fn split(message: &[u8], segment: Option<usize>) -> Vec<&[u8]> {
    let mut pieces: Vec<&[u8]> = match segment {
        Some(size) if size > 0 && !message.is_empty() => message.chunks(size).collect(),
        _ => vec![message],
    };
    if planted::active(Bug::SplitDropsShortTail) {
        planted::drop_short_tail(&mut pieces);
    }
    pieces
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io::{self, IoSliceMut};
    use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
    use std::os::fd::AsRawFd;

    use nix::sys::socket::{
        recvmsg, setsockopt, sockopt::UdpGroSegment, ControlMessageOwned, MsgFlags, SockaddrStorage,
    };

    use super::GroReceive;

    pub(super) fn enable_gro(sock: &UdpSocket, on: bool) -> io::Result<()> {
        setsockopt(sock, UdpGroSegment, &on).map_err(io::Error::from)
    }

    pub(super) fn recv_gro(sock: &UdpSocket, buf: &mut [u8]) -> io::Result<GroReceive> {
        let mut space = nix::cmsg_space!(i32);
        let mut iov = [IoSliceMut::new(buf)];
        let msg = recvmsg::<SockaddrStorage>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::empty(),
        )
        .map_err(io::Error::from)?;
        let mut segment = None;
        for cmsg in msg.cmsgs().map_err(io::Error::from)? {
            if let ControlMessageOwned::UdpGroSegments(size) = cmsg {
                segment = usize::try_from(size).ok();
            }
        }
        let from = msg
            .address
            .and_then(to_std)
            .ok_or_else(|| io::Error::other("recvmsg gave no IPv4 or IPv6 sender"))?;
        Ok(GroReceive {
            len: msg.bytes,
            segment,
            from,
        })
    }

    fn to_std(addr: SockaddrStorage) -> Option<SocketAddr> {
        if let Some(v4) = addr.as_sockaddr_in() {
            return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
        }
        addr.as_sockaddr_in6()
            .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::io;
    use std::net::UdpSocket;

    use super::GroReceive;

    pub(super) fn enable_gro(_: &UdpSocket, _: bool) -> io::Result<()> {
        Err(super::super::unsupported())
    }

    pub(super) fn recv_gro(_: &UdpSocket, _: &mut [u8]) -> io::Result<GroReceive> {
        Err(super::super::unsupported())
    }
}
