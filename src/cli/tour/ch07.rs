//! Tour block for chapter 07: 65507 bytes fit in one IPv4 datagram, 65508 do not.

use udp_lab::limits;
use udp_lab::net::{self, Family};
use udp_lab::{recv, tune};

use super::Report;

/// Sends the largest IPv4 payload and one byte more.
pub fn demo() -> std::io::Result<Report> {
    let receiver = net::bind_loopback(Family::V4)?;
    let sender = net::bind_loopback(Family::V4)?;
    tune::set_send_buffer_size(&sender, 256 * 1024)?; // macOS sends at most SO_SNDBUF bytes
    let largest = Family::V4.max_payload();
    sender.send_to(&vec![b'u'; largest], receiver.local_addr()?)?;
    let got = recv::recv_datagram(&receiver, "the largest datagram")?;
    let too_big = sender.send_to(&vec![b'u'; largest + 1], receiver.local_addr()?);
    let refused = too_big.as_ref().is_err_and(limits::is_message_too_long);
    Ok(Report {
        lines: vec![
            format!(
                "sent {largest} bytes (65535 - 20 IPv4 - 8 UDP): received {} bytes in one datagram",
                got.payload.len()
            ),
            format!(
                "sent {} bytes: {}",
                largest + 1,
                too_big.map_or_else(|e| e.to_string(), |n| format!("Ok({n})"))
            ),
        ],
        held: got.payload.len() == largest && refused,
    })
}
