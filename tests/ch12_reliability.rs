//! Chapter 12: reliability is the application's job.
//!
//! Claim: UDP is "unreliable / best effort" (the article): the sender just
//! sends and never learns what arrived. Reliability is built on top, by the
//! application: sequence numbers, timeouts, retries with backoff, duplicate
//! and stale rejection, acknowledgements, and end-to-end checks. This file
//! drives udp-lab's own versions (`udp_lab::lab::reliable`) through the seeded
//! relay of chapter 11 (20% loss, duplication, reordering) and proves that
//! what arrives is right, whatever the clock does.
//!
//! Timing can change how many retransmissions happen (a slow machine times
//! out sooner, relatively), never what is accepted: so no test here asserts
//! an exact number of retransmissions.
//!
//! Run: `cargo test --test ch12_reliability`

mod support;

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::thread;
use std::time::Duration;

use rstest::rstest;
use udp_lab::lab::relay::{self, Direction, Impairments, Links, Plan};
use udp_lab::lab::reliable::{
    self, fast_retry, lossy, Client, Integrity, PingSettings, ReceiverStats, RetryPolicy,
    StopAndWait, Unchecked,
};
use udp_lab::lab::server::{self, Reply};
use udp_lab::net::{self, Family, DEFAULT_TIMEOUT};
use udp_lab::recv;

/// A stream in which any lost, repeated, swapped or altered chunk shows.
fn stream(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8)
        .collect()
}

/// [`reliable::transfer`] (the stream receiver behind a relay with
/// `links`, `send` given the sender's socket and the relay's address), with
/// the setup on loopback asserted: what the receiver assembled, what `send`
/// returned, the receiver's counters.
#[track_caller]
fn transfer<T: Send>(
    family: Family,
    links: Links,
    check: &dyn Integrity,
    send: impl FnOnce(&UdpSocket, SocketAddr) -> T + Send,
) -> (io::Result<Vec<u8>>, T, ReceiverStats) {
    reliable::transfer(family, links, check, send)
        .unwrap_or_else(|e| panic!("setting up the receiver, the relay and the sender: {e}"))
}

// ANCHOR: backoff
#[test]
fn retry_timeouts_double_until_the_cap() {
    let policy = RetryPolicy {
        first_timeout: Duration::from_millis(50),
        max_timeout: Duration::from_millis(300),
        attempts: 6,
    };

    let waits: Vec<u128> = (1..=6)
        .map(|attempt| policy.timeout_for(attempt).as_millis())
        .collect();

    assert_eq!(
        waits,
        [50, 100, 200, 300, 300, 300],
        "each retry waits twice as long as the one before (exponential backoff), up to the cap: \
         a lost reply on a congested path is not answered by sending faster"
    );
}
// ANCHOR_END: backoff

/// A server that ignores the first `ignore` requests it receives and
/// answers the next one (upper-cased, so the sequence number survives).
fn deaf_then_answering(ignore: usize) -> (SocketAddr, thread::JoinHandle<()>) {
    let sock = net::bind_loopback(Family::V4).expect("bind the server");
    let addr = sock.local_addr().expect("server address");
    let handle = thread::spawn(move || {
        for _ in 0..ignore {
            recv::recv_datagram(&sock, "a request to ignore").expect("the client retries");
        }
        let request =
            recv::recv_datagram(&sock, "the request to answer").expect("the client retries again");
        sock.send_to(&request.payload.to_ascii_uppercase(), request.from)
            .expect("reply");
    });
    (addr, handle)
}

// ANCHOR: retries
#[test]
fn unanswered_request_is_sent_again_after_each_timeout() {
    let policy = RetryPolicy {
        first_timeout: Duration::from_millis(20),
        ..fast_retry()
    };
    let (server, deaf) = deaf_then_answering(2);
    let mut client = Client::new(
        net::bind_loopback(Family::V4).expect("bind"),
        server,
        policy,
    );

    let reply = client
        .request(b"are you there?")
        .expect("the third attempt is answered");
    deaf.join().expect("the server thread ends");

    assert_eq!(
        reply.payload, b"ARE YOU THERE?",
        "the answer to the retried request"
    );
    assert!(
        reply.attempts >= 3,
        "two requests went unanswered, so at least 3 sends: {reply:?}"
    );
    assert!(
        reply.elapsed >= policy.timeout_for(1) + policy.timeout_for(2),
        "the client waited the first two timeouts (20 ms, then 40 ms) before the answered send: {reply:?}"
    );
}
// ANCHOR_END: retries

/// An echo server that sends every reply twice.
fn echo_twice() -> SocketAddr {
    let sock = net::bind_loopback(Family::V4).expect("bind the server");
    let addr = sock.local_addr().expect("server address");
    thread::spawn(move || {
        while let Ok(request) = recv::recv_datagram(&sock, "a request") {
            let reply = request.payload.to_ascii_uppercase();
            for _ in 0..2 {
                let _ = sock.send_to(&reply, request.from);
            }
        }
    });
    addr
}

// ANCHOR: duplicates_rejected
#[test]
fn a_duplicated_reply_is_never_taken_for_the_next_request() {
    let mut client = Client::new(
        net::bind_loopback(Family::V4).expect("bind"),
        echo_twice(),
        fast_retry(),
    );

    let replies: Vec<Vec<u8>> = ["one", "two", "three", "four"]
        .iter()
        .map(|word| client.request(word.as_bytes()).expect("answered").payload)
        .collect();

    assert_eq!(
        replies,
        [&b"ONE"[..], b"TWO", b"THREE", b"FOUR"],
        "every reply came twice; the second copy of each is waiting when the next request goes out, and its \
         sequence number (lower than the current one) gets it dropped: {:?}",
        client.stats()
    );
}
// ANCHOR_END: duplicates_rejected

// ANCHOR: strangers_rejected
#[test]
fn a_reply_from_another_address_is_ignored() {
    let server = net::bind_loopback(Family::V4).expect("bind the server");
    let stranger = net::bind_loopback(Family::V4).expect("bind the stranger");
    let server_addr = server.local_addr().expect("server address");
    let mut client = Client::new(
        net::bind_loopback(Family::V4).expect("bind"),
        server_addr,
        fast_retry(),
    );
    let client_addr = client.local_addr().expect("client address");

    let reply = thread::scope(|scope| {
        let asking = scope.spawn(|| client.request(b"who?"));
        let request = recv::recv_datagram(&server, "the request").expect("the request arrives");
        stranger
            .send_to(b"1 FORGED", client_addr)
            .expect("the stranger sends a forged reply");
        server
            .send_to(b"1 GENUINE", request.from)
            .expect("the server replies");
        asking.join().expect("the client thread ends")
    });

    let reply = reply.expect("the genuine reply is accepted");
    assert_eq!(
        reply.payload, b"GENUINE",
        "only the server's address may answer: a right-looking reply from \
         elsewhere (seq 1 and all) is dropped"
    );
}
// ANCHOR_END: strangers_rejected

// ANCHOR: requests_over_lossy_relay
#[test]
fn every_request_over_a_lossy_relay_gets_its_own_reply() {
    let run = reliable::requests_through(lossy(12), fast_retry(), 30)
        .expect("every request is answered within 40 attempts");

    for (request, answer) in &run.answered {
        assert_eq!(
            answer.payload,
            server::upper_reply(request.as_bytes()),
            "{request:?} gets its own reply, not another's"
        );
    }
    let (relay, client) = (run.relay, run.client);
    assert!(
        relay.to_server.dropped + relay.to_client.dropped > 0,
        "the relay did drop some: {relay:?}"
    );
    assert!(
        client.retries > 0,
        "seed 12 drops the very first request, so the client had to retry: {client:?}"
    );
}
// ANCHOR_END: requests_over_lossy_relay

// ANCHOR: stop_and_wait
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn stop_and_wait_delivers_a_stream_intact_and_in_order_over_a_lossy_relay(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let data = stream(96 * 1024);
    let settings = StopAndWait {
        chunk_size: 4096,
        retry: fast_retry(),
    };

    let (received, sent, receiver) =
        transfer(family, Links::both(lossy(2026)), &Unchecked, |sock, to| {
            reliable::send_stream(sock, to, &data, &settings, &Unchecked)
        });

    let sent = sent.expect("the sender got every frame acknowledged");
    let received = received.expect("the receiver got the whole stream");
    assert!(
        received == data,
        "96 KiB arrive intact and in order through 20% loss, duplication and reordering"
    );
    assert!(sent.retransmissions > 0, "seed 2026 drops the second datagram toward the receiver, so at least one frame was sent again: {sent:?}");
    assert_eq!(
        receiver.accepted, 24,
        "each of the 24 chunks was accepted exactly once: {receiver:?}"
    );
}
// ANCHOR_END: stop_and_wait

// ANCHOR: corruption_unnoticed
/// RFC 1071's Internet checksum, the very sum UDP puts in its header: the
/// one's complement of the one's-complement sum of the 16-bit words.
fn ones_complement_sum(bytes: &[u8]) -> [u8; 2] {
    let mut sum: u32 = bytes
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    (!(sum as u16)).to_be_bytes()
}

/// The sending application's datagram: the payload, then its sum.
fn with_sum(payload: &[u8]) -> Vec<u8> {
    [payload, &ones_complement_sum(payload)].concat()
}

/// Whether the receiving application finds the sum its peer sent.
fn sum_matches(datagram: &[u8]) -> bool {
    let (payload, sum) = datagram.split_at(datagram.len().saturating_sub(2));
    sum == ones_complement_sum(payload)
}

#[test]
fn only_a_check_made_by_the_two_ends_catches_what_a_relay_altered() {
    const COUNT: u64 = 40;
    let receiver = net::bind_loopback(Family::V4).expect("bind the receiver");
    let flips = Links::to_server_only(Impairments::seeded(8).corrupt(0.5));
    let relay = relay::spawn(
        Family::V4.any_port(),
        receiver.local_addr().expect("addr"),
        flips,
    )
    .expect("start the relay");
    let sender = net::bind_loopback(Family::V4).expect("bind the sender");

    let (mut altered, mut caught, mut accepted_unchecked) = (0, 0, 0);
    for i in 0..COUNT {
        let sent = with_sum(format!("datagram {i} of {COUNT}").as_bytes());
        sender
            .send_to(&sent, relay.local_addr())
            .expect("send through the relay");
        let got = recv::recv_datagram(&receiver, "the relayed datagram").expect(
            "every datagram arrives, altered or not: the receiving kernel verified the UDP checksum \
             that the relay's kernel computed over the bytes the relay sent",
        );
        altered += u64::from(got.payload != sent);
        caught += u64::from(!sum_matches(&got.payload));
        accepted_unchecked += u64::from(Unchecked.open(&got.payload).is_some());
    }
    let relayed = relay.shutdown().to_server;

    assert!(
        altered > 0 && altered == relayed.corrupted,
        "seed 8 flips a bit in some datagrams, and each of those arrived: expected {} altered \
         datagrams (the relay's count), got {altered}",
        relayed.corrupted
    );
    assert_eq!(
        accepted_unchecked, COUNT,
        "a receiver without its own check (Unchecked) takes all {COUNT}, altered ones included"
    );
    assert_eq!(
        caught, altered,
        "the same sum as UDP's, but made by the sending application and checked by the receiving \
         one, rejects exactly the {altered} datagrams the relay altered"
    );
}
// ANCHOR_END: corruption_unnoticed

// ANCHOR: ping
#[test]
fn pinger_reports_every_echo_with_its_round_trip_time() {
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper).expect("start the echo server");
    let settings = PingSettings {
        count: 5,
        timeout: DEFAULT_TIMEOUT,
        interval: Duration::ZERO,
    };
    let sock = net::bind_loopback(Family::V4).expect("bind the pinger");

    let report = reliable::ping(&sock, echo.local_addr(), &settings, |_| {}).expect("ping runs");
    let (min, avg, max) = report.rtt_summary().expect("echoes came back");

    assert_eq!(
        (report.sent(), report.received()),
        (5, 5),
        "five pings, five echoes: {report:?}"
    );
    assert_eq!(
        report.loss_percent(),
        0.0,
        "nothing lost on loopback without the relay"
    );
    assert!(
        min <= avg && avg <= max,
        "min {min:?} <= avg {avg:?} <= max {max:?}"
    );
}
// ANCHOR_END: ping

// ANCHOR: ping_loss
#[test]
fn pinger_counts_every_ping_the_relay_dropped_as_lost() {
    let imp = Impairments::seeded(4).loss(0.3);
    let dropped: Vec<u64> = {
        let kept = Plan::run(&imp, Direction::ToServer, vec![Vec::new(); 8]);
        (0..8)
            .filter(|i| !kept.iter().any(|p| p.index == *i))
            .collect()
    };
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper).expect("start the echo server");
    let relay = relay::spawn(
        Family::V4.any_port(),
        echo.local_addr(),
        Links::to_server_only(imp),
    )
    .expect("relay");
    let settings = PingSettings {
        count: 8,
        timeout: Duration::from_millis(300),
        interval: Duration::ZERO,
    };

    let report = reliable::ping(
        &net::bind_loopback(Family::V4).expect("bind"),
        relay.local_addr(),
        &settings,
        |_| {},
    )
    .expect("ping runs");

    assert!(
        !dropped.is_empty(),
        "seed 4 drops some of 8 pings: {dropped:?}"
    );
    for &i in &dropped {
        assert_eq!(
            report.results[i as usize].rtt,
            None,
            "ping {} was dropped by the relay: reported lost",
            i + 1
        );
    }
    let lost = report.sent() - report.received();
    assert!(
        lost >= dropped.len(),
        "at least the dropped ones are lost ({lost} >= {})",
        dropped.len()
    );
    assert_eq!(
        report.loss_percent(),
        100.0 * lost as f64 / 8.0,
        "loss % is lost / sent"
    );
}
// ANCHOR_END: ping_loss

// ANCHOR: ping_duplicates_late
/// A duplicated echo is late, never the answer: against a server that
/// sends every echo twice, each ping after the first finds the previous
/// ping's second copy waiting, and the pinger counts it as late.
#[test]
fn pinger_counts_a_duplicated_echo_as_late_not_as_the_next_answer() {
    let settings = PingSettings {
        count: 5,
        timeout: DEFAULT_TIMEOUT,
        interval: Duration::ZERO,
    };
    let sock = net::bind_loopback(Family::V4).expect("bind the pinger");

    let report = reliable::ping(&sock, echo_twice(), &settings, |_| {}).expect("ping runs");

    assert_eq!(
        (report.received(), report.late),
        (5, 4),
        "expected 5 pings answered and 4 late copies (the 5th ping's copy comes after the run); \
         got {report:?}: a copy taken for the next ping's echo is not counted late"
    );
}
// ANCHOR_END: ping_duplicates_late

// ANCHOR: ping_python
/// The pinger against the article's upper-casing echo server (Python,
/// `tests/peers/echo_server.py`): the upper-case ping survives `data.upper()`.
#[test]
fn pinger_works_against_the_articles_echo_server() {
    let Some(python) = support::python3() else {
        return;
    };
    let peer = support::start_peer_server(python, "echo_server.py", Family::V4);
    let settings = PingSettings {
        count: 3,
        timeout: DEFAULT_TIMEOUT,
        interval: Duration::ZERO,
    };

    let report = reliable::ping(
        &net::bind_loopback(Family::V4).expect("bind"),
        peer.addr,
        &settings,
        |_| {},
    )
    .expect("ping runs");

    assert_eq!(
        report.received(),
        3,
        "\"PING n time\" comes back unchanged from data.upper(): {report:?}"
    );
}
// ANCHOR_END: ping_python

// ---------------------------------------------------------------------------
// Exercises

// ANCHOR: exercise_12_1
/// Exercise 12.1: a checksum lets stop-and-wait survive the relay's corruption.
///
/// Hint: write a type that implements `Integrity`: `seal` appends a checksum of
/// the frame (the Internet checksum of RFC 1071, or any sum that changes when
/// one bit flips), `open` checks and strips it (`None` when it does not match).
/// This file already computes RFC 1071's sum for the corruption test above:
/// `with_sum(&[u8]) -> Vec<u8>` and `sum_matches(&[u8]) -> bool` (in this
/// file); use them or write your own. Run `transfer` over
/// `Links::both(Impairments::seeded(5).corrupt(0.3).loss(0.1))` with your check
/// on both ends: the stream must arrive intact. Uses (imported at the top of
/// this file unless said): `Integrity` (`fn seal(&self, frame: Vec<u8>) ->
/// Vec<u8>`, `fn open(&self, datagram: &[u8]) -> Option<Vec<u8>>`);
/// `transfer(Family, Links, &dyn Integrity, |sock, peer| ...)`, `stream(len)`
/// (in this file); `fast_retry() -> RetryPolicy` (from
/// `udp_lab::lab::reliable`); `reliable::send_stream(&UdpSocket, peer, &[u8],
/// &StopAndWait, &dyn Integrity)`; `Links::both(Impairments)`.
///
/// Catches: delivers_duplicates
#[test]
#[ignore = "exercise 12.1: delete this line to start"]
fn a_checksum_lets_stop_and_wait_survive_corruption() {
    todo!("exercise 12.1: write the test")
}
// ANCHOR_END: exercise_12_1

// ANCHOR: exercise_12_2
/// Exercise 12.2: a go-back-N sender with a window of 8 delivers the stream intact.
///
/// Hint: a go-back-N sender keeps up to 8 DATA frames unacknowledged
/// (`Frame::Data { seq, chunk }.encode()`); an `Ack { next }` slides the window
/// to `next`; a timeout resends every frame from the window's base. The same
/// `StreamReceiver` works (its ACKs are cumulative). Finish with a `Frame::Fin`
/// sent until `Ack { next: chunks + 1 }`. Pass your sender to `transfer` over
/// `Links::both(lossy(3))` and check the stream arrives intact. Uses (imported
/// at the top of this file unless said): `reliable::Frame::{Data, Ack, Fin}`
/// with `.encode() -> Vec<u8>` and `Frame::decode(&[u8]) -> Option<Frame>`;
/// `transfer(Family, Links, &dyn Integrity, |sock, peer| ...)`, `stream(len)`
/// (in this file); `lossy(seed) -> Impairments` (from `udp_lab::lab::reliable`);
/// `recv::is_timeout(&io::Error) -> bool`.
///
/// Catches: delivers_duplicates
#[test]
#[ignore = "exercise 12.2: delete this line to start"]
fn a_go_back_n_sender_delivers_the_stream_intact() {
    todo!("exercise 12.2: write the test")
}
// ANCHOR_END: exercise_12_2

// ANCHOR: exercise_12_3
/// Exercise 12.3: an unanswered request gives up after exactly its attempts.
///
/// Hint: a "server" socket that never answers; a `Client` with `attempts: 3`
/// and 10 ms timeouts. The request fails with `ErrorKind::TimedOut`,
/// `client.stats().sent` is 3, and the silent socket can read exactly three
/// copies of the request. Uses (imported at the top of this file unless said):
/// `net::bind_loopback(Family) -> io::Result<UdpSocket>`;
/// `Client::new(UdpSocket, server: SocketAddr, RetryPolicy) -> Client`;
/// `RetryPolicy { first_timeout, max_timeout, attempts }`;
/// `client.request(&[u8]) -> io::Result<..>`, `client.stats().sent`;
/// `recv::recv_datagram(&UdpSocket, what: &str) -> io::Result<Datagram>`
/// (`.payload: Vec<u8>`, `.from`, `.text()`).
///
/// Catches: timeout_is_an_answer
#[test]
#[ignore = "exercise 12.3: delete this line to start"]
fn an_unanswered_request_gives_up_after_exactly_its_attempts() {
    todo!("exercise 12.3: write the test")
}
// ANCHOR_END: exercise_12_3

// ANCHOR: exercise_12_4
/// Exercise 12.4: the pinger counts exactly the pings the relay dropped, despite duplicated echoes.
///
/// Hint: Kurose & Ross's UDP pinger, proven against a seeded bad network. An
/// upper-casing echo server (a ping is `"PING <seq> <time>"`, already
/// upper-case, so its echo is byte for byte the ping), and a relay in front of
/// it with `Links { to_server: Impairments::seeded(7).loss(0.3), to_client:
/// Impairments::seeded(8).duplicate(0.5) }`. Ping the relay 20 times (`timeout`
/// 200 ms, `interval` 5 ms), then `shutdown()` the relay for its counters: the
/// pings lost (`sent() - received()`) are exactly `to_server.dropped`, and
/// `loss_percent()` is that share of 20. A duplicated echo of one ping arrives
/// while the next one waits: only the echo of *this* ping (same sequence
/// number) may count. Uses (imported at the top of this file unless said):
/// `server::spawn(SocketAddr, Reply::Upper)`; `relay::spawn(listen, server,
/// Links) -> io::Result<RelayHandle>` (`.local_addr()`, `.shutdown() ->
/// RelayStats`); `Links { to_server, to_client }`;
/// `Impairments::seeded(u64).loss(f64)`, `.duplicate(f64)`;
/// `reliable::ping(&UdpSocket, target, &PingSettings, |_| {}) ->
/// io::Result<PingReport>` (`.sent()`, `.received()`, `.loss_percent()`);
/// `PingSettings { count, timeout, interval }`; `stats.to_server.dropped: u64`;
/// `net::bind_loopback`.
///
/// Catches: ping_takes_any_echo, ping_miscounts_loss
#[test]
#[ignore = "exercise 12.4: delete this line to start"]
fn pinger_counts_exactly_the_pings_the_relay_dropped() {
    todo!("exercise 12.4: write the test")
}
// ANCHOR_END: exercise_12_4
