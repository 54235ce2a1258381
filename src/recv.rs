//! Receiving with a timeout, where a timeout is a clear error.
//!
//! A UDP receive that nobody answers blocks forever; the article's client
//! does exactly that when a reply is lost. Every receive here is bounded by
//! the socket's read timeout, and a timeout comes back as an
//! [`io::ErrorKind::TimedOut`] error that names what was awaited and where.
//!
//! # Platform-specific behavior
//! A read that times out fails with `WouldBlock` (`EAGAIN`) on Unix and with
//! `TimedOut` (`WSAETIMEDOUT`) on Windows. [`is_timeout`] accepts both.
//!
//! On Linux a receive with a read timeout that is interrupted is never
//! restarted: it fails with `Interrupted` (`EINTR`) when a signal handler
//! runs, and even without one when the process is stopped and continued
//! (`SIGSTOP`/`SIGCONT`, a debugger, a loaded machine's job control):
//! signal(7), "Interruption of system calls". Neither is news from the
//! network, so every receive here waits again instead of reporting it, as
//! often as it is interrupted (a freeze of the machine's processes can
//! interrupt it many times in a row), for what is left of its timeout: an
//! interruption neither ends a wait early nor makes it longer.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// A receive-buffer size large enough for any UDP payload: 65535 bytes,
/// the most the 16-bit length fields of IP and UDP can count. The largest
/// payload really sent is a little smaller (65507 B over IPv4, 65527 B over
/// IPv6: [`Family::max_payload`](crate::net::Family::max_payload)), so a
/// receive into a buffer this size never truncates.
pub const MAX_DATAGRAM: usize = 65_535;

/// One received datagram: its payload and who sent it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// The bytes exactly as they arrived (only the length the OS reported).
    pub payload: Vec<u8>,
    /// The source address the OS reported for this datagram.
    pub from: SocketAddr,
}

impl Datagram {
    /// The payload as text, with invalid UTF-8 shown as U+FFFD.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }
}

/// Whether `err` is a timed-out read: `WouldBlock` on Unix, `TimedOut` on Windows.
pub fn is_timeout(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// `recv_from`, waited again when a signal or a stop interrupts it (`EINTR`),
/// within what is left of the socket's read timeout. The timeout is read
/// only after an interruption, so an uninterrupted receive costs nothing more.
fn recv_from_uninterrupted(sock: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
    let started = Instant::now();
    match sock.recv_from(buf) {
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {
            let timeout = sock.read_timeout()?;
            let got = recv_again_until(sock, buf, timeout.map(|t| started + t));
            sock.set_read_timeout(timeout)?;
            got
        }
        got => got,
    }
}

/// Receives again, as often as an interruption ends the receive, until
/// `deadline` (`None`: no deadline, as a socket without a read timeout).
/// Past the deadline it fails as a timed-out read does (`WouldBlock`).
fn recv_again_until(
    sock: &UdpSocket,
    buf: &mut [u8],
    deadline: Option<Instant>,
) -> io::Result<(usize, SocketAddr)> {
    loop {
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            sock.set_read_timeout(Some(left))?;
        }
        match sock.recv_from(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            got => return got,
        }
    }
}

fn timeout_error(sock: &UdpSocket, what: &str) -> io::Error {
    let local = sock
        .local_addr()
        .map_or_else(|_| "an unbound socket".to_string(), |a| a.to_string());
    let waited = sock
        .read_timeout()
        .ok()
        .flatten()
        .map_or_else(|| "its read timeout".to_string(), |d| format!("{d:?}"));
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!(
            "timed out: no datagram arrived on {local} within {waited} while waiting for {what}"
        ),
    )
}

/// Receives one datagram into `buf`, like `recv_from`, but a timeout becomes
/// a `TimedOut` error that says what was awaited (`what`).
pub fn recv_into(sock: &UdpSocket, buf: &mut [u8], what: &str) -> io::Result<(usize, SocketAddr)> {
    recv_from_uninterrupted(sock, buf).map_err(|e| {
        if is_timeout(&e) {
            timeout_error(sock, what)
        } else {
            crate::net::context(e, format!("receiving {what}"))
        }
    })
}

/// Receives one whole datagram (a buffer of [`MAX_DATAGRAM`] bytes, so nothing
/// is truncated). A timeout is an error naming `what`.
pub fn recv_datagram(sock: &UdpSocket, what: &str) -> io::Result<Datagram> {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let (n, from) = recv_into(sock, &mut buf, what)?;
    buf.truncate(n);
    Ok(Datagram { payload: buf, from })
}

/// Sends `payload` to `to` as one datagram and waits for one reply.
pub fn request(
    sock: &UdpSocket,
    to: SocketAddr,
    payload: &[u8],
    what: &str,
) -> io::Result<Datagram> {
    sock.send_to(payload, to)
        .map_err(|e| crate::net::context(e, format!("sending {} bytes to {to}", payload.len())))?;
    recv_datagram(sock, what)
}

/// Waits up to `wait` for a datagram that should *not* come.
///
/// Returns `Ok(None)` when the wait ends in silence, `Ok(Some(datagram))`
/// when something arrived, and any other error as an error (such as
/// `ConnectionRefused` on a connected socket whose peer's port is closed):
/// news is not silence. The socket's read timeout is restored afterwards.
pub fn recv_within(sock: &UdpSocket, wait: Duration) -> io::Result<Option<Datagram>> {
    let setting = |e| crate::net::context(e, "setting the read timeout of a silent wait");
    let before = sock.read_timeout().map_err(setting)?;
    sock.set_read_timeout(Some(wait)).map_err(setting)?;
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let got = recv_from_uninterrupted(sock, &mut buf);
    sock.set_read_timeout(before).map_err(setting)?;
    match got {
        Ok((n, from)) => {
            buf.truncate(n);
            Ok(Some(Datagram { payload: buf, from }))
        }
        Err(e) if is_timeout(&e) => Ok(None),
        Err(e) => Err(crate::net::context(
            e,
            format!("waiting {wait:?} for a datagram that should not come"),
        )),
    }
}

/// Sends `request` to `server` and returns the datagram that answers it,
/// skipping *strays*: datagrams that neither come from `server` nor mention
/// `marker` (for example the client's name).
///
/// A UDP socket receives from anyone who knows its port. When tests run in
/// parallel, a port a test just closed is soon handed to another test's
/// socket, and a late datagram meant for the old one lands there. A real
/// client checks what it receives; this helper drops only what is clearly
/// not about this exchange, so a test can still check both the source and
/// the content of what it keeps. At most 16 strays are skipped.
pub fn request_skipping_strays(
    sock: &UdpSocket,
    server: SocketAddr,
    request: &[u8],
    marker: &str,
    what: &str,
) -> io::Result<Datagram> {
    sock.send_to(request, server).map_err(|e| {
        crate::net::context(e, format!("sending {} bytes to {server}", request.len()))
    })?;
    let marker = marker.to_ascii_uppercase();
    for _ in 0..16 {
        let got = recv_datagram(sock, what)?;
        if got.from == server || got.text().to_ascii_uppercase().contains(&marker) {
            return Ok(got);
        }
    }
    recv_datagram(sock, what)
}
