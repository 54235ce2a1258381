//! The three ways of sending and the three ways of receiving that
//! `udp-lab bench --bulk` races: one datagram per call (`send_to`,
//! `recv_from`), a batch of datagrams per call (`sendmmsg`, `recvmmsg`), and
//! one super-datagram per call (GSO, GRO).

use std::io;
use std::net::{SocketAddr, UdpSocket};

use super::{BulkRecv, BulkSend, Received};
use crate::lab::fast;

/// A way of sending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sender {
    /// One `send_to` per datagram.
    SendTo,
    /// One `sendmmsg` per burst (Linux).
    Sendmmsg,
    /// One GSO `sendmsg` per burst (Linux).
    Gso,
}

/// A way of receiving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Receiver {
    /// One `recv_from` per datagram.
    RecvFrom,
    /// One `recvmmsg` per batch of up to 64 datagrams (Linux).
    Recvmmsg,
    /// `UDP_GRO` on: one `recvmmsg` takes up to [`GRO_BATCH`] coalesced
    /// messages of up to 64 KiB each, cut by their `UDP_GRO` control message
    /// (Linux; quinn-udp receives the same way).
    Gro,
}

impl Sender {
    /// Every way, slowest first.
    pub const ALL: [Sender; 3] = [Sender::SendTo, Sender::Sendmmsg, Sender::Gso];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Sender::SendTo => "send_to",
            Sender::Sendmmsg => "sendmmsg",
            Sender::Gso => "gso",
        }
    }

    /// A sender of this kind.
    pub fn make(self) -> Box<dyn BulkSend> {
        match self {
            Sender::SendTo => Box::new(SendTo),
            Sender::Sendmmsg => Box::new(imp::Sendmmsg),
            Sender::Gso => Box::new(Gso),
        }
    }
}

impl Receiver {
    /// Every way, slowest first.
    pub const ALL: [Receiver; 3] = [Receiver::RecvFrom, Receiver::Recvmmsg, Receiver::Gro];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Receiver::RecvFrom => "recv_from",
            Receiver::Recvmmsg => "recvmmsg",
            Receiver::Gro => "gro",
        }
    }

    /// A receiver of this kind for datagrams of up to `segment` bytes.
    pub fn make(self, segment: usize) -> Box<dyn BulkRecv> {
        match self {
            Receiver::RecvFrom => Box::new(RecvFrom(vec![0; segment.max(1)])),
            Receiver::Recvmmsg => Box::new(imp::Recvmmsg::new(segment.max(1))),
            Receiver::Gro => Box::new(imp::GroBatch::new()),
        }
    }
}

struct SendTo;

impl BulkSend for SendTo {
    fn send(
        &mut self,
        sock: &UdpSocket,
        to: SocketAddr,
        burst: &[u8],
        segment: usize,
    ) -> io::Result<u64> {
        let mut calls = 0;
        for datagram in burst.chunks(segment) {
            sock.send_to(datagram, to)?;
            calls += 1;
        }
        Ok(calls)
    }
}

struct Gso;

impl BulkSend for Gso {
    fn send(
        &mut self,
        sock: &UdpSocket,
        to: SocketAddr,
        burst: &[u8],
        segment: usize,
    ) -> io::Result<u64> {
        fast::send_gso(sock, to, burst, segment).map(|_| 1)
    }
}

struct RecvFrom(Vec<u8>);

impl BulkRecv for RecvFrom {
    fn recv(&mut self, sock: &UdpSocket) -> io::Result<Received> {
        let (bytes, _) = sock.recv_from(&mut self.0)?;
        Ok(Received {
            bytes,
            datagrams: 1,
        })
    }
}

/// Coalesced messages one GRO receive call may take: 32, quinn-udp's
/// `BATCH_SIZE` on Linux (2 MiB of buffers).
pub const GRO_BATCH: usize = 32;

#[cfg(target_os = "linux")]
mod imp {
    use std::io::{self, IoSlice, IoSliceMut};
    use std::net::{SocketAddr, UdpSocket};
    use std::os::fd::AsRawFd;

    use nix::sys::socket::{
        recvmmsg, sendmmsg, ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage,
    };

    use super::super::BURST;
    pub(super) use super::gro_batch::GroBatch;
    use super::{BulkRecv, BulkSend, Received};

    /// `sendmmsg`. Its headers (raw pointers, not `Send`) are allocated
    /// per call: one allocation beside one system call for 50 datagrams.
    #[derive(Default)]
    pub(super) struct Sendmmsg;

    impl BulkSend for Sendmmsg {
        fn send(
            &mut self,
            sock: &UdpSocket,
            to: SocketAddr,
            burst: &[u8],
            segment: usize,
        ) -> io::Result<u64> {
            let slices: Vec<[IoSlice<'_>; 1]> =
                burst.chunks(segment).map(|d| [IoSlice::new(d)]).collect();
            let addrs = vec![Some(SockaddrStorage::from(to)); slices.len()];
            let no_cmsgs: [ControlMessage<'_>; 0] = [];
            let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(BURST, None);
            let (mut next, mut calls) = (0, 0);
            // sendmmsg may send only part of the batch: send the rest.
            while next < slices.len() {
                let sent = sendmmsg(
                    sock.as_raw_fd(),
                    &mut headers,
                    &slices[next..],
                    &addrs[next..],
                    no_cmsgs,
                    MsgFlags::empty(),
                )?;
                next += sent.count().max(1);
                calls += 1;
            }
            Ok(calls)
        }
    }

    /// `recvmmsg` into 64 buffers allocated once (the headers per call,
    /// as for [`Sendmmsg`]).
    pub(super) struct Recvmmsg {
        buffers: Vec<Vec<u8>>,
    }

    impl Recvmmsg {
        pub(super) fn new(segment: usize) -> Recvmmsg {
            Recvmmsg {
                buffers: vec![vec![0; segment]; 64],
            }
        }
    }

    impl BulkRecv for Recvmmsg {
        fn recv(&mut self, sock: &UdpSocket) -> io::Result<Received> {
            let mut slices: Vec<[IoSliceMut<'_>; 1]> = self
                .buffers
                .iter_mut()
                .map(|b| [IoSliceMut::new(b)])
                .collect();
            // Block for the first datagram, then take what is queued.
            let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(64, None);
            let got = recvmmsg(
                sock.as_raw_fd(),
                &mut headers,
                slices.iter_mut(),
                MsgFlags::MSG_WAITFORONE,
                None,
            )?;
            let mut total = Received::default();
            for msg in got {
                total.bytes += msg.bytes;
                total.datagrams += 1;
            }
            Ok(total)
        }
    }
}

#[cfg(target_os = "linux")]
mod gro_batch {
    use std::io::{self, IoSliceMut};
    use std::net::UdpSocket;
    use std::os::fd::AsRawFd;

    use nix::sys::socket::{
        recvmmsg, ControlMessageOwned, MsgFlags, MultiHeaders, SockaddrStorage,
    };

    use super::{BulkRecv, Received, GRO_BATCH};
    use crate::lab::fast::{self, GRO_BUFFER};

    /// `recvmmsg` of up to [`GRO_BATCH`] coalesced messages, each with
    /// room for its `UDP_GRO` control message.
    pub(in super::super) struct GroBatch {
        buffers: Vec<Vec<u8>>,
    }

    impl GroBatch {
        pub(in super::super) fn new() -> GroBatch {
            GroBatch {
                buffers: vec![vec![0; GRO_BUFFER]; GRO_BATCH],
            }
        }
    }

    impl BulkRecv for GroBatch {
        fn prepare(&mut self, sock: &UdpSocket) -> io::Result<()> {
            fast::enable_gro(sock, true)
        }

        fn recv(&mut self, sock: &UdpSocket) -> io::Result<Received> {
            let mut slices: Vec<[IoSliceMut<'_>; 1]> = self
                .buffers
                .iter_mut()
                .map(|b| [IoSliceMut::new(b)])
                .collect();
            let space = nix::cmsg_space!(i32);
            let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(GRO_BATCH, Some(space));
            let got = recvmmsg(
                sock.as_raw_fd(),
                &mut headers,
                slices.iter_mut(),
                MsgFlags::MSG_WAITFORONE,
                None,
            )?;
            let mut total = Received::default();
            for msg in got {
                let mut segment = None;
                for cmsg in msg.cmsgs()? {
                    if let ControlMessageOwned::UdpGroSegments(size) = cmsg {
                        segment = usize::try_from(size).ok().filter(|&s| s > 0);
                    }
                }
                total.bytes += msg.bytes;
                total.datagrams += segment.map_or(1, |s| msg.bytes.div_ceil(s).max(1));
            }
            Ok(total)
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod imp {
    use std::io;
    use std::net::{SocketAddr, UdpSocket};

    use super::{BulkRecv, BulkSend, Received};

    #[derive(Default)]
    pub(super) struct Sendmmsg;

    pub(super) struct GroBatch;

    impl GroBatch {
        pub(super) fn new() -> GroBatch {
            GroBatch
        }
    }

    impl BulkRecv for GroBatch {
        fn recv(&mut self, _: &UdpSocket) -> io::Result<Received> {
            Err(crate::lab::fast::unsupported())
        }
    }

    impl BulkSend for Sendmmsg {
        fn send(&mut self, _: &UdpSocket, _: SocketAddr, _: &[u8], _: usize) -> io::Result<u64> {
            Err(crate::lab::fast::unsupported())
        }
    }

    pub(super) struct Recvmmsg;

    impl Recvmmsg {
        pub(super) fn new(_: usize) -> Recvmmsg {
            Recvmmsg
        }
    }

    impl BulkRecv for Recvmmsg {
        fn recv(&mut self, _: &UdpSocket) -> io::Result<Received> {
            Err(crate::lab::fast::unsupported())
        }
    }
}
