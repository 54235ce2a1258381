//! # Chapter 05: one UDP socket serves many clients at once
//!
//! The claim: a UDP server needs no `accept` and no socket per client. One
//! socket receives every client's datagrams, each carrying its source
//! address, and a reply sent to that address reaches that client alone. The
//! article's `socketserver.ThreadingUDPServer` only adds a thread per datagram.
//!
//! The article's words it checks: "可以实现简单的并发效果" (simple concurrency is
//! possible), and its part 3: 50 client threads ("开启50个客户端线程去连接服务端,
//! 模拟并发") each talking to the server 10 times, against a `ThreadingUDPServer`
//! whose handler gets `(data, sock)` and replies `"<thread name> [<DATA
//! UPPER-CASED>]"` to `client_address`. The interop tests run the article's
//! `threading_clients.py` and `threading_server.py` (in `tests/peers/`)
//! against ours.
//!
//! The clients are the lab's (`udp_lab::lab::load::clients`), the very ones
//! chapter 13, the tour and `udp-lab bench --thread-per-client` run.
//!
//! Run: `cargo test --test ch05_concurrency`

mod support;

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::thread;

use rstest::rstest;
use support::clients::{assert_every_reply, run_clients};
use udp_lab::lab::load::clients::{client_name, served_by, ClientLog, Exchange};
use udp_lab::lab::server::{self, Reply};
use udp_lab::net::{self, Family};
use udp_lab::recv::{self, Datagram};

/// The article's load: 50 client threads ...
const CLIENTS: usize = 50;
/// ... each doing 10 request/reply rounds: 500 requests in all.
const ROUNDS: usize = 10;

/// Why `ex`'s reply is not the threaded server's answer to its request:
/// `"<thread name> [<REQUEST UPPER-CASED>]"`, the thread name `Thread-...`.
fn threaded_mismatch(ex: &Exchange) -> Option<String> {
    let expected = ex.owed(Reply::Threaded);
    (ex.reply.payload != expected)
        .then(|| format!("{ex}, expected {:?}", String::from_utf8_lossy(&expected)))
}

/// The client whose request a reply carries (`CLIENT-007` in
/// `"Thread-9 [CLIENT-007 [3]]"`), upper-cased as the server sent it.
fn client_named_in(reply: &Datagram) -> Option<String> {
    let text = reply.text();
    let at = text.find("CLIENT-")?;
    let digits = text[at + "CLIENT-".len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .count();
    Some(text[at..at + "CLIENT-".len() + digits].to_string())
}

#[track_caller]
fn start(reply: Reply, family: Family) -> server::ServerHandle {
    server::spawn(family.any_port(), reply)
        .unwrap_or_else(|e| panic!("starting the {reply:?} server on {family}: {e}"))
}

// ANCHOR: threaded_server_serves_fifty_clients
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn fifty_clients_each_get_the_threaded_answer_to_their_own_requests(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let server = start(Reply::Threaded, family);
    let logs = run_clients(server.local_addr(), CLIENTS, ROUNDS);
    assert_every_reply(
        &logs,
        "The threaded server answers each datagram with \
         \"<thread name> [<REQUEST UPPER-CASED>]\", sent to the datagram's source address, \
         so a client receives the answer to its own request.",
        |_, ex| threaded_mismatch(ex),
    );
}
// ANCHOR_END: threaded_server_serves_fifty_clients

// ANCHOR: thread_per_datagram
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn threaded_server_answers_every_datagram_on_a_new_thread(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let server = start(Reply::Threaded, family);
    let logs = run_clients(server.local_addr(), CLIENTS, ROUNDS);
    let stats = server.shutdown(); // joins every handler: the counts are final
    let total = CLIENTS * ROUNDS;
    let names: BTreeSet<String> = logs
        .iter()
        .flat_map(|l| &l.exchanges)
        .map(|ex| served_by(&ex.reply))
        .collect();
    assert_eq!(
        stats.threads_spawned, total as u64,
        "ThreadingUDPServer starts one handler thread per datagram: \
         {total} requests, {total} threads"
    );
    assert_eq!(
        names.len(),
        total,
        "the {total} replies should name {total} different threads (a new one per datagram), \
         so more than one thread served the clients; they named {} distinct threads",
        names.len()
    );
}
// ANCHOR_END: thread_per_datagram

// ANCHOR: single_threaded_echo
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn single_threaded_echo_serves_fifty_clients_from_one_socket(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let server = start(Reply::Upper, family);
    let logs = run_clients(server.local_addr(), CLIENTS, ROUNDS);
    assert_every_reply(
        &logs,
        "One thread looping on recv_from/send_to on one socket answers every client: \
         UDP has no accept, each datagram names its sender.",
        |_, ex| (!ex.is_answer(Reply::Upper)).then(|| ex.to_string()),
    );
    let stats = server.shutdown();
    assert_eq!(
        stats.threads_spawned, 0,
        "the plain echo server needs no thread per client or per datagram"
    );
}
// ANCHOR_END: single_threaded_echo

// ANCHOR: reply_source
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn every_reply_comes_from_the_server_address(
    #[case] family: Family,
    #[values(Reply::Upper, Reply::Threaded)] reply: Reply,
) {
    if !net::require(family) {
        return;
    }
    let server = start(reply, family);
    let addr = server.local_addr();
    let logs = run_clients(addr, CLIENTS, ROUNDS);
    assert_every_reply(
        &logs,
        &format!(
            "Every reply must come from the server's address {addr}: all {reply:?} handlers send \
             through the one server socket, so a client can check who answered."
        ),
        |_, ex| {
            (ex.reply.from != addr)
                .then(|| format!("the reply to {:?} came from {}", ex.request, ex.reply.from))
        },
    );
}
// ANCHOR_END: reply_source

// ANCHOR: replies_never_cross
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn no_client_ever_receives_another_clients_reply(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let server = start(Reply::Threaded, family);
    let logs = run_clients(server.local_addr(), CLIENTS, ROUNDS);
    assert_every_reply(
        &logs,
        "A reply goes to the address its request came from, and each client has its own socket \
         (its own port): no client receives another client's request text.",
        |log, ex| {
            let own = log.name.to_uppercase();
            let named = client_named_in(&ex.reply).unwrap_or_else(|| "no client".to_string());
            (named != own)
                .then(|| format!("got {:?}: {named}'s request, not {own}'s", ex.reply.text()))
        },
    );
    let strays = strays_after_the_run(&logs, server.local_addr());
    assert!(
        strays.is_empty(),
        "after the run no client socket may hold one more datagram from the server: each of \
         the {} requests got its one reply, and a reply goes only to its requester; found:\n{}",
        CLIENTS * ROUNDS,
        strays.join("\n")
    );
}
// ANCHOR_END: replies_never_cross

/// Waits [`net::SILENCE`] on every client socket at once for one more
/// datagram from `server`, which should not exist, and lists those that came.
fn strays_after_the_run(logs: &[ClientLog], server: SocketAddr) -> Vec<String> {
    thread::scope(|scope| {
        let waits: Vec<_> = logs
            .iter()
            .map(|log| {
                scope.spawn(move || {
                    stray_from(&log.socket, server).map(|s| format!("{}: {s}", log.name))
                })
            })
            .collect();
        waits
            .into_iter()
            .filter_map(|wait| wait.join().expect("a silence check panicked"))
            .collect()
    })
}

/// The first datagram from `server` to reach `socket` within [`net::SILENCE`].
/// Datagrams from elsewhere are skipped: another test's late datagram may
/// reach a port this client reuses, and it is no reply from `server`.
fn stray_from(socket: &UdpSocket, server: SocketAddr) -> Option<String> {
    for _ in 0..8 {
        match recv::recv_within(socket, net::SILENCE) {
            Ok(None) => return None,
            Ok(Some(d)) if d.from == server => {
                return Some(format!("one more datagram {:?}", d.text()))
            }
            Ok(Some(_)) => continue,
            Err(e) => return Some(format!("checking for one more datagram failed: {e}")),
        }
    }
    Some("8 datagrams from other sources, none expected".to_string())
}

// ANCHOR: no_accept
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn one_udp_socket_receives_from_every_client_without_accept(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let server = net::bind_loopback(family).expect("binding the one server socket");
    let addr = server.local_addr().expect("the server socket's address");
    // All alive at once: a closed client's port could be handed to the next one.
    let clients: Vec<UdpSocket> = (0..CLIENTS)
        .map(|_| net::bind_loopback(family).expect("binding a client socket"))
        .collect();
    let mut sources = BTreeSet::new();
    for (i, client) in clients.iter().enumerate() {
        let name = client_name(i);
        client
            .send_to(name.as_bytes(), addr)
            .expect("sending a request");
        let got = recv::recv_datagram(&server, &format!("{name}'s request"))
            .expect("the one server socket receives every client's datagram");
        let from = client.local_addr().expect("the client's address");
        assert_eq!(
            (got.text(), got.from),
            (name, from),
            "the one server socket receives each datagram with its sender's address: \
             that is all UDP needs to answer it"
        );
        sources.insert(got.from);
    }
    assert_eq!(
        sources.len(),
        CLIENTS,
        "one socket, no accept, {CLIENTS} live clients told apart by their source addresses"
    );
}
// ANCHOR_END: no_accept

// ANCHOR: tcp_accepts_per_client
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn tcp_server_gets_a_new_socket_per_client_from_accept(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let listener = TcpListener::bind(family.any_port()).expect("binding a TCP listener");
    let addr = listener.local_addr().expect("the listener's address");
    let clients: Vec<TcpStream> = (0..3)
        .map(|_| TcpStream::connect(addr).expect("connecting"))
        .collect();
    let client_addrs: BTreeSet<SocketAddr> = clients
        .iter()
        .map(|c| c.local_addr().expect("client address"))
        .collect();
    let mut peers = BTreeSet::new();
    for _ in &clients {
        // The connections are already queued: accept returns at once.
        let (stream, peer) = listener.accept().expect("accepting a queued connection");
        assert_eq!(
            stream.local_addr().expect("accepted address"),
            addr,
            "an accepted TCP socket shares the listener's port"
        );
        peers.insert(peer);
    }
    assert_eq!(
        peers, client_addrs,
        "TCP: each client has its own accepted socket on the server (3 clients, 3 accepts); \
         UDP needs none"
    );
}
// ANCHOR_END: tcp_accepts_per_client

/// Runs the article's `threading_clients.py` (50 x 10) against `server`
/// and asserts it exits 0 after printing "0 failures".
#[track_caller]
fn assert_python_clients_all_answered(python: &str, server: SocketAddr) {
    let script = support::peer("threading_clients.py");
    let [host, port] = support::host_port(server);
    let args = [host, port, CLIENTS.to_string(), ROUNDS.to_string()];
    let out = support::run_client(python, &script, &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let tail = &lines[lines.len().saturating_sub(12)..]; // the count and the first failures
    assert!(
        out.status.success() && stdout.lines().any(|l| l == "0 failures"),
        "{} ({CLIENTS} threads x {ROUNDS} rounds) against {server} should exit 0 with \
         \"0 failures\" (every reply contains its request upper-cased); it exited {}.\n\
         last lines:\n{}\nstderr:\n{}",
        script.display(),
        out.status,
        tail.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
}

// ANCHOR: python_clients_against_ours
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn python_threading_clients_are_all_answered_by_our_threaded_server(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let Some(python) = support::python3() else {
        return;
    };
    let server = start(Reply::Threaded, family);
    assert_python_clients_all_answered(python, server.local_addr());
}
// ANCHOR_END: python_clients_against_ours

/// Checks that every reply from a Python `ThreadingUDPServer` at `addr` is
/// `"<thread name> [<REQUEST UPPER-CASED>]"` and comes from `addr`.
#[track_caller]
fn assert_python_server_answers_our_clients(addr: SocketAddr) {
    let logs = run_clients(addr, CLIENTS, ROUNDS);
    assert_every_reply(
        &logs,
        &format!(
            "Python's ThreadingUDPServer at {addr} replies \
             \"<thread name> [<REQUEST UPPER-CASED>]\" from its one socket (Python 3.10+ \
             names a handler thread \"Thread-N (process_request_thread)\")."
        ),
        |_, ex| {
            let from = ex.reply.from;
            let wrong_source =
                (from != addr).then(|| format!("the reply to {:?} came from {from}", ex.request));
            threaded_mismatch(ex).or(wrong_source)
        },
    );
}

// ANCHOR: our_clients_against_python
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn our_clients_are_all_answered_by_python_threading_server(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let Some(python) = support::python3() else {
        return;
    };
    let server = support::start_peer_server(python, "threading_server.py", family);
    assert_python_server_answers_our_clients(server.addr);
}
// ANCHOR_END: our_clients_against_python

// ANCHOR: exercise_5_1
/// Exercise 5.1: two clients taking turns each receive only their own replies.
///
/// Hint: two clients, each with its own socket (`net::bind_loopback`), and one
/// upper-casing server (`start(Reply::Upper, family)`). Three rounds: alice
/// sends `"alice N"` and must get `"ALICE N"`, then bob sends `"bob N"` and
/// must get `"BOB N"`, each with `recv::request` (which waits `DEFAULT_TIMEOUT`
/// at most). The server has no connection per client: every reply goes to the
/// source address of its own request. Do it for each family `net::require`
/// allows. Uses (imported at the top of this file): `start(Reply, Family) ->
/// server::ServerHandle` (in this file; `.local_addr()`); `net::require(Family)
/// -> bool`; `net::bind_loopback(Family) -> io::Result<UdpSocket>`;
/// `recv::request(&UdpSocket, to: SocketAddr, payload: &[u8], what: &str) ->
/// io::Result<Datagram>` (`.text()`, `.from`).
///
/// Catches: answers_the_previous_client
#[test]
#[ignore = "exercise 5.1: delete this line to start"]
fn two_clients_taking_turns_each_receive_only_their_own_replies() {
    todo!("exercise 5.1: write the test")
}
// ANCHOR_END: exercise_5_1

// ANCHOR: exercise_5_2
/// Exercise 5.2: the threaded server's 200 replies to 50 clients x 4 each go to their own client from their own thread.
///
/// Hint: `run_clients(server, 50, 4)`: 50 clients, 4 lock-step rounds each, at
/// most 50 requests in flight (the article's 50 clients; far fewer than the
/// server's receive buffer holds). Check every reply with `assert_every_reply`
/// and `threaded_mismatch`, then that the 200 replies name 200 different
/// threads (`served_by`), and after `shutdown()` that `threads_spawned` is 200.
/// Do it for each family `net::require` allows. Uses (imported at the top of
/// this file): `start(Reply::Threaded, family)`; `run_clients(server:
/// SocketAddr, clients: usize, rounds: usize) -> Vec<ClientLog>`
/// (`log.exchanges: Vec<Exchange>`, `exchange.reply: Datagram`);
/// `assert_every_reply(&logs, why: &str, |log, exchange| -> Option<String>)`;
/// `threaded_mismatch(&Exchange) -> Option<String>`; `served_by(&Datagram) ->
/// String`; `BTreeSet`; `ServerStats { threads_spawned, .. }`.
///
/// Catches: answers_the_previous_client, reuses_thread_names
#[test]
#[ignore = "exercise 5.2: delete this line to start"]
fn threaded_server_answers_fifty_clients_of_four_messages_each_from_its_own_thread() {
    todo!("exercise 5.2: write the test")
}
// ANCHOR_END: exercise_5_2

// ANCHOR: exercise_5_3
/// Exercise 5.3: every client of a burst gets back each of its request ids exactly once.
///
/// Hint: ten clients (`net::bind_loopback` each) and one threaded server
/// (`start(Reply::Threaded, family)`). First every client sends five requests
/// `"client-K id=N"` (N = 0..5) without waiting: 50 requests in flight. Then
/// each client receives five replies with `recv::recv_datagram`; the threads
/// may answer in any order, so read the id back from each reply: it must be
/// `"Thread-... [CLIENT-K ID=N]"` for this client's K, and every id 0..5 must
/// come back exactly once per client. A reply for another client, or two
/// requests answered together, is a bug of the server. Do it for each family
/// `net::require` allows. Uses (imported at the top of this file):
/// `start(Reply, Family) -> server::ServerHandle` (`.local_addr()`);
/// `net::bind_loopback(Family) -> io::Result<UdpSocket>`; `UdpSocket::send_to`;
/// `recv::recv_datagram(&UdpSocket, what: &str) -> io::Result<Datagram>`
/// (`.text() -> String`); `BTreeSet`.
///
/// Catches: answers_the_previous_client, merges_queued_requests
#[test]
#[ignore = "exercise 5.3: delete this line to start"]
fn every_client_of_a_burst_gets_back_each_of_its_request_ids_once() {
    todo!("exercise 5.3: write the test")
}
// ANCHOR_END: exercise_5_3
