//! Tour block for chapter 08: a full receive buffer drops datagrams silently.

use udp_lab::lab::buffers::{self, Blast, Overflow};
use udp_lab::net::Family;

use super::Report;

/// Blasts 300 datagrams of 1000 bytes at the smallest buffer and at a large one.
pub fn demo() -> std::io::Result<Report> {
    let blast = |recv_buffer| {
        buffers::measure(&Blast {
            family: Family::V4,
            recv_buffer: Some(recv_buffer),
            count: 300,
            payload: 1000,
        })
    };
    let (small, large) = (blast(1)?, blast(1 << 20)?);
    let line = |seen: &Overflow| {
        let counted = seen
            .rcvbuf_errors
            .as_ref()
            .map_or_else(|_| "n/a".to_string(), |d| format!("+{d}"));
        format!(
            "SO_RCVBUF {:>7} B: {} sent ({} send errors); {:>3} kept, {:>3} lost; kernel RcvbufErrors {counted}",
            seen.effective,
            seen.sent,
            seen.send_errors,
            seen.kept,
            seen.lost()
        )
    };
    let intact = small.intact == small.kept && large.intact == large.kept;
    Ok(Report {
        lines: vec![line(&small), line(&large)],
        held: small.send_errors == 0
            && small.kept < small.sent
            && large.kept > small.kept
            && intact,
    })
}
