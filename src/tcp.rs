//! A connected TCP pair on loopback, for the chapters that contrast UDP's
//! datagrams with TCP's byte stream ("sticky packets").

use std::io;
use std::mem::MaybeUninit;
use std::net::{TcpListener, TcpStream};

use socket2::SockRef;

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

/// `MSG_WAITALL`: "do not return until the buffer is full" (winsock2.h: 0x8).
#[cfg(unix)]
const MSG_WAITALL: std::ffi::c_int = libc::MSG_WAITALL;
#[cfg(windows)]
const MSG_WAITALL: std::ffi::c_int = 0x8;

/// Reads from `stream` in **one** `recv` call with `MSG_WAITALL`, which
/// returns only when `buf` is full, the peer has closed its sending side (its
/// FIN arrived), or the read timeout passed (then with the bytes so far).
///
/// A plain read returns whatever bytes have arrived by then, so how many of
/// the peer's writes one read returns depends on timing. Once the peer has
/// finished writing and closed, this call returns all of them at once, with
/// nothing to show where one write ended and the next began: the stream has
/// no boundaries. (On a UDP socket one receive never returns more than one
/// datagram, with or without this flag.)
///
/// ```
/// use std::io::Write;
/// use udp_lab::{net::Family, tcp};
/// let mut pair = tcp::tcp_pair(Family::V4, true)?;
/// pair.client.write_all(b"ab")?;
/// pair.client.write_all(b"cd")?;
/// pair.client.shutdown(std::net::Shutdown::Write)?;
/// let mut buf = [0u8; 1024];
/// let n = tcp::recv_waiting_for_all(&pair.server, &mut buf)?;
/// assert_eq!(&buf[..n], b"abcd");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn recv_waiting_for_all(stream: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: viewing initialised bytes as possibly-uninitialised ones is
    // sound; recv only writes bytes into the buffer, never uninitialised ones.
    let uninit = unsafe { &mut *(buf as *mut [u8] as *mut [MaybeUninit<u8>]) };
    SockRef::from(stream)
        .recv_with_flags(uninit, MSG_WAITALL)
        .map_err(|e| context(e, "reading a TCP stream with MSG_WAITALL"))
}
