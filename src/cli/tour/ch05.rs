//! Tour block for chapter 05: one socket serves many clients without connections.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::thread;

use udp_lab::lab::server::{self, upper_reply, Reply};
use udp_lab::net::{self, Family};
use udp_lab::recv;

use super::Report;

/// The article's load: 50 client threads, 10 request/reply rounds each.
const CLIENTS: usize = 50;
const ROUNDS: usize = 10;

/// What the clients saw against one server.
#[derive(Default)]
struct Tally {
    /// Replies that were right and came to the client that asked.
    right: usize,
    /// The server thread names found in the replies (threaded server only).
    thread_names: BTreeSet<String>,
}

/// Runs the article's 50 x 10 clients against the threaded server, then
/// against the plain single-threaded echo.
pub fn demo() -> std::io::Result<Report> {
    let threaded = server::spawn(Family::V4.any_port(), Reply::Threaded)?;
    let t = run_clients(threaded.local_addr(), Reply::Threaded)?;
    let plain = server::spawn(Family::V4.any_port(), Reply::Upper)?;
    let p = run_clients(plain.local_addr(), Reply::Upper)?;
    let total = CLIENTS * ROUNDS;
    let held = t.right == total && t.thread_names.len() > 1 && p.right == total;
    Ok(Report {
        lines: vec![
            format!(
                "threaded server {}: {CLIENTS} clients x {ROUNDS} messages, {}/{total} replies right and to the right client",
                threaded.local_addr(),
                t.right
            ),
            format!("server thread names seen in the replies: {} different", t.thread_names.len()),
            format!("single-threaded echo {}: {}/{total} replies right and to the right client", plain.local_addr(), p.right),
        ],
        held,
    })
}

/// Starts the clients in threads named as Python names them (`Thread-1` ..)
/// and adds up what they saw.
fn run_clients(server: SocketAddr, style: Reply) -> std::io::Result<Tally> {
    let mut tally = Tally::default();
    thread::scope(|scope| {
        let clients: Vec<_> = (1..=CLIENTS)
            .map(|i| scope.spawn(move || one_client(&format!("Thread-{i}"), server, style)))
            .collect();
        for client in clients {
            let seen = client
                .join()
                .map_err(|_| std::io::Error::other("a client thread panicked"))??;
            tally.right += seen.right;
            tally.thread_names.extend(seen.thread_names);
        }
        Ok(tally)
    })
}

/// One client: `ROUNDS` requests `"<name> [n]"`, each reply checked.
fn one_client(name: &str, server: SocketAddr, style: Reply) -> std::io::Result<Tally> {
    let sock = net::bind_loopback(Family::V4)?;
    let mut seen = Tally::default();
    for n in 0..ROUNDS {
        let request = format!("{name} [{n}]").into_bytes();
        let reply = recv::request(&sock, server, &request, "the server's reply")?;
        let thread_name = match style {
            Reply::Upper => (reply.payload == upper_reply(&request)).then(String::new),
            Reply::Threaded => threaded_sender(&reply.payload, &request),
        };
        if let (Some(thread_name), true) = (thread_name, reply.from == server) {
            seen.right += 1;
            if style == Reply::Threaded {
                seen.thread_names.insert(thread_name);
            }
        }
    }
    Ok(seen)
}

/// The server thread's name if `reply` is `"<thread name> [<REQUEST UPPER-CASED>]"`.
fn threaded_sender(reply: &[u8], request: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(reply).ok()?;
    let expected_tail = format!(" [{}]", String::from_utf8_lossy(&upper_reply(request)));
    let name = text.strip_suffix(&expected_tail)?;
    name.starts_with("Thread-").then(|| name.to_string())
}
