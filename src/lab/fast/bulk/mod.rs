//! A bulk load moved over loopback with one way of sending and one way of
//! receiving, measured: bytes and datagrams delivered, system calls on each
//! side, wall time and CPU time. `udp-lab bench --bulk` races every pair
//! (and quinn-udp's, with the feature `contenders`); chapter 19 reads its
//! figures as ratios, never asserts them.
//!
//! The load is sent in *bursts*: [`BURST`] datagrams of one size, which is
//! one `sendmsg` for GSO, one `sendmmsg`, or that many `send_to`s. The
//! receiver takes what arrives until the sender is done and the socket has
//! been quiet for [`QUIET`]; a datagram dropped by a full receive buffer
//! simply never counts (delivered bytes, not sent bytes, are the figure).
//! Those drops happen when the receiving thread is off the CPU while the
//! sender keeps going (a loaded machine), so the receiver asks for a large
//! buffer ([`RCVBUF`]) and each run records what the kernel granted.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::net::{self, Family};
use crate::{recv, tune};

/// Datagrams per burst: 50 x 1,200 B = 60,000 B, under IPv4's 65,507-byte
/// ceiling on one GSO send and under 64 segments (the oldest kernels' limit).
pub const BURST: usize = 50;

/// How long the receiver waits for more once the sender is done.
pub const QUIET: Duration = Duration::from_millis(100);

/// The receive buffer asked for, so that a receiver that is descheduled
/// for a while drops little: 8 MiB. Linux caps the request at
/// `net.core.rmem_max` (4 MiB by default since 6.18; only root's
/// `SO_RCVBUFFORCE` passes it, which the bench does not use) and reports
/// twice what it grants (the other half is for its bookkeeping).
pub const RCVBUF: usize = 8 << 20;

/// What one receive call got.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Received {
    /// Payload bytes.
    pub bytes: usize,
    /// Datagrams they were sent as.
    pub datagrams: usize,
}

/// A way of sending.
pub trait BulkSend: Send {
    /// Sets `sock` up before the run (socket options).
    fn prepare(&mut self, _sock: &UdpSocket) -> io::Result<()> {
        Ok(())
    }

    /// Sends one burst of back-to-back datagrams of `segment` bytes to
    /// `to`; returns the system calls made.
    fn send(
        &mut self,
        sock: &UdpSocket,
        to: SocketAddr,
        burst: &[u8],
        segment: usize,
    ) -> io::Result<u64>;
}

/// A way of receiving.
pub trait BulkRecv: Send {
    /// Sets `sock` up before anything is sent (e.g. `UDP_GRO` on).
    fn prepare(&mut self, _sock: &UdpSocket) -> io::Result<()> {
        Ok(())
    }

    /// One receive system call into its own buffers; waits at most the
    /// socket's read timeout.
    fn recv(&mut self, sock: &UdpSocket) -> io::Result<Received>;
}

/// The load: how many bytes, in datagrams of which size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BulkLoad {
    /// Bytes to send in all (rounded up to whole bursts).
    pub bytes: usize,
    /// Bytes per datagram.
    pub segment: usize,
}

/// What one run measured.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BulkRun {
    /// Payload bytes delivered.
    pub bytes: u64,
    /// Datagrams delivered.
    pub datagrams: u64,
    /// Datagrams sent.
    pub sent: u64,
    /// System calls the sender made.
    pub send_calls: u64,
    /// System calls the receiver made that returned data.
    pub recv_calls: u64,
    /// From the first send to the last receive.
    pub elapsed: Duration,
    /// CPU time of this process (user + system) during the run, when known.
    pub cpu: Option<Duration>,
    /// The receiver's `SO_RCVBUF` after asking for [`RCVBUF`], as the kernel
    /// reports it (on Linux: twice what it granted).
    pub recv_buffer: usize,
}

impl BulkRun {
    /// Delivered payload bytes per second.
    pub fn bytes_per_s(&self) -> f64 {
        self.bytes as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Delivered datagrams per second.
    pub fn datagrams_per_s(&self) -> f64 {
        self.datagrams as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Receive calls per second.
    pub fn recv_calls_per_s(&self) -> f64 {
        self.recv_calls as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// CPU nanoseconds (both ends) per delivered byte.
    pub fn cpu_ns_per_byte(&self) -> Option<f64> {
        let cpu = self.cpu?;
        (self.bytes > 0).then(|| cpu.as_nanos() as f64 / self.bytes as f64)
    }
}

/// Moves `load` from a fresh sender socket to a fresh receiver socket on
/// IPv4 loopback with `send` and `recv`, and measures it.
pub fn run(
    send: &mut dyn BulkSend,
    recv: &mut dyn BulkRecv,
    load: BulkLoad,
) -> io::Result<BulkRun> {
    let receiver = net::bind_loopback(Family::V4)?;
    let recv_buffer = tune::set_recv_buffer_size(&receiver, RCVBUF)?;
    receiver.set_read_timeout(Some(QUIET))?;
    recv.prepare(&receiver)?;
    let sender = net::bind_loopback(Family::V4)?;
    send.prepare(&sender)?;
    let to = receiver.local_addr()?;
    let burst = vec![0x5a_u8; BURST * load.segment];
    let bursts = load.bytes.div_ceil(burst.len()).max(1);
    let done = AtomicBool::new(false);
    let cpu_before = cpu_time();
    let start = Instant::now();
    let (received, sent) = thread::scope(|scope| {
        let receiving = scope.spawn(|| drain(&receiver, recv, &done));
        let mut calls = 0;
        let sending = (0..bursts).try_for_each(|_| {
            calls += send.send(&sender, to, &burst, load.segment)?;
            Ok::<(), io::Error>(())
        });
        done.store(true, Ordering::Relaxed);
        let received = receiving
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the receiving thread panicked")));
        (received, sending.map(|()| calls))
    });
    let (tally, last) = received?;
    Ok(BulkRun {
        sent: (bursts * BURST) as u64,
        send_calls: sent?,
        elapsed: last.map_or(Duration::ZERO, |t| t.duration_since(start)),
        cpu: cpu_before.zip(cpu_time()).map(|(b, a)| a.saturating_sub(b)),
        recv_buffer,
        ..tally
    })
}

/// Receives until `done` and a quiet [`QUIET`]: the tally and when the
/// last data came.
fn drain(
    sock: &UdpSocket,
    recv: &mut dyn BulkRecv,
    done: &AtomicBool,
) -> io::Result<(BulkRun, Option<Instant>)> {
    let (mut tally, mut last) = (BulkRun::default(), None);
    loop {
        match recv.recv(sock) {
            Ok(got) => {
                tally.bytes += got.bytes as u64;
                tally.datagrams += got.datagrams as u64;
                tally.recv_calls += 1;
                last = Some(Instant::now());
            }
            Err(e) if recv::is_timeout(&e) && done.load(Ordering::Relaxed) => {
                return Ok((tally, last))
            }
            Err(e) if recv::is_timeout(&e) => {}
            Err(e) => return Err(e),
        }
    }
}

/// This process's CPU time so far (user + system, every thread).
#[cfg(unix)]
pub fn cpu_time() -> Option<Duration> {
    use nix::sys::resource::{getrusage, UsageWho};
    let usage = getrusage(UsageWho::RUSAGE_SELF).ok()?;
    let micros = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec().max(0) as u64)
            + Duration::from_micros(t.tv_usec().max(0) as u64)
    };
    Some(micros(usage.user_time()) + micros(usage.system_time()))
}

/// No `getrusage` outside Unix.
#[cfg(not(unix))]
pub fn cpu_time() -> Option<Duration> {
    None
}

mod ways;
pub use ways::{Receiver, Sender, GRO_BATCH};
