//! The size limits a UDP program meets: the error an oversized send returns,
//! and the kernel's ceilings on socket buffers. The largest payload per IP
//! version is [`Family::max_payload`](crate::net::Family::max_payload).
//!
//! | limit | value | where it comes from |
//! |---|---|---|
//! | largest IPv4 payload | 65507 B | 65535 (IPv4 total length, 16 bits) - 20 (IPv4 header) - 8 (UDP header) |
//! | largest IPv6 payload | 65527 B | 65535 (IPv6 payload length, 16 bits, header not included) - 8 (UDP header) |
//! | largest unfragmented payload on Ethernet | 1472 B (IPv4), 1452 B (IPv6) | MTU 1500 - 20 or 40 (IP header) - 8 (UDP header) |
//!
//! # Platform-specific behavior
//! - An oversized send fails with `EMSGSIZE` on Unix and `WSAEMSGSIZE` on
//!   Windows; std has no stable [`io::ErrorKind`] for it, so
//!   [`is_message_too_long`] compares the raw OS error code.
//! - `rmem_max` / `wmem_max` are Linux's `/proc/sys/net/core/` files; other
//!   systems have other knobs (macOS: `kern.ipc.maxsockbuf`), and the
//!   readers here return an error there.
//! - macOS also caps a UDP send at the socket's send buffer, 9216 bytes by
//!   default (`net.inet.udp.maxdgram`): raise `SO_SNDBUF` to send more.

use std::io;
use std::path::Path;

/// The largest payload that crosses an Ethernet link (MTU 1500) over IPv4
/// without being fragmented: 1500 - 20 (IPv4 header) - 8 (UDP header).
pub const ETHERNET_IPV4_PAYLOAD: usize = 1_472;

/// The OS error code of "message too long": `EMSGSIZE` on Unix,
/// `WSAEMSGSIZE` (10040) on Windows.
#[cfg(unix)]
pub const EMSGSIZE: i32 = libc::EMSGSIZE;
/// The OS error code of "message too long": `EMSGSIZE` on Unix,
/// `WSAEMSGSIZE` (10040) on Windows.
#[cfg(windows)]
pub const EMSGSIZE: i32 = 10_040;

/// Whether `err` is "message too long" (`EMSGSIZE`): the datagram cannot be
/// sent as one IP packet, so nothing was sent.
pub fn is_message_too_long(err: &io::Error) -> bool {
    err.raw_os_error() == Some(EMSGSIZE)
}

/// Linux's ceiling on `SO_RCVBUF` (`/proc/sys/net/core/rmem_max`), in bytes.
/// A request above it is clamped to it, then doubled. An error elsewhere.
pub fn rmem_max() -> io::Result<usize> {
    read_sysctl("/proc/sys/net/core/rmem_max")
}

/// Linux's ceiling on `SO_SNDBUF` (`/proc/sys/net/core/wmem_max`), in bytes.
pub fn wmem_max() -> io::Result<usize> {
    read_sysctl("/proc/sys/net/core/wmem_max")
}

/// Reads a `/proc/sys` file holding one number.
fn read_sysctl(path: &str) -> io::Result<usize> {
    let text = std::fs::read_to_string(Path::new(path))
        .map_err(|e| crate::net::context(e, format!("reading {path}")))?;
    text.trim().parse().map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{path} holds {text:?}, not a number: {e}"),
        )
    })
}
