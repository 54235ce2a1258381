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
//! This file also holds the small helpers `udp-lab serve` shares:
//! [`resolve`] (an address argument), [`show`] (bytes as text) and [`say`]
//! (a line on stdout that never panics).

use std::ffi::OsString;
use std::io::{self, Write};
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::Duration;

use udp_lab::net;
use udp_lab::recv;

use super::{Failure, Outcome};

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
          value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub timeout_ms: u64,
    /// The messages, one datagram each, as the bytes given (need not be UTF-8); "" is an empty datagram; put `--` before a message starting with `-`.
    #[arg(required = true, value_name = "MESSAGE")]
    pub messages: Vec<OsString>,
}

/// Runs `udp-lab send`.
pub fn run(args: &SendArgs) -> Outcome {
    let to = resolve("--to", &args.to)?;
    let timeout = Duration::from_millis(args.timeout_ms);
    let sock = net::bind_toward(to)?;
    sock.set_read_timeout(Some(timeout))
        .map_err(|e| net::context(e, "setting the reply timeout"))?;
    say(&format!("sending from {} to {to}", sock.local_addr()?));
    for (index, message) in args.messages.iter().enumerate() {
        send_one(&sock, to, message.as_encoded_bytes())?;
        await_reply(&sock, to, index + 1, args.timeout_ms)?;
    }
    Ok(())
}

fn send_one(sock: &UdpSocket, to: SocketAddr, payload: &[u8]) -> Outcome {
    let sent = sock
        .send_to(payload, to)
        .map_err(|e| net::context(e, format!("sending {} bytes to {to}", payload.len())))?;
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
