//! Tour block for chapter 10: a connected socket hears the ICMP "port
//! unreachable" that an unconnected one never sees.

use std::io::ErrorKind;

use udp_lab::net::{self, Family};

use super::Report;

/// Connects to a port where nothing listens, sends, and receives the refusal.
pub fn demo() -> std::io::Result<Report> {
    let closed = net::closed_port(Family::V4)?;
    let nobody = closed.addr();
    let client = net::bind_loopback(Family::V4)?;
    client.connect(nobody)?;
    let sent = client.send(b"anyone?");
    let heard = client.recv(&mut [0u8; 64]);
    let expected = if cfg!(windows) {
        ErrorKind::ConnectionReset
    } else {
        ErrorKind::ConnectionRefused
    };
    let held = matches!(sent, Ok(7)) && heard.as_ref().is_err_and(|e| e.kind() == expected);
    Ok(Report {
        lines: vec![
            format!("client {} connected to {nobody}, where nothing listens", client.local_addr()?),
            format!("send returned {:?}", sent.map_err(|e| e.kind())),
            format!(
                "the next recv returned {:?}: the ICMP port unreachable, matched to the connected socket",
                heard.map_err(|e| e.kind())
            ),
        ],
        held,
    })
}
