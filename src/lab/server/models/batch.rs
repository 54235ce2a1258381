//! The `batch` model's loop on Linux: `recvmmsg` fills up to a batch of
//! buffers in one system call (`MSG_WAITFORONE`: block for the first
//! datagram, then take what is already queued), and `sendmmsg` sends all
//! the replies in one more. Two system calls per *batch* instead of two per
//! datagram: on loopback the system call, not the datagram, is the cost.
//!
//! # Platform-specific behavior
//! Compiled on Linux only; elsewhere [`models`](super) runs the `single`
//! loop for `batch` (the one place that chooses is its `worker`).

use std::io::{IoSlice, IoSliceMut};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6, UdpSocket};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};

use nix::errno::Errno;
use nix::sys::socket::{
    recvmmsg, sendmmsg, ControlMessage, MsgFlags, MultiHeaders, SockaddrStorage,
};

use crate::lab::server::echo::{report, write_reply, Responder, Served};
use crate::recv::MAX_DATAGRAM;

/// The buffers one batch needs, allocated once per server thread.
struct Batch {
    requests: Vec<Vec<u8>>,
    replies: Vec<Vec<u8>>,
    lengths: Vec<usize>,
    senders: Vec<Option<SockaddrStorage>>,
    recv_headers: MultiHeaders<SockaddrStorage>,
    send_headers: MultiHeaders<SockaddrStorage>,
}

/// Serves `sock` in batches of up to `size` datagrams until `stop` is seen.
pub(super) fn serve(sock: &UdpSocket, stop: &AtomicBool, responder: Responder, size: usize) {
    let mut batch = Batch::new(size);
    while !stop.load(Ordering::Relaxed) {
        let count = batch.receive(sock, &responder);
        if count == 0 {
            continue;
        }
        if stop.load(Ordering::Relaxed) {
            break; // the wake-up datagram is in this batch: stop now
        }
        batch.answer(sock, count, &responder);
    }
}

impl Batch {
    /// Buffers for `size` requests and their replies.
    fn new(size: usize) -> Batch {
        Batch {
            requests: vec![vec![0u8; MAX_DATAGRAM]; size],
            replies: vec![Vec::new(); size],
            lengths: vec![0; size],
            senders: vec![None; size],
            recv_headers: MultiHeaders::preallocate(size, None),
            send_headers: MultiHeaders::preallocate(size, None),
        }
    }

    /// Receives up to a batch of datagrams; 0 on a timeout or an error (counted).
    fn receive(&mut self, sock: &UdpSocket, responder: &Responder) -> usize {
        let mut slices: Vec<[IoSliceMut<'_>; 1]> = self
            .requests
            .iter_mut()
            .map(|b| [IoSliceMut::new(b)])
            .collect();
        let flags = MsgFlags::MSG_WAITFORONE;
        let got = recvmmsg(
            sock.as_raw_fd(),
            &mut self.recv_headers,
            slices.iter_mut(),
            flags,
            None,
        );
        match got {
            Ok(results) => {
                let mut count = 0;
                for (i, msg) in results.enumerate() {
                    self.lengths[i] = msg.bytes;
                    self.senders[i] = msg.address;
                    count = i + 1;
                }
                count
            }
            Err(Errno::EAGAIN | Errno::EINTR) => 0,
            Err(_) => {
                responder.counters().count_recv_error();
                0
            }
        }
    }

    /// Counts and answers the first `count` requests with one `sendmmsg`
    /// (more if the kernel sends only part, or refuses one reply).
    fn answer(&mut self, sock: &UdpSocket, count: usize, responder: &Responder) {
        for i in 0..count {
            let request = &self.requests[i][..self.lengths[i]];
            responder.counters().count_request(request);
            write_reply(
                responder.style(),
                responder.name(),
                request,
                &mut self.replies[i],
            );
        }
        let mut next = 0;
        while next < count {
            let sent = self.send_from(sock, next, count);
            match sent {
                Ok(n) if n > 0 => {
                    for i in next..next + n {
                        self.report_reply(i, Ok(self.replies[i].len()), responder);
                    }
                    next += n;
                }
                // sendmmsg refused the first reply of the slice (e.g.
                // EMSGSIZE): count it as not sent and go on after it.
                refused => {
                    let why = refused.map_or_else(std::io::Error::from, |_| {
                        std::io::Error::other("sendmmsg sent nothing")
                    });
                    self.report_reply(next, Err(why), responder);
                    next += 1;
                }
            }
        }
    }

    /// One `sendmmsg` of replies `from..to`; how many were sent.
    fn send_from(&mut self, sock: &UdpSocket, from: usize, to: usize) -> nix::Result<usize> {
        let slices: Vec<[IoSlice<'_>; 1]> = self.replies[from..to]
            .iter()
            .map(|r| [IoSlice::new(r)])
            .collect();
        let no_cmsgs: [ControlMessage<'_>; 0] = [];
        let results = sendmmsg(
            sock.as_raw_fd(),
            &mut self.send_headers,
            &slices,
            &self.senders[from..to],
            no_cmsgs,
            MsgFlags::empty(),
        )?;
        Ok(results.count())
    }

    /// Counts reply `i` and shows it to the observer, if there is one.
    fn report_reply(&self, i: usize, sent: std::io::Result<usize>, responder: &Responder) {
        let from = self.senders[i]
            .and_then(to_std)
            .unwrap_or(SocketAddr::from(([0, 0, 0, 0], 0)));
        let served = Served {
            from,
            request: &self.requests[i][..self.lengths[i]],
            reply: &self.replies[i],
            sent: &sent,
        };
        report(responder.counters(), responder.observer(), &served);
    }
}

/// A nix socket address as std's.
fn to_std(addr: SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = addr.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
    }
    addr.as_sockaddr_in6()
        .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
}
