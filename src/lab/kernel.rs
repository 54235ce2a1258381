//! What the kernel knows about a socket and does not tell it, read the way
//! you would read it by hand: `uname -r`, `cat /proc/net/udp`,
//! `cat /proc/net/snmp`, and the error queue a socket can ask for.
//!
//! | helper | reads | chapters |
//! |---|---|---|
//! | [`version`] | the running kernel's version (`uname -r`): some answers depend on it | 02, 08 |
//! | [`socket_row`], [`drops`], [`queued_bytes`] | one socket's row of `/proc/net/udp` (IPv4) or `/proc/net/udp6` (IPv6): its own drop count and what its queue is charged | 01, 02, 08 |
//! | [`snmp`], [`snmp6`], [`rcvbuf_errors`] | the counters of `/proc/net/snmp` and `/proc/net/snmp6`, for the whole network namespace | 04, 07, 08 |
//! | [`set_recv_errors`], [`next_queued_error`] | `IP_RECVERR` and `recvmsg(MSG_ERRQUEUE)`: the ICMP errors an unconnected socket can ask to hear | 04, 10 |
//!
//! # One socket's numbers, or everybody's
//! A row of `/proc/net/udp` belongs to one socket: its `drops` column counts
//! that socket's losses and nobody else's, so a test can assert it *equals*
//! what the test lost. The counters of `/proc/net/snmp` add up every socket
//! of the network namespace, other programs' and other tests' included: a
//! test can only assert that they rose *at least* as much as its own doing.
//!
//! # Platform-specific behavior
//! Everything here is Linux's. Elsewhere every function returns an error of
//! kind [`io::ErrorKind::Unsupported`] (and [`version`] returns `None`), and
//! the tests that use them say what they prove there instead.

use std::io;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::time::Duration;

use crate::lab::planted::{self, Bug};
use crate::net::{context, Family};

/// The running kernel's version as (major, minor), from `uname -r`
/// (`"6.18.44-generic"` gives `(6, 18)`); `None` when not on Linux.
///
/// Kernel-dependent expectations compare it as a tuple:
/// `kernel::version() >= Some((6, 18))`.
pub fn version() -> Option<(u32, u32)> {
    #[cfg(target_os = "linux")]
    {
        let uts = nix::sys::utsname::uname().ok()?;
        parse_version(&uts.release().to_string_lossy())
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// `"6.18.44-fc"` -> `(6, 18)`; `"5.15.0-91-generic"` -> `(5, 15)`.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn parse_version(release: &str) -> Option<(u32, u32)> {
    let mut numbers = release.split(['.', '-']).map(|part| {
        let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    });
    Some((numbers.next()??, numbers.next()??))
}

/// One socket's row of `/proc/net/udp` or `/proc/net/udp6`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SocketRow {
    /// `rx_queue`: the bytes of receive buffer the socket's queued datagrams
    /// are charged, the sum of their *truesizes* (chapter 08), not of their payloads.
    pub rx_queue: u64,
    /// `tx_queue`: the bytes of send buffer charged to datagrams not yet gone.
    pub tx_queue: u64,
    /// `drops`: datagrams the kernel dropped at this socket instead of
    /// queueing them, nearly always because its receive buffer was full.
    pub drops: u64,
}

/// The row of the UDP socket bound to `local` (`/proc/net/udp` for IPv4,
/// `/proc/net/udp6` for IPv6), found by its local address and port, written
/// there in hexadecimal (`127.0.0.1:44206` is `0100007F:ACAE` on x86).
///
/// Fails when no socket is bound there, or when more than one is (sockets
/// sharing a port with `SO_REUSEPORT`): a row must be one socket's.
pub fn socket_row(local: SocketAddr) -> io::Result<SocketRow> {
    // The kernel writes /proc/net/udp a piece at a time, and between two
    // pieces other threads may open or close sockets: a row can then be
    // skipped or shown twice (seen once in 65 full runs of the suite). So a
    // row that is not there exactly once is read again, a few times.
    let mut result = socket_row_once(local);
    for _ in 1..PROC_READS {
        if result.is_ok() {
            break;
        }
        result = socket_row_once(local);
    }
    result
}

/// How many times [`socket_row`] reads the table before it believes it.
const PROC_READS: usize = 5;

/// One read of the table for [`socket_row`].
fn socket_row_once(local: SocketAddr) -> io::Result<SocketRow> {
    let path = match Family::of(&local) {
        Family::V4 => "/proc/net/udp",
        Family::V6 => "/proc/net/udp6",
    };
    let table = read_proc(path)?;
    let key = proc_hex(local);
    let rows: Vec<SocketRow> = table
        .lines()
        .skip(1)
        .filter(|line| line.split_whitespace().nth(1) == Some(key.as_str()))
        .map(parse_row)
        .collect::<Option<_>>()
        .ok_or_else(|| {
            invalid(format!(
                "{path} has a row for {local} ({key}) it cannot parse"
            ))
        })?;
    match rows[..] {
        [row] => Ok(row),
        [] => Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{path} has no socket bound to {local} ({key})"),
        )),
        _ => Err(invalid(format!(
            "{path} has {} sockets bound to {local} ({key}): their rows are not one socket's",
            rows.len()
        ))),
    }
}

/// How many datagrams the kernel dropped at `sock` because its receive
/// buffer was full: the `drops` column of its row (see [`socket_row`]).
/// Only this socket's losses, so a test can compare it with `==`.
///
/// ```
/// use udp_lab::{lab::kernel, net::{self, Family}};
/// let sock = net::bind_loopback(Family::V4)?;
/// if cfg!(target_os = "linux") {
///     assert_eq!(kernel::drops(&sock)?, 0, "a new socket has lost nothing");
/// }
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn drops(sock: &UdpSocket) -> io::Result<u64> {
    let row = socket_row(sock.local_addr()?)?;
    if planted::active(Bug::DropsReadFromTheSender) {
        return Ok(0); // what the sender's row shows on loopback (exercises only)
    }
    Ok(row.drops)
}

/// The bytes of receive buffer `sock`'s queued datagrams are charged right
/// now: the `rx_queue` column of its row (see [`socket_row`]). With one
/// datagram queued, it is that datagram's truesize.
pub fn queued_bytes(sock: &UdpSocket) -> io::Result<u64> {
    Ok(socket_row(sock.local_addr()?)?.rx_queue)
}

/// `addr` as `/proc/net/udp*` writes it: the address as the kernel holds it
/// in memory (32-bit words printed in hexadecimal, so byte-swapped on a
/// little-endian machine), a colon, the port in hexadecimal.
fn proc_hex(addr: SocketAddr) -> String {
    let words: Vec<[u8; 4]> = match addr.ip() {
        IpAddr::V4(ip) => vec![ip.octets()],
        IpAddr::V6(ip) => ip
            .octets()
            .chunks(4)
            .map(|w| [w[0], w[1], w[2], w[3]])
            .collect(),
    };
    let address: String = words
        .into_iter()
        .map(|w| format!("{:08X}", u32::from_ne_bytes(w)))
        .collect();
    format!("{address}:{:04X}", addr.port())
}

/// `sl local remote st tx_queue:rx_queue tr:when retrnsmt uid timeout inode
/// ref pointer drops`: the queues are field 4, the drops the last field.
fn parse_row(line: &str) -> Option<SocketRow> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (tx, rx) = fields.get(4)?.split_once(':')?;
    Some(SocketRow {
        tx_queue: u64::from_str_radix(tx, 16).ok()?,
        rx_queue: u64::from_str_radix(rx, 16).ok()?,
        drops: fields.get(12)?.parse().ok()?,
    })
}

/// A counter of `/proc/net/snmp`: `group` is the line's prefix without its
/// colon (`"Udp"`, `"Icmp"`, `"Ip"`), `name` the column (`"NoPorts"`,
/// `"OutDestUnreachs"`). The whole network namespace's count: compare two
/// readings and expect *at least* your own doing.
pub fn snmp(group: &str, name: &str) -> io::Result<u64> {
    let text = read_proc("/proc/net/snmp")?;
    snmp_counter(&text, group, name)
        .ok_or_else(|| missing(&format!("{group}: {name}"), "/proc/net/snmp"))
}

/// A counter of `/proc/net/snmp6` (IPv6), by its full name
/// (`"Udp6NoPorts"`, `"Ip6FragCreates"`). The whole namespace's count, like [`snmp`].
pub fn snmp6(name: &str) -> io::Result<u64> {
    let text = read_proc("/proc/net/snmp6")?;
    snmp6_counter(&text, name).ok_or_else(|| missing(name, "/proc/net/snmp6"))
}

/// The kernel's count of UDP datagrams of `family` dropped because a receive
/// buffer was full: `RcvbufErrors` in `/proc/net/snmp` (IPv4) or
/// `Udp6RcvbufErrors` in `/proc/net/snmp6` (IPv6). Linux only.
///
/// The count is for the whole network namespace: every program's drops
/// raise it, so compare two readings and expect *at least* your own loss.
/// One socket's own count is [`drops`].
pub fn rcvbuf_errors(family: Family) -> io::Result<u64> {
    match family {
        Family::V4 => snmp("Udp", "RcvbufErrors"),
        Family::V6 => snmp6("Udp6RcvbufErrors"),
    }
}

fn read_proc(path: &str) -> io::Result<String> {
    if !cfg!(target_os = "linux") {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{path} is Linux's; this is {}", std::env::consts::OS),
        ));
    }
    std::fs::read_to_string(path).map_err(|e| context(e, format!("reading {path} (Linux only)")))
}

fn missing(name: &str, path: &str) -> io::Error {
    invalid(format!("{path} has no {name} counter"))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

/// Finds `name` in `/proc/net/snmp`'s two `group:` lines (names, then values).
fn snmp_counter(snmp: &str, group: &str, name: &str) -> Option<u64> {
    let prefix = format!("{group}:");
    let mut lines = snmp
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(prefix.as_str()));
    let (names, values) = (lines.next()?, lines.next()?);
    let column = names.split_whitespace().position(|n| n == name)?;
    values.split_whitespace().nth(column)?.parse().ok()
}

/// Finds `name` in `/proc/net/snmp6`'s "name value" lines.
fn snmp6_counter(snmp6: &str, name: &str) -> Option<u64> {
    snmp6.lines().find_map(|line| {
        let mut words = line.split_whitespace();
        (words.next()? == name).then(|| words.next()?.parse().ok())?
    })
}

/// An error the kernel queued on a socket that set `IP_RECVERR` (or
/// `IPV6_RECVERR`), read back with `recvmsg(MSG_ERRQUEUE)`.
#[derive(Debug)]
pub struct QueuedError {
    /// The error: `ECONNREFUSED` (`ErrorKind::ConnectionRefused`) for an
    /// ICMP port unreachable.
    pub error: io::Error,
    /// Where the datagram that drew the error was going: the address and
    /// port that refused it.
    pub destination: SocketAddr,
    /// The host that reported the error, the sender of the ICMP message
    /// (`SO_EE_OFFENDER`); `None` when the kernel did not say.
    pub offender: Option<IpAddr>,
    /// The ICMP type and code, when the error came from an ICMP message
    /// (port unreachable: 3, 3 over IPv4; 1, 4 over ICMPv6).
    pub icmp: Option<(u8, u8)>,
}

/// Turns `IP_RECVERR` (IPv4) or `IPV6_RECVERR` (IPv6) on or off on `sock`.
///
/// With it on, an unconnected socket hears the ICMP errors its datagrams
/// draw: each is queued on the socket's error queue ([`next_queued_error`]
/// reads it) and also made the socket's pending error, which fails the
/// socket's next call, whatever it is (`recv_from`, or `send_to` *to any
/// address*), once. Without it (the default), only a connected socket hears them.
pub fn set_recv_errors(sock: &UdpSocket, on: bool) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use nix::sys::socket::{setsockopt, sockopt};
        let set = match Family::of(&sock.local_addr()?) {
            Family::V4 => setsockopt(sock, sockopt::Ipv4RecvErr, &on),
            Family::V6 => setsockopt(sock, sockopt::Ipv6RecvErr, &on),
        };
        set.map_err(|e| context(e.into(), "setting IP_RECVERR"))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (sock, on);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "IP_RECVERR is Linux's",
        ))
    }
}

/// Waits up to `wait` until `sock` has an error pending or queued (`poll`
/// reports `POLLERR`), without taking it: the socket's next call will fail
/// with it. An error of kind `TimedOut` when none came.
pub fn wait_for_error(sock: &UdpSocket, wait: Duration) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        if linux::poll_error(sock, wait)? {
            Ok(())
        } else {
            Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no error came to the socket within {wait:?}"),
            ))
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (sock, wait);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "waiting for POLLERR is implemented for Linux only",
        ))
    }
}

/// Waits up to `wait` for an error on `sock`'s error queue and takes it off
/// (`recvmsg` with `MSG_ERRQUEUE`), which also clears the socket's pending
/// error. `Ok(None)`: no error came. The socket must have set
/// [`set_recv_errors`] *before* the error arrived: the kernel queues
/// nothing for a socket that did not ask.
pub fn next_queued_error(sock: &UdpSocket, wait: Duration) -> io::Result<Option<QueuedError>> {
    #[cfg(target_os = "linux")]
    {
        let queued = linux::next_queued_error(sock, wait)?;
        if crate::lab::planted::active(crate::lab::planted::Bug::RecverrWrongDestination) {
            let own = sock.local_addr()?;
            return Ok(queued.map(|q| QueuedError {
                destination: own,
                ..q
            }));
        }
        Ok(queued)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (sock, wait);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "MSG_ERRQUEUE is Linux's",
        ))
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io::{self, IoSliceMut};
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
    use std::os::fd::{AsFd, AsRawFd};
    use std::time::Duration;

    use nix::errno::Errno;
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrStorage};

    use super::QueuedError;
    use crate::net::context;

    /// Whether an error came (`POLLERR`) within `wait`: a pending or
    /// queued error makes the socket report it, asked for or not.
    pub(super) fn poll_error(sock: &UdpSocket, wait: Duration) -> io::Result<bool> {
        let mut fds = [PollFd::new(sock.as_fd(), PollFlags::empty())];
        let timeout = PollTimeout::try_from(wait).unwrap_or(PollTimeout::MAX);
        loop {
            return match poll(&mut fds, timeout) {
                Ok(0) => Ok(false),
                Ok(_) => Ok(fds[0]
                    .revents()
                    .is_some_and(|r| r.contains(PollFlags::POLLERR))),
                Err(Errno::EINTR) => continue, // a signal: wait again
                Err(e) => Err(context(e.into(), "waiting for an error on the socket")),
            };
        }
    }

    pub(super) fn next_queued_error(
        sock: &UdpSocket,
        wait: Duration,
    ) -> io::Result<Option<QueuedError>> {
        if !poll_error(sock, wait)? {
            return Ok(None);
        }
        let mut payload = [0u8; 64]; // the start of the datagram that drew the error
        let mut iov = [IoSliceMut::new(&mut payload)];
        let mut control = nix::cmsg_space!(libc::sock_extended_err, libc::sockaddr_in6);
        let flags = MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT;
        let msg =
            match recvmsg::<SockaddrStorage>(sock.as_raw_fd(), &mut iov, Some(&mut control), flags)
            {
                Ok(msg) => msg,
                Err(Errno::EAGAIN) => return Ok(None),
                Err(e) => return Err(context(e.into(), "recvmsg(MSG_ERRQUEUE)")),
            };
        let destination = msg.address.as_ref().and_then(|a| {
            a.as_sockaddr_in()
                .map(|v4| SocketAddr::from(*v4))
                .or_else(|| a.as_sockaddr_in6().map(|v6| SocketAddr::from(*v6)))
        });
        let cmsgs = msg
            .cmsgs()
            .map_err(|e| context(e.into(), "reading the error's control message"))?;
        for cmsg in cmsgs {
            let (ee, offender) = match cmsg {
                ControlMessageOwned::Ipv4RecvErr(ee, from) => (
                    ee,
                    from.map(|sin| IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)))),
                ),
                ControlMessageOwned::Ipv6RecvErr(ee, from) => (
                    ee,
                    from.map(|sin6| IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr))),
                ),
                _ => continue,
            };
            let from_icmp = matches!(
                ee.ee_origin,
                libc::SO_EE_ORIGIN_ICMP | libc::SO_EE_ORIGIN_ICMP6
            );
            let destination = destination.ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the queued error names no destination",
                )
            })?;
            return Ok(Some(QueuedError {
                error: io::Error::from_raw_os_error(ee.ee_errno as i32),
                destination,
                offender,
                icmp: from_icmp.then_some((ee.ee_type, ee.ee_code)),
            }));
        }
        Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "recvmsg(MSG_ERRQUEUE) returned no IP_RECVERR control message",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_counter_reads_the_column_named_in_the_header_line() {
        let snmp =
            "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors\nUdp: 10 0 5 12 4\n\
                    UdpLite: InDatagrams RcvbufErrors\nUdpLite: 0 99\n";
        assert_eq!(
            snmp_counter(snmp, "Udp", "RcvbufErrors"),
            Some(4),
            "the Udp: line, not UdpLite:"
        );
        assert_eq!(snmp_counter(snmp, "UdpLite", "RcvbufErrors"), Some(99));
        assert_eq!(snmp_counter(snmp, "Icmp", "InErrors"), None);
    }

    #[test]
    fn snmp6_counter_reads_the_named_line() {
        let snmp6 = "Udp6InDatagrams   7\nUdp6RcvbufErrors  3\n";
        assert_eq!(snmp6_counter(snmp6, "Udp6RcvbufErrors"), Some(3));
    }

    #[test]
    fn version_reads_major_and_minor_from_uname_release() {
        assert_eq!(parse_version("6.18.44-fc-v782"), Some((6, 18)));
        assert_eq!(parse_version("5.15.0-91-generic"), Some((5, 15)));
        assert_eq!(parse_version("6.1"), Some((6, 1)));
        assert_eq!(parse_version("linux"), None);
        assert!(
            Some((6, 9)) < Some((6, 18)),
            "compared as numbers, not text"
        );
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn proc_hex_writes_addresses_as_the_kernel_prints_them() {
        assert_eq!(
            proc_hex("127.0.0.1:44206".parse().unwrap()),
            "0100007F:ACAE"
        );
        assert_eq!(
            proc_hex("[::1]:8080".parse().unwrap()),
            "00000000000000000000000001000000:1F90"
        );
    }

    #[test]
    fn a_row_gives_its_queues_and_drops() {
        let line = "  426: 0100007F:ACAE 00000000:0000 07 00000000:00000340 00:00000000 00000000     0        0 90291 2 0000000056d446ad 99";
        assert_eq!(
            parse_row(line),
            Some(SocketRow {
                rx_queue: 0x340,
                tx_queue: 0,
                drops: 99
            })
        );
    }
}
