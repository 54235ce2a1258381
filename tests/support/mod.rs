//! Test-only support: one harness for every test file, split by purpose.
//!
//! | module | what it is for |
//! |---|---|
//! | [`process`] | child processes: run one to completion under a deadline, or hold one that serves (`listening on ADDR`) and is killed when dropped |
//! | [`peers`] | the Python peers in `tests/peers/` (the article's programs): python3 or a reason to skip, starting and running them |
//! | [`cli`] | the `udp-lab` binary, run as a student runs it |
//! | [`clients`] | the chapters' lock-step clients (`udp_lab::lab::load::clients`): run, and every reply checked |
//!
//! The peers' functions are used by every interop test, so they are also
//! here at the top: `support::python3()`, `support::peer(..)`.

// Each test file uses a different part of this module; the rest is not dead.
#![allow(dead_code)]

pub mod cli;
pub mod clients;
pub mod peers;
pub mod process;

// As above: a test file that uses none of these must not warn about them.
#[allow(unused_imports)]
pub use peers::{host_port, peer, python3, run_client, start_peer_server};
