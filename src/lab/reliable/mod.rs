//! Reliability built on UDP, as a course builds it next: a request/response
//! client with retries, a stop-and-wait stream transfer, and a pinger.
//!
//! UDP is "best effort": a datagram arrives once, twice, late, altered or not
//! at all, and the sender is never told. Everything here is the
//! application's answer to that, with one mechanism per problem:
//!
//! | problem | mechanism |
//! |---|---|
//! | a request or its reply is lost | timeout and retry, the timeout doubling each time ([`RetryPolicy`], [`Client`]) |
//! | a reply is duplicated or arrives after a retry was answered | a sequence number in every request; replies for an earlier number are dropped |
//! | a stranger sends a "reply" | replies are accepted only from the server's address |
//! | a stream must arrive whole and in order | stop-and-wait: one numbered chunk at a time, each acknowledged ([`send_stream`], [`StreamReceiver`]) |
//! | the network alters bytes | an end-to-end check ([`Integrity`]), because UDP's checksum covers one hop only |
//!
//! # Timing and correctness
//! Timeouts decide only *when* to send again, never *what* is accepted:
//! acceptance is by sequence number and source address. So a slow machine
//! can add retransmissions but cannot change what is delivered.
//!
//! # Where the code is
//! | file | what it holds |
//! |---|---|
//! | `retry.rs` | [`RetryPolicy`] and the retrying request/response [`Client`] |
//! | `stop_and_wait.rs` | [`Frame`], [`send_stream`], [`StreamReceiver`], [`Integrity`] |
//! | `pinger.rs` | [`ping`] and its [`PingReport`] |
//! | `over_relay.rs` | chapter 12's demonstrations through the relay: [`lossy`], [`fast_retry`], [`requests_through`], [`transfer`] |

mod over_relay;
mod pinger;
mod retry;
mod stop_and_wait;

pub use over_relay::{fast_retry, lossy, requests_through, transfer, Requests};
pub use pinger::{ping, ping_message, PingReport, PingResult, PingSettings};
pub use retry::{Answer, Client, ClientStats, RetryPolicy};
pub use stop_and_wait::{
    send_stream, Frame, Integrity, ReceiverStats, SenderStats, StopAndWait, StreamReceiver,
    Unchecked, FRAME_HEADER,
};
