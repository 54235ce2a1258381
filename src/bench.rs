//! The load generator behind `udp-lab bench`: lock-step request/response
//! clients against any UDP echo server, each checking every reply and
//! timing itself.
//!
//! A run has `clients` clients, each with its own socket (connected to the
//! server). Each sends one request, waits for its reply, checks it (it must
//! come from the server's address and be the request upper-cased, bare or
//! in the threaded style `"<thread> [<REQUEST UPPER-CASED>]"`), records the
//! round trip, and only then sends the next: at most one request per client
//! is ever in flight, so no receive buffer overflows and the rate measured is
//! what the server sustains. Each client notes its own start and end; the
//! rate is the requests answered divided by the span from the first start to
//! the last end, so a main thread scheduled late cannot inflate it.
//!
//! The clients are driven by a few threads (by default half the CPUs, see
//! [`default_poll_threads`]), each polling its share of the client sockets
//! (`poll`), all released together by a barrier. The article's way, one
//! thread per client blocked in `recv_from` ([`Load::thread_per_client`]),
//! costs a sleep, a wake-up and a context switch per request: on a 2-CPU
//! machine that generator used more CPU than the servers it measured, and
//! every fast server looked alike.
//!
//! Besides requests/s and latency, `udp-lab bench` records the server's CPU
//! time per request when the server is a child process
//! ([`process_cpu_time`]): how cheaply a model serves, whatever share of the
//! machine it got.
//!
//! ```
//! use std::time::Duration;
//! use udp_lab::{bench::{self, Load, Length}, models::{self, Model}, net::Family, server::Reply};
//!
//! let server = models::spawn(Family::V4.any_port(), Model::Batch, Reply::Upper)?;
//! let load = Load { clients: 4, length: Length::Rounds(3), ..Load::default() };
//! let run = bench::run(server.local_addr(), &load)?;
//! assert_eq!((run.requests, run.failures()), (12, 0));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! [`spawn_bare`] starts the baseline every model is compared with: the
//! plainest single-threaded `recv_from`/`send_to` loop, with no counters,
//! no logging and no allocation.

use std::fs;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::net::{self, Family};
use crate::recv::{is_timeout, MAX_DATAGRAM};

/// How long a run lasts.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Length {
    /// Every client does this many request/reply rounds.
    Rounds(usize),
    /// Every client goes on for this long (from its own start).
    For(Duration),
}

/// The load one run puts on a server.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Load {
    /// Client threads, each with its own socket.
    pub clients: usize,
    /// Rounds per client, or a duration.
    pub length: Length,
    /// Bytes per request (at least the request's tag, see [`request_tag`]).
    pub payload: usize,
    /// How long a client waits for a reply before counting a timeout.
    pub timeout: Duration,
    /// One thread per client, blocked in `recv_from` (the article's
    /// clients), instead of a few threads that poll many client sockets.
    /// Each blocked client costs a sleep, a wake-up and a context switch per
    /// request, which on a small machine can cost more CPU than the server
    /// being measured. Always on where `poll` is missing (Windows).
    pub thread_per_client: bool,
    /// Threads that poll the client sockets (0: [`default_poll_threads`]);
    /// unused with `thread_per_client`.
    pub poll_threads: usize,
}

impl Default for Load {
    /// The article's load: 50 clients x 10 rounds, 16-byte requests, 1 s
    /// timeout.
    fn default() -> Load {
        Load {
            clients: 50,
            length: Length::Rounds(10),
            payload: 16,
            timeout: Duration::from_secs(1),
            thread_per_client: false,
            poll_threads: 0,
        }
    }
}

/// Round-trip times of the answered requests, nearest-rank percentiles.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Latency {
    /// Half the requests were answered at least this fast.
    pub p50: Duration,
    /// 90 % were.
    pub p90: Duration,
    /// 99 % were.
    pub p99: Duration,
    /// The slowest answered request.
    pub max: Duration,
}

impl Latency {
    /// The percentiles of `samples` (sorted here); all zero when empty.
    pub fn of(samples: &mut [Duration]) -> Latency {
        samples.sort_unstable();
        Latency {
            p50: percentile(samples, 50.0),
            p90: percentile(samples, 90.0),
            p99: percentile(samples, 99.0),
            max: samples.last().copied().unwrap_or_default(),
        }
    }
}

/// The nearest-rank percentile `p` of sorted `samples`.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// What one run measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Measurement {
    /// Requests answered with the right reply from the right address.
    pub requests: u64,
    /// Requests whose reply did not come within the timeout.
    pub timeouts: u64,
    /// Datagrams that were not the awaited reply (wrong content or sender,
    /// or a late reply to a request that had timed out).
    pub wrong: u64,
    /// From the first client's start to the last client's end.
    pub elapsed: Duration,
    /// Round trips of the answered requests.
    pub latency: Latency,
    /// CPU time (user + system) the server process used during the run,
    /// when it was a child process whose time could be read
    /// ([`process_cpu_time`]) and the run was timed (`--duration-s`): the
    /// clock ticks in 10 ms steps, too coarse for a run of a few ms.
    pub server_cpu: Option<Duration>,
}

impl Measurement {
    /// Server CPU time per answered request, when the server's CPU time
    /// was measured.
    pub fn server_cpu_per_request(&self) -> Option<Duration> {
        let cpu = self.server_cpu?;
        let requests = u32::try_from(self.requests).ok().filter(|&n| n > 0)?;
        Some(cpu / requests)
    }

    /// Answered requests per second.
    pub fn rate(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.requests as f64 / secs
        } else {
            0.0
        }
    }

    /// Timeouts plus wrong replies.
    pub fn failures(&self) -> u64 {
        self.timeouts + self.wrong
    }
}

/// What one client saw.
struct ClientRun {
    began: Instant,
    ended: Instant,
    timeouts: u64,
    wrong: u64,
    latencies: Vec<Duration>,
}

/// The start of every request: `c<client> r<round>`, unique in a run, so a
/// reply can be matched to its request. Requests are padded with `x` to
/// the load's payload size.
///
/// ```
/// assert_eq!(udp_lab::bench::request_tag(7, 42), "c007 r000000042");
/// ```
pub fn request_tag(client: usize, round: u64) -> String {
    format!("c{client:03} r{round:09}")
}

/// The request `client` sends in `round`: its tag, padded with `x` to
/// `payload` bytes (never shorter than the tag).
///
/// ```
/// assert_eq!(udp_lab::bench::request(7, 42, 20), b"c007 r000000042xxxxx");
/// ```
pub fn request(client: usize, round: u64, payload: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(payload);
    write_request(&mut bytes, client, round, payload);
    bytes
}

/// Writes [`request`] into `out` (cleared first), reusing its allocation.
fn write_request(out: &mut Vec<u8>, client: usize, round: u64, payload: usize) {
    use std::io::Write as _;
    out.clear();
    let _ = write!(out, "c{client:03} r{round:09}");
    if out.len() < payload {
        out.resize(payload, b'x');
    }
}

/// Whether `reply` answers `request`: the request upper-cased, alone (the
/// article's first server) or as `"<thread name> [<REQUEST UPPER-CASED>]"`
/// (its `ThreadingUDPServer`, ours or Python's).
///
/// ```
/// use udp_lab::bench::reply_matches;
/// assert!(reply_matches(b"hi 1", b"HI 1"));
/// assert!(reply_matches(b"hi 1", b"Thread-3 (process_request_thread) [HI 1]"));
/// assert!(!reply_matches(b"hi 1", b"HI 2"));
/// ```
pub fn reply_matches(request: &[u8], reply: &[u8]) -> bool {
    let is_upper_of = |got: &[u8]| {
        got.len() == request.len()
            && got
                .iter()
                .zip(request)
                .all(|(g, r)| *g == r.to_ascii_uppercase())
    };
    if is_upper_of(reply) {
        return true;
    }
    let Some(inner) = reply.strip_suffix(b"]") else {
        return false;
    };
    inner.len() >= request.len() + 2
        && inner[..inner.len() - request.len()].ends_with(b" [")
        && is_upper_of(&inner[inner.len() - request.len()..])
}

/// Sends one request to `target` until it is answered (3 tries within
/// `timeout` each): proof that a server is there before a run is timed.
pub fn probe(target: SocketAddr, timeout: Duration) -> io::Result<()> {
    let sock = client_socket(target, timeout)?;
    let request = request(999, 0, 16);
    let mut buf = vec![0u8; MAX_DATAGRAM];
    for _ in 0..3 {
        sock.send_to(&request, target)
            .map_err(|e| net::context(e, format!("sending a probe to {target}")))?;
        if let Ok((n, from)) = sock.recv_from(&mut buf) {
            if from == target && reply_matches(&request, &buf[..n]) {
                return Ok(());
            }
        }
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!(
            "no echo reply from {target} to 3 probes ({timeout:?} each): is an echo server running there?"
        ),
    ))
}

/// Runs `load` against the echo server at `target` and measures it.
pub fn run(target: SocketAddr, load: &Load) -> io::Result<Measurement> {
    if load.clients == 0 {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a load needs at least one client",
        ));
    }
    let runs = if load.thread_per_client || cfg!(not(unix)) {
        run_threads(load.clients, target, load, |index, start| {
            threaded_client(index, target, load, start).map(|run| vec![run])
        })?
    } else {
        // A few driver threads, each polling its share of the client
        // sockets: the clients are just as many and just as lock-step.
        let drivers = match load.poll_threads {
            0 => default_poll_threads(),
            n => n,
        }
        .min(load.clients);
        run_threads(drivers, target, load, |driver, start| {
            let share = (driver * load.clients / drivers)..((driver + 1) * load.clients / drivers);
            polled::drive(share, target, load, start)
        })?
    };
    Ok(measure(runs))
}

/// How many threads poll the client sockets unless told: half the CPUs
/// (at least one), so that the load generator and the server under test
/// each have half the machine.
///
/// On loopback the kernel work of a datagram is paid by whoever sends it,
/// so the generator needs as much CPU as the server. One poller per CPU
/// leaves a single-threaded server a share of a CPU while a server with
/// more threads than that takes more of the machine: it "wins" by stealing
/// CPU from the load generator, not by serving each request more cheaply
/// (chapter 13 shows both runs side by side).
pub fn default_poll_threads() -> usize {
    let cpus = thread::available_parallelism().map_or(1, |n| n.get());
    (cpus / 2).max(1)
}

/// Starts `threads` threads running `body(i, barrier)`, all released by
/// one barrier, and collects what their clients saw.
fn run_threads<F>(
    threads: usize,
    target: SocketAddr,
    load: &Load,
    body: F,
) -> io::Result<Vec<ClientRun>>
where
    F: Fn(usize, &Barrier) -> io::Result<Vec<ClientRun>> + Sync,
{
    let start = Barrier::new(threads);
    thread::scope(|scope| {
        let handles = (0..threads)
            .map(|i| {
                let (body, start) = (&body, &start);
                thread::Builder::new()
                    .name(format!("bench-client-{i}"))
                    .spawn_scoped(scope, move || body(i, start))
            })
            .collect::<io::Result<Vec<_>>>()
            .map_err(|e| net::context(e, format!("starting the bench threads against {target}")))?;
        let mut runs = Vec::with_capacity(load.clients);
        for handle in handles {
            let seen = handle
                .join()
                .map_err(|_| io::Error::other("a bench client thread panicked"))??;
            runs.extend(seen);
        }
        Ok(runs)
    })
}

/// Adds up what the clients saw.
fn measure(runs: Vec<ClientRun>) -> Measurement {
    let first = runs.iter().map(|r| r.began).min();
    let last = runs.iter().map(|r| r.ended).max();
    let elapsed = match (first, last) {
        (Some(first), Some(last)) => last.duration_since(first),
        _ => Duration::ZERO,
    };
    let timeouts = runs.iter().map(|r| r.timeouts).sum();
    let wrong = runs.iter().map(|r| r.wrong).sum();
    let mut all: Vec<Duration> = runs.into_iter().flat_map(|r| r.latencies).collect();
    Measurement {
        requests: all.len() as u64,
        timeouts,
        wrong,
        elapsed,
        latency: Latency::of(&mut all),
        server_cpu: None,
    }
}

/// A client socket of `target`'s family on loopback, with `timeout`.
fn client_socket(target: SocketAddr, timeout: Duration) -> io::Result<UdpSocket> {
    let sock = net::bind_loopback(Family::of(&target))?;
    sock.set_read_timeout(Some(timeout))?;
    Ok(sock)
}

/// A client socket connected to `target`: the kernel keeps the route (no
/// lookup per send) and drops datagrams from any other address; the source
/// of each reply is still checked.
fn connected_socket(target: SocketAddr, timeout: Duration) -> io::Result<UdpSocket> {
    let sock = client_socket(target, timeout)?;
    sock.connect(target)
        .map_err(|e| net::context(e, format!("connecting a client socket to {target}")))?;
    Ok(sock)
}

impl ClientRun {
    fn new(load: &Load) -> ClientRun {
        let now = Instant::now();
        let expected = match load.length {
            Length::Rounds(n) => n,
            Length::For(_) => 1 << 14,
        };
        ClientRun {
            began: now,
            ended: now,
            timeouts: 0,
            wrong: 0,
            latencies: Vec::with_capacity(expected),
        }
    }
}

/// How many rounds a client of `load` may do, and for how long.
fn limits(load: &Load) -> (u64, Option<Duration>) {
    match load.length {
        Length::Rounds(n) => (n as u64, None),
        Length::For(d) => (u64::MAX, Some(d)),
    }
}

/// One lock-step client on its own thread, blocked in `recv_from` for each reply.
fn threaded_client(
    index: usize,
    target: SocketAddr,
    load: &Load,
    start: &Barrier,
) -> io::Result<ClientRun> {
    let sock = connected_socket(target, load.timeout);
    start.wait(); // wait even if binding failed, or the others would wait forever
    let sock = sock?;
    let (rounds, deadline) = limits(load);
    let mut seen = ClientRun::new(load);
    let (mut buf, mut request) = (vec![0u8; MAX_DATAGRAM], Vec::with_capacity(load.payload));
    for round in 0..rounds {
        let sent_at = Instant::now();
        if deadline.is_some_and(|d| sent_at.duration_since(seen.began) >= d) {
            break;
        }
        write_request(&mut request, index, round, load.payload);
        sock.send(&request)
            .map_err(|e| net::context(e, format!("sending a request to {target}")))?;
        await_reply(&sock, target, &request, &mut buf, &mut seen, sent_at);
    }
    seen.ended = Instant::now();
    Ok(seen)
}

/// Receives until the reply to `request` comes (its round trip recorded)
/// or the socket's timeout passes (a timeout counted); anything else that
/// arrives meanwhile is counted as wrong.
fn await_reply(
    sock: &UdpSocket,
    target: SocketAddr,
    request: &[u8],
    buf: &mut [u8],
    seen: &mut ClientRun,
    sent_at: Instant,
) {
    loop {
        match sock.recv_from(buf) {
            Ok((n, from)) if from == target && reply_matches(request, &buf[..n]) => {
                seen.latencies.push(sent_at.elapsed());
                return;
            }
            Ok(_) => seen.wrong += 1,
            Err(e) if is_timeout(&e) => {
                seen.timeouts += 1;
                return;
            }
            // An ICMP error reported on the socket (no server there): the
            // request is lost as surely as by a timeout.
            Err(_) => {
                seen.timeouts += 1;
                return;
            }
        }
    }
}

/// Lock-step clients, many per thread: a driver thread sends each of its
/// clients' first request, then waits in `poll` until replies have come,
/// answers each with that client's next request, and so on. Every client is
/// still one socket with one request in flight, timing itself; the driver
/// only sleeps when *none* of its clients has a reply waiting.
#[cfg(unix)]
mod polled {
    use std::io;
    use std::net::{SocketAddr, UdpSocket};
    use std::ops::Range;
    use std::os::fd::AsFd;
    use std::sync::Barrier;
    use std::time::{Duration, Instant};

    use nix::errno::Errno;
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

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

    pub(super) fn drive(
        share: Range<usize>,
        target: SocketAddr,
        load: &Load,
        start: &Barrier,
    ) -> io::Result<Vec<ClientRun>> {
        let socks: io::Result<Vec<UdpSocket>> = share
            .clone()
            .map(|_| connected_socket(target, load.timeout))
            .collect();
        start.wait(); // wait even if binding failed, or the others would wait forever
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
}

/// The baseline server: one thread, one socket, `recv_from`, upper-case in
/// place, `send_to`. No counters, no logging, no allocation per datagram.
pub struct BareServer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// How often the bare loop checks its stop flag when no datagram wakes it.
const BARE_POLL: Duration = Duration::from_millis(200);

/// Starts the bare loop on `bind` (port 0: the OS chooses).
pub fn spawn_bare(bind: SocketAddr) -> io::Result<BareServer> {
    let sock = net::bind(bind)?;
    sock.set_read_timeout(Some(BARE_POLL))?;
    let addr = sock.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let thread = thread::Builder::new()
        .name("bare".to_string())
        .spawn(move || serve_bare(&sock, &flag))
        .map_err(|e| net::context(e, "starting the bare server thread"))?;
    Ok(BareServer {
        addr,
        stop,
        thread: Some(thread),
    })
}

/// The bare loop itself, until `stop` is set (checked after every
/// datagram and every read timeout of `sock`).
pub fn serve_bare(sock: &UdpSocket, stop: &AtomicBool) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        buf[..n].make_ascii_uppercase();
        let _ = sock.send_to(&buf[..n], from);
    }
}

impl BareServer {
    /// Where the bare loop listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops the loop (a wake-up datagram, or its read timeout) and waits for it.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::SeqCst);
        if let Ok(waker) = UdpSocket::bind(Family::of(&self.addr).any_port()) {
            let _ = waker.send_to(&[], net::reachable(self.addr));
        }
        let _ = thread.join();
    }
}

impl Drop for BareServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// The median of `values` (sorted here; the mean of the middle two when
/// even); 0 when empty.
///
/// ```
/// assert_eq!(udp_lab::bench::median(&mut [3.0, 1.0, 2.0]), 2.0);
/// assert_eq!(udp_lab::bench::median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
/// ```
pub fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// One contender's runs, summarised by medians and the spread of the rate.
#[derive(Clone, Debug)]
pub struct Summary {
    /// The contender's name (`batch`, `bare`, `python-threading`, an address).
    pub name: String,
    /// Every repetition, in the order run.
    pub runs: Vec<Measurement>,
}

impl Summary {
    fn each(&self, f: impl Fn(&Measurement) -> f64) -> Vec<f64> {
        self.runs.iter().map(f).collect()
    }

    /// The median requests/s over the repetitions.
    pub fn rate(&self) -> f64 {
        median(&mut self.each(Measurement::rate))
    }

    /// The lowest and highest requests/s of a repetition.
    pub fn rate_range(&self) -> (f64, f64) {
        let rates = self.each(Measurement::rate);
        let low = rates.iter().copied().fold(f64::INFINITY, f64::min);
        let high = rates.iter().copied().fold(0.0, f64::max);
        (if low.is_finite() { low } else { 0.0 }, high)
    }

    /// The median over the repetitions of one latency figure.
    pub fn latency(&self, pick: impl Fn(&Latency) -> Duration) -> Duration {
        let secs = median(&mut self.each(|m| pick(&m.latency).as_secs_f64()));
        Duration::from_secs_f64(secs)
    }

    /// The median server CPU time per request over the repetitions that
    /// measured it, or `None` when none did.
    pub fn server_cpu_per_request(&self) -> Option<Duration> {
        let mut micros: Vec<f64> = self
            .runs
            .iter()
            .filter_map(Measurement::server_cpu_per_request)
            .map(|d| d.as_secs_f64())
            .collect();
        (!micros.is_empty()).then(|| Duration::from_secs_f64(median(&mut micros)))
    }

    /// Requests answered in all repetitions.
    pub fn requests(&self) -> u64 {
        self.runs.iter().map(|m| m.requests).sum()
    }

    /// Timeouts and wrong replies in all repetitions.
    pub fn failures(&self) -> u64 {
        self.runs.iter().map(Measurement::failures).sum()
    }
}

/// CPU time (user + system, all threads, including those that have
/// ended) that process `pid` has used so far.
///
/// # Platform-specific behavior
///
/// Linux: read from `/proc/PID/stat` (fields 14 and 15, in clock ticks of
/// `sysconf(_SC_CLK_TCK)`, usually 10 ms). Elsewhere, and when the file
/// cannot be read or parsed: `None`.
pub fn process_cpu_time(pid: u32) -> Option<Duration> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces:
    // count fields from after its closing parenthesis (field 3 onwards).
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(14 - 3);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    let ticks_per_second = clock_ticks_per_second()?;
    Some(Duration::from_secs_f64(
        (user + system) as f64 / ticks_per_second as f64,
    ))
}

#[cfg(unix)]
fn clock_ticks_per_second() -> Option<u64> {
    use nix::unistd::{sysconf, SysconfVar};
    let ticks = sysconf(SysconfVar::CLK_TCK).ok()??;
    u64::try_from(ticks).ok().filter(|&t| t > 0)
}

#[cfg(not(unix))]
fn clock_ticks_per_second() -> Option<u64> {
    None
}

/// The machine a measurement ran on, for the record next to the figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Machine {
    /// The CPU model (Linux: `/proc/cpuinfo`), or "unknown CPU".
    pub cpu: String,
    /// CPUs this process may use.
    pub cpus: usize,
    /// OS and kernel release (`Linux 6.1.0-...`).
    pub os: String,
    /// The 1-minute load average when the measurement started (Linux), or
    /// `None`: above ~0.5 other work was competing for the CPUs.
    pub load_average: Option<f64>,
}

impl Machine {
    /// This machine, now.
    pub fn this() -> Machine {
        let cpu = fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|info| {
                info.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, name)| name.trim().to_string())
            })
            .unwrap_or_else(|| "unknown CPU".to_string());
        let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let load_average = fs::read_to_string("/proc/loadavg")
            .ok()
            .and_then(|l| l.split_whitespace().next()?.parse().ok());
        Machine {
            cpu,
            cpus: thread::available_parallelism().map_or(1, |n| n.get()),
            os: format!("{} {}", std::env::consts::OS, release.trim())
                .trim()
                .to_string(),
            load_average,
        }
    }
}
