//! Tour block for chapter 02: an empty datagram is a real datagram.

use udp_lab::net::{self, Family};
use udp_lab::recv;

use super::Report;

/// Sends a 0-byte datagram and checks that it arrives as 0 bytes from the sender.
pub fn demo() -> std::io::Result<Report> {
    let receiver = net::bind_loopback(Family::V4)?;
    let client = net::bind_loopback(Family::V4)?;
    let sent = client.send_to(&[], receiver.local_addr()?)?;
    let got = recv::recv_datagram(&receiver, "the empty datagram")?;
    let held = sent == 0 && got.payload.is_empty() && got.from == client.local_addr()?;
    Ok(Report {
        lines: vec![
            format!(
                "client {} sent an empty datagram: send_to returned Ok({sent})",
                client.local_addr()?
            ),
            format!(
                "receiver {} got a datagram of {} bytes from {}",
                receiver.local_addr()?,
                got.payload.len(),
                got.from
            ),
        ],
        held,
    })
}
