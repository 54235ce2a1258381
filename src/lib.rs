//! # udp-lab: the small library behind the tests, the book and the `udp-lab` tool
//!
//! udp-lab teaches how UDP really behaves, one property at a time, on real
//! sockets. The proofs live in `tests/chNN_slug.rs`, the explanations in
//! `docs/NN-slug.md`; this crate holds only the few helpers both of them (and
//! the `udp-lab` command line) share, so that a test reads like the claim it
//! proves:
//!
//! | module | what it hides |
//! |---|---|
//! | [`net`] | binding to loopback on port 0, IPv4/IPv6, a read timeout on every socket |
//! | [`recv`] | receiving with a timeout that becomes a clear error naming what was awaited |
//! | [`server`] | the article's echo servers, started in a thread, with a handle that shuts them down |
//! | [`tune`] | socket options through `socket2` (buffer sizes, `SO_REUSEPORT`) |
//! | [`tcp`] | a connected TCP pair on loopback, for the "sticky packets" contrast |
//! | [`limits`] | `EMSGSIZE` (an oversized send) and Linux's buffer ceilings `rmem_max`, `wmem_max` |
//! | [`buffers`] | receive-buffer overflow measured: blast, drain, count, and the kernel's drop counter |
//! | [`relay`] | an impairment relay: seeded loss, duplication, reordering, delay and corruption between a client and a server |
//! | [`models`] | concurrency models: single, thread-per-datagram, pool, `SO_REUSEPORT`, `recvmmsg`/`sendmmsg` batches |
//! | [`bench`] | the load generator behind `udp-lab bench`: lock-step clients, latency percentiles, tables and a chart |
//! | [`reliable`] | reliability on top of UDP: retries with backoff, stop-and-wait, a pinger |
//!
//! ```
//! use udp_lab::{net::{self, Family}, recv, server::{self, Reply}};
//!
//! let echo = server::spawn(Family::V4.any_port(), Reply::Upper)?;
//! let client = net::bind_loopback(Family::V4)?;
//! let reply = recv::request(&client, echo.local_addr(), b"hello", "the echo reply")?;
//! assert_eq!(reply.payload, b"HELLO");
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod bench;
pub mod buffers;
pub mod limits;
pub mod models;
pub mod net;
pub mod recv;
pub mod relay;
pub mod reliable;
pub mod server;
pub mod tcp;
pub mod tune;
