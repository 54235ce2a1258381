//! IPv4 fragments made by hand, to lose one on purpose.
//!
//! There is no nft or iptables to drop one fragment at a router, and a
//! forwarder of our own in the router would have to copy every Ethernet
//! frame between two interfaces. The receiver cannot tell *where* a
//! fragment was lost, so the lab loses it at the source instead: it cuts a
//! UDP datagram into the fragments the kernel would make (same sizes, one
//! IP identification, the "more fragments" flag on all but the last) and
//! sends them through a raw socket (`IPPROTO_RAW`: the IP header is ours),
//! leaving out the one the caller names. Deterministic: the same fragment
//! is lost every time.

use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use std::sync::atomic::{AtomicU16, Ordering};

use super::Host;

/// Sends the UDP datagram `payload` from `from` to `to` as the IPv4
/// fragments a link of `mtu` bytes needs, from a raw socket of `host`,
/// except fragment number `lose` (0 is the first) when it is `Some`.
/// Returns how many fragments the datagram was cut into.
///
/// The UDP checksum is 0 ("none", allowed over IPv4 by RFC 768), so the
/// fragments need no pseudo-header sum; the kernel fills in the IP header's
/// checksum and total length.
pub fn send_fragments(
    host: &Host,
    (from, to): (SocketAddrV4, SocketAddrV4),
    payload: &[u8],
    mtu: usize,
    lose: Option<usize>,
) -> io::Result<usize> {
    let fragments = cut(from, to, payload, mtu);
    let count = fragments.len();
    host.run(|| {
        use socket2::{Domain, Protocol, Socket, Type};
        let raw = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(libc::IPPROTO_RAW)),
        )
        .map_err(|e| crate::net::context(e, "opening a raw socket (IPPROTO_RAW)"))?;
        let dest = socket2::SockAddr::from(SocketAddr::V4(to));
        for (i, packet) in fragments.iter().enumerate() {
            if Some(i) != lose {
                raw.send_to(packet, &dest)
                    .map_err(|e| crate::net::context(e, format!("sending fragment {i} to {to}")))?;
            }
        }
        Ok(count)
    })?;
    Ok(count)
}

/// A raw ICMP socket of a host: it receives a copy of every ICMP message
/// that reaches the host, including those no UDP socket is told about.
/// Measured on Linux 6.18: "fragment reassembly time exceeded" (ICMP 11/1)
/// is counted (`Icmp: InTimeExcds`) but reaches no UDP socket, not even one
/// with `IP_RECVERR`; this is how a test sees it come.
pub struct IcmpWatch(socket2::Socket);

impl IcmpWatch {
    /// Starts watching `host`'s incoming ICMP (IPv4).
    pub fn open(host: &Host) -> io::Result<IcmpWatch> {
        use socket2::{Domain, Protocol, Socket, Type};
        let sock = host.run(|| Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::ICMPV4)))?;
        Ok(IcmpWatch(sock))
    }

    /// The (type, code) of the next ICMP message of `kind` (its type) to
    /// arrive within `wait`, or `None`; messages of other types are passed over.
    pub fn next_of_type(
        &self,
        kind: u8,
        wait: std::time::Duration,
    ) -> io::Result<Option<(u8, u8)>> {
        let until = std::time::Instant::now() + wait;
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1500];
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Ok(None);
            }
            self.0.set_read_timeout(Some(left))?;
            let n = match self.0.recv(&mut buf) {
                Ok(n) => n,
                Err(e) if crate::recv::is_timeout(&e) => return Ok(None),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: wait again
                Err(e) => return Err(e),
            };
            // SAFETY: recv initialised the first n bytes.
            let packet: Vec<u8> = buf[..n]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            let ihl = usize::from(packet.first().copied().unwrap_or(0) & 0x0f) * 4;
            if let (Some(&t), Some(&c)) = (packet.get(ihl), packet.get(ihl + 1)) {
                if t == kind {
                    return Ok(Some((t, c)));
                }
            }
        }
    }
}

/// The IP packets (header + fragment data) of one UDP datagram.
fn cut(from: SocketAddrV4, to: SocketAddrV4, payload: &[u8], mtu: usize) -> Vec<Vec<u8>> {
    static NEXT_ID: AtomicU16 = AtomicU16::new(0x5a00);
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut udp = Vec::with_capacity(8 + payload.len());
    udp.extend_from_slice(&from.port().to_be_bytes());
    udp.extend_from_slice(&to.port().to_be_bytes());
    udp.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    udp.extend_from_slice(&[0, 0]); // checksum 0: none (IPv4 only)
    udp.extend_from_slice(payload);
    // Every fragment but the last carries a multiple of 8 bytes: offsets count 8-byte units.
    let per_fragment = (mtu - 20) / 8 * 8;
    let pieces: Vec<&[u8]> = udp.chunks(per_fragment).collect();
    let last = pieces.len() - 1;
    pieces
        .iter()
        .enumerate()
        .map(|(i, piece)| {
            let offset = (i * per_fragment / 8) as u16;
            let flags = if i < last { 0x2000 } else { 0 }; // MF: more fragments follow
            let mut packet = header(from, to, id, flags | offset, piece.len());
            packet.extend_from_slice(piece);
            packet
        })
        .collect()
}

/// A 20-byte IPv4 header for UDP (protocol 17), TTL 64, checksum left to the kernel.
fn header(
    from: SocketAddrV4,
    to: SocketAddrV4,
    id: u16,
    flags_offset: u16,
    data: usize,
) -> Vec<u8> {
    let mut h = vec![0x45, 0];
    h.extend_from_slice(&((20 + data) as u16).to_be_bytes());
    h.extend_from_slice(&id.to_be_bytes());
    h.extend_from_slice(&flags_offset.to_be_bytes());
    h.extend_from_slice(&[64, 17, 0, 0]);
    h.extend_from_slice(&from.ip().octets());
    h.extend_from_slice(&to.ip().octets());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_1473_byte_payload_over_1500_is_cut_as_the_kernel_cuts_it_1480_then_1() {
        let (a, b) = (
            "192.0.2.1:7".parse().unwrap(),
            "192.0.2.2:9".parse().unwrap(),
        );
        let fragments = cut(a, b, &[0u8; 1473], 1500);
        let sizes: Vec<usize> = fragments.iter().map(|f| f.len() - 20).collect();
        assert_eq!(
            sizes,
            [1480, 1],
            "8 + 1473 bytes of UDP: 1480 in the first, 1 in the second"
        );
        assert_eq!(&fragments[0][6..8], &[0x20, 0], "first: MF set, offset 0");
        assert_eq!(
            &fragments[1][6..8],
            &[0, 185],
            "last: MF clear, offset 1480 / 8 = 185"
        );
    }
}
