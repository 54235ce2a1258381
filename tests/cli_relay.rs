//! `udp-lab relay` and `udp-lab ping` as processes, between real programs.
//!
//! Claim: the relay of chapter 11 and the pinger of chapter 12 work as
//! commands a student runs in terminals: `udp-lab relay --listen
//! 127.0.0.1:0` prints `listening on ADDR` first (no fixed ports), relays
//! between real processes, and prints its counters when stopped; `udp-lab
//! ping` reports loss and round-trip times and exits 1 when nothing came
//! back. Bad input is one line on stderr and exit code 2.
//!
//! Run: `cargo test --test cli_relay`

mod support;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, ChildStdout, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use rstest::rstest;
use udp_lab::net::{self, Family};
use udp_lab::recv;
use udp_lab::server::{self, Reply};

/// How long any `udp-lab` process may take to start, answer or finish.
const DEADLINE: Duration = support::PYTHON_DEADLINE;

fn udp_lab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_udp-lab"))
}

/// A long-running `udp-lab` command (`serve`, `relay`); killed when dropped.
struct Running {
    child: Child,
    addr: SocketAddr,
    lines: Receiver<String>,
}

impl Running {
    /// Starts `udp-lab ARGS` and reads where it listens from its first line.
    fn start(args: &[&str]) -> Running {
        let mut child = udp_lab()
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starting the udp-lab binary");
        let lines = read_lines(child.stdout.take().expect("stdout was piped"));
        let first = lines.recv_timeout(DEADLINE).unwrap_or_default();
        let addr = first
            .strip_prefix("listening on ")
            .and_then(|a| a.parse().ok());
        let Some(addr) = addr else {
            let _ = child.kill();
            panic!(
                "the first line of `udp-lab {}` is {first:?}, expected 'listening on ADDR'",
                args.join(" ")
            );
        };
        Running { child, addr, lines }
    }

    /// Sends SIGTERM; returns the exit status and the lines printed until stdout closed.
    fn terminate(mut self) -> (ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "kill -TERM {pid} failed");
        let mut rest = Vec::new();
        loop {
            match self.lines.recv_timeout(DEADLINE) {
                Ok(line) => rest.push(line),
                Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    panic!("udp-lab did not stop within {DEADLINE:?} of SIGTERM")
                }
            }
        }
        (self.child.wait().expect("waiting for udp-lab"), rest)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every stdout line, from a thread that keeps the pipe drained.
fn read_lines(stdout: ChildStdout) -> Receiver<String> {
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

/// Runs `udp-lab ARGS` to completion, killed after [`DEADLINE`].
fn run(args: &[&str]) -> Output {
    let child = udp_lab()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting the udp-lab binary");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(DEADLINE).map_or_else(
        |_| {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!(
                "`udp-lab {}` did not finish within {DEADLINE:?}",
                args.join(" ")
            )
        },
        |output| output.expect("waiting for udp-lab"),
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ANCHOR: chain
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn ping_through_a_relay_process_to_a_serve_process_gets_every_echo(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let any = family.any_port().to_string();
    let serve = Running::start(&["serve", "--bind", &any, "--quiet"]);
    let relay = Running::start(&[
        "relay",
        "--listen",
        &any,
        "--to",
        &serve.addr.to_string(),
        "--seed",
        "7",
    ]);

    let out = run(&[
        "ping",
        "--to",
        &relay.addr.to_string(),
        "--count",
        "3",
        "--interval-ms",
        "0",
    ]);

    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "ping exits 0 when echoes came back: {stdout}{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("3 sent, 3 received, 0.0% loss"),
        "no impairment, no loss: {stdout}"
    );
    assert!(
        stdout.contains("rtt min/avg/max = "),
        "the round-trip summary is printed: {stdout}"
    );
}
// ANCHOR_END: chain

// ANCHOR: total_loss
#[test]
fn ping_reports_total_loss_and_exits_1() {
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper).expect("start the echo server");
    let to = echo.local_addr().to_string();
    let relay = Running::start(&[
        "relay",
        "--listen",
        "127.0.0.1:0",
        "--to",
        &to,
        "--loss",
        "1",
    ]);

    let out = run(&[
        "ping",
        "--to",
        &relay.addr.to_string(),
        "--count",
        "2",
        "--timeout-ms",
        "100",
        "--interval-ms",
        "0",
    ]);

    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(1),
        "no echo at all is a failure (exit 1): {stdout}{stderr}"
    );
    assert!(
        stdout.contains("2 sent, 0 received, 100.0% loss"),
        "the summary says so: {stdout}"
    );
    assert_eq!(
        stderr.lines().count(),
        1,
        "and one line on stderr says why: {stderr:?}"
    );
}
// ANCHOR_END: total_loss

// ANCHOR: relay_counters
#[test]
fn relay_process_prints_its_counters_when_stopped() {
    if cfg!(windows) {
        println!(
            "skipped: this test stops the relay with `kill -TERM`, which Windows does not have"
        );
        return;
    }
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper).expect("start the echo server");
    let to = echo.local_addr().to_string();
    let relay = Running::start(&[
        "relay",
        "--listen",
        "127.0.0.1:0",
        "--to",
        &to,
        "--seed",
        "1",
    ]);
    let client = net::bind_loopback(Family::V4).expect("bind the client");
    for word in ["one", "two", "three"] {
        recv::request(&client, relay.addr, word.as_bytes(), "the relayed echo")
            .expect("relayed both ways");
    }

    let (status, lines) = relay.terminate();

    assert!(status.success(), "SIGTERM is a clean stop: {status}");
    let last = lines.last().cloned().unwrap_or_default();
    assert!(
        last.starts_with("stopped: to server: received 3,")
            && last.contains("to client: received 3,"),
        "the relay's last line counts what it relayed each way: {last:?}"
    );
}
// ANCHOR_END: relay_counters

// ANCHOR: bad_input
#[rstest]
#[case::loss_above_one(&["relay", "--to", "127.0.0.1:0", "--loss", "1.5"], "--loss")]
#[case::negative_dup(&["relay", "--to", "127.0.0.1:0", "--dup", "-0.1"], "--dup")]
#[case::corrupt_two(&["relay", "--to", "127.0.0.1:0", "--corrupt", "2"], "--corrupt")]
#[case::delay_over_a_day(&["relay", "--to", "127.0.0.1:0", "--delay-ms", "90000000"], "delay")]
#[case::relay_bad_address(&["relay", "--to", "nowhere"], "--to")]
#[case::relay_bad_listen(&["relay", "--listen", "127.0.0.1", "--to", "127.0.0.1:0"], "--listen")]
#[case::ping_bad_address(&["ping", "--to", "127.0.0.1:port"], "--to")]
fn bad_input_is_one_clear_line_and_exit_code_2(#[case] args: &[&str], #[case] flag: &str) {
    let out = run(args);

    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "bad input is exit code 2: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line on stderr: {stderr:?}");
    assert!(
        stderr.contains(flag),
        "the line names the flag {flag}: {stderr:?}"
    );
}
// ANCHOR_END: bad_input
