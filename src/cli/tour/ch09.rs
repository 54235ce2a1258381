//! Tour block for chapter 09: a read timeout turns a lost reply into an error.

use std::time::{Duration, Instant};

use udp_lab::net::{self, Family};
use udp_lab::recv;

use super::Report;

/// Sends a request to a socket that never answers and waits 200 ms for the reply.
pub fn demo() -> std::io::Result<Report> {
    let silent = net::bind_loopback(Family::V4)?;
    let client = net::bind_loopback(Family::V4)?;
    client.set_read_timeout(Some(Duration::from_millis(200)))?;
    client.send_to(b"hello", silent.local_addr()?)?;
    let started = Instant::now();
    let outcome = client.recv_from(&mut [0u8; 1024]);
    let waited = started.elapsed();
    let zero = client.set_read_timeout(Some(Duration::ZERO));
    Ok(Report {
        lines: vec![
            format!(
                "no reply; after {waited:.0?} recv_from returned {:?}",
                outcome.as_ref().map_err(|e| e.kind())
            ),
            format!(
                "set_read_timeout(Some(0)) returned {:?}",
                zero.as_ref().map_err(|e| e.kind())
            ),
        ],
        held: outcome.is_err_and(|e| recv::is_timeout(&e))
            && zero.is_err_and(|e| e.kind() == std::io::ErrorKind::InvalidInput),
    })
}
