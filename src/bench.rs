//! The load generator behind `udp-lab bench`: lock-step request/response
//! clients against any UDP echo server, each checking every reply and
//! timing itself.
//!
//! A run starts `clients` threads, each with its own socket, released
//! together by a barrier. Each client sends one request, waits for its
//! reply, checks it (it must come from the server's address and be the
//! request upper-cased, bare or in the threaded style
//! `"<thread> [<REQUEST UPPER-CASED>]"`), records the round trip, and only
//! then sends the next: at most one request per client is ever in flight,
//! so no receive buffer overflows and the rate measured is what the server
//! sustains. Each client notes its own start and end; the rate is the
//! requests answered divided by the span from the first start to the last
//! end, so a main thread scheduled late cannot inflate it.
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
}

impl Measurement {
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
    let start = Arc::new(Barrier::new(load.clients));
    let clients: Vec<JoinHandle<io::Result<ClientRun>>> = (0..load.clients)
        .map(|index| {
            let (start, load) = (Arc::clone(&start), *load);
            thread::Builder::new()
                .name(format!("bench-client-{index}"))
                .spawn(move || client(index, target, &load, &start))
        })
        .collect::<io::Result<_>>()
        .map_err(|e| net::context(e, "starting the client threads"))?;
    let mut runs = Vec::with_capacity(load.clients);
    for client in clients {
        let run = client
            .join()
            .map_err(|_| io::Error::other("a bench client thread panicked"))??;
        runs.push(run);
    }
    Ok(measure(runs))
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
    }
}

/// A client socket of `target`'s family on loopback, with `timeout`.
fn client_socket(target: SocketAddr, timeout: Duration) -> io::Result<UdpSocket> {
    let sock = net::bind_loopback(Family::of(&target))?;
    sock.set_read_timeout(Some(timeout))?;
    Ok(sock)
}

/// One lock-step client.
fn client(index: usize, target: SocketAddr, load: &Load, start: &Barrier) -> io::Result<ClientRun> {
    let sock = client_socket(target, load.timeout);
    start.wait(); // wait even if binding failed, or the others would wait forever
    let sock = sock?;
    let (rounds, deadline) = match load.length {
        Length::Rounds(n) => (n as u64, None),
        Length::For(d) => (u64::MAX, Some(d)),
    };
    let mut seen = ClientRun {
        began: Instant::now(),
        ended: Instant::now(),
        timeouts: 0,
        wrong: 0,
        latencies: Vec::with_capacity(if deadline.is_some() {
            1 << 14
        } else {
            rounds as usize
        }),
    };
    let (mut buf, mut request) = (vec![0u8; MAX_DATAGRAM], Vec::with_capacity(load.payload));
    for round in 0..rounds {
        let sent_at = Instant::now();
        if deadline.is_some_and(|d| sent_at.duration_since(seen.began) >= d) {
            break;
        }
        write_request(&mut request, index, round, load.payload);
        sock.send_to(&request, target)
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

    /// Requests answered in all repetitions.
    pub fn requests(&self) -> u64 {
        self.runs.iter().map(|m| m.requests).sum()
    }

    /// Timeouts and wrong replies in all repetitions.
    pub fn failures(&self) -> u64 {
        self.runs.iter().map(Measurement::failures).sum()
    }
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
