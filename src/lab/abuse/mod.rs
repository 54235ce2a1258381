//! Abuse (chapter 15): what a UDP server must expect from the network, and
//! the defences the chapter measures.
//!
//! | module | what it holds |
//! |---|---|
//! | [`amplification`] | bytes out per byte in, measured for each reply style |
//! | [`limiter`] | a token bucket per source, on a clock of requests (deterministic) |
//! | [`token`] | address validation: HMAC tokens bound to a source address |
//! | [`spoof`] | off-path spoofed replies: a naive client, a checked one, port spread, request ids |
//! | [`forge`] | a hand-built IPv4 + UDP datagram with any source address, sent on a raw socket |
//! | [`reflection`] | the reflection scenario, run inside a private network namespace |
//! | [`storm`] | arbitrary datagrams sent so that none overflows the server's buffer (the fuzzing law) |
//!
//! The server side of the defences is [`crate::lab::server::Guard`].

pub mod amplification;
pub mod forge;
pub mod limiter;
pub mod reflection;
pub mod spoof;
pub mod storm;
pub mod token;
