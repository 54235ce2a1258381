//! Tour block for chapter 04: sending to an absent server is not an error.

use udp_lab::net::{self, Family, SILENCE};
use udp_lab::recv;

use super::Report;

/// Sends to a port where nothing listens: `send_to` returns `Ok(n)`, and
/// nothing comes back within [`SILENCE`].
pub fn demo() -> std::io::Result<Report> {
    let nobody = net::closed_port(Family::V4)?;
    let client = net::bind_loopback(Family::V4)?;
    let sent = client.send_to(b"hello", nobody.addr());
    let answer = recv::recv_within(&client, SILENCE)?;
    let held = matches!(sent, Ok(5)) && answer.is_none();
    let heard = match &answer {
        None => "nothing (no reply, no error)".to_string(),
        Some(d) => format!("{} bytes from {}", d.payload.len(), d.from),
    };
    Ok(Report {
        lines: vec![
            format!(
                "client {} sent 5 bytes to {}, where nothing listens: send_to returned {sent:?}",
                client.local_addr()?,
                nobody.addr()
            ),
            format!("waited {SILENCE:?} for an answer: {heard}"),
        ],
        held,
    })
}
