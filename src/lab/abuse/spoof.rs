//! Off-path spoofed replies (chapter 15). A reply is just a datagram that
//! arrives at the client's port: anyone who can reach that port can send
//! one. The article's client takes the first datagram that comes as the
//! answer ([`naive_request`]); a checked client ([`checked_request`])
//! accepts only a datagram from the server's address that echoes a random
//! request id, so an off-path forger must guess the client's port *and*
//! the id (RFC 5452's reasoning for DNS: 16 bits of id and 16 of port).

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;

use crate::net::{self, Family};
use crate::recv::{self, Datagram};

/// The article's client: sends `payload` to `server` and takes the first
/// datagram that arrives, from anyone, as the reply.
pub fn naive_request(sock: &UdpSocket, server: SocketAddr, payload: &[u8]) -> io::Result<Datagram> {
    sock.send_to(payload, server)?;
    recv::recv_datagram(
        sock,
        "a reply (from anyone: the naive client does not look)",
    )
}

/// What a checked request got: the reply, and how many datagrams it
/// turned away on the way (wrong source, or without its id).
#[derive(Debug)]
pub struct Checked {
    /// The reply: from the server, carrying the request's id.
    pub reply: Datagram,
    /// Datagrams rejected before it.
    pub rejected: u64,
}

/// A request id from the OS's CSPRNG (`getrandom`): unpredictable, so an
/// off-path forger cannot echo it.
pub fn request_id() -> io::Result<u64> {
    let mut raw = [0u8; 8];
    getrandom::fill(&mut raw).map_err(|e| io::Error::other(format!("OS random source: {e}")))?;
    Ok(u64::from_be_bytes(raw))
}

/// Sends `<id> <payload>` (the id as 20 decimal digits, which upper-casing
/// leaves alone) to `server`, and accepts only a datagram from `server`
/// whose payload starts with the id; others are counted and ignored until
/// [`net::DEFAULT_TIMEOUT`] has passed.
pub fn checked_request(
    sock: &UdpSocket,
    server: SocketAddr,
    payload: &[u8],
) -> io::Result<Checked> {
    let id = format!("{:020} ", request_id()?);
    sock.send_to(&[id.as_bytes(), payload].concat(), server)?;
    let deadline = Instant::now() + net::DEFAULT_TIMEOUT;
    let mut rejected = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let got = if left.is_zero() {
            None
        } else {
            recv::recv_within(sock, left)?
        };
        let Some(got) = got else {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "no reply from {server} carrying id {} ({rejected} rejected)",
                    id.trim()
                ),
            ));
        };
        if got.from == server && got.payload.starts_with(id.as_bytes()) {
            return Ok(Checked {
                reply: got,
                rejected,
            });
        }
        rejected += 1;
    }
}

/// The ports the OS gave `n` sockets bound at once to port 0 on loopback.
pub fn ephemeral_ports(family: Family, n: usize) -> io::Result<Vec<u16>> {
    let socks = (0..n)
        .map(|_| net::bind_loopback(family))
        .collect::<io::Result<Vec<_>>>()?;
    socks.iter().map(|s| Ok(s.local_addr()?.port())).collect()
}
