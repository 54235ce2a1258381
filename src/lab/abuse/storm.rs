//! A storm of arbitrary datagrams (chapter 15's fuzzing law), sent so that
//! none is lost before the server reads it: after each one, a `sync N`
//! request from the same socket, and a wait for its reply. The payload was
//! queued first on the same socket (and, for `reuseport`, the same 4-tuple
//! picks the same socket), so when `SYNC N` comes back the payload was taken
//! off the queue: the receive buffer never holds more than two, and a count
//! that does not add up is the server's fault, not an overflow.

use std::io;
use std::net::{SocketAddr, UdpSocket};

use crate::recv;

/// Sends every payload of `storm` to `server`, each followed by `sync N`
/// whose reply (`SYNC N`, whatever the style adds) is awaited. Returns how
/// many datagrams were sent: two per payload.
pub fn send_synced(sock: &UdpSocket, server: SocketAddr, storm: &[Vec<u8>]) -> io::Result<u64> {
    for (n, payload) in storm.iter().enumerate() {
        sock.send_to(payload, server)?;
        sock.send_to(format!("sync {n}").as_bytes(), server)?;
        let marker = format!("SYNC {n}");
        // At most: a late reply to the previous payload, this payload's, this sync's.
        let mut synced = false;
        for _ in 0..3 {
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
