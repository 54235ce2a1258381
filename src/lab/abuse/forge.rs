//! A UDP datagram with any source address (chapter 15): the IPv4 and UDP
//! headers built by hand (RFC 791, RFC 768) and sent on a raw socket
//! (`IPPROTO_RAW`, which implies `IP_HDRINCL`: the header is ours, but not
//! all of it goes out as written). Linux's raw(7): the kernel always fills
//! in the IP header checksum and Total Length, and fills in the Source
//! Address and the Packet ID when they are zero; everything else, the
//! source we forge included, is sent as built. The UDP checksum is ours
//! alone (the kernel never looks inside), so it is computed here, over the
//! pseudo-header with the forged source. The IP checksum is computed too,
//! so the packet is whole without the kernel's help (and the unit test
//! below can check it). Nothing in UDP or IP authenticates the source.
//!
//! A raw socket needs `CAP_NET_RAW`: root, or "root" inside a user
//! namespace of one's own. The chapter uses it only inside a private network
//! namespace ([`crate::lab::netns`]), where nothing can leave the machine.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use socket2::{Domain, Protocol, Socket, Type};

/// The length of the IPv4 header built here (no options).
pub const IPV4_HEADER: usize = 20;
/// The length of the UDP header.
pub const UDP_HEADER: usize = 8;

/// RFC 1071's one's-complement sum of 16-bit words, folded and inverted.
pub fn internet_checksum(chunks: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    let bytes = chunks.iter().flat_map(|c| c.iter().copied());
    let mut pending: Option<u8> = None;
    for byte in bytes {
        match pending.take() {
            None => pending = Some(byte),
            Some(high) => sum += u32::from(u16::from_be_bytes([high, byte])),
        }
    }
    if let Some(high) = pending {
        sum += u32::from(u16::from_be_bytes([high, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An IPv4 packet carrying one UDP datagram from `src` to `dst` with
/// `payload`, both checksums computed (the UDP one over RFC 768's
/// pseudo-header), ready for a raw `IPPROTO_RAW` socket.
pub fn udp_ipv4_packet(src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) -> Vec<u8> {
    let udp_len = (UDP_HEADER + payload.len()) as u16;
    let total = IPV4_HEADER as u16 + udp_len;
    let mut udp = Vec::with_capacity(usize::from(udp_len));
    udp.extend_from_slice(&src.port().to_be_bytes());
    udp.extend_from_slice(&dst.port().to_be_bytes());
    udp.extend_from_slice(&udp_len.to_be_bytes());
    udp.extend_from_slice(&[0, 0]); // checksum, filled below
    udp.extend_from_slice(payload);
    let pseudo = pseudo_header(*src.ip(), *dst.ip(), udp_len);
    let sum = match internet_checksum(&[&pseudo, &udp]) {
        0 => 0xffff, // RFC 768: a computed zero is sent as all ones
        s => s,
    };
    udp[6..8].copy_from_slice(&sum.to_be_bytes());
    let mut ip = vec![
        0x45, 0, // version 4, header 5 words; DSCP/ECN 0
    ];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 0, 0x40, 0]); // id 0, don't fragment
    ip.extend_from_slice(&[64, 17, 0, 0]); // TTL 64, protocol UDP, checksum below
    ip.extend_from_slice(&src.ip().octets());
    ip.extend_from_slice(&dst.ip().octets());
    let ip_sum = internet_checksum(&[&ip]);
    ip[10..12].copy_from_slice(&ip_sum.to_be_bytes());
    ip.extend_from_slice(&udp);
    ip
}

fn pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, udp_len: u16) -> Vec<u8> {
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&src.octets());
    pseudo.extend_from_slice(&dst.octets());
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&udp_len.to_be_bytes());
    pseudo
}

/// Sends `payload` to `dst` as if it came from `src`, through a raw socket
/// (needs `CAP_NET_RAW`).
pub fn send_forged(src: SocketAddrV4, dst: SocketAddrV4, payload: &[u8]) -> io::Result<usize> {
    let raw = Socket::new(
        Domain::IPV4,
        Type::RAW,
        Some(Protocol::from(libc::IPPROTO_RAW)),
    )
    .map_err(|e| crate::net::context(e, "opening a raw socket (IPPROTO_RAW needs CAP_NET_RAW)"))?;
    let packet = udp_ipv4_packet(src, dst, payload);
    raw.send_to(&packet, &SocketAddr::V4(dst).into())
        .map_err(|e| {
            crate::net::context(e, format!("sending a forged datagram from {src} to {dst}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_checksums_of_a_built_packet_verify_to_zero() {
        let (src, dst) = (
            "192.0.2.5:7000".parse().unwrap(),
            "192.0.2.1:53".parse().unwrap(),
        );
        let packet = udp_ipv4_packet(src, dst, b"odd");
        assert_eq!(
            internet_checksum(&[&packet[..IPV4_HEADER]]),
            0,
            "IPv4 header checksum"
        );
        let udp = &packet[IPV4_HEADER..];
        let pseudo = pseudo_header(*src.ip(), *dst.ip(), udp.len() as u16);
        assert_eq!(
            internet_checksum(&[&pseudo, udp]),
            0,
            "UDP checksum over the pseudo-header"
        );
    }
}
