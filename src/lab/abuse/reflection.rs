//! Reflection by a forged source (chapter 15), run inside a private
//! network namespace ([`crate::lab::netns`]): a raw socket sends a server a
//! request whose source address is a victim's; the server answers the
//! victim, who receives a reply it never asked for. With address
//! validation on, the victim receives at most a token, no larger than the
//! forged request.
//!
//! [`run`] must be called in a process that has entered the namespace
//! (the hidden `udp-lab reflection-scenario` does, and prints the
//! [`Outcome`] as JSON for the chapter's test).

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::forge;
use super::token::TokenKey;
use crate::lab::server::{self, Guard, Reply};
use crate::net;
use crate::recv;

/// The victim's address: any 127/8 address is on `lo`.
pub const VICTIM_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 5);
/// How long the victim waits for a reply it never asked for.
pub const VICTIM_WAIT: Duration = Duration::from_secs(2);

/// What one forged request led to.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Outcome {
    /// The forged request's payload length.
    pub request_len: usize,
    /// What the victim received (bytes), if anything.
    pub victim_received: Option<Vec<u8>>,
    /// The server's view: requests it received.
    pub server_received: u64,
    /// Requests it answered only with a token (validation on).
    pub server_challenged: u64,
}

/// The two runs the chapter compares.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Report {
    /// The article's threaded server, no defence.
    pub plain: Outcome,
    /// The same server with address validation.
    pub validated: Outcome,
}

/// Runs the scenario twice (plain, then validating) with `request`.
pub fn run(request: &[u8]) -> io::Result<Report> {
    Ok(Report {
        plain: forge_once(Guard::default(), request)?,
        validated: forge_once(
            Guard {
                validate: Some(TokenKey::random()?),
                ..Guard::default()
            },
            request,
        )?,
    })
}

/// One forged request to a threaded server with `guard`, seen by the victim.
fn forge_once(guard: Guard, request: &[u8]) -> io::Result<Outcome> {
    let bind = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
    // The article's threaded server when undefended, else a guarded one.
    let server = if guard.is_on() {
        server::spawn_guarded(bind, Reply::Threaded, guard, None)?
    } else {
        server::spawn(bind, Reply::Threaded)?
    };
    let victim = net::bind(SocketAddr::from((VICTIM_IP, 0)))?;
    let (SocketAddr::V4(victim_addr), SocketAddr::V4(server_addr)) =
        (victim.local_addr()?, server.local_addr())
    else {
        unreachable!("both bound to IPv4 addresses");
    };
    forge::send_forged(victim_addr, server_addr, request)?;
    let got = recv::recv_within(&victim, VICTIM_WAIT)?;
    let stats = server.shutdown();
    Ok(Outcome {
        request_len: request.len(),
        victim_received: got.map(|d| d.payload),
        server_received: stats.received,
        server_challenged: stats.challenged,
    })
}

/// Reads the scenario's JSON line: `Ok(report)`, or `Err(why)` when the
/// namespace was unavailable; an `io::Error` when the line is not one.
pub fn parse(line: &str) -> io::Result<Result<Report, String>> {
    let bad =
        |e: serde_json::Error| io::Error::new(io::ErrorKind::InvalidData, format!("{e}: {line:?}"));
    let json: serde_json::Value = serde_json::from_str(line.trim()).map_err(bad)?;
    if let Some(why) = json.get("unavailable") {
        return Ok(Err(why.as_str().unwrap_or("unknown").to_string()));
    }
    serde_json::from_value(json["report"].clone())
        .map(Ok)
        .map_err(bad)
}
