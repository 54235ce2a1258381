//! Tour block for chapter 01: the upper-casing echo server answers the sender.

use udp_lab::lab::server::{self, Reply};
use udp_lab::net::{self, Family};
use udp_lab::recv;

use super::Report;

/// Sends "hello" to the echo server and checks the reply and its source.
pub fn demo() -> std::io::Result<Report> {
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper)?;
    let client = net::bind_loopback(Family::V4)?;
    let reply = recv::request(&client, echo.local_addr(), b"hello", "the echo reply")?;
    let held = reply.payload == b"HELLO" && reply.from == echo.local_addr();
    Ok(Report {
        lines: vec![
            format!(
                "client {} sent \"hello\" (5 bytes) to server {}",
                client.local_addr()?,
                echo.local_addr()
            ),
            format!(
                "client received {:?} ({} bytes) from {}",
                reply.text(),
                reply.payload.len(),
                reply.from
            ),
        ],
        held,
    })
}
