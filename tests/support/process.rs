//! Child processes in tests, never left behind and never waited for
//! forever: [`output_within`] runs one to completion under a deadline;
//! [`Running`] holds one that serves until stopped, reads where it listens
//! from its first line (`listening on ADDR`: nothing uses a fixed port),
//! and kills it when dropped. The Python peers (`peers.rs`) and the
//! `udp-lab` binary (`cli.rs`) are both run through here.

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

/// How long any child process may take to start, answer or finish.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// Runs `command` to completion with stdout and stderr captured, and returns
/// its output. After `deadline` it is killed (`kill -KILL`) and the test
/// fails: a child that hangs is a failure, never a hung test. `what` names
/// the command in the messages.
#[track_caller]
pub fn output_within(command: &mut Command, deadline: Duration, what: &str) -> Output {
    let child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {what}: {e}"));
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    // The wait runs in a thread so that this one can stop waiting at the deadline.
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(deadline) {
        Ok(output) => output.unwrap_or_else(|e| panic!("waiting for {what}: {e}")),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!(
                "{what} did not finish within {deadline:?}, so it was killed: it must never hang"
            );
        }
    }
}

/// A child process that serves until it is stopped (a Python peer server,
/// `udp-lab serve`, `udp-lab relay`); killed when dropped, so no test
/// leaves one behind.
pub struct Running {
    child: Child,
    /// Where it listens, from its `listening on ADDR` first line.
    pub addr: SocketAddr,
    /// Every stdout line after the first, read by a thread that drains the
    /// pipe (a full pipe would block the child's logging).
    lines: Receiver<String>,
    /// The command, for the messages.
    what: String,
}

impl Running {
    /// Starts `command` (its stderr goes to the test's) and reads where it
    /// listens from its first stdout line, which must be `listening on
    /// ADDR`, within [`DEADLINE`]. `what` names the command in the messages.
    #[track_caller]
    pub fn spawn(command: &mut Command, what: String) -> Running {
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {what}: {e}"));
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
                "the first stdout line of {what} must be 'listening on ADDR' (it binds port 0 \
                 and says which port it got); within {DEADLINE:?} it gave {first:?}"
            );
        };
        Running {
            child,
            addr,
            lines,
            what,
        }
    }

    /// The next stdout line, waited for at most [`DEADLINE`]; `what` says
    /// which line the test waits for.
    #[track_caller]
    pub fn next_line(&self, what: &str) -> String {
        self.lines.recv_timeout(DEADLINE).unwrap_or_else(|e| {
            panic!(
                "{} printed no line for {what} within {DEADLINE:?}: {e:?}",
                self.what
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
                    self.what
                ),
            }
        }
        let status = self
            .child
            .wait()
            .unwrap_or_else(|e| panic!("waiting for {}: {e}", self.what));
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

/// The name libtest gives the test function `test` of the module whose
/// `module_path!()` is `module`, for running that one test again with
/// `--exact`: the path without the crate, so `holder` in `cli_lab` alone,
/// `cli_lab::holder` when `cli_lab` is a module of the whole suite
/// (`tests/suite.rs`).
pub fn exact_test_name(module: &str, test: &str) -> String {
    match module.split_once("::") {
        Some((_crate, inner)) => format!("{inner}::{test}"),
        None => test.to_string(),
    }
}
