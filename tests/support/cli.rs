//! Test-only support for the `cli*` test files: the `udp-lab` binary run as
//! a student runs it, as a separate process. A command that ends is run to
//! completion under a deadline ([`run`]); a command that serves until it is
//! stopped (`serve`, `relay`) is held by a [`Running`] guard that reads where
//! it listens from its first line and kills it when dropped.

// Each cli test file uses a different part of this module; the rest is not dead.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

/// How long any `udp-lab` process may take to start, answer or finish.
pub const DEADLINE: Duration = super::PYTHON_DEADLINE;

/// The `udp-lab` binary cargo built for these tests.
pub fn udp_lab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_udp-lab"))
}

/// Runs `udp-lab ARGS` to completion, killing it after [`DEADLINE`]: a
/// command that hangs is a failure, never a hung test.
pub fn run(args: &[&str]) -> Output {
    super::output_within(udp_lab().args(args), DEADLINE, &shown(args))
}

/// A run's stdout as text.
pub fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A run's stderr as text.
pub fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A long-running `udp-lab` command (`serve`, `relay`); killed when dropped,
/// so no test leaves one behind.
pub struct Running {
    child: Child,
    /// Where it listens, from its `listening on ADDR` first line.
    pub addr: SocketAddr,
    /// Every stdout line after the first, read by a thread that drains the
    /// pipe (a full pipe would block the command's logging).
    lines: Receiver<String>,
    /// `udp-lab ARGS`, for the messages.
    command: String,
}

impl Running {
    /// Starts `udp-lab ARGS` and reads where it listens from its first line,
    /// which must be `listening on ADDR` (no fixed ports: it binds port 0).
    #[track_caller]
    pub fn start(args: &[&str]) -> Running {
        let command = shown(args);
        let mut child = udp_lab()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {command}: {e}"));
        let lines = read_lines(child.stdout.take().expect("stdout was piped"));
        let first = lines.recv_timeout(DEADLINE);
        let addr = first
            .as_deref()
            .ok()
            .and_then(|line| line.strip_prefix("listening on "))
            .and_then(|a| a.parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the first stdout line of {command} must be 'listening on ADDR'; \
                 within {DEADLINE:?} it gave {first:?}"
            );
        };
        Running {
            child,
            addr,
            lines,
            command,
        }
    }

    /// The next stdout line, waited for at most [`DEADLINE`]; `what` says
    /// which line the test waits for.
    #[track_caller]
    pub fn next_line(&self, what: &str) -> String {
        self.lines.recv_timeout(DEADLINE).unwrap_or_else(|e| {
            panic!(
                "{} printed no line for {what} within {DEADLINE:?}: {e:?}",
                self.command
            )
        })
    }

    /// Sends `kill -SIGNAL`, then returns the exit status and the lines
    /// printed until stdout closed.
    #[track_caller]
    pub fn stop_with(mut self, signal: &str) -> (ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(&pid)
            .status();
        assert!(
            sent.is_ok_and(|s| s.success()),
            "kill -{signal} {pid} failed"
        );
        let mut rest = Vec::new();
        loop {
            match self.lines.recv_timeout(DEADLINE) {
                Ok(line) => rest.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => panic!(
                    "{} did not stop within {DEADLINE:?} of SIG{signal}",
                    self.command
                ),
            }
        }
        let status = self
            .child
            .wait()
            .unwrap_or_else(|e| panic!("waiting for {}: {e}", self.command));
        (status, rest)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `stdout` line by line in a thread; the channel closes at EOF.
fn read_lines(stdout: impl Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// `` `udp-lab ARGS` ``, as a student would type it.
fn shown(args: &[&str]) -> String {
    format!("`udp-lab {}`", args.join(" "))
}
