//! The load generator behind `udp-lab bench` and chapter 13: lock-step
//! request/response clients against any UDP echo server, each checking
//! every reply and timing itself.
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
//! (`poll`, in `polled.rs`), all released together by a barrier. The
//! article's way, one thread per client blocked in `recv_from`
//! ([`Load::thread_per_client`]: the very clients of chapters 05 and 13,
//! [`clients::lock_step`], timing instead of recording), costs a sleep, a
//! wake-up and a context switch per request: on a 2-CPU machine that
//! generator used more CPU than the servers it measured, and every fast
//! server looked alike.
//!
//! ```
//! use udp_lab::lab::load::{self, Length, Load};
//! use udp_lab::lab::server::{models::{self, Model}, Reply};
//! use udp_lab::net::Family;
//!
//! let server = models::spawn(Family::V4.any_port(), Model::Batch, Reply::Upper)?;
//! let load = Load { clients: 4, length: Length::Rounds(3), ..Load::default() };
//! let run = load::run(server.local_addr(), &load)?;
//! assert_eq!((run.requests, run.failures()), (12, 0));
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! What `udp-lab bench` adds around a run (repetitions, medians, the
//! server's CPU time, the bare baseline loop, the report) is command-line
//! code, in `src/cli/bench/`.

pub mod clients;
#[cfg(unix)]
mod polled;

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

use crate::lab::planted::{self, Bug};
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
    /// Lock-step clients, each with its own socket (driven by a few polling
    /// threads, or one thread each with `thread_per_client`).
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
            p99: if planted::active(Bug::P99IsTheMax) {
                samples.last().copied().unwrap_or_default()
            } else {
                percentile(samples, 99.0)
            },
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
    /// CPU time (user + system) the server process used during the run.
    /// [`run`] leaves it `None`: only the caller can measure it (`udp-lab
    /// bench` does for a server in a child process, on timed runs, because
    /// the clock ticks in 10 ms steps, too coarse for a run of a few ms).
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
/// assert_eq!(udp_lab::lab::load::request_tag(7, 42), "c007 r000000042");
/// ```
pub fn request_tag(client: usize, round: u64) -> String {
    format!("c{client:03} r{round:09}")
}

/// The request `client` sends in `round`: its tag, padded with `x` to
/// `payload` bytes (never shorter than the tag).
///
/// ```
/// assert_eq!(udp_lab::lab::load::request(7, 42, 20), b"c007 r000000042xxxxx");
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
/// use udp_lab::lab::load::reply_matches;
/// assert!(reply_matches(b"hi 1", b"HI 1"));
/// assert!(reply_matches(b"hi 1", b"Thread-3 (process_request_thread) [HI 1]"));
/// assert!(!reply_matches(b"hi 1", b"HI 2"));
/// ```
pub fn reply_matches(request: &[u8], reply: &[u8]) -> bool {
    if planted::active(Bug::LoadAcceptsAnyReply) {
        return true;
    }
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
        // The article's way: the lock-step clients of chapters 05 and 13,
        // one thread each, timing and counting instead of recording.
        let finished = clients::lock_step(target, load.clients, load.length, |index| {
            Timed::new(index, load)
        })?;
        finished
            .into_iter()
            .map(|client| {
                let done = client?;
                Ok(ClientRun {
                    began: done.began,
                    ended: done.ended,
                    ..done.client.seen
                })
            })
            .collect::<io::Result<Vec<_>>>()?
    } else {
        // A few driver threads, each polling its share of the client
        // sockets: the clients are just as many and just as lock-step.
        let drivers = match load.poll_threads {
            0 => default_poll_threads(),
            n => n,
        }
        .min(load.clients);
        let driven = clients::released_together(
            drivers,
            |driver| format!("bench-poller-{driver}"),
            |driver, start| {
                let share =
                    (driver * load.clients / drivers)..((driver + 1) * load.clients / drivers);
                polled::drive(share, target, load, start)
            },
        )
        .map_err(|e| net::context(e, format!("starting the bench threads against {target}")))?;
        let mut runs = Vec::with_capacity(load.clients);
        for seen in driven {
            runs.extend(seen?);
        }
        runs
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
    /// A client about to start, with room for its round trips.
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
#[cfg(unix)]
fn limits(load: &Load) -> (u64, Option<Duration>) {
    match load.length {
        Length::Rounds(n) => (n as u64, None),
        Length::For(d) => (u64::MAX, Some(d)),
    }
}

/// One lock-step client on its own thread, blocked in `recv_from` for
/// each reply, timing each round trip (run by [`clients::lock_step`]).
struct Timed<'a> {
    index: usize,
    load: &'a Load,
    request: Vec<u8>,
    buf: Vec<u8>,
    seen: ClientRun,
}

impl Timed<'_> {
    fn new(index: usize, load: &Load) -> Timed<'_> {
        Timed {
            index,
            load,
            request: Vec::with_capacity(load.payload),
            buf: vec![0u8; MAX_DATAGRAM],
            seen: ClientRun::new(load),
        }
    }
}

impl clients::Client for Timed<'_> {
    fn socket(&self, server: SocketAddr) -> io::Result<UdpSocket> {
        connected_socket(server, self.load.timeout)
    }

    fn round(&mut self, sock: &UdpSocket, server: SocketAddr, round: u64) -> io::Result<()> {
        write_request(&mut self.request, self.index, round, self.load.payload);
        let sent_at = Instant::now();
        sock.send(&self.request)
            .map_err(|e| net::context(e, format!("sending a request to {server}")))?;
        await_reply(
            sock,
            server,
            &self.request,
            &mut self.buf,
            &mut self.seen,
            sent_at,
        );
        Ok(())
    }
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
