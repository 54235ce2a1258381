//! The socket tier itself: the promises of `src/net.rs`, `src/recv.rs`,
//! `src/tune.rs`, `src/limits.rs` and `src/tcp.rs` that the chapters lean on
//! without proving them, each stated as a test that fails when the helper
//! breaks it (`cargo mutants` checks that they do).
//!
//! How a skipped case shows is proved here too: a test of this file runs
//! this very test binary again as a child process, on one test, with
//! `UDP_LAB_PRETEND_NO_IPV6=1` (a machine without IPv6 loopback), and reads
//! what the student would see.
//!
//! Run: `cargo test --test socket_tier`

mod support;

use std::io::{self, Write};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Command, Output};
use std::thread;
use std::time::Duration;

use rstest::rstest;
use support::process::output_within;
use udp_lab::net::{self, Family};
use udp_lab::{limits, recv, tcp, tune};

/// How long a child run of this test binary may take.
const CHILD_DEADLINE: Duration = Duration::from_secs(60);

/// A read timeout for receives whose expected outcome is silence: long
/// enough to be a real wait, short enough to keep the suite quick.
const SHORT: Duration = Duration::from_millis(100);

/// Runs this test binary again on the tests matching `filter`, with
/// `UDP_LAB_PRETEND_NO_IPV6=1` and `CI` set to `ci` (or unset), as a student
/// would run `cargo test FILTER`; the child's output is returned.
#[track_caller]
fn run_this_binary_without_ipv6(filter: &str, ci: Option<&str>, extra: &[&str]) -> Output {
    let exe = std::env::current_exe().expect("the path of this test binary");
    let mut child = Command::new(exe);
    child
        .args([filter, "--nocapture"])
        .args(extra)
        .env(net::PRETEND_NO_IPV6, "1");
    match ci {
        Some(value) => child.env("CI", value),
        None => child.env_remove("CI"),
    };
    let shown = format!(
        "`{}=1 CI={} socket_tier {filter} --nocapture`",
        net::PRETEND_NO_IPV6,
        ci.unwrap_or("(unset)")
    );
    output_within(&mut child, CHILD_DEADLINE, &shown)
}

/// The whole output of a child run, for assertion messages.
fn shown(output: &Output) -> String {
    format!(
        "exit status {}\n--- stdout:\n{}--- stderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

// --- net: families, binding, skipping -------------------------------------

#[test]
fn ipv4_loopback_is_always_available_so_a_case_that_requires_it_always_runs() {
    assert!(
        net::family_available(Family::V4),
        "expected IPv4 loopback to be reported available: every machine the course runs on has 127.0.0.1"
    );
    assert!(
        net::require(Family::V4),
        "expected require(IPv4) to be true: an IPv4 case must run, or every IPv4 case would pass without proving anything"
    );
}

#[test]
fn family_available_says_whether_ipv6_loopback_can_be_bound() {
    if std::env::var_os(net::PRETEND_NO_IPV6).is_some() {
        return net::skip_even_under_ci(
            "UDP_LAB_PRETEND_NO_IPV6 is set, so family_available differs from the machine on purpose",
        );
    }
    let bindable = UdpSocket::bind("[::1]:0").is_ok();
    assert_eq!(
        net::family_available(Family::V6),
        bindable,
        "expected family_available(IPv6) to be {bindable}: binding a UDP socket to [::1]:0 {}",
        if bindable { "works here" } else { "fails here" }
    );
}

#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn bind_loopback_binds_the_loopback_of_its_family_on_a_port_the_os_chose(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let sock = net::bind_loopback(family).expect("bind a socket on loopback");
    let local = sock.local_addr().expect("the socket's address");

    assert_eq!(
        local.ip(),
        family.loopback(),
        "expected the {family} loopback address, got {local}"
    );
    assert_ne!(local.port(), 0, "expected a port the OS chose, got 0");
    assert_eq!(
        sock.read_timeout().expect("the read timeout"),
        Some(net::DEFAULT_TIMEOUT),
        "every socket of udp-lab has a read timeout, so no receive waits forever"
    );
}

#[test]
fn without_ipv6_the_ipv6_case_names_itself_as_skipped_and_the_ipv4_case_runs() {
    let output = run_this_binary_without_ipv6(
        "bind_loopback_binds_the_loopback_of_its_family_on_a_port_the_os_chose",
        None,
        &[],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let expected = "skipped: socket_tier::bind_loopback_binds_the_loopback_of_its_family_on_a_port_the_os_chose::case_2_ipv6 \
         is reported \"ok\" but proved nothing here: IPv6 loopback [::1] is not available on this machine \
         (UDP_LAB_PRETEND_NO_IPV6=1 pretends it is not)";

    assert!(
        output.status.success(),
        "expected the run to pass: off CI a machine without IPv6 skips its IPv6 cases; got\n{}",
        shown(&output)
    );
    assert!(
        stderr.contains(expected),
        "expected stderr (which cargo test does not capture) to name the skipped case and why:\n{expected}\ngot\n{}",
        shown(&output)
    );
    assert_eq!(
        stderr.matches("skipped:").count(),
        1,
        "expected exactly one skip line: the IPv4 case runs; got\n{}",
        shown(&output)
    );
    assert!(
        stdout.contains("2 passed"),
        "expected libtest to count both cases as passed (it has no 'skipped'): that is why the line matters; got\n{}",
        shown(&output)
    );
}

#[test]
fn under_ci_a_case_that_cannot_run_here_fails_and_says_why() {
    let output = run_this_binary_without_ipv6(
        "bind_loopback_binds_the_loopback_of_its_family_on_a_port_the_os_chose",
        Some("true"),
        &[],
    );
    let everything = shown(&output);

    assert!(
        !output.status.success(),
        "expected the run to fail: under CI=true a skip that CI could have run is a failure; got\n{everything}"
    );
    assert!(
        everything.contains(
            "socket_tier::bind_loopback_binds_the_loopback_of_its_family_on_a_port_the_os_chose::case_2_ipv6 \
             cannot run on this machine: IPv6 loopback [::1] is not available"
        ),
        "expected the failure to name the case and the reason; got\n{everything}"
    );
    assert!(
        everything.contains("1 passed; 1 failed"),
        "expected the IPv4 case to pass and only the IPv6 case to fail; got\n{everything}"
    );
}

#[test]
#[ignore = "a helper: run as a child process by skip_even_under_ci_is_reported_and_never_fails"]
fn helper_skips_for_a_reason_ci_shares() {
    net::skip_even_under_ci("this OS has no such feature (a helper of socket_tier)");
}

#[test]
fn skip_even_under_ci_is_reported_and_never_fails() {
    let output = run_this_binary_without_ipv6(
        "helper_skips_for_a_reason_ci_shares",
        Some("true"),
        &["--include-ignored"],
    );
    let expected =
        "skipped: socket_tier::helper_skips_for_a_reason_ci_shares is reported \"ok\" but proved \
         nothing here: this OS has no such feature (a helper of socket_tier)";

    assert!(
        output.status.success(),
        "expected a skip for a reason CI shares to pass even under CI=true; got\n{}",
        shown(&output)
    );
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(expected),
        "expected stderr to carry the skip line:\n{expected}\ngot\n{}",
        shown(&output)
    );
}

#[test]
fn families_are_named_ipv4_and_ipv6() {
    let names: Vec<String> = Family::ALL.iter().map(Family::to_string).collect();
    assert_eq!(
        names,
        ["IPv4", "IPv6"],
        "expected the names the chapters and the tour print"
    );
}

#[test]
fn family_of_an_address_is_its_ip_version() {
    for family in Family::ALL {
        let addr = family.any_port();
        assert_eq!(Family::of(&addr), family, "expected {addr} to be {family}");
    }
}

#[test]
fn free_port_below_the_ephemeral_range_is_between_20000_and_31999_and_bindable() {
    for _ in 0..50 {
        let port = net::free_port_below_ephemeral_range().expect("a free port");
        assert!(
            (20_000..32_000).contains(&port),
            "expected a port in 20000..=31999, below every OS's ephemeral range (Linux's starts at 32768), got {port}"
        );
    }
    let port = net::free_port_below_ephemeral_range().expect("a free port");
    // Another program could take it between the two binds, as the docs say;
    // nothing in this suite binds an explicit port in that range meanwhile.
    UdpSocket::bind(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("expected port {port} to be free to bind: {e}"));
}

// --- recv: timeouts that are errors, silence that is not --------------------

#[test]
fn datagram_text_is_the_payload_with_invalid_utf8_shown_as_replacement_characters() {
    let datagram = recv::Datagram {
        payload: b"caf\xc3\xa9 \xff".to_vec(),
        from: "192.0.2.7:7".parse().expect("an address"),
    };
    assert_eq!(
        datagram.text(),
        "café \u{fffd}",
        "expected UTF-8 decoded, the invalid byte 0xff as U+FFFD"
    );
}

#[test]
fn is_timeout_is_true_for_would_block_and_timed_out_and_only_for_them() {
    for kind in [io::ErrorKind::WouldBlock, io::ErrorKind::TimedOut] {
        assert!(
            recv::is_timeout(&io::Error::from(kind)),
            "expected {kind:?} to be a timeout: that is how Unix (WouldBlock) and Windows (TimedOut) report one"
        );
    }
    for kind in [
        io::ErrorKind::ConnectionRefused,
        io::ErrorKind::ConnectionReset,
        io::ErrorKind::InvalidInput,
    ] {
        assert!(
            !recv::is_timeout(&io::Error::from(kind)),
            "expected {kind:?} not to be a timeout: a refused or reset peer is news, not silence"
        );
    }
}

#[test]
fn a_receive_that_times_out_is_a_timed_out_error_naming_what_and_where() {
    let sock = net::bind_loopback(Family::V4).expect("bind a socket");
    sock.set_read_timeout(Some(SHORT))
        .expect("set a short read timeout");
    let local = sock.local_addr().expect("the socket's address");

    let err = recv::recv_datagram(&sock, "the reply to hello")
        .expect_err("nothing was sent, so the receive times out");
    let message = err.to_string();

    assert_eq!(
        err.kind(),
        io::ErrorKind::TimedOut,
        "expected TimedOut on every OS, got {err}"
    );
    for part in ["the reply to hello", &local.to_string(), "100ms"] {
        assert!(
            message.contains(part),
            "expected the error to name {part:?} (what was awaited, where, how long); got {message:?}"
        );
    }
}

#[test]
fn recv_within_returns_a_datagram_that_is_waiting_and_restores_the_read_timeout() {
    let receiver = net::bind_loopback(Family::V4).expect("bind the receiver");
    let sender = net::bind_loopback(Family::V4).expect("bind the sender");
    sender
        .send_to(b"late", receiver.local_addr().expect("receiver address"))
        .expect("send");

    let got = recv::recv_within(&receiver, net::DEFAULT_TIMEOUT).expect("no error");

    let got = got.expect("expected the waiting datagram, got silence");
    assert_eq!(got.payload, b"late", "expected the bytes sent");
    assert_eq!(
        got.from,
        sender.local_addr().expect("sender address"),
        "expected the sender's address"
    );
    assert_eq!(
        receiver.read_timeout().expect("read timeout"),
        Some(net::DEFAULT_TIMEOUT),
        "expected recv_within to put the socket's own read timeout back"
    );
}

#[test]
fn recv_within_returns_none_when_the_wait_ends_in_silence() {
    let sock = net::bind_loopback(Family::V4).expect("bind a socket");
    let got = recv::recv_within(&sock, SHORT).expect("silence is not an error");
    assert_eq!(got, None, "expected None: nothing was sent");
}

#[test]
fn recv_within_reports_an_error_that_is_not_a_timeout() {
    if cfg!(windows) {
        return net::skip_even_under_ci(
            "Windows discards a datagram to a port nobody receives on without telling the sender",
        );
    }
    let nobody = net::closed_port(Family::V4).expect("a closed port");
    let client = net::bind_loopback(Family::V4).expect("bind the client");
    client.connect(nobody.addr()).expect("connect the client");
    client.send(b"anyone?").expect("the send itself succeeds");

    // The ICMP "port unreachable" answer arrives within microseconds and
    // wakes the receive with ECONNREFUSED, long before this wait ends.
    let got = recv::recv_within(&client, net::DEFAULT_TIMEOUT);

    let err = got.expect_err(
        "expected ECONNREFUSED: a connected socket learns from ICMP that nothing listens",
    );
    assert_eq!(
        err.kind(),
        io::ErrorKind::ConnectionRefused,
        "expected ConnectionRefused, got {err}"
    );
    assert!(
        !limits::is_message_too_long(&err),
        "expected a refused send not to be taken for EMSGSIZE: {err}"
    );
}

/// Waits until a datagram is queued on `sock`, without taking it: a stray
/// sent before a request is then surely ahead of the reply.
#[track_caller]
fn wait_until_queued(sock: &UdpSocket) {
    let mut first = [0u8; 64];
    sock.peek_from(&mut first)
        .unwrap_or_else(|e| panic!("expected the stray to be queued within the read timeout: {e}"));
}

/// A server that answers the first datagram it receives with `reply`, from
/// its own address; the thread ends after that one answer.
fn one_shot_server(reply: &'static [u8]) -> (SocketAddr, thread::JoinHandle<io::Result<()>>) {
    let server = net::bind_loopback(Family::V4).expect("bind the server");
    let addr = server.local_addr().expect("server address");
    let handle = thread::spawn(move || {
        let request = recv::recv_datagram(&server, "the request")?;
        server.send_to(reply, request.from)?;
        Ok(())
    });
    (addr, handle)
}

#[test]
fn request_skipping_strays_keeps_the_servers_reply_even_without_the_marker() {
    let (server, handle) = one_shot_server(b"PONG");
    let client = net::bind_loopback(Family::V4).expect("bind the client");

    let got =
        recv::request_skipping_strays(&client, server, b"ping from alice", "alice", "the pong")
            .expect("the server's reply");

    assert_eq!(
        (got.text().as_str(), got.from),
        ("PONG", server),
        "expected the server's reply: what comes from the server is never a stray"
    );
    handle.join().expect("server thread").expect("server I/O");
}

#[test]
fn request_skipping_strays_skips_a_datagram_from_elsewhere_that_does_not_mention_the_marker() {
    let (server, handle) = one_shot_server(b"PONG");
    let client = net::bind_loopback(Family::V4).expect("bind the client");
    let stranger = net::bind_loopback(Family::V4).expect("bind a stranger");
    stranger
        .send_to(
            b"LATE REPLY FOR BOB",
            client.local_addr().expect("client address"),
        )
        .expect("send the stray");
    wait_until_queued(&client);

    let got =
        recv::request_skipping_strays(&client, server, b"ping from alice", "alice", "the pong")
            .expect("the server's reply");

    assert_eq!(
        (got.text().as_str(), got.from),
        ("PONG", server),
        "expected the stray from {} to be skipped and the server's reply kept",
        stranger.local_addr().expect("stranger address")
    );
    handle.join().expect("server thread").expect("server I/O");
}

#[test]
fn request_skipping_strays_keeps_a_datagram_from_elsewhere_that_mentions_the_marker() {
    let (server, handle) = one_shot_server(b"PONG");
    let client = net::bind_loopback(Family::V4).expect("bind the client");
    let relay = net::bind_loopback(Family::V4).expect("bind a relay");
    let relay_addr = relay.local_addr().expect("relay address");
    relay
        .send_to(b"HELLO ALICE", client.local_addr().expect("client address"))
        .expect("send the relayed answer");
    wait_until_queued(&client);

    let got = recv::request_skipping_strays(&client, server, b"hello alice", "alice", "the answer")
        .expect("an answer");

    assert_eq!(
        (got.text().as_str(), got.from),
        ("HELLO ALICE", relay_addr),
        "expected the datagram that mentions the marker (in any case) to be kept, wherever it came from"
    );
    // The server's own reply is still queued; the test only needs the server to have answered.
    handle.join().expect("server thread").expect("server I/O");
}

// --- limits: EMSGSIZE and the buffer ceilings ---------------------------------

#[test]
fn is_message_too_long_is_true_for_emsgsize_and_only_for_it() {
    assert!(
        limits::is_message_too_long(&io::Error::from_raw_os_error(limits::EMSGSIZE)),
        "expected the OS error {} (EMSGSIZE) to be 'message too long'",
        limits::EMSGSIZE
    );
    assert!(
        !limits::is_message_too_long(&io::Error::from(io::ErrorKind::TimedOut)),
        "expected an error without an OS code not to be 'message too long'"
    );
    assert!(
        !limits::is_message_too_long(&io::Error::from_raw_os_error(limits::EMSGSIZE + 1)),
        "expected another OS error code not to be 'message too long'"
    );
}

#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn the_largest_payload_is_sent_whole_and_one_byte_more_is_message_too_long(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    // macOS refuses a datagram larger than the send buffer (9216 B by default).
    let roomy = tune::Tuning {
        recv_buffer: Some(256 * 1024),
        send_buffer: Some(256 * 1024),
        reuse_port: false,
    };
    let receiver = tune::bind_tuned(family.any_port(), roomy).expect("bind the receiver");
    let sender = tune::bind_tuned(family.any_port(), roomy).expect("bind the sender");
    let to = receiver.local_addr().expect("receiver address");

    let sent = sender
        .send_to(&vec![7; family.max_payload()], to)
        .expect("the largest payload is accepted");
    let got = recv::recv_datagram(&receiver, "the largest datagram").expect("it arrives");
    let err = sender
        .send_to(&vec![7; family.max_payload() + 1], to)
        .expect_err("one byte more cannot be one datagram");

    assert_eq!(
        (sent, got.payload.len()),
        (family.max_payload(), family.max_payload()),
        "expected {family}'s largest payload ({} B) sent and received whole",
        family.max_payload()
    );
    assert!(
        limits::is_message_too_long(&err),
        "expected EMSGSIZE for {} B over {family}, got {err}",
        family.max_payload() + 1
    );
}

#[cfg(target_os = "linux")]
#[test]
fn a_buffer_request_above_the_ceiling_is_clamped_to_twice_the_ceiling() {
    let sock = net::bind_loopback(Family::V4).expect("bind a socket");
    let rmem_max = limits::rmem_max().expect("read /proc/sys/net/core/rmem_max");
    let wmem_max = limits::wmem_max().expect("read /proc/sys/net/core/wmem_max");

    // Four times the ceiling, but within the C int a socket option holds.
    let ask = |ceiling: usize| (ceiling.saturating_mul(4)).min(i32::MAX as usize / 2);
    let got_recv = tune::set_recv_buffer_size(&sock, ask(rmem_max)).expect("set SO_RCVBUF");
    let got_send = tune::set_send_buffer_size(&sock, ask(wmem_max)).expect("set SO_SNDBUF");

    assert_eq!(
        got_recv,
        2 * rmem_max,
        "expected SO_RCVBUF clamped to rmem_max ({rmem_max}) then doubled"
    );
    assert_eq!(
        got_send,
        2 * wmem_max,
        "expected SO_SNDBUF clamped to wmem_max ({wmem_max}) then doubled"
    );
}

#[cfg(not(target_os = "linux"))]
#[test]
fn the_buffer_ceilings_are_an_error_outside_linux() {
    assert!(
        limits::rmem_max().is_err() && limits::wmem_max().is_err(),
        "expected an error: /proc/sys/net/core/ exists only on Linux"
    );
}

// --- tune: what the OS reports back ------------------------------------------

#[test]
fn buffer_sizes_read_back_what_setting_them_granted() {
    let sock = net::bind_loopback(Family::V4).expect("bind a socket");
    let asked = 64 * 1024;

    let granted_recv = tune::set_recv_buffer_size(&sock, asked).expect("set SO_RCVBUF");
    let granted_send = tune::set_send_buffer_size(&sock, asked).expect("set SO_SNDBUF");

    assert!(
        granted_recv >= asked && granted_send >= asked,
        "expected at least the {asked} B asked (Linux doubles it), got SO_RCVBUF {granted_recv}, SO_SNDBUF {granted_send}"
    );
    assert_eq!(
        tune::recv_buffer_size(&sock).expect("read SO_RCVBUF"),
        granted_recv,
        "expected SO_RCVBUF read back as granted"
    );
    assert_eq!(
        tune::send_buffer_size(&sock).expect("read SO_SNDBUF"),
        granted_send,
        "expected SO_SNDBUF read back as granted"
    );
}

#[test]
fn bind_tuned_applies_the_tuning_binds_and_sets_a_read_timeout() {
    let asked = 64 * 1024;
    let tuning = tune::Tuning {
        recv_buffer: Some(asked),
        send_buffer: Some(asked),
        reuse_port: cfg!(unix),
    };
    let sock = tune::bind_tuned(Family::V4.any_port(), tuning).expect("bind a tuned socket");

    let (recv_size, send_size) = (
        tune::recv_buffer_size(&sock).expect("read SO_RCVBUF"),
        tune::send_buffer_size(&sock).expect("read SO_SNDBUF"),
    );
    assert!(
        recv_size >= asked && send_size >= asked,
        "expected both buffers at least {asked} B, got SO_RCVBUF {recv_size}, SO_SNDBUF {send_size}"
    );
    assert_eq!(
        sock.read_timeout().expect("read timeout"),
        Some(net::DEFAULT_TIMEOUT),
        "expected the read timeout every udp-lab socket has"
    );
    if cfg!(unix) {
        let addr = sock.local_addr().expect("the tuned socket's address");
        tune::bind_tuned(addr, tuning).unwrap_or_else(|e| {
            panic!("expected a second SO_REUSEPORT socket to bind {addr} too: {e}")
        });
    }
}

// --- tcp: the stream that has no boundaries ------------------------------------

#[test]
fn recv_waiting_for_all_returns_every_byte_written_before_the_close() {
    let mut pair = tcp::tcp_pair(Family::V4, true).expect("a TCP pair");
    for write in [&b"ab"[..], b"cd", b"ef"] {
        pair.client.write_all(write).expect("write");
    }
    pair.client
        .shutdown(std::net::Shutdown::Write)
        .expect("close the sending side");
    let mut buf = [0u8; 1024];

    let n = tcp::recv_waiting_for_all(&pair.server, &mut buf).expect("read");

    assert_eq!(
        &buf[..n],
        b"abcdef",
        "expected the three writes in one read, with no boundary between them"
    );
}

/// Counts the `SIGUSR1`s delivered to this process (the handler of
/// [`a_receive_interrupted_by_signals_however_often_waits_again_for_the_datagram`]).
#[cfg(target_os = "linux")]
static SIGNALS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

#[cfg(target_os = "linux")]
extern "C" fn count_signal(_: libc::c_int) {
    SIGNALS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
}

/// How many signals interrupt the receive in
/// [`a_receive_interrupted_by_signals_however_often_waits_again_for_the_datagram`].
#[cfg(target_os = "linux")]
const INTERRUPTIONS_IN_A_ROW: usize = 20;

/// Waits (bounded) until thread `tid` of this process is blocked in the
/// `recvfrom` system call, as `/proc/self/task/TID/syscall` shows it.
#[cfg(target_os = "linux")]
fn wait_until_blocked_in_recvfrom(tid: libc::pid_t) {
    let path = format!("/proc/self/task/{tid}/syscall");
    let deadline = std::time::Instant::now() + net::DEFAULT_TIMEOUT;
    loop {
        let now = std::fs::read_to_string(&path).unwrap_or_default();
        let number = now.split_whitespace().next().and_then(|n| n.parse().ok());
        if number == Some(libc::SYS_recvfrom) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the receiving thread never blocked in recvfrom; {path}: {now:?}"
        );
        thread::yield_now();
    }
}

#[test]
fn a_receive_interrupted_by_signals_however_often_waits_again_for_the_datagram() {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::thread::JoinHandleExt;
        use std::sync::atomic::Ordering;
        use std::sync::mpsc;

        // A handler without SA_RESTART; with a read timeout set, Linux would
        // not restart the receive even with it (signal(7)): it fails, EINTR.
        // SAFETY: the handler only adds to an atomic; SIGUSR1 is used by no
        // other test of this binary.
        let installed = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = count_signal as *const () as usize;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut())
        };
        assert_eq!(
            installed,
            0,
            "install a SIGUSR1 handler: {}",
            io::Error::last_os_error()
        );
        let receiver = net::bind_loopback(Family::V4).expect("bind the receiver");
        let to = receiver.local_addr().expect("receiver address");
        let (tid_tx, tid_rx) = mpsc::channel();
        let waiting = thread::spawn(move || {
            // SAFETY: gettid has no preconditions.
            tid_tx
                .send(unsafe { libc::gettid() })
                .expect("send the thread id");
            recv::recv_within(&receiver, net::DEFAULT_TIMEOUT)
        });
        let tid = tid_rx.recv().expect("the thread id");
        // More interruptions in a row than any fixed number of retries would
        // allow: a freeze of the machine's processes can bring that many.
        for _ in 0..INTERRUPTIONS_IN_A_ROW {
            wait_until_blocked_in_recvfrom(tid);
            let before = SIGNALS.load(Ordering::SeqCst);
            // SAFETY: the thread is alive (its handle is not joined yet).
            let sent = unsafe { libc::pthread_kill(waiting.as_pthread_t(), libc::SIGUSR1) };
            assert_eq!(sent, 0, "pthread_kill SIGUSR1");
            let deadline = std::time::Instant::now() + net::DEFAULT_TIMEOUT;
            while SIGNALS.load(Ordering::SeqCst) == before {
                assert!(
                    std::time::Instant::now() < deadline,
                    "SIGUSR1 was never handled"
                );
                thread::yield_now();
            }
        }
        wait_until_blocked_in_recvfrom(tid);
        net::bind_loopback(Family::V4)
            .expect("bind the sender")
            .send_to(b"after the signal", to)
            .expect("send");
        let got = waiting.join().expect("the receiving thread ends");

        let got = got.expect(
            "expected the datagram sent after the signals, got an error: a receive that \
             EINTR ended is neither a datagram nor silence, so recv_within waits again, as \
             often as it is interrupted",
        );
        assert_eq!(
            got.map(|d| d.payload),
            Some(b"after the signal".to_vec()),
            "expected the datagram sent after the signal, not silence"
        );
    }
    if !cfg!(target_os = "linux") {
        net::skip_even_under_ci("this test reads /proc to time the signal: Linux only");
    }
}
