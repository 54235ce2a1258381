//! Lock-step clients released together: the article's 50 client threads
//! of 10 messages each, in one place for everyone who runs them (chapters
//! 05 and 13, the tour, and `udp-lab bench --thread-per-client`).
//!
//! Each client is one thread with its own socket. Every client binds its
//! socket first; then a start line (a barrier) releases them all at once,
//! so that they really run at the same time. A client sends one request,
//! waits for its reply, and only then sends the next (lock-step): at most one
//! reply per client is ever queued, so no receive buffer overflows.
//!
//! [`run`] is the chapters' client: it records every reply with its source
//! and checks nothing, so a wrong reply stays for the test to see. What a
//! client does in one round is a [`Client`]; the load generator's timing
//! client is another one (it counts instead of recording).
//!
//! ```
//! use udp_lab::lab::load::clients;
//! use udp_lab::lab::server::{self, Reply};
//! use udp_lab::net::Family;
//!
//! let echo = server::spawn(Family::V4.any_port(), Reply::Upper)?;
//! let logs = clients::run(echo.local_addr(), 5, 3)?;
//! let first = &logs[0].exchanges[0];
//! assert_eq!((first.request.as_str(), first.reply.text()), ("client-000 [0]", "CLIENT-000 [0]".into()));
//! assert!(logs.iter().flat_map(|l| &l.exchanges).all(|ex| ex.reply.from == echo.local_addr()));
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::sync::{Condvar, Mutex};
use std::thread;
use std::time::Instant;

use super::Length;
use crate::lab::server::{threaded_reply, upper_reply, Reply};
use crate::net::{self, Family};
use crate::recv::{self, Datagram};

// ANCHOR: run
/// One round of one client: what it sent and what came back.
#[derive(Clone, Debug)]
pub struct Exchange {
    /// The request, `"client-007 [3]"`.
    pub request: String,
    /// The datagram taken for its reply, with the source it came from.
    pub reply: Datagram,
}

/// Everything one client saw, kept for the caller's checks.
#[derive(Debug)]
pub struct ClientLog {
    /// The client's name, `client-007`.
    pub name: String,
    /// Its socket, still open: a late datagram to it can still be looked for.
    pub socket: UdpSocket,
    /// Its rounds, in order.
    pub exchanges: Vec<Exchange>,
}

/// Runs `clients` clients against `server`, all released at once. Each has
/// its own socket (port 0) and does `rounds` lock-step rounds: send
/// `"<name> [n]"`, wait for the reply, only then send the next.
///
/// Fails when any client did not get all its replies (a receive waits
/// [`net::DEFAULT_TIMEOUT`]), naming every such client and why.
pub fn run(server: SocketAddr, clients: usize, rounds: usize) -> io::Result<Vec<ClientLog>> {
    let finished = lock_step(server, clients, Length::Rounds(rounds), |i| Recorder {
        name: client_name(i),
        exchanges: Vec::with_capacity(rounds),
    })?;
    let mut logs = Vec::with_capacity(clients);
    let mut failures = Vec::new();
    for (i, client) in finished.into_iter().enumerate() {
        match client {
            Ok(done) => logs.push(ClientLog {
                name: done.client.name,
                socket: done.socket,
                exchanges: done.client.exchanges,
            }),
            Err(e) => failures.push(format!("{}: {e}", client_name(i))),
        }
    }
    if failures.is_empty() {
        return Ok(logs);
    }
    Err(io::Error::other(format!(
        "{} of {clients} clients did not get all {rounds} replies from {server}; on loopback \
         a reply takes microseconds, so a timeout means it was never sent or was dropped:\n{}",
        failures.len(),
        failures.join("\n")
    )))
}

/// The chapters' client: records each reply as it came.
struct Recorder {
    name: String,
    exchanges: Vec<Exchange>,
}

impl Client for Recorder {
    fn round(&mut self, sock: &UdpSocket, server: SocketAddr, round: u64) -> io::Result<()> {
        let request = format!("{} [{round}]", self.name);
        let what = format!("the reply to {request:?}");
        // Another program's late datagram may reach this port: skip what is
        // neither from the server nor about this client, keep the rest.
        let reply =
            recv::request_skipping_strays(sock, server, request.as_bytes(), &self.name, &what)?;
        self.exchanges.push(Exchange { request, reply });
        Ok(())
    }
}
/// What one lock-step client does: its socket, and one request/reply
/// round on it.
pub trait Client: Send {
    /// The client's socket, bound before the start so that binding is not
    /// part of the race: by default an unconnected socket on the loopback
    /// of `server`'s family (it sees datagrams from anyone).
    fn socket(&self, server: SocketAddr) -> io::Result<UdpSocket> {
        net::bind_loopback(Family::of(&server))
    }

    /// Round number `round` (from 0): send one request to `server` on
    /// `sock` and wait for its reply. An error ends this client only.
    fn round(&mut self, sock: &UdpSocket, server: SocketAddr, round: u64) -> io::Result<()>;
}

/// A client after its run.
pub struct Finished<C> {
    /// The client, with whatever it recorded.
    pub client: C,
    /// Its socket, still open.
    pub socket: UdpSocket,
    /// When it was released.
    pub began: Instant,
    /// When it finished its last round.
    pub ended: Instant,
}

/// Runs `clients` lock-step clients against `server`, client `i` made by
/// `new_client(i)`, each on its own thread named `client-00i` with its own
/// socket, all released together; each does rounds for `length`. Returns
/// what each client came to, in order (a panic is an error too); fails
/// only when the threads cannot be started.
pub fn lock_step<C: Client>(
    server: SocketAddr,
    clients: usize,
    length: Length,
    new_client: impl Fn(usize) -> C + Sync,
) -> io::Result<Vec<io::Result<Finished<C>>>> {
    released_together(clients, client_name, |i, start| {
        let mut client = new_client(i);
        let socket = client.socket(server);
        start.wait()?; // wait even if binding failed, or the others would wait forever
        let socket = socket?;
        let began = Instant::now();
        let mut round = 0;
        while match length {
            Length::Rounds(n) => round < n as u64,
            Length::For(d) => began.elapsed() < d,
        } {
            client.round(&socket, server, round)?;
            round += 1;
        }
        Ok(Finished {
            client,
            socket,
            began,
            ended: Instant::now(),
        })
    })
}

// ANCHOR_END: run

/// `client-007`: zero-padded, so no name is a prefix of another.
pub fn client_name(index: usize) -> String {
    format!("client-{index:03}")
}

/// The thread a threaded reply names: the text before its first `" ["`
/// (`Thread-7` in `"Thread-7 [CLIENT-000 [0]]"`), or the whole text.
pub fn served_by(reply: &Datagram) -> String {
    let text = reply.text();
    text.split_once(" [")
        .map_or(text.clone(), |(thread, _)| thread.to_string())
}

impl Exchange {
    /// The reply the article's `style` of server owes this request: the
    /// request upper-cased, or for [`Reply::Threaded`] `"<thread name>
    /// [<REQUEST UPPER-CASED>]"` naming the thread the reply names, which
    /// must be a `Thread-N` handler (ours, or Python's `Thread-N
    /// (process_request_thread)`); `Thread-N` stands for it when the reply
    /// names none.
    pub fn owed(&self, style: Reply) -> Vec<u8> {
        let request = self.request.as_bytes();
        match style {
            Reply::Upper => upper_reply(request),
            Reply::Threaded => {
                let thread = Some(served_by(&self.reply)).filter(|t| t.starts_with("Thread-"));
                threaded_reply(thread.as_deref().unwrap_or("Thread-N"), request)
            }
        }
    }

    /// Whether the reply's content is what `style` owes (its source is the
    /// caller's to check).
    pub fn is_answer(&self, style: Reply) -> bool {
        self.reply.payload == self.owed(style)
    }
}

impl fmt::Display for Exchange {
    /// `sent "client-003 [2]", got "CLIENT-003 [2]" from 127.0.0.1:40123`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "sent {:?}, got {:?} from {}",
            self.request,
            self.reply.text(),
            self.reply.from
        )
    }
}

/// Starts `threads` threads, thread `i` named `name(i)` and running
/// `body(i, start)`, where `start` releases them all at once. Returns each
/// thread's result, in order (a panic becomes an error). Fails when a thread
/// cannot be started; the ones already started are then released with an
/// error instead of waiting forever.
pub fn released_together<T: Send>(
    threads: usize,
    name: impl Fn(usize) -> String,
    body: impl Fn(usize, &StartLine) -> io::Result<T> + Sync,
) -> io::Result<Vec<io::Result<T>>> {
    let start = StartLine::new(threads);
    thread::scope(|scope| {
        let mut running = Vec::with_capacity(threads);
        for i in 0..threads {
            let (body, start) = (&body, &start);
            let spawned = thread::Builder::new()
                .name(name(i))
                .spawn_scoped(scope, move || body(i, start));
            match spawned {
                Ok(handle) => running.push((name(i), handle)),
                Err(e) => {
                    start.call_off();
                    return Err(net::context(
                        e,
                        format!("starting thread {} of {threads}", i + 1),
                    ));
                }
            }
        }
        Ok(running
            .into_iter()
            .map(|(name, handle)| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err(io::Error::other(format!("{name} panicked"))))
            })
            .collect())
    })
}

/// Where threads wait until all of them are ready, like a
/// [`std::sync::Barrier`] that the thread starting them can also call off
/// (when one of them cannot be started, the others must not wait forever).
pub struct StartLine {
    /// How many have arrived, and whether the start was called off.
    state: Mutex<(usize, bool)>,
    changed: Condvar,
    expected: usize,
}

impl StartLine {
    fn new(expected: usize) -> StartLine {
        StartLine {
            state: Mutex::new((0, false)),
            changed: Condvar::new(),
            expected,
        }
    }

    /// Arrives, then waits until all have arrived (`Ok`) or the start was
    /// called off (an error).
    pub fn wait(&self) -> io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.0 += 1;
        self.changed.notify_all();
        let state = self
            .changed
            .wait_while(state, |(arrived, off)| *arrived < self.expected && !*off)
            .unwrap_or_else(|p| p.into_inner());
        match state.1 {
            true => Err(io::Error::other(
                "the start was called off: another thread could not be started",
            )),
            false => Ok(()),
        }
    }

    fn call_off(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).1 = true;
        self.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client whose rounds fail when its index is odd.
    struct FailsIfOdd(usize);

    impl Client for FailsIfOdd {
        fn round(&mut self, _: &UdpSocket, _: SocketAddr, _: u64) -> io::Result<()> {
            match self.0 % 2 {
                1 => Err(io::Error::other(format!("client {} fails", self.0))),
                _ => Ok(()),
            }
        }
    }

    #[test]
    fn a_failing_client_ends_alone_and_its_error_comes_back_in_its_place() {
        let server = SocketAddr::from(([127, 0, 0, 1], 9));
        let finished =
            lock_step(server, 4, Length::Rounds(3), FailsIfOdd).expect("four threads start");
        let outcome: Vec<Result<usize, String>> = finished
            .into_iter()
            .map(|f| f.map(|done| done.client.0).map_err(|e| e.to_string()))
            .collect();
        assert_eq!(
            outcome,
            [
                Ok(0),
                Err("client 1 fails".to_string()),
                Ok(2),
                Err("client 3 fails".to_string())
            ],
            "each client's result in its place: a failure ends that client only"
        );
    }

    #[test]
    fn a_panicking_thread_is_an_error_naming_it() {
        let results = released_together(
            2,
            |i| format!("worker-{i}"),
            |i, start| {
                start.wait()?;
                assert!(i == 0, "worker {i} panics on purpose");
                Ok(i)
            },
        )
        .expect("two threads start");
        let shown: Vec<Result<usize, String>> = results
            .into_iter()
            .map(|r| r.map_err(|e| e.to_string()))
            .collect();
        assert_eq!(
            shown,
            [Ok(0), Err("worker-1 panicked".to_string())],
            "a panic comes back as an error in that thread's place, not as a panic of the caller"
        );
    }

    #[test]
    fn a_start_called_off_releases_the_waiters_with_an_error() {
        let start = StartLine::new(3);
        thread::scope(|scope| {
            let waiting = scope.spawn(|| start.wait());
            start.call_off();
            let got = waiting.join().expect("the waiter does not panic");
            assert!(
                got.is_err(),
                "one of three arrived and the start was called off: the waiter is released with \
                 an error instead of waiting forever, got {got:?}"
            );
        });
    }
}
