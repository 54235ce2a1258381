//! The `udp-lab` command line, run as a student runs it: as a separate
//! process, talking over real loopback sockets.
//!
//! Claim: `udp-lab serve` is the article's server ("the server replies
//! `sendto(data.upper(), client_addr)`", and the `ThreadingUDPServer` that
//! replies `"<thread name> [<DATA>]"`) and serves the article's clients;
//! `udp-lab send` is the article's client with a deadline and talks to the
//! article's servers (the Python programs in `tests/peers/`); `udp-lab tour`
//! shows every chapter's property live. Errors are one line with exit code
//! 2, a missing reply is exit code 1, and nothing hangs.
//!
//! Run: `cargo test --test cli`

mod support;

use std::net::{SocketAddr, UdpSocket};
use std::process::Output;
use std::time::{Duration, Instant};

use rstest::rstest;
use support::cli::{run, stderr_of, stdout_of, the_error_line, Running};
use udp_lab::lab::hosts;
use udp_lab::lab::server::{self, Reply};
use udp_lab::net::{self, Family};
use udp_lab::recv;

/// `udp-lab serve` on a family's loopback address, port 0.
struct Serve;

impl Serve {
    /// Starts `udp-lab serve --bind <family loopback>:0 EXTRA`; the guard
    /// knows where it listens from its first line.
    fn start(family: Family, extra: &[&str]) -> Running {
        let bind = family.any_port().to_string();
        let mut args = vec!["serve", "--bind", &bind];
        args.extend_from_slice(extra);
        Running::start(&args)
    }
}

impl Running {
    /// The next stdout line that starts with `prefix`, skipping the others
    /// (the header lines and the log may interleave: the server runs in its
    /// own thread from the moment it is bound).
    #[track_caller]
    fn next_line_starting(&self, prefix: &str, what: &str) -> String {
        loop {
            let line = self.next_line(what);
            if line.starts_with(prefix) {
                return line;
            }
        }
    }
}

/// One request from a fresh client on loopback, and its reply.
#[track_caller]
fn ask(server: SocketAddr, request: &[u8]) -> recv::Datagram {
    let client = net::bind_loopback(Family::of(&server)).expect("bind the client");
    recv::request(&client, server, request, "udp-lab serve's reply")
        .expect("udp-lab serve answers on loopback")
}

/// A port where nothing listens for anyone else, and that no other test can
/// take meanwhile: a socket holds it but is connected to itself, so the
/// kernel delivers it nothing from other senders and answers them as for a
/// closed port (ICMP port unreachable).
fn port_closed_to_others() -> UdpSocket {
    let holder = net::bind_loopback(Family::V4).expect("bind the socket that holds the port");
    let addr = holder.local_addr().expect("its address");
    holder.connect(addr).expect("connect it to itself");
    holder
}

/// Asserts a failed run printed exactly one line on stderr and no panic.
#[track_caller]
fn assert_one_clear_line(output: &Output) {
    let stderr = stderr_of(output);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "an error is one clear line on stderr, got {} lines:\n{stderr}",
        lines.len()
    );
    assert!(
        !stderr.contains("panicked"),
        "an error is reported, not a panic:\n{stderr}"
    );
}

// ---- udp-lab serve ----

#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn serve_prints_its_listening_line_first_and_answers_in_upper_case(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let serve = Serve::start(family, &[]);

    let reply = ask(serve.addr, b"hello udp");

    assert_eq!(
        reply.text(),
        "HELLO UDP",
        "udp-lab serve replies data.upper(), like the article's first server"
    );
    assert_eq!(
        reply.from, serve.addr,
        "the reply comes from the address printed in 'listening on ADDR'"
    );
}

#[test]
fn serve_with_threaded_replies_answers_thread_name_and_upper_cased_request() {
    let serve = Serve::start(Family::V4, &["--reply", "threaded"]);

    let reply = ask(serve.addr, b"hello").text();

    let name = reply.strip_suffix(" [HELLO]").unwrap_or_else(|| {
        panic!("the threaded reply is '<thread name> [<REQUEST UPPER-CASED>]' as in the article, got {reply:?}")
    });
    let number = name.strip_prefix("Thread-").unwrap_or("");
    assert!(
        !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()),
        "the handler thread is named Thread-N like Python's threads, got {name:?}"
    );
}

#[test]
fn serve_logs_each_datagram_with_its_sender_and_both_sizes() {
    let serve = Serve::start(Family::V4, &[]);
    let client = net::bind_loopback(Family::V4).expect("bind the client");
    let client_addr = client.local_addr().expect("the client's address");

    recv::request(&client, serve.addr, b"hello", "the reply").expect("udp-lab serve answers");

    let log = serve.next_line_starting("from ", "the served datagram's log line");
    assert_eq!(
        log,
        format!("from {client_addr}: 5 bytes \"hello\" -> replied 5 bytes \"HELLO\""),
        "one log line per datagram: who sent it, the request and the reply with their sizes"
    );
}

#[rstest]
#[case::sigint("INT")]
#[case::sigterm("TERM")]
fn serve_stops_on_a_signal_printing_its_final_counters_and_exits_0(#[case] signal: &str) {
    if cfg!(windows) {
        return net::skip_even_under_ci(format!(
            "Windows has no SIG{signal} to send with `kill` (Ctrl-C there is a console event)"
        ));
    }
    let serve = Serve::start(Family::V4, &["--quiet"]);
    ask(serve.addr, b"");
    ask(serve.addr, b"one");

    let (status, rest) = serve.stop_with(signal);

    assert_eq!(
        status.code(),
        Some(0),
        "SIG{signal} is a clean stop, exit code 0; printed {rest:?}"
    );
    let last = rest.last().map_or("", String::as_str);
    assert!(
        last.starts_with("stopped: received 2, replied 2, empty 1,"),
        "on SIG{signal} serve prints its final counters (2 requests, one of them empty), got {rest:?}"
    );
}

#[test]
fn serve_on_a_port_in_use_exits_2_and_says_so() {
    let holder = net::bind_loopback(Family::V4).expect("bind a socket that holds the port");
    let taken = holder.local_addr().expect("the held address").to_string();

    let output = run(&["serve", "--bind", &taken]);

    assert_eq!(
        output.status.code(),
        Some(2),
        "a port in use is a setup error: exit code 2"
    );
    assert_one_clear_line(&output);
    assert!(
        stderr_of(&output).contains("another program uses this port"),
        "the line names the cause: {}",
        stderr_of(&output)
    );
}

// ---- udp-lab send ----

#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn send_prints_the_reply_of_a_udp_lab_server_and_where_it_came_from(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let echo =
        server::spawn(family.any_port(), Reply::Upper).expect("start an in-process echo server");
    let to = echo.local_addr().to_string();

    let output = run(&["send", "--to", &to, "hello", "world"]);

    assert_eq!(
        output.status.code(),
        Some(0),
        "every message was answered: exit 0; stderr: {}",
        stderr_of(&output)
    );
    let stdout = stdout_of(&output);
    for reply in ["\"HELLO\"", "\"WORLD\""] {
        let line = format!("reply from {to}: 5 bytes: {reply}");
        assert!(
            stdout.contains(&line),
            "send prints each reply and where it came from: {line:?} missing in\n{stdout}"
        );
    }
}

#[test]
fn send_sends_an_empty_message_as_a_zero_byte_datagram() {
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper)
        .expect("start an in-process echo server");
    let to = echo.local_addr().to_string();

    let output = run(&["send", "--to", &to, ""]);

    assert_eq!(
        output.status.code(),
        Some(0),
        "the empty datagram is answered; stderr: {}",
        stderr_of(&output)
    );
    assert!(
        stdout_of(&output).contains(&format!("reply from {to}: 0 bytes: \"\"")),
        "an empty datagram gets an empty reply, printed as 0 bytes:\n{}",
        stdout_of(&output)
    );
    let stats = echo.shutdown();
    assert_eq!(
        (stats.received, stats.empty),
        (1, 1),
        "the server received exactly one datagram, and it was empty"
    );
}

#[test]
fn send_resolves_localhost_to_a_loopback_address() {
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper)
        .expect("start an in-process echo server");
    let to = format!("localhost:{}", echo.local_addr().port());

    let output = run(&["send", "--to", &to, "hi"]);

    assert_eq!(
        output.status.code(),
        Some(0),
        "localhost:PORT is resolved; stderr: {}",
        stderr_of(&output)
    );
    assert!(
        stdout_of(&output).contains(&format!(
            "reply from {}: 2 bytes: \"HI\"",
            echo.local_addr()
        )),
        "localhost resolves to 127.0.0.1 (IPv4 first, where the server is):\n{}",
        stdout_of(&output)
    );
}

#[test]
fn send_to_a_port_where_nothing_listens_exits_1_after_its_timeout() {
    let holder = port_closed_to_others();
    let nobody = holder.local_addr().expect("the held address").to_string();
    let started = Instant::now();

    let output = run(&["send", "--to", &nobody, "--timeout-ms", "300", "hello"]);

    assert_eq!(
        output.status.code(),
        Some(1),
        "a missing reply is a failed check: exit code 1"
    );
    assert_one_clear_line(&output);
    assert!(
        stderr_of(&output).contains(&format!("no reply from {nobody}")),
        "the line says which reply is missing: {}",
        stderr_of(&output)
    );
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "send waited its whole --timeout-ms before giving up"
    );
}

#[rstest]
#[case::no_port(&["send", "--to", "127.0.0.1", "hi"])]
#[case::not_an_address(&["send", "--to", "not-an-address", "hi"])]
// 99999 is past the last port (65535): an address that cannot exist, never bound.
#[case::port_out_of_range(&["send", "--to", "127.0.0.1:99999", "hi"])]
#[case::serve_bind_garbage(&["serve", "--bind", "garbage"])]
fn bad_address_exits_2_with_one_line_and_no_panic(#[case] args: &[&str]) {
    let output = run(args);

    assert_eq!(
        output.status.code(),
        Some(2),
        "a bad address is bad input: exit code 2"
    );
    assert_one_clear_line(&output);
    assert!(
        stderr_of(&output).contains("HOST:PORT"),
        "the line says what an address looks like: {}",
        stderr_of(&output)
    );
}

#[rstest]
#[case::zero_timeout(&["send", "--to", "127.0.0.1:0", "--timeout-ms", "0", "hi"], &["--timeout-ms", "1..=600000"])]
#[case::negative_timeout(&["send", "--to", "127.0.0.1:0", "--timeout-ms", "-5", "hi"], &["--timeout-ms", "1..=600000"])]
#[case::unknown_reply(&["serve", "--bind", "127.0.0.1:0", "--reply", "loud"], &["--reply", "upper, threaded"])]
#[case::unknown_model(&["serve", "--bind", "127.0.0.1:0", "--model", "fastest"], &["--model", "reuseport"])]
fn a_value_out_of_range_is_refused_by_clap_naming_the_flag_and_what_it_accepts(
    #[case] args: &[&str],
    #[case] named: &[&str],
) {
    let output = run(args);

    let stderr = stderr_of(&output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a value out of range is bad input: exit code 2; stderr: {stderr}"
    );
    let line = the_error_line(&stderr);
    assert!(
        line.starts_with("error: "),
        "clap itself refuses a value out of range, before udp-lab runs: {line}"
    );
    assert!(
        line.contains(named[0]),
        "the error line names the flag {:?}: {line}",
        named[0]
    );
    assert!(
        stderr.contains(named[1]),
        "the error says what is accepted ({:?}; clap lists possible values below its \
         line): {stderr}",
        named[1]
    );
}

#[test]
fn send_to_port_0_exits_2_because_no_datagram_can_be_sent_there() {
    let output = run(&["send", "--to", "127.0.0.1:0", "hello"]);

    assert_eq!(
        output.status.code(),
        Some(2),
        "port 0 means 'any port' only when binding: as a destination it is bad input (2), \
         refused before sending; stderr: {}",
        stderr_of(&output)
    );
    assert_one_clear_line(&output);
    assert!(
        stderr_of(&output).contains("port 0"),
        "the line says what is wrong with the address: {}",
        stderr_of(&output)
    );
}

#[test]
fn send_refuses_a_message_no_datagram_can_carry_with_exit_2_before_sending_anything() {
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper)
        .expect("start an in-process echo server");
    let to = echo.local_addr().to_string();
    let too_big = "a".repeat(Family::V4.max_payload() + 1);

    let output = run(&["send", "--to", &to, "first", &too_big]);

    assert_eq!(
        output.status.code(),
        Some(2),
        "a message longer than 65,507 bytes cannot be one IPv4 datagram: bad input, exit 2 \
         (not a failed run, 1); stderr: {}",
        stderr_of(&output)
    );
    assert_one_clear_line(&output);
    assert!(
        stderr_of(&output).contains("message 2 is 65508 bytes"),
        "the line says which message is too big and by how much: {}",
        stderr_of(&output)
    );
    assert_eq!(
        echo.shutdown().received,
        0,
        "every message is checked before the first is sent, so the server received nothing"
    );
}

// ---- udp-lab tour ----

// The README's first command, `cargo run`: `udp-lab` with no arguments runs
// the whole tour, as `udp-lab tour` does (one path in src/cli; `tour --only`
// is tested below). Run once here: the whole tour takes seconds.
#[test]
fn tour_exits_0_and_prints_a_block_per_chapter() {
    let output = run(&[]);
    let stdout = stdout_of(&output);

    assert_eq!(
        output.status.code(),
        Some(0),
        "every chapter's property holds on loopback:\n{stdout}"
    );
    for chapter in ["== 01 ", "== 02 ", "== 03 ", "== 04 ", "== 05 "] {
        assert!(
            stdout.contains(chapter),
            "the tour prints a block starting {chapter:?}:\n{stdout}"
        );
    }
    let blocks = stdout.matches("\n== ").count() + usize::from(stdout.starts_with("== "));
    let skipped = stdout.matches("-> skipped").count();
    assert_eq!(
        stdout.matches("-> holds").count() + skipped,
        blocks,
        "each block ends with '-> holds', or '-> skipped' where this machine cannot run it \
         (the namespace chapters without root):\n{stdout}"
    );
    assert_eq!(
        stdout.matches("\n   skipped: ").count(),
        skipped,
        "a skipped block says why on a 'skipped:' line:\n{stdout}"
    );
    if skipped > 0 {
        // Only the test hosts' chapters skip; where the lab can be built (CI: root), none may.
        if hosts::require() {
            panic!("the test hosts work here, yet {skipped} block(s) skipped:\n{stdout}");
        }
    }
}

#[test]
fn tour_header_names_the_kernel_its_figures_are_measured_on() {
    if !cfg!(target_os = "linux") {
        return net::skip_even_under_ci("this compares with `uname -r`, Linux's kernel release");
    }
    let uname = std::process::Command::new("uname")
        .arg("-r")
        .output()
        .expect("run `uname -r`");
    let release = String::from_utf8_lossy(&uname.stdout).trim().to_string();

    let output = run(&["tour", "--only", "02"]);

    let stdout = stdout_of(&output);
    let header = stdout.lines().next().unwrap_or("");
    assert!(
        header.ends_with(&format!("measured on Linux {release} (this machine)")),
        "expected the tour's first line to name the kernel `uname -r` names ({release}), \
         so that its figures can be compared with the book's; got {header:?}"
    );
}

// ---- interoperability with the Python peers ----

#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn serve_answers_the_projects_python_echo_client(#[case] family: Family) {
    let Some(python) = support::python3() else {
        return;
    };
    if !net::require(family) {
        return;
    }
    let serve = Serve::start(family, &[]);

    let output = support::run_client(
        python,
        &support::peer("echo_client.py"),
        &client_args(serve.addr, &["2"]),
    );

    assert!(
        output.status.success(),
        "the Python client got its replies: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "HELLO\nHELLO\n",
        "two requests, two upper-cased replies"
    );
}

#[rstest]
#[case::upper("upper")]
#[case::threaded("threaded")]
fn serve_answers_the_projects_50_by_10_threading_clients(#[case] reply: &str) {
    let Some(python) = support::python3() else {
        return;
    };
    let serve = Serve::start(Family::V4, &["--reply", reply, "--quiet"]);

    let output = support::run_client(
        python,
        &support::peer("threading_clients.py"),
        &client_args(serve.addr, &["50", "10"]),
    );

    assert_client_saw_no_failures(&output, "50 clients x 10 rounds against udp-lab serve");
}

#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn send_talks_to_the_projects_python_echo_server(#[case] family: Family) {
    let Some(python) = support::python3() else {
        return;
    };
    if !net::require(family) {
        return;
    }
    let peer = support::start_peer_server(python, "echo_server.py", family);

    let output = run(&["send", "--to", &peer.addr.to_string(), "hello", ""]);

    assert_replies(&output, peer.addr, &["5 bytes: \"HELLO\"", "0 bytes: \"\""]);
}

#[test]
fn send_talks_to_the_projects_python_threading_server() {
    let Some(python) = support::python3() else {
        return;
    };
    let server = support::start_peer_server(python, "threading_server.py", Family::V4);

    let output = run(&["send", "--to", &server.addr.to_string(), "hello"]);

    assert_eq!(
        output.status.code(),
        Some(0),
        "the article's threaded server (tests/peers/threading_server.py) answers; stderr: {}",
        stderr_of(&output)
    );
    let stdout = stdout_of(&output);
    let reply = stdout
        .lines()
        .find(|l| l.starts_with("reply from "))
        .unwrap_or("");
    assert!(
        reply.contains(": \"Thread-") && reply.ends_with(" [HELLO]\""),
        "Python's handler thread replies \"Thread-N (...) [HELLO]\", got {reply:?}"
    );
}

/// The Python programs' arguments: HOST PORT, then `rest`.
fn client_args(addr: SocketAddr, rest: &[&str]) -> Vec<String> {
    let mut args = support::host_port(addr).to_vec();
    args.extend(rest.iter().map(|s| s.to_string()));
    args
}

#[track_caller]
fn assert_client_saw_no_failures(output: &Output, what: &str) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("\n0 failures\n"),
        "{what}: every reply must come back right to the thread that asked; last lines: {:?}, stderr: {}",
        stdout.lines().rev().take(5).collect::<Vec<_>>(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Asserts `udp-lab send` exited 0 and printed each expected reply from `from`.
#[track_caller]
fn assert_replies(output: &Output, from: SocketAddr, replies: &[&str]) {
    assert_eq!(
        output.status.code(),
        Some(0),
        "every message was answered; stderr: {}",
        stderr_of(output)
    );
    let got: Vec<String> = stdout_of(output)
        .lines()
        .filter(|l| l.starts_with("reply from "))
        .map(String::from)
        .collect();
    let expected: Vec<String> = replies
        .iter()
        .map(|r| format!("reply from {from}: {r}"))
        .collect();
    assert_eq!(
        got, expected,
        "one reply per message, in order, from the server's address"
    );
}

#[rstest]
#[case::serve(&["serve", "--bind", "127.0.0.1:0", "--model", "tokio"])]
#[case::bench(&["bench", "--model", "tokio-multi", "--duration-s", "1"])]
fn a_tokio_model_in_a_build_without_the_feature_exits_2_saying_how_to_build_it(
    #[case] args: &[&str],
) {
    if cfg!(feature = "tokio") {
        // This binary has the models: the chapter 13 tests run them instead.
        return net::skip_even_under_ci("this build has the cargo feature tokio: the models start");
    }
    let output = run(args);

    let stderr = stderr_of(&output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a model this build does not have is bad input, refused before anything starts: \
         exit code 2; stderr: {stderr}"
    );
    let line = the_error_line(&stderr);
    assert!(
        line.starts_with("error: ") && line.contains("--features tokio"),
        "clap refuses the value in one line that says how to get the model (build with the \
         cargo feature tokio); got {line:?}"
    );
}
