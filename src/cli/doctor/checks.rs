//! The checks of `udp-lab doctor` that are the same on every OS: a datagram
//! to itself on each loopback, `python3 --version`, whether a tool
//! (`mdbook`, `cargo-nextest`) runs; and [`run_within`], which runs a probe
//! program and kills it if it has not finished by a deadline.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use udp_lab::net::{self, Family};
use udp_lab::recv;

use super::{Check, Status};

/// A datagram to itself on the loopback of `family`: the one thing every
/// chapter does.
pub(super) fn loopback(family: Family) -> Check {
    let (name, label, used_by, needed) = match family {
        Family::V4 => ("ipv4_loopback", "IPv4 loopback", "every chapter", true),
        Family::V6 => (
            "ipv6_loopback",
            "IPv6 loopback",
            "the IPv6 case of most properties",
            false,
        ),
    };
    let (status, detail) = if !net::family_available(family) {
        let why = if std::env::var_os(net::PRETEND_NO_IPV6).is_some_and(|v| v == "1") {
            format!("{}=1 pretends it is missing", net::PRETEND_NO_IPV6)
        } else {
            format!("cannot bind a UDP socket to {}", family.any_port())
        };
        (Status::Missing, why)
    } else {
        match datagram_to_itself(family) {
            Ok(addr) => (
                Status::Ok,
                format!("{addr}: a datagram sent to itself came back"),
            ),
            Err(e) => (Status::Missing, e.to_string()),
        }
    };
    Check {
        name,
        label,
        status,
        detail,
        needed,
        used_by,
    }
}

/// Binds the loopback of `family`, sends a datagram to itself and receives
/// it (within `net::DEFAULT_TIMEOUT`); returns the socket's address.
fn datagram_to_itself(family: Family) -> std::io::Result<std::net::SocketAddr> {
    let sock = net::bind_loopback(family)?;
    let addr = sock.local_addr()?;
    sock.send_to(b"doctor", addr)
        .map_err(|e| net::context(e, format!("sending a datagram from {addr} to itself")))?;
    recv::recv_datagram(&sock, "the datagram the socket sent to itself")?;
    Ok(addr)
}

/// `python3 --version`: the interop tests run the article's Python peers.
pub(super) fn python3() -> Check {
    let (status, detail) = match version_of("python3", &["--version"]) {
        Some(version) => (Status::Ok, version),
        None => (
            Status::Missing,
            "`python3 --version` did not run: install Python 3".to_string(),
        ),
    };
    Check {
        name: "python3",
        label: "python3",
        status,
        detail,
        needed: false,
        used_by: "the interop tests with the article's Python programs (ch01, ch05, ch12, cli)",
    }
}

/// `1048576` -> `"1 MiB"`, `212992` -> `"208 KiB"`.
pub(super) fn mib(bytes: usize) -> String {
    if bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// Whether `program ARGS` runs and succeeds, as the check `(name, label)`.
pub(super) fn tool(
    (name, label): (&'static str, &'static str),
    program: &str,
    args: &[&str],
    used_by: &'static str,
) -> Check {
    let (status, detail) = match version_of(program, args) {
        Some(version) => (Status::Ok, version),
        None => (
            Status::Missing,
            format!("`{program} {}` did not run: not installed", args.join(" ")),
        ),
    };
    Check {
        name,
        label,
        status,
        detail,
        needed: false,
        used_by,
    }
}

/// The first line `program ARGS` prints (on stdout, or stderr as old
/// Pythons do) when it succeeds.
pub(super) fn version_of(program: &str, args: &[&str]) -> Option<String> {
    let output = run_within(Command::new(program).args(args), Duration::from_secs(20))?;
    if !output.status.success() {
        return None;
    }
    let text = if output.stdout.is_empty() {
        output.stderr
    } else {
        output.stdout
    };
    let text = String::from_utf8_lossy(&text);
    Some(text.lines().next().unwrap_or("").trim().to_string())
}

/// Runs `command` to completion within `deadline`; `None` when it cannot
/// start or is still running then (it is killed: a probe never hangs).
pub(super) fn run_within(command: &mut Command, deadline: Duration) -> Option<Output> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let pipes: [Box<dyn Read + Send>; 2] = [
        Box::new(child.stdout.take()?),
        Box::new(child.stderr.take()?),
    ];
    let (tx, rx) = mpsc::channel();
    for (index, mut pipe) in pipes.into_iter().enumerate() {
        let tx = tx.clone();
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            let _ = tx.send((index, bytes));
        });
    }
    let until = Instant::now() + deadline;
    let mut outputs = [Vec::new(), Vec::new()];
    for _ in 0..2 {
        match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok((index, bytes)) => outputs[index] = bytes,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let status = child.wait().ok()?;
    let [stdout, stderr] = outputs;
    Some(Output {
        status,
        stdout,
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_show_in_whole_mib_or_else_kib() {
        assert_eq!(mib(4 * 1024 * 1024), "4 MiB");
        assert_eq!(mib(212_992), "208 KiB");
    }
}
