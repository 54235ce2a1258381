//! # udp-lab: the library behind the tests, the book and the `udp-lab` tool
//!
//! udp-lab teaches how UDP really behaves, one property at a time, on real
//! sockets. The proofs live in `tests/chNN_slug.rs`, the explanations in
//! `docs/NN-slug.md`; this crate holds the helpers both of them (and the
//! `udp-lab` command line) share, so that a test reads like the claim it
//! proves. It has two tiers.
//!
//! ## Read these first: the socket tier
//! Thin helpers around one socket, used by every chapter. Each is a file in
//! `src/`, and none of them uses the lab.
//!
//! | module | what it hides |
//! |---|---|
//! | [`net`] | binding to loopback on port 0, IPv4/IPv6, a read timeout on every socket |
//! | [`recv`] | receiving with a timeout that becomes a clear error naming what was awaited |
//! | [`tune`] | socket options through `socket2` (buffer sizes, `SO_REUSEPORT`) |
//! | [`limits`] | `EMSGSIZE` (an oversized send) and Linux's buffer ceilings `rmem_max`, `wmem_max` |
//! | [`tcp`] | a connected TCP pair on loopback, for the "sticky packets" contrast |
//!
//! ## Then the lab: [`lab`]
//! The programs the chapters run against those sockets, in `src/lab/`:
//! echo servers and their concurrency models ([`lab::server`]), buffer
//! overflow ([`lab::buffers`]), an impairment relay ([`lab::relay`]),
//! reliability ([`lab::reliable`]), good citizenship on a shared network
//! ([`lab::congestion`]), a load generator ([`lab::load`]), and
//! the one way they all stop ([`lab::stop`]).
//!
//! The `udp-lab` command (`src/main.rs`, `src/cli/`) sits on top of both:
//! dependencies point one way, command line → lab → socket tier.
//!
//! ```
//! use udp_lab::lab::server::{self, Reply};
//! use udp_lab::net::{self, Family};
//! use udp_lab::recv;
//!
//! let echo = server::spawn(Family::V4.any_port(), Reply::Upper)?;
//! let client = net::bind_loopback(Family::V4)?;
//! let reply = recv::request(&client, echo.local_addr(), b"hello", "the echo reply")?;
//! assert_eq!(reply.payload, b"HELLO");
//! # Ok::<(), std::io::Error>(())
//! ```

pub mod limits;
pub mod net;
pub mod recv;
pub mod tcp;
pub mod tune;

pub mod lab;
