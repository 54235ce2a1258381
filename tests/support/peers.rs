//! The Python peers in `tests/peers/`: the article's programs (its echo
//! server and client, its `ThreadingUDPServer` and 50 client threads),
//! with arguments for the host and port and a `listening on ADDR` first
//! line, so that they speak IPv6 too and never need a fixed port.
//!
//! python3 absent: a test that needs it reports itself skipped with
//! `udp_lab::net::skip` (a line on stderr naming the test and why) and
//! returns, except when `CI=true`, where a missing python3 is a failure (CI
//! installs it).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use udp_lab::net::Family;

use super::process::{self, Running, DEADLINE};

/// The python3 interpreter, or `None` when this machine has none: the
/// calling test is then reported skipped with [`udp_lab::net::skip`] (a line
/// on stderr naming it and why) and should return. Under `CI=true` a
/// missing python3 fails the test instead (CI installs it).
#[track_caller]
pub fn python3() -> Option<&'static str> {
    let found = Command::new("python3")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if found {
        return Some("python3");
    }
    udp_lab::net::skip(
        "python3 is not installed, so the Python peers cannot run here (CI installs it)",
    );
    None
}

/// The path of peer `script` (`echo_server.py`, ...).
pub fn peer(script: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(script)
}

/// Starts the peer server `script` on `family`'s loopback, port 0; it
/// prints `listening on ADDR` first, which says where it listens. Killed
/// when the guard is dropped.
#[track_caller]
pub fn start_peer_server(python: &str, script: &str, family: Family) -> Running {
    Running::spawn(
        Command::new(python)
            .arg(peer(script))
            .arg(family.loopback().to_string())
            .arg("0"),
        format!("{python} {script}"),
    )
}

/// Runs a Python client to completion (killed after [`DEADLINE`]) and
/// returns its output.
#[track_caller]
pub fn run_client(python: &str, script: &Path, args: &[String]) -> Output {
    process::output_within(
        Command::new(python).arg(script).args(args),
        DEADLINE,
        &script.display().to_string(),
    )
}

/// The host and port arguments the Python programs take for `addr`.
pub fn host_port(addr: SocketAddr) -> [String; 2] {
    [addr.ip().to_string(), addr.port().to_string()]
}
