//! The contenders `udp-lab bench` runs as child processes: `udp-lab serve
//! --model M --quiet` (it prints `listening on ADDR` first) and the article's
//! Python server (it takes a port and prints nothing, so it is probed until
//! it answers). Each is killed when its [`ChildServer`] is dropped.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use udp_lab::lab::load;
use udp_lab::net;

use super::{Guard, Running, START_DEADLINE};
use crate::cli::Failure;

/// A server in a child process, killed when dropped.
pub(super) struct ChildServer {
    pub(super) child: Child,
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ChildServer {
    /// Starts this very program with `args`; it prints `listening on ADDR` first.
    pub(super) fn udp_lab(args: &[&str]) -> Result<Running, Failure> {
        let exe = std::env::current_exe().map_err(|e| {
            Failure::Usage(format!("cannot find the udp-lab program to start: {e}"))
        })?;
        let mut child = Command::new(exe)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| {
                Failure::Usage(format!("cannot start `udp-lab {}`: {e}", args.join(" ")))
            })?;
        let first = first_line(&mut child);
        let server = ChildServer { child };
        let addr = first
            .as_deref()
            .and_then(|l| l.strip_prefix("listening on "))
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| {
                Failure::Usage(format!(
                    "`udp-lab {}` did not say where it listens (got {first:?})",
                    args.join(" ")
                ))
            })?;
        Ok(Running {
            addr,
            guard: Guard::Child(server),
        })
    }

    /// Starts `python3 PATH 127.0.0.1 PORT` and waits until it answers (the
    /// article's server prints nothing). The port is a free one below the
    /// ephemeral range, so no port-0 socket can take it first; if Python
    /// still cannot bind it (it exits), another port is tried.
    pub(super) fn python(path: &PathBuf) -> Result<Running, Failure> {
        for _ in 0..5 {
            let port = net::free_port_below_ephemeral_range()
                .map_err(|e| Failure::Usage(format!("finding a free port for python3: {e}")))?;
            let child = Command::new("python3")
                .arg(path)
                .args(["127.0.0.1", &port.to_string()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| {
                    Failure::Usage(format!("cannot start python3 {}: {e}", path.display()))
                })?;
            let mut server = ChildServer { child };
            let addr = SocketAddr::from(([127, 0, 0, 1], port));
            let began = Instant::now();
            while load::probe(addr, Duration::from_millis(100)).is_err() {
                if !matches!(server.child.try_wait(), Ok(None)) {
                    break; // it exited: most likely the port was taken meanwhile
                }
                if began.elapsed() > START_DEADLINE {
                    return Err(Failure::Usage(format!(
                        "python3 {} did not answer on {addr} within {START_DEADLINE:?}",
                        path.display()
                    )));
                }
            }
            if matches!(server.child.try_wait(), Ok(None)) {
                return Ok(Running {
                    addr,
                    guard: Guard::Child(server),
                });
            }
        }
        Err(Failure::Usage(format!(
            "python3 {} exited at start on 5 different ports (does it bind HOST PORT?)",
            path.display()
        )))
    }
}

/// The child's first stdout line (within [`START_DEADLINE`]); the rest is
/// drained by a thread so the child never blocks on a full pipe.
fn first_line(child: &mut Child) -> Option<String> {
    let stdout = child.stdout.take()?;
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines();
        let _ = tx.send(lines.next());
        for _ in lines {}
    });
    rx.recv_timeout(START_DEADLINE)
        .ok()
        .flatten()
        .and_then(Result::ok)
}
