//! Path MTU socket options (Linux): "don't fragment" and the path MTU the
//! kernel has learnt for a connected socket's destination. socket2 0.6 has
//! neither, so they are `setsockopt`/`getsockopt` calls here, in the lab
//! tier beside the hosts chapter 16 runs them on.
//!
//! | option | IPv4 | IPv6 |
//! |---|---|---|
//! | never fragment; too big -> `EMSGSIZE` | `IP_MTU_DISCOVER` = `IP_PMTUDISC_DO` | `IPV6_MTU_DISCOVER` = `IPV6_PMTUDISC_DO`, `IPV6_DONTFRAG` = 1 |
//! | the path MTU (connected socket) | `IP_MTU` | `IPV6_MTU` |

use std::io;
use std::net::UdpSocket;

use crate::lab::planted::{self, Bug};
use crate::net::Family;

/// Sets "don't fragment" on `sock` (`on`), or lets the kernel fragment
/// (`!on`, `IP_PMTUDISC_DONT`). With it on, a datagram larger than the
/// path MTU the kernel knows fails at once with `EMSGSIZE`, and a router
/// that cannot forward it sends back ICMP "fragmentation needed" (IPv6:
/// "packet too big"), which lowers the path MTU.
pub fn set_dont_fragment(sock: &UdpSocket, on: bool) -> io::Result<()> {
    let on = on && !planted::active(Bug::ClearsDontFragment);
    #[cfg(target_os = "linux")]
    {
        let (discover, dont) = (libc::IP_PMTUDISC_DO, libc::IP_PMTUDISC_DONT);
        match Family::of(&sock.local_addr()?) {
            Family::V4 => set(
                sock,
                libc::IPPROTO_IP,
                libc::IP_MTU_DISCOVER,
                if on { discover } else { dont },
            ),
            Family::V6 => {
                let mode = if on {
                    libc::IPV6_PMTUDISC_DO
                } else {
                    libc::IPV6_PMTUDISC_DONT
                };
                set(sock, libc::IPPROTO_IPV6, libc::IPV6_MTU_DISCOVER, mode)?;
                set(sock, libc::IPPROTO_IPV6, libc::IPV6_DONTFRAG, i32::from(on))
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (sock, on, Family::V4);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "IP_MTU_DISCOVER is implemented for Linux only",
        ))
    }
}

/// The path MTU the kernel holds for the destination `sock` is connected
/// to (`IP_MTU`, `IPV6_MTU`): the first link's MTU until an ICMP message
/// says a later link is smaller. `ENOTCONN` on an unconnected socket.
pub fn path_mtu(sock: &UdpSocket) -> io::Result<usize> {
    if planted::active(Bug::PathMtuIsTheLinkMtu) {
        return planted::link_mtu(sock);
    }
    #[cfg(target_os = "linux")]
    {
        let mtu = match Family::of(&sock.local_addr()?) {
            Family::V4 => get(sock, libc::IPPROTO_IP, libc::IP_MTU)?,
            Family::V6 => get(sock, libc::IPPROTO_IPV6, libc::IPV6_MTU)?,
        };
        Ok(usize::try_from(mtu).unwrap_or(0))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = sock;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "IP_MTU is implemented for Linux only",
        ))
    }
}

#[cfg(target_os = "linux")]
fn set(
    sock: &UdpSocket,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: value is a live c_int and its size is passed.
    let rc = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(crate::net::context(
            io::Error::last_os_error(),
            format!("setsockopt({level}, {name}, {value})"),
        ))
    }
}

#[cfg(target_os = "linux")]
fn get(sock: &UdpSocket, level: libc::c_int, name: libc::c_int) -> io::Result<libc::c_int> {
    use std::os::fd::AsRawFd;
    let mut value: libc::c_int = 0;
    let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: value and len are live and len holds value's size.
    let rc = unsafe {
        libc::getsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&mut value as *mut libc::c_int).cast(),
            &mut len,
        )
    };
    if rc == 0 {
        Ok(value)
    } else {
        // Keep the raw errno (ENOTCONN) for callers that compare it.
        Err(io::Error::last_os_error())
    }
}
