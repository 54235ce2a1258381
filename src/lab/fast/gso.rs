//! GSO (generic segmentation offload) for UDP: one `sendmsg` carries many
//! datagrams of one size. The `UDP_SEGMENT` control message (or the socket
//! option of the same name) tells the kernel where to cut the buffer; every
//! piece leaves as a datagram of its own, with its own UDP header, and only
//! the last may be shorter.
//!
//! Limits the kernel checks on each send (measured on Linux 6.18): at most
//! `UDP_MAX_SEGMENTS` pieces (128; 64 before upstream commit 1382e3b6a350,
//! first in Linux 6.9, unless a stable kernel took it) else `EINVAL`; at
//! most 65,507 bytes in all on IPv4 (one IP packet's worth, like any send)
//! else `EMSGSIZE`; a segment no larger than the path's MTU allows else
//! `EMSGSIZE` (`EINVAL` before upstream commit 235174b2bed8, first in 6.14).
//! From the kernel source, not measured here: `EIO` when the route's device
//! cannot finish the checksum (or the route is IPsec), `EINVAL` with
//! `SO_NO_CHECK`.

use std::io;
use std::net::{SocketAddr, UdpSocket};

use crate::lab::planted;

/// Sends `data` to `to` in one system call, cut into datagrams of `segment`
/// bytes (the last one shorter when `segment` does not divide the length).
/// Returns the bytes sent, all of `data`.
///
/// ```
/// # if !udp_lab::lab::fast::supported() { return Ok(()); }
/// use udp_lab::lab::fast;
/// use udp_lab::net::{self, Family};
///
/// let receiver = net::bind_loopback(Family::V4)?;
/// let sender = net::bind_loopback(Family::V4)?;
/// // Three datagrams, of 1,200, 1,200 and 100 bytes, in one sendmsg.
/// fast::send_gso(&sender, receiver.local_addr()?, &[7u8; 2500], 1200)?;
/// let mut buf = [0u8; 2000];
/// assert_eq!(receiver.recv(&mut buf)?, 1200);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn send_gso(
    sock: &UdpSocket,
    to: SocketAddr,
    data: &[u8],
    segment: usize,
) -> io::Result<usize> {
    let wire = planted::last_segment(data, segment);
    imp::send_gso(sock, to, &wire, segment)
}

/// Sets the socket option `UDP_SEGMENT`: every later send on `sock` is cut
/// into datagrams of `segment` bytes (0 turns it off). The per-send control
/// message of [`send_gso`] overrides it.
pub fn set_gso_segment(sock: &UdpSocket, segment: usize) -> io::Result<()> {
    imp::set_gso_segment(sock, segment)
}

/// A segment size as the `u16` the kernel takes, or `EINVAL`'s kind.
fn segment_u16(segment: usize) -> io::Result<u16> {
    u16::try_from(segment).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("a GSO segment size is 16 bits: {segment} is too large"),
        )
    })
}

#[cfg(target_os = "linux")]
mod imp {
    use std::io::{self, IoSlice};
    use std::net::{SocketAddr, UdpSocket};
    use std::os::fd::AsRawFd;

    use nix::sys::socket::{
        sendmsg, setsockopt, sockopt::UdpGsoSegment, ControlMessage, MsgFlags, SockaddrStorage,
    };

    pub(super) fn send_gso(
        sock: &UdpSocket,
        to: SocketAddr,
        data: &[u8],
        segment: usize,
    ) -> io::Result<usize> {
        let size = super::segment_u16(segment)?;
        let to = SockaddrStorage::from(to);
        let cmsg = [ControlMessage::UdpGsoSegments(&size)];
        sendmsg(
            sock.as_raw_fd(),
            &[IoSlice::new(data)],
            &cmsg,
            MsgFlags::empty(),
            Some(&to),
        )
        .map_err(io::Error::from)
    }

    pub(super) fn set_gso_segment(sock: &UdpSocket, segment: usize) -> io::Result<()> {
        let size = i32::from(super::segment_u16(segment)?);
        setsockopt(sock, UdpGsoSegment, &size).map_err(io::Error::from)
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::io;
    use std::net::{SocketAddr, UdpSocket};

    pub(super) fn send_gso(
        _: &UdpSocket,
        _: SocketAddr,
        _: &[u8],
        segment: usize,
    ) -> io::Result<usize> {
        super::segment_u16(segment)?;
        Err(super::super::unsupported())
    }

    pub(super) fn set_gso_segment(_: &UdpSocket, _: usize) -> io::Result<()> {
        Err(super::super::unsupported())
    }
}
