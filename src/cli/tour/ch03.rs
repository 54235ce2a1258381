//! Tour block for chapter 03: UDP keeps message boundaries, TCP does not.

use std::io::Write;
use std::net::Shutdown;

use udp_lab::net::{self, Family};
use udp_lab::recv;
use udp_lab::tcp;

use super::Report;

/// The article's five messages, `Hello1` .. `Hello5`.
fn messages() -> Vec<Vec<u8>> {
    (1..=5).map(|i| format!("Hello{i}").into_bytes()).collect()
}

/// Five `send_to` then five receives into a 65535-byte buffer; then the same five
/// writes on a TCP connection and one read of 1024 bytes.
pub fn demo() -> std::io::Result<Report> {
    let messages = messages();
    let receiver = net::bind_loopback(Family::V4)?;
    let client = net::bind_loopback(Family::V4)?;
    for message in &messages {
        client.send_to(message, receiver.local_addr()?)?;
    }
    let mut sizes = Vec::new();
    let mut exact = true;
    for message in &messages {
        let got = recv::recv_datagram(&receiver, "one of the five datagrams")?;
        exact &= &got.payload == message;
        sizes.push(got.payload.len().to_string());
    }
    let stream = tcp_read_after_five_writes(&messages)?;
    let all: Vec<u8> = messages.concat();
    let held = exact && stream == all;
    Ok(Report {
        lines: vec![
            format!("UDP: 5 send_to of 6 bytes -> 5 receives (65535-byte buffer) of {} bytes, each exact", sizes.join(", ")),
            format!(
                "TCP: the same 5 writes -> one read(1024) returned {} bytes {:?}: the boundaries are gone",
                stream.len(),
                String::from_utf8_lossy(&stream)
            ),
        ],
        held,
    })
}

/// Writes each message on a TCP connection (Nagle on, as in the article),
/// shuts the write half, then reads once with `MSG_WAITALL`: the read returns
/// when the buffer is full or the stream ended, so it shows what the stream
/// holds, not how fast loopback delivered it.
fn tcp_read_after_five_writes(messages: &[Vec<u8>]) -> std::io::Result<Vec<u8>> {
    let mut pair = tcp::tcp_pair(Family::V4, false)?;
    for message in messages {
        pair.client.write_all(message)?;
    }
    pair.client.shutdown(Shutdown::Write)?;
    let mut buf = [0u8; 1024];
    let n = tcp::recv_waiting_for_all(&pair.server, &mut buf)?;
    Ok(buf[..n].to_vec())
}
