//! Tour block for chapter 12: retries, sequence numbers and stop-and-wait
//! make a lossy relay reliable. The runs are the chapter's own
//! ([`reliable::requests_through`], [`reliable::transfer`]); this block
//! prints them.

use std::io;

use udp_lab::lab::relay::Links;
use udp_lab::lab::reliable::{self, fast_retry, lossy, StopAndWait, Unchecked};
use udp_lab::lab::server;
use udp_lab::net::Family;

use super::Report;

/// Ten requests and a 32 KiB stream through 20% loss, duplication and reordering.
pub fn demo() -> io::Result<Report> {
    let requests = reliable::requests_through(lossy(12), fast_retry(), 10)?;
    let right = requests
        .answered
        .iter()
        .filter(|(request, answer)| answer.payload == server::upper_reply(request.as_bytes()))
        .count();
    let data: Vec<u8> = (0..32 * 1024)
        .map(|i: usize| (i * 7 + i / 256) as u8)
        .collect();
    let settings = StopAndWait {
        chunk_size: 4096,
        retry: fast_retry(),
    };
    let (received, sent, _) = reliable::transfer(
        Family::V4,
        Links::both(lossy(12)),
        &Unchecked,
        |sock, to| reliable::send_stream(sock, to, &data, &settings, &Unchecked),
    )?;
    let (received, sent) = (received?, sent?);
    let (relay, client) = (requests.relay, requests.client);
    Ok(Report {
        lines: vec![
            format!("relay both ways: {}", lossy(12)),
            format!(
                "10 requests, {right} got their own reply; the relay dropped {} requests and {} replies, the client \
                 retried {} times and dropped {} stale replies",
                relay.to_server.dropped, relay.to_client.dropped, client.retries, client.stale
            ),
            format!(
                "stop-and-wait: {} of {} bytes arrived, intact and in order: {} ({} retransmissions)",
                received.len(),
                data.len(),
                received == data,
                sent.retransmissions
            ),
        ],
        held: right == 10 && received == data,
    })
}
