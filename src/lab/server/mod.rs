//! The article's echo servers, run in background threads of the calling
//! process and controlled through a [`ServerHandle`].
//!
//! Two reply styles, both from the article:
//! - [`Reply::Upper`]: the first server, `sendto(data.upper(), client_addr)`.
//! - [`Reply::Threaded`]: `socketserver.ThreadingUDPServer`'s handler,
//!   replying `"<thread name> [<DATA UPPER-CASED>]"`.
//!
//! *How* datagrams are dispatched to threads (one thread, a thread per
//! datagram, a pool, one socket per thread, batches) is the server's
//! [`Model`], chosen with [`models::spawn`]. [`spawn`] keeps
//! the article's pairing: `Reply::Upper` on one thread, `Reply::Threaded`
//! with a new thread for every datagram.
//!
//! # Where the code is
//! | file | what it holds |
//! |---|---|
//! | `mod.rs` | [`spawn`]: the article's servers, as the article pairs reply and model |
//! | `echo.rs` | the replies ([`upper_reply`], [`threaded_reply`]), the counters ([`ServerStats`]) and how one request is answered (bad input included) |
//! | `handle.rs` | [`ServerHandle`]: address, counters, shutdown |
//! | `models/` | the five concurrency models, each a [`models::Model`] |
//! | `guard.rs` | [`spawn_guarded`]: a server behind chapter 15's defences ([`Guard`]) |
//!
//! # Bad input
//! A server must survive what the network brings. Upper-casing here works on
//! bytes, as Python's `bytes.upper()` does: ASCII letters are upper-cased and
//! every other byte is returned unchanged. So a request that is not UTF-8
//! gets its bytes back (ASCII letters upper-cased) and is counted in
//! [`ServerStats::non_utf8`]; the article's own server crashes on it instead,
//! because it decodes the bytes to print them. An empty request gets an empty
//! reply (threaded: `"Thread-N []"`). A reply that cannot be sent (a threaded
//! reply to a 65507-byte request is longer than any datagram) is counted in
//! [`ServerStats::send_errors`]; the server goes on.
//!
//! # Shutting down
//! Requests still queued when a server stops are not served; handler
//! threads already started are joined, so the final counters are complete.
//! How the threads are stopped without ever hanging: [`crate::lab::stop`].

mod echo;
mod guard;
mod handle;
pub mod models;

use std::io;
use std::net::SocketAddr;

pub use echo::{threaded_reply, upper_reply, Observer, Reply, Served, ServerStats};
pub use guard::{spawn_guarded, Amplification, Guard};
pub use handle::ServerHandle;
use models::{Model, ServerConfig};

/// Starts a server with `reply` on `bind` (use port 0 to let the OS choose),
/// in the article's model for that reply: [`Reply::Upper`] on one thread
/// ([`Model::Single`]), [`Reply::Threaded`] with a new thread per datagram
/// ([`Model::ThreadPerDatagram`]).
///
/// ```
/// use udp_lab::lab::server::{self, Reply};
/// let echo = server::spawn("127.0.0.1:0".parse().unwrap(), Reply::Upper)?;
/// println!("serving on {}", echo.local_addr());
/// let stats = echo.shutdown();
/// assert_eq!(stats.received, 0);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn spawn(bind: SocketAddr, reply: Reply) -> io::Result<ServerHandle> {
    spawn_observed(bind, reply, None)
}

/// Like [`spawn`], calling `observer` for every request served.
pub fn spawn_observed(
    bind: SocketAddr,
    reply: Reply,
    observer: Option<Observer>,
) -> io::Result<ServerHandle> {
    let config = ServerConfig {
        observer,
        ..ServerConfig::new(Model::articles(reply), reply)
    };
    models::spawn_with(bind, config)
}
