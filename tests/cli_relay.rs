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

use std::process::ExitStatus;

use rstest::rstest;
use support::cli::{run, the_error_line, Running};
use udp_lab::lab::server::{self, Reply};
use udp_lab::net::{self, Family};
use udp_lab::recv;

impl Running {
    /// Sends SIGTERM; returns the exit status and the lines printed until stdout closed.
    fn terminate(self) -> (ExitStatus, Vec<String>) {
        self.stop_with("TERM")
    }
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
    the_error_line(&stderr);
}
// ANCHOR_END: total_loss

// ANCHOR: relay_counters
#[test]
fn relay_process_prints_its_counters_when_stopped() {
    if cfg!(windows) {
        return net::skip_even_under_ci(
            "this test stops the relay with `kill -TERM`, which Windows does not have",
        );
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
#[case::loss_above_one(&["relay", "--to", "127.0.0.1:0", "--loss", "1.5"], &["--loss", "0..=1"])]
#[case::negative_dup(&["relay", "--to", "127.0.0.1:0", "--dup", "-0.1"], &["--dup", "0..=1"])]
#[case::corrupt_two(&["relay", "--to", "127.0.0.1:0", "--corrupt", "2"], &["--corrupt", "0..=1"])]
#[case::reorder_rate_nan(&["relay", "--to", "127.0.0.1:0", "--reorder-rate", "NaN"], &["--reorder-rate", "0..=1"])]
#[case::negative_reorder(&["relay", "--to", "127.0.0.1:0", "--reorder", "-1"], &["--reorder", "0..=1000"])]
#[case::delay_over_a_day(&["relay", "--to", "127.0.0.1:0", "--delay-ms", "90000000"], &["--delay-ms", "0..=86400000"])]
#[case::zero_rate(&["relay", "--to", "127.0.0.1:0", "--rate", "0"], &["--rate", "1..=1000000"])]
#[case::negative_queue(&["relay", "--to", "127.0.0.1:0", "--rate", "10", "--queue", "-1"], &["--queue", "0..=100000"])]
#[case::zero_burst(&["relay", "--to", "127.0.0.1:0", "--rate", "10", "--burst", "0"], &["--burst", "1..=10000"])]
#[case::relay_bad_address(&["relay", "--to", "nowhere"], &["--to", "HOST:PORT"])]
#[case::relay_to_port_0(&["relay", "--to", "127.0.0.1:0"], &["--to", "port 0"])]
#[case::relay_bad_listen(&["relay", "--listen", "127.0.0.1", "--to", "127.0.0.1:0"], &["--listen", "HOST:PORT"])]
#[case::ping_bad_address(&["ping", "--to", "127.0.0.1:port"], &["--to", "HOST:PORT"])]
#[case::ping_zero_count(&["ping", "--to", "127.0.0.1:0", "--count", "0"], &["--count", "1..=100000"])]
#[case::ping_negative_timeout(&["ping", "--to", "127.0.0.1:0", "--timeout-ms", "-5"], &["--timeout-ms", "1..=600000"])]
fn bad_input_is_one_clear_line_and_exit_code_2(#[case] args: &[&str], #[case] named: &[&str]) {
    let out = run(args);

    let stderr = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "bad input is exit code 2: {stderr}"
    );
    let line = the_error_line(&stderr);
    for word in named {
        assert!(
            line.contains(word),
            "the line names the flag and what it accepts ({word:?} expected): {line:?}"
        );
    }
    assert!(
        out.stdout.is_empty(),
        "bad input is refused before anything starts, yet stdout has: {}",
        text(&out.stdout)
    );
}
// ANCHOR_END: bad_input

#[test]
fn ping_to_a_port_where_nothing_listens_exits_1_not_2() {
    // Held (connected to itself) for the whole test, so no other test's
    // server is given this port while the pings knock on it.
    let vacant = net::closed_port(Family::V4).expect("a port where nothing receives");
    let to = vacant.addr().to_string();

    let out = run(&[
        "ping",
        "--to",
        &to,
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
        "a good address that never answers is a failed run (1), not bad input (2): \
         {stdout}{stderr}"
    );
    let line = the_error_line(&stderr);
    assert!(
        line.contains(&to),
        "the line names the silent address {to}: {line:?}"
    );
}
