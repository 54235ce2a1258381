//! Chapter 09: timeouts.
//!
//! Claim: a receive with no read timeout waits forever when the reply is
//! lost; a read timeout turns that wait into an error (`WouldBlock` on Unix,
//! `TimedOut` on Windows), and a non-blocking socket does not wait at all.
//! The article's client calls `client.recvfrom(1024)` with no timeout: one
//! lost reply and it hangs.
//!
//! Run: `cargo test --test ch09_timeouts`

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use rstest::rstest;
use udp_lab::net::{self, Family, DEFAULT_TIMEOUT};
use udp_lab::recv;

/// The read timeout the tests set: short, so the suite stays fast.
const READ_TIMEOUT: Duration = Duration::from_millis(200);

/// How much shorter than the timeout a timed-out read may measure. Not
/// for Linux: since 4.8 its timers never fire early (only late, rounded up
/// to the timer wheel, and scheduling delays only add to the wait). Other
/// OSes count a socket's timeout in coarser clock ticks (Windows' default
/// timer resolution is about 15.6 ms) and may wake up to a tick before the
/// time `Instant` measures.
const ONE_TICK: Duration = Duration::from_millis(20);

/// A "server" that receives requests and never answers (every reply is
/// lost), and its address.
fn silent_server(family: Family) -> (UdpSocket, SocketAddr) {
    let server = net::bind_loopback(family).expect("bind the silent server");
    let addr = server.local_addr().expect("the server's address");
    (server, addr)
}

/// The error a timed-out read returns on this OS.
fn timeout_kind() -> io::ErrorKind {
    if cfg!(windows) {
        io::ErrorKind::TimedOut
    } else {
        io::ErrorKind::WouldBlock
    }
}

// ANCHOR: read_timeout
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn read_timeout_turns_a_lost_reply_into_an_error(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let (_server, server) = silent_server(family);
    let client = net::bind_loopback(family).expect("bind the client");
    client
        .set_read_timeout(Some(READ_TIMEOUT))
        .expect("set the read timeout");
    client.send_to(b"hello", server).expect("send the request");

    let started = Instant::now();
    let err = client
        .recv_from(&mut [0u8; 1024])
        .expect_err("no reply comes: the read must give up");
    let waited = started.elapsed();

    assert_eq!(
        err.kind(),
        timeout_kind(),
        "Unix: WouldBlock (EAGAIN), Windows: TimedOut; got {err}"
    );
    assert!(
        recv::is_timeout(&err),
        "recv::is_timeout accepts both kinds"
    );
    assert!(
        waited >= READ_TIMEOUT - ONE_TICK,
        "it gave up only after about {READ_TIMEOUT:?}, not {waited:?}"
    );
}
// ANCHOR_END: read_timeout

// ANCHOR: nonblocking
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn nonblocking_read_returns_would_block_without_waiting(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let sock = net::bind_loopback(family).expect("bind a socket");
    sock.set_read_timeout(None)
        .expect("no read timeout: a blocking read would wait forever");
    sock.set_nonblocking(true)
        .expect("make the socket non-blocking");

    // Read in a helper thread, so that a read that does wait fails the test instead of hanging it.
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || tx.send(sock.recv_from(&mut [0u8; 1024]).map(|(n, _)| n)));
    let got = rx
        .recv_timeout(DEFAULT_TIMEOUT)
        .expect("a non-blocking read returns at once, never waits");

    let err = got.expect_err("nothing was sent, so there is nothing to read");
    assert_eq!(
        err.kind(),
        io::ErrorKind::WouldBlock,
        "every OS: WouldBlock, 'try again later'; got {err}"
    );
}
// ANCHOR_END: nonblocking

// ANCHOR: zero_timeout
#[test]
fn zero_read_timeout_is_rejected_as_invalid_input() {
    let sock = net::bind_loopback(Family::V4).expect("bind a socket");

    let err = sock
        .set_read_timeout(Some(Duration::ZERO))
        .expect_err("std refuses a zero timeout");

    assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "std says: {err}");
    assert_eq!(
        sock.read_timeout().expect("read the timeout back"),
        Some(DEFAULT_TIMEOUT),
        "the refused call changed nothing (to the OS, 0 would mean 'wait forever')"
    );
}
// ANCHOR_END: zero_timeout

// ANCHOR: stop_and_wait_bounded
/// Every client of the lab bounds its waits, the stop-and-wait sender of
/// chapter 12 too: toward a peer that never acknowledges, it gives up after
/// its attempts with `TimedOut`, instead of waiting for an ACK forever.
#[test]
fn a_stop_and_wait_sender_gives_up_on_a_silent_peer_in_bounded_time() {
    use udp_lab::lab::reliable::{self, RetryPolicy, StopAndWait, Unchecked};
    let (_silent, addr) = silent_server(Family::V4);
    let retry = RetryPolicy {
        first_timeout: Duration::from_millis(10),
        max_timeout: Duration::from_millis(20),
        attempts: 3,
    };
    let sock = net::bind_loopback(Family::V4).expect("bind the sender");
    let (done, outcome) = mpsc::channel();
    thread::spawn(move || {
        let settings = StopAndWait {
            chunk_size: 64,
            retry,
        };
        let sent = reliable::send_stream(&sock, addr, b"never acknowledged", &settings, &Unchecked);
        let _ = done.send(sent.map_err(|e| e.kind()));
    });

    let got = outcome.recv_timeout(DEFAULT_TIMEOUT);
    assert!(
        matches!(got, Ok(Err(io::ErrorKind::TimedOut))),
        "expected Err(TimedOut) within {DEFAULT_TIMEOUT:?} (3 attempts of at most 20 ms); got {got:?}: \
         a receive without a read timeout waits forever"
    );
}
// ANCHOR_END: stop_and_wait_bounded

// ANCHOR: exercise_9_1
/// Exercise 9.1: a retrying client gives up on a silent server with TimedOut, in bounded time.
///
/// Hint: `silent_server(Family::V4)` never answers. A `reliable::Client` toward
/// it with `RetryPolicy { first_timeout: 10 ms, max_timeout: 20 ms, attempts: 3
/// }`: `request(b"hello")` must fail with `ErrorKind::TimedOut`. Run it in a
/// thread that sends the result over an `mpsc` channel, and wait with
/// `recv_timeout(DEFAULT_TIMEOUT)`: a client that waits forever must fail your
/// test, not hang it. Uses: `udp_lab::lab::reliable::{Client, RetryPolicy}`
/// (not imported here: add a `use` inside your test); `Client::new(UdpSocket,
/// server: SocketAddr, RetryPolicy) -> Client`, `client.request(&[u8]) ->
/// io::Result<Answer>`; `RetryPolicy { first_timeout, max_timeout, attempts:
/// u32 }`; `silent_server(Family) -> (UdpSocket, SocketAddr)` (in this file);
/// `net::bind_loopback`; `thread::spawn`, `mpsc::channel()`,
/// `Receiver::recv_timeout(Duration)` (imported).
///
/// Catches: clients_wait_forever, timeout_is_an_answer
#[test]
#[ignore = "exercise 9.1: delete this line to start"]
fn a_retrying_client_gives_up_on_a_silent_server_in_bounded_time() {
    todo!("exercise 9.1: write the test")
}
// ANCHOR_END: exercise_9_1

// ANCHOR: exercise_9_2
/// Exercise 9.2: a pinger to a silent server counts every ping lost, and returns.
///
/// Hint: `reliable::ping(&sock, addr, &PingSettings { count: 3, timeout: 20 ms,
/// interval: 20 ms }, |_| {})` toward `silent_server(Family::V4)`. Each ping's
/// wait is bounded by its timeout, so the whole run ends; run it in a thread
/// and wait for its report with `recv_timeout(DEFAULT_TIMEOUT)`. The report:
/// `sent()` is 3, `received()` is 0, `loss_percent()` is 100. Uses:
/// `udp_lab::lab::reliable::{self, PingSettings}` (not imported here: add a
/// `use` inside your test); `reliable::ping(&UdpSocket, target: SocketAddr,
/// &PingSettings, on_result: impl FnMut(&PingResult)) ->
/// io::Result<PingReport>` (`.sent()`, `.received()`, `.loss_percent() ->
/// f64`); `silent_server(Family) -> (UdpSocket, SocketAddr)` (in this file);
/// `net::bind_loopback`; `thread::spawn`, `mpsc::channel()`.
///
/// Catches: clients_wait_forever, timeout_is_an_answer, ping_miscounts_loss
#[test]
#[ignore = "exercise 9.2: delete this line to start"]
fn a_pinger_to_a_silent_server_counts_every_ping_lost() {
    todo!("exercise 9.2: write the test")
}
// ANCHOR_END: exercise_9_2
