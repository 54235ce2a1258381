//! A connected TCP pair on loopback, for the chapters that contrast UDP's
//! datagrams with TCP's byte stream ("sticky packets").

use std::io;
use std::net::{TcpListener, TcpStream};

use crate::net::{context, Family, DEFAULT_TIMEOUT};

/// A connected TCP pair: what the client writes, the server reads.
pub struct TcpPair {
    /// The connecting side.
    pub client: TcpStream,
    /// The accepted side.
    pub server: TcpStream,
}

/// Connects a client to a listener on the loopback of `family` (port 0) and
/// accepts it. `nodelay` sets `TCP_NODELAY` on the client, which turns
/// Nagle's algorithm off. Both streams get a read timeout.
pub fn tcp_pair(family: Family, nodelay: bool) -> io::Result<TcpPair> {
    let listener = TcpListener::bind(family.any_port())
        .map_err(|e| context(e, format!("binding a TCP listener on {family} loopback")))?;
    let addr = listener.local_addr()?;
    let client =
        TcpStream::connect(addr).map_err(|e| context(e, format!("connecting TCP to {addr}")))?;
    let (server, _) = listener
        .accept()
        .map_err(|e| context(e, format!("accepting on {addr}")))?;
    client.set_nodelay(nodelay)?;
    for stream in [&client, &server] {
        stream.set_read_timeout(Some(DEFAULT_TIMEOUT))?;
    }
    Ok(TcpPair { client, server })
}
