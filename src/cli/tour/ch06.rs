//! Tour block for chapter 06: `recvfrom(1024)` cuts a longer datagram and the rest is lost.

use udp_lab::limits;
use udp_lab::net::{self, Family};
use udp_lab::recv;

use super::Report;

/// Sends 2000 bytes and then "next"; reads the first into 1024 bytes, as the article does.
pub fn demo() -> std::io::Result<Report> {
    let receiver = net::bind_loopback(Family::V4)?;
    let sender = net::bind_loopback(Family::V4)?;
    let to = receiver.local_addr()?;
    sender.send_to(&[b'u'; 2000], to)?;
    sender.send_to(b"next", to)?;
    let mut buf = [0u8; 1024];
    let got = match receiver.recv_from(&mut buf) {
        Ok((n, _)) => n,
        // Windows fills the buffer too, but reports WSAEMSGSIZE.
        Err(e) if limits::is_message_too_long(&e) => buf.len(),
        Err(e) => return Err(e),
    };
    let after = recv::recv_datagram(&receiver, "the datagram after the long one")?;
    Ok(Report {
        lines: vec![
            "sent a 2000-byte datagram, then \"next\" (4 bytes)".to_string(),
            format!("recvfrom into 1024 bytes returned {got} bytes"),
            format!(
                "the next read returned {:?} ({} bytes): the other 976 bytes are gone",
                after.text(),
                after.payload.len()
            ),
        ],
        held: got == 1024 && after.payload == b"next",
    })
}
