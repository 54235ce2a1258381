//! The contender a Rust user would pick for bulk UDP: quinn-udp's
//! `UdpSocketState` (the GSO/GRO layer of the Quinn QUIC library), driven on
//! `bench --bulk`'s load as Quinn drives it: one `Transmit` with a
//! `segment_size` per burst, `recv` into `BATCH_SIZE` buffers with a
//! `RecvMeta` each (`stride`: the GRO segment size). Built only with the
//! feature `contenders`.
//!
//! `UdpSocketState::new` makes the socket non-blocking (Quinn waits in its
//! async runtime); here a `WouldBlock` is followed by a `poll` for the
//! socket, the way a reactor waits, so a call is tried first and a wait
//! costs a system call only when there was nothing to do.

use std::io::{self, IoSliceMut};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;

use quinn_udp::{RecvMeta, Transmit, UdpSockRef, UdpSocketState, BATCH_SIZE};
use udp_lab::lab::fast::bulk::{BulkRecv, BulkSend, Received, QUIET};
use udp_lab::lab::fast::GRO_BUFFER;

/// The contender's name in reports.
pub const NAME: &str = "quinn-udp gso -> gro";

/// quinn-udp's sending side.
#[derive(Default)]
pub struct QuinnSend(Option<UdpSocketState>);

/// quinn-udp's receiving side.
pub struct QuinnRecv {
    state: Option<UdpSocketState>,
    buffers: Vec<Vec<u8>>,
    meta: Vec<RecvMeta>,
}

impl Default for QuinnRecv {
    fn default() -> Self {
        QuinnRecv {
            state: None,
            buffers: vec![vec![0; GRO_BUFFER]; BATCH_SIZE],
            meta: vec![RecvMeta::default(); BATCH_SIZE],
        }
    }
}

/// Waits until `sock` is ready for `flags`, at most [`QUIET`]; a timeout
/// is `WouldBlock`, which the bulk receiver takes for a quiet socket.
fn wait(sock: &UdpSocket, flags: nix::poll::PollFlags) -> io::Result<()> {
    use nix::poll::{poll, PollFd};
    let mut fds = [PollFd::new(sock.as_fd(), flags)];
    let ms = u16::try_from(QUIET.as_millis()).unwrap_or(u16::MAX);
    match poll(&mut fds, ms)? {
        0 => Err(io::ErrorKind::WouldBlock.into()),
        _ => Ok(()),
    }
}

fn state(state: &Option<UdpSocketState>) -> io::Result<&UdpSocketState> {
    state
        .as_ref()
        .ok_or_else(|| io::Error::other("quinn-udp: prepare() was not called"))
}

impl BulkSend for QuinnSend {
    fn prepare(&mut self, sock: &UdpSocket) -> io::Result<()> {
        self.0 = Some(UdpSocketState::new(UdpSockRef::from(sock))?);
        Ok(())
    }

    fn send(
        &mut self,
        sock: &UdpSocket,
        to: SocketAddr,
        burst: &[u8],
        segment: usize,
    ) -> io::Result<u64> {
        let state = state(&self.0)?;
        let transmit = Transmit {
            destination: to,
            ecn: None,
            contents: burst,
            segment_size: Some(segment),
            src_ip: None,
        };
        let mut calls = 1;
        loop {
            match state.try_send(UdpSockRef::from(sock), &transmit) {
                Ok(()) => return Ok(calls),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    wait(sock, nix::poll::PollFlags::POLLOUT)?;
                    calls += 2;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl BulkRecv for QuinnRecv {
    fn prepare(&mut self, sock: &UdpSocket) -> io::Result<()> {
        self.state = Some(UdpSocketState::new(UdpSockRef::from(sock))?);
        Ok(())
    }

    fn recv(&mut self, sock: &UdpSocket) -> io::Result<Received> {
        let state = state(&self.state)?;
        let mut slices: Vec<IoSliceMut<'_>> = self
            .buffers
            .iter_mut()
            .map(|b| IoSliceMut::new(b))
            .collect();
        let count = loop {
            match state.recv(UdpSockRef::from(sock), &mut slices, &mut self.meta) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    wait(sock, nix::poll::PollFlags::POLLIN)?
                }
                Err(e) => return Err(e),
            }
        };
        let mut got = Received::default();
        for meta in &self.meta[..count] {
            got.bytes += meta.len;
            got.datagrams += meta.len.div_ceil(meta.stride.max(1)).max(1);
        }
        Ok(got)
    }
}
