//! Socket options through `socket2`: what `std::net::UdpSocket` cannot set.
//!
//! std binds and sends; buffer sizes and `SO_REUSEPORT` need the option to
//! be set on the socket *before* `bind` (for reuse) or at any time (buffers).
//! [`bind_tuned`] builds the socket with `socket2`, applies a [`Tuning`],
//! binds it and hands back an ordinary `std::net::UdpSocket`.
//!
//! # Platform-specific behavior
//! - Linux clamps the buffer size you ask for to
//!   `/proc/sys/net/core/rmem_max` (`wmem_max` for sending), then doubles
//!   it (the extra half pays for the kernel's bookkeeping), and never gives
//!   less than a minimum. Read the size back with [`recv_buffer_size`];
//!   never assume it is what you set.
//! - macOS and Windows report the value set (within their own limits).
//! - `SO_REUSEPORT` exists on Linux, the BSDs and macOS with different
//!   semantics; Windows has no such option (`set_reuse_port` is not compiled there).

use std::io;
use std::net::{SocketAddr, UdpSocket};

use socket2::{Domain, Protocol, SockRef, Socket, Type};

use crate::net::{context, DEFAULT_TIMEOUT};

/// Options applied by [`bind_tuned`]. `None` / `false` leaves the OS default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tuning {
    /// `SO_RCVBUF` to request, in bytes.
    pub recv_buffer: Option<usize>,
    /// `SO_SNDBUF` to request, in bytes.
    pub send_buffer: Option<usize>,
    /// Set `SO_REUSEPORT` before binding (Unix only; ignored elsewhere).
    pub reuse_port: bool,
}

/// Creates a UDP socket with `socket2`, applies `tuning`, binds it to `addr`
/// and returns it as a std socket with a read timeout of [`DEFAULT_TIMEOUT`].
///
/// ```
/// use udp_lab::tune::{bind_tuned, recv_buffer_size, Tuning};
/// let tuning = Tuning { recv_buffer: Some(64 * 1024), ..Tuning::default() };
/// let sock = bind_tuned("127.0.0.1:0".parse().unwrap(), tuning)?;
/// assert!(recv_buffer_size(&sock)? >= 64 * 1024 || !cfg!(target_os = "linux"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn bind_tuned(addr: SocketAddr, tuning: Tuning) -> io::Result<UdpSocket> {
    let sock = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| context(e, "creating a UDP socket"))?;
    if let Some(bytes) = tuning.recv_buffer {
        sock.set_recv_buffer_size(bytes)
            .map_err(|e| context(e, format!("setting SO_RCVBUF to {bytes}")))?;
    }
    if let Some(bytes) = tuning.send_buffer {
        sock.set_send_buffer_size(bytes)
            .map_err(|e| context(e, format!("setting SO_SNDBUF to {bytes}")))?;
    }
    #[cfg(all(unix, not(any(target_os = "solaris", target_os = "illumos"))))]
    if tuning.reuse_port {
        sock.set_reuse_port(true)
            .map_err(|e| context(e, "setting SO_REUSEPORT"))?;
    }
    sock.bind(&addr.into())
        .map_err(|e| context(e, format!("binding UDP to {addr}")))?;
    let sock: UdpSocket = sock.into();
    sock.set_read_timeout(Some(DEFAULT_TIMEOUT))
        .map_err(|e| context(e, format!("setting a read timeout on {addr}")))?;
    Ok(sock)
}

/// The receive buffer size (`SO_RCVBUF`) the OS reports for `sock`.
pub fn recv_buffer_size(sock: &UdpSocket) -> io::Result<usize> {
    SockRef::from(sock)
        .recv_buffer_size()
        .map_err(|e| context(e, "reading SO_RCVBUF"))
}

/// The send buffer size (`SO_SNDBUF`) the OS reports for `sock`.
pub fn send_buffer_size(sock: &UdpSocket) -> io::Result<usize> {
    SockRef::from(sock)
        .send_buffer_size()
        .map_err(|e| context(e, "reading SO_SNDBUF"))
}

/// Requests a receive buffer of `bytes` and returns the size the OS reports
/// afterwards (on Linux: clamped to `rmem_max`, then doubled).
pub fn set_recv_buffer_size(sock: &UdpSocket, bytes: usize) -> io::Result<usize> {
    let sock = SockRef::from(sock);
    sock.set_recv_buffer_size(bytes)
        .map_err(|e| context(e, format!("setting SO_RCVBUF to {bytes}")))?;
    sock.recv_buffer_size()
}

/// Requests a send buffer of `bytes` and returns the size the OS reports afterwards.
pub fn set_send_buffer_size(sock: &UdpSocket, bytes: usize) -> io::Result<usize> {
    let sock = SockRef::from(sock);
    sock.set_send_buffer_size(bytes)
        .map_err(|e| context(e, format!("setting SO_SNDBUF to {bytes}")))?;
    sock.send_buffer_size()
}
