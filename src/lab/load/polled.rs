//! Lock-step clients, many per thread: a driver thread sends each of its
//! clients' first request, then waits in `poll` until replies have come,
//! answers each with that client's next request, and so on. Every client is
//! still one socket with one request in flight, timing itself; the driver
//! only sleeps when *none* of its clients has a reply waiting.
//!
//! # Platform-specific behavior
//! Unix only (`poll` through `nix`); elsewhere [`run`](super::run) drives
//! every client on its own thread.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::ops::Range;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::clients::StartLine;
use super::{connected_socket, limits, reply_matches, write_request, ClientRun, Load};
use crate::recv::MAX_DATAGRAM;

/// One client's progress.
struct Client {
    index: usize,
    round: u64,
    request: Vec<u8>,
    sent_at: Instant,
    done: bool,
    seen: ClientRun,
}

/// Drives clients number `share` of `load` against `target`, all waiting
/// for `start` first, and returns what each saw.
pub(super) fn drive(
    share: Range<usize>,
    target: SocketAddr,
    load: &Load,
    start: &StartLine,
) -> io::Result<Vec<ClientRun>> {
    let socks: io::Result<Vec<UdpSocket>> = share
        .clone()
        .map(|_| connected_socket(target, load.timeout))
        .collect();
    start.wait()?; // wait even if binding failed, or the others would wait forever
    let socks = socks?;
    for sock in &socks {
        sock.set_nonblocking(true)?;
    }
    let mut clients: Vec<Client> = share
        .map(|index| Client {
            index,
            round: 0,
            request: Vec::with_capacity(load.payload),
            sent_at: Instant::now(),
            done: false,
            seen: ClientRun::new(load),
        })
        .collect();
    for (client, sock) in clients.iter_mut().zip(&socks) {
        client.seen.began = Instant::now();
        client.send(sock, load);
    }
    serve_replies(&mut clients, &socks, target, load)?;
    Ok(clients.into_iter().map(|c| c.seen).collect())
}

/// Polls until every client is done, handling replies and timeouts.
fn serve_replies(
    clients: &mut [Client],
    socks: &[UdpSocket],
    target: SocketAddr,
    load: &Load,
) -> io::Result<()> {
    let mut fds: Vec<PollFd<'_>> = socks
        .iter()
        .map(|s| PollFd::new(s.as_fd(), PollFlags::POLLIN))
        .collect();
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while let Some(first_deadline) = clients
        .iter()
        .filter(|c| !c.done)
        .map(|c| c.sent_at + load.timeout)
        .min()
    {
        match poll(&mut fds, wait_until(first_deadline)) {
            Ok(_) | Err(Errno::EINTR) => {}
            Err(e) => return Err(io::Error::from(e)),
        }
        for ((client, sock), fd) in clients.iter_mut().zip(socks).zip(fds.iter_mut()) {
            if client.done {
                continue;
            }
            if fd.any().unwrap_or(false) {
                client.drain(sock, &mut buf, target, load);
            }
            if !client.done && client.sent_at.elapsed() >= load.timeout {
                client.seen.timeouts += 1;
                client.next(sock, load);
            }
            if client.done {
                fd.set_events(PollFlags::empty());
            }
        }
    }
    Ok(())
}

/// A poll timeout that ends at `deadline` (rounded up to whole
/// milliseconds, so a wait never turns into a busy loop).
fn wait_until(deadline: Instant) -> PollTimeout {
    let left = deadline.saturating_duration_since(Instant::now()) + Duration::from_micros(999);
    PollTimeout::from(u16::try_from(left.as_millis()).unwrap_or(u16::MAX))
}

impl Client {
    /// Sends the current round's request (a failed send is a lost request:
    /// its timeout will count it).
    fn send(&mut self, sock: &UdpSocket, load: &Load) {
        write_request(&mut self.request, self.index, self.round, load.payload);
        self.sent_at = Instant::now();
        let _ = sock.send(&self.request);
    }

    /// Moves to the next round, or ends the client.
    fn next(&mut self, sock: &UdpSocket, load: &Load) {
        let (rounds, deadline) = limits(load);
        self.round += 1;
        let now = Instant::now();
        let over = deadline.is_some_and(|d| now.duration_since(self.seen.began) >= d);
        if self.round >= rounds || over {
            self.done = true;
            self.seen.ended = now;
        } else {
            self.send(sock, load);
        }
    }

    /// Reads every datagram waiting on the socket: the awaited reply
    /// (recorded, then the next request goes out) or anything else (wrong).
    fn drain(&mut self, sock: &UdpSocket, buf: &mut [u8], target: SocketAddr, load: &Load) {
        while !self.done {
            match sock.recv_from(buf) {
                Ok((n, from)) if from == target && reply_matches(&self.request, &buf[..n]) => {
                    self.seen.latencies.push(self.sent_at.elapsed());
                    self.next(sock, load);
                }
                Ok(_) => self.seen.wrong += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                // An ICMP error on the socket (no server there): lost.
                Err(_) => {
                    self.seen.timeouts += 1;
                    self.next(sock, load);
                }
            }
        }
    }
}
