//! Fast paths: many datagrams per system call, with their boundaries kept
//! (chapter 19).
//!
//! Linux moves bulk UDP in *super-datagrams*: one `sendmsg` with a
//! `UDP_SEGMENT` control message hands the kernel up to 128 datagrams of
//! one size (GSO, [`gso`]); a socket with `UDP_GRO` on receives up to 64 KiB
//! of same-sized datagrams in one `recvmsg`, with a `UDP_GRO` control
//! message giving the size to cut them back at (GRO, [`gro`]). Boundaries
//! are never lost: GSO puts them on the wire, GRO says where they were.
//! [`bulk`] moves a bulk load with each way of sending and receiving, for
//! `udp-lab bench --bulk`.
//!
//! | call | level, name (Linux) | value |
//! |---|---|---|
//! | `setsockopt` / cmsg on send | `SOL_UDP` (17), `UDP_SEGMENT` (103) | `u16`: the segment size |
//! | `setsockopt` | `SOL_UDP` (17), `UDP_GRO` (104) | `int`: 1 on |
//! | cmsg on receive | `SOL_UDP` (17), `UDP_GRO` (104) | `int`: the segment size |
//!
//! # Platform-specific behaviour
//! GSO and GRO are Linux's (4.18 and 5.0). Windows has the same ideas as USO
//! and URO (`UDP_SEND_MSG_SIZE`, `UDP_RECV_MAX_COALESCED_SIZE`), not wrapped
//! here; macOS has neither. Elsewhere every call here returns
//! `ErrorKind::Unsupported`, and [`supported`] says `false`.

pub mod bulk;
pub mod gro;
pub mod gso;
pub mod netns;

use std::io;

pub use gro::{enable_gro, recv_gro, split, GroReceive};
pub use gso::{send_gso, set_gso_segment};

/// The segment size the chapter uses: a datagram that fits any path's MTU
/// (1,280 B for IPv6, minus 48 B of headers, rounded down), as QUIC does.
pub const SEGMENT: usize = 1200;

/// The most bytes one GRO receive returns (the kernel coalesces up to
/// 64 KiB); a receive buffer this large never truncates a coalesced message.
pub const GRO_BUFFER: usize = 65_535;

/// Whether this OS and kernel take `UDP_SEGMENT` and `UDP_GRO` on a UDP
/// socket (`udp-lab doctor` reports the same probes).
pub fn supported() -> bool {
    probe_gso().is_ok() && probe_gro().is_ok()
}

/// Sets `UDP_SEGMENT` to 1,200 on a fresh loopback socket: `Ok` where GSO
/// exists.
pub fn probe_gso() -> io::Result<()> {
    let sock = crate::net::bind_loopback(crate::net::Family::V4)?;
    set_gso_segment(&sock, SEGMENT)
}

/// Turns `UDP_GRO` on on a fresh loopback socket: `Ok` where GRO exists.
pub fn probe_gro() -> io::Result<()> {
    let sock = crate::net::bind_loopback(crate::net::Family::V4)?;
    enable_gro(&sock, true)
}

/// The most segments one GSO send may carry on this kernel, found by
/// sending one-byte segments to a local receiver: 128 (`UDP_MAX_SEGMENTS`,
/// `1 << 7`) since upstream commit 1382e3b6a350 (April 2024, first in Linux
/// 6.9; backported to stable kernels such as 5.15.y), 64 before. A send with
/// more is refused with `EINVAL`.
pub fn max_segments() -> io::Result<usize> {
    let receiver = crate::net::bind_loopback(crate::net::Family::V4)?;
    let sender = crate::net::bind_loopback(crate::net::Family::V4)?;
    let to = receiver.local_addr()?;
    for count in [256, 128, 64] {
        if send_gso(&sender, to, &vec![0u8; count], 1).is_ok() {
            return Ok(count);
        }
    }
    Err(io::Error::other(
        "a GSO send of 64 one-byte segments was refused",
    ))
}

/// The error every call here returns off Linux.
#[allow(dead_code)] // used only where GSO and GRO are missing
pub(crate) fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "UDP GSO and GRO are Linux's (Windows has USO/URO, macOS neither)",
    )
}
