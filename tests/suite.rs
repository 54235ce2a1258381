//! The whole suite as one test binary: what a plain `cargo test` runs.
//!
//! Every file of `tests/` (a chapter's proof, or a tool's tests) is a module
//! here, so its tests are named after their file:
//! `ch02_empty_datagrams::empty_datagram_is_delivered_as_zero_bytes_from_its_sender`.
//! One binary is linked once, and its tests run side by side, where 28
//! binaries would be linked 28 times and run one after another: on a 2-core
//! machine that halves the wait of a fresh clone's `cargo test`
//! (`bash .ci/setup-time`, see README.md).
//!
//! Each file is also a test target of its own (`test = false` in
//! Cargo.toml keeps it out of a plain `cargo test`), so one chapter still
//! runs alone: `cargo test --test ch02_empty_datagrams`. A file added to
//! `tests/` is listed here and in Cargo.toml (`tests/docs_sync.rs` checks).
//!
//! Run: `cargo test` (or `cargo test --test suite ch02_` for one chapter's
//! tests inside it)

// Each file declares `mod support;` for its own target, so the support
// module is compiled once per file here: a copy each, not shared state.
#![allow(clippy::duplicate_mod)]

#[path = "ch01_echo.rs"]
mod ch01_echo;
#[path = "ch02_empty_datagrams.rs"]
mod ch02_empty_datagrams;
#[path = "ch03_message_boundaries.rs"]
mod ch03_message_boundaries;
#[path = "ch04_absent_server.rs"]
mod ch04_absent_server;
#[path = "ch05_concurrency.rs"]
mod ch05_concurrency;
#[path = "ch06_truncation.rs"]
mod ch06_truncation;
#[path = "ch07_datagram_size.rs"]
mod ch07_datagram_size;
#[path = "ch08_buffers.rs"]
mod ch08_buffers;
#[path = "ch09_timeouts.rs"]
mod ch09_timeouts;
#[path = "ch10_connected_sockets.rs"]
mod ch10_connected_sockets;
#[path = "ch11_impairments.rs"]
mod ch11_impairments;
#[path = "ch12_reliability.rs"]
mod ch12_reliability;
#[path = "ch13_concurrency_models.rs"]
mod ch13_concurrency_models;
#[path = "ch14_congestion.rs"]
mod ch14_congestion;
#[path = "ch15_abuse.rs"]
mod ch15_abuse;
#[path = "ch16_path_mtu.rs"]
mod ch16_path_mtu;
#[path = "ch17_broadcast_multicast.rs"]
mod ch17_broadcast_multicast;
#[path = "ch18_multihoming.rs"]
mod ch18_multihoming;
#[path = "ch19_fast_paths.rs"]
mod ch19_fast_paths;
#[path = "cli.rs"]
mod cli;
#[path = "cli_bench.rs"]
mod cli_bench;
#[path = "cli_bench_bulk.rs"]
mod cli_bench_bulk;
#[path = "cli_buffers.rs"]
mod cli_buffers;
#[path = "cli_doctor.rs"]
mod cli_doctor;
#[path = "cli_lab.rs"]
mod cli_lab;
#[path = "cli_relay.rs"]
mod cli_relay;
#[path = "docs_sync.rs"]
mod docs_sync;
#[path = "socket_tier.rs"]
mod socket_tier;
