//! `udp-lab send`: the article's client, with a timeout.
//!
//! Each MESSAGE goes out as one datagram (an empty `""` is a 0-byte datagram)
//! from one unconnected socket, exactly as the article's client does it with
//! `sendto`; after each one the reply is awaited for `--timeout-ms` and printed
//! with the address it came from. A missing reply ends the command with exit
//! code 1 and a one-line reason: UDP never tells a sender whether anything
//! arrived, so waiting with a deadline is the only way to notice.
//!
//! ```text
//! $ udp-lab send --to 127.0.0.1:8080 hello ""
//! sending from 127.0.0.1:51234 to 127.0.0.1:8080
//! sent 5 bytes: "hello"
//! reply from 127.0.0.1:8080: 5 bytes: "HELLO"
//! sent 0 bytes: ""
//! reply from 127.0.0.1:8080: 0 bytes: ""
//! ```
//!
//! A message no datagram can carry, or a destination port 0, is bad input
//! (exit code 2) found before anything is sent; an error while sending or
//! receiving is a failed run (exit code 1).
//!
//! This file also holds the small helpers the other commands share:
//! [`resolve`] (an address argument), [`resolve_peer`] (one to send to),
//! [`show`] (bytes as text) and [`say`] (a line on stdout that never panics).

use std::ffi::OsString;
use std::io::{self, Write};
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::Duration;

use udp_lab::net::{self, Family};
use udp_lab::recv;

use super::{number_in, Failure, Outcome};

/// How long `send` waits for each reply unless told otherwise: the article's
/// clients (with the timeout udp-lab adds to them) wait 2 seconds too.
const DEFAULT_TIMEOUT_MS: u64 = 2000;

/// Arguments of `udp-lab send`.
#[derive(clap::Args)]
pub struct SendArgs {
    /// Where to send: HOST:PORT, e.g. 127.0.0.1:8080, [::1]:8080 or localhost:8080.
    #[arg(long, value_name = "ADDR")]
    pub to: String,
    /// How long to wait for each reply, in milliseconds (1 to 600000), before giving up with exit code 1.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_TIMEOUT_MS,
          allow_negative_numbers = true, value_parser = number_in::<u64>(1..=600_000))]
    pub timeout_ms: u64,
    /// The messages, one datagram each, as the bytes given (need not be UTF-8); "" is an empty datagram; put `--` before a message starting with `-`.
    #[arg(required = true, value_name = "MESSAGE")]
    pub messages: Vec<OsString>,
}

/// Runs `udp-lab send`.
pub fn run(args: &SendArgs) -> Outcome {
    let to = resolve_peer("--to", &args.to)?;
    check_sizes(&args.messages, Family::of(&to))?;
    let sock = client_socket(to, Duration::from_millis(args.timeout_ms))?;
    for (index, message) in args.messages.iter().enumerate() {
        send_one(&sock, to, index + 1, message.as_encoded_bytes())?;
        await_reply(&sock, to, index + 1, args.timeout_ms)?;
    }
    Ok(())
}

/// Refuses, before anything is sent, a message no datagram can carry: it
/// is the input that is wrong, not the run (exit code 2, not 1).
fn check_sizes(messages: &[OsString], family: Family) -> Outcome {
    let max = family.max_payload();
    match messages
        .iter()
        .position(|m| m.as_encoded_bytes().len() > max)
    {
        Some(i) => Err(Failure::Usage(format!(
            "message {} is {} bytes, more than one {family} datagram can carry ({max} bytes)",
            i + 1,
            messages[i].as_encoded_bytes().len()
        ))),
        None => Ok(()),
    }
}

/// The client's socket toward `to`, waiting `timeout` for each reply, and
/// the line that says where it sends from. Any error here is setup (exit 2).
fn client_socket(to: SocketAddr, timeout: Duration) -> Result<UdpSocket, Failure> {
    let setup = || Failure::setup(format!("cannot send to {to}"));
    let sock = net::bind_toward(to).map_err(setup())?;
    sock.set_read_timeout(Some(timeout)).map_err(setup())?;
    let from = sock.local_addr().map_err(setup())?;
    say(&format!("sending from {from} to {to}"));
    Ok(sock)
}

/// Sends message `number`; an error now is a failed run (exit 1).
fn send_one(sock: &UdpSocket, to: SocketAddr, number: usize, payload: &[u8]) -> Outcome {
    let sent = sock.send_to(payload, to).map_err(Failure::during(format!(
        "sending message {number} ({} bytes) to {to}",
        payload.len()
    )))?;
    say(&format!("sent {sent} bytes: {}", show(payload)));
    Ok(())
}

/// Waits for one reply; silence or a receive error is a failure (exit 1).
fn await_reply(sock: &UdpSocket, to: SocketAddr, number: usize, timeout_ms: u64) -> Outcome {
    match recv::recv_datagram(sock, "the reply") {
        Ok(reply) => {
            let stranger = if reply.from == to {
                ""
            } else {
                " (not the address sent to)"
            };
            say(&format!(
                "reply from {}{stranger}: {} bytes: {}",
                reply.from,
                reply.payload.len(),
                show(&reply.payload)
            ));
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::TimedOut => Err(Failure::Failed(format!(
            "no reply from {to} to message {number} within {timeout_ms} ms \
             (UDP does not tell a sender whether anything arrived: is a server listening there?)"
        ))),
        Err(e) => Err(Failure::Failed(format!(
            "no reply from {to} to message {number}: {e}"
        ))),
    }
}

/// Resolves an address argument (`flag` names it in errors): `HOST:PORT`
/// with an IPv4 address, a bracketed IPv6 address (`[::1]:8080`) or a name
/// (`localhost:8080`, looked up by the OS). A name with both kinds of
/// address gives its first IPv4 one, because the article's servers listen
/// on IPv4 only.
pub fn resolve(flag: &str, text: &str) -> Result<SocketAddr, Failure> {
    let usage = "expected HOST:PORT such as 127.0.0.1:8080, [::1]:8080 or localhost:8080";
    let found: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| {
            Failure::Usage(format!(
                "{flag} {text:?} is not a usable address ({e}): {usage}"
            ))
        })?
        .collect();
    found
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| found.first())
        .copied()
        .ok_or_else(|| Failure::Usage(format!("{flag} {text:?} resolves to no address: {usage}")))
}

/// Resolves the address of a peer to send to, as [`resolve`] does, and
/// refuses port 0: it means "any port" only when binding, and no datagram
/// can be sent to it (Linux answers `EINVAL` mid-run; better said now).
pub fn resolve_peer(flag: &str, text: &str) -> Result<SocketAddr, Failure> {
    let addr = resolve(flag, text)?;
    if addr.port() == 0 {
        return Err(Failure::Usage(format!(
            "{flag} {text:?}: port 0 is not a destination (it means \"any port\" only when \
             binding): give the port the server listens on"
        )));
    }
    Ok(addr)
}

/// Bytes as a quoted string: UTF-8 text as Rust shows a string (escapes for
/// control characters), anything else byte by byte (`"\xff\xfeAB"`).
pub fn show(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) => format!("{text:?}"),
        Err(_) => format!("\"{}\"", bytes.escape_ascii()),
    }
}

/// Prints a line and flushes it. A closed stdout (a reader that went away,
/// as in `udp-lab serve | head -3`) is ignored rather than a panic, so a
/// server keeps serving.
pub fn say(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
