//! Tour block for chapter 15: the threaded reply amplifies, a cap and
//! address tokens stop it, a limiter keeps a flood from starving a quiet
//! client, the naive client takes a stranger's datagram, and (where private
//! network namespaces work) a forged source makes a server answer a victim.

use std::io;
use std::process::Command;

use udp_lab::lab::abuse::limiter::RateLimit;
use udp_lab::lab::abuse::reflection::Report as Reflection;
use udp_lab::lab::abuse::token::TokenKey;
use udp_lab::lab::abuse::{amplification, spoof};
use udp_lab::lab::server::{self, Amplification, Guard, Reply};
use udp_lab::net::{self, Family, SILENCE};
use udp_lab::recv;

use super::Report;

/// Each abuse measured once, each defence shown holding.
pub fn demo() -> io::Result<Report> {
    let rows = amplification::measure(Reply::Threaded, &[5])?;
    let factor = rows[0].factor();
    let capped = capped_threaded_is_silent()?;
    let (limited, quiet_answered) = flood()?;
    let (token_len, request_len) = token_reply()?;
    let spoofed = naive_takes_a_strangers_datagram()?;
    let (reflection_line, reflected) = reflection();
    Ok(Report {
        lines: vec![
            format!("threaded reply to 5 bytes: {} bytes, amplification {factor:.2}x", rows[0].reply_len),
            format!("with --max-amplification 1 the threaded reply is withheld: {capped}"),
            format!("100 requests from one source, then 5 from another: {limited} limited, the other answered {quiet_answered}/5"),
            format!("an unknown source sending {request_len} bytes gets a {token_len}-byte token, not the answer"),
            format!("the article's client took a stranger's datagram for its reply: {spoofed}"),
            reflection_line,
        ],
        held: factor > 1.0 && capped && quiet_answered == 5 && limited > 0 && token_len <= request_len && spoofed && reflected,
    })
}

fn capped_threaded_is_silent() -> io::Result<bool> {
    let guard = Guard {
        max_amplification: Amplification::new(1.0),
        ..Guard::default()
    };
    let server = server::spawn_guarded(Family::V4.any_port(), Reply::Threaded, guard, None)?;
    let client = net::bind_loopback(Family::V4)?;
    client.send_to(b"hello", server.local_addr())?;
    let silent = recv::recv_within(&client, SILENCE)?.is_none();
    Ok(silent && server.shutdown().over_amplification == 1)
}

fn flood() -> io::Result<(u64, usize)> {
    let limit = RateLimit {
        burst: 5,
        refill_every: 10,
    };
    let server = server::spawn_guarded(
        Family::V4.any_port(),
        Reply::Upper,
        Guard {
            rate_limit: Some(limit),
            ..Guard::default()
        },
        None,
    )?;
    let (flooder, quiet) = (
        net::bind_loopback(Family::V4)?,
        net::bind_loopback(Family::V4)?,
    );
    for i in 0..100 {
        flooder.send_to(format!("flood {i}").as_bytes(), server.local_addr())?;
    }
    let mut answered = 0;
    for i in 0..5 {
        let request = format!("quiet {i}");
        if recv::request(
            &quiet,
            server.local_addr(),
            request.as_bytes(),
            "the quiet reply",
        )
        .is_ok()
        {
            answered += 1;
        }
    }
    Ok((server.shutdown().rate_limited, answered))
}

fn token_reply() -> io::Result<(usize, usize)> {
    let guard = Guard {
        validate: Some(TokenKey::random()?),
        ..Guard::default()
    };
    let server = server::spawn_guarded(Family::V4.any_port(), Reply::Threaded, guard, None)?;
    let client = net::bind_loopback(Family::V4)?;
    let request = b"hello, a request from a new source";
    let reply = recv::request(&client, server.local_addr(), request, "the token reply")?;
    Ok((reply.payload.len(), request.len()))
}

fn naive_takes_a_strangers_datagram() -> io::Result<bool> {
    let server = server::spawn(Family::V4.any_port(), Reply::Upper)?;
    let (client, stranger) = (
        net::bind_loopback(Family::V4)?,
        net::bind_loopback(Family::V4)?,
    );
    stranger.send_to(b"SPOOFED", client.local_addr()?)?;
    let reply = spoof::naive_request(&client, server.local_addr(), b"hello")?;
    Ok(reply.payload == b"SPOOFED")
}

/// Runs this binary's hidden `reflection-scenario` (a fresh single-threaded
/// process can enter a namespace); a line, and whether the property held
/// (true when skipped, with the reason in the line).
fn reflection() -> (String, bool) {
    let out = std::env::current_exe()
        .and_then(|exe| Command::new(exe).arg("reflection-scenario").output());
    let parsed = out
        .ok()
        .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok());
    let Some(json) = parsed else {
        return (
            "reflection: skipped: the scenario did not run".to_string(),
            true,
        );
    };
    if let Some(why) = json.get("unavailable") {
        return (
            format!("reflection: skipped: no private network namespace here ({why})"),
            true,
        );
    }
    match serde_json::from_value::<Reflection>(json["report"].clone()) {
        Ok(r) => {
            let got = r.plain.victim_received.unwrap_or_default();
            let token = r.validated.victim_received.map_or(0, |t| t.len());
            (
                format!(
                    "in a private namespace a forged {}-byte request sent the victim {} bytes it never asked for; with --validate, {token} bytes",
                    r.plain.request_len,
                    got.len()
                ),
                got.len() > r.plain.request_len && token <= r.validated.request_len,
            )
        }
        Err(e) => (format!("reflection: unreadable report: {e}"), false),
    }
}
