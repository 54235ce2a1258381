//! A storm of arbitrary datagrams (chapter 15's fuzzing law), sent so that
//! none is lost before the server reads it: after each one, a `sync N`
//! request from the same socket, and a wait for its reply. The payload was
//! queued first on the same socket (and, for `reuseport`, the same 4-tuple
//! picks the same socket), so when `SYNC N` comes back the payload was taken
//! off the queue: the receive buffer never holds more than two, and a count
//! that does not add up is the server's fault, not an overflow.
//!
//! With a `pool`, a thread may have taken a datagram off the queue and not
//! yet counted it when `SYNC N` (served by another thread) comes back:
//! [`wait_until_counted`] waits, bounded, until the server's count catches
//! up, before the server is stopped (a stopping server drops, uncounted, a
//! datagram its thread has not started on).

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::Instant;

use crate::lab::server::ServerHandle;
use crate::net::DEFAULT_TIMEOUT;
use crate::recv;

/// Sends every payload of `storm` to `server`, each followed by `sync N`
/// whose reply (`SYNC N`, whatever the style adds) is awaited. Returns how
/// many datagrams were sent: two per payload.
pub fn send_synced(sock: &UdpSocket, server: SocketAddr, storm: &[Vec<u8>]) -> io::Result<u64> {
    for (n, payload) in storm.iter().enumerate() {
        sock.send_to(payload, server)?;
        sock.send_to(format!("sync {n}").as_bytes(), server)?;
        let marker = format!("SYNC {n}");
        // A model with several threads may answer out of order, so replies
        // to earlier payloads can still be on their way: read at most every
        // reply due so far.
        let mut synced = false;
        for _ in 0..2 * (n + 1) {
            let got = recv::recv_datagram(sock, "the reply to a sync request")?;
            if got.text().contains(&marker) {
                synced = true;
                break;
            }
        }
        if !synced {
            return Err(io::Error::other(format!(
                "no reply to {marker:?} among three datagrams"
            )));
        }
    }
    Ok(2 * storm.len() as u64)
}

/// Waits until `server` has counted `sent` requests, or
/// [`DEFAULT_TIMEOUT`] has passed (then the caller's assertion says so);
/// returns the count seen. It polls the counters, yielding the CPU between
/// reads: it waits for a fact, never for a time.
pub fn wait_until_counted(server: &ServerHandle, sent: u64) -> u64 {
    let deadline = Instant::now() + DEFAULT_TIMEOUT;
    loop {
        let received = server.stats().received;
        if received >= sent || Instant::now() >= deadline {
            return received;
        }
        std::thread::yield_now();
    }
}
