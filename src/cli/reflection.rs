//! `udp-lab reflection-scenario` (hidden): chapter 15's forged-source
//! scenario in a private network namespace, for the chapter's test and the
//! tour, which start it as a child process.
//!
//! Why a process of its own: `unshare(CLONE_NEWUSER)` fails in a
//! multithreaded process, and a test binary always has threads. This
//! subcommand is still single-threaded when it enters the namespace
//! ([`netns::enter_private`]); the server and the victim start after, inside.
//!
//! It prints one JSON line: `{"as_text": {...}, "report": {...}}` (a
//! [`reflection::Report`], whose bytes serde writes as arrays of integers,
//! and beside it what the victim received as lossy UTF-8 text and a length,
//! for a human reading the line) or `{"unavailable": "why"}` when namespaces
//! cannot be entered here, and exits 0 in both cases (1 when the scenario
//! itself fails).

use serde_json::json;
use udp_lab::lab::abuse::reflection;
use udp_lab::lab::netns;

use super::send::say;
use super::{Failure, Outcome};

/// Arguments of `udp-lab reflection-scenario`.
#[derive(clap::Args)]
pub struct ReflectionArgs {
    /// The forged request's payload.
    #[arg(long, default_value = "hello, this is the victim speaking")]
    pub request: String,
}

/// Enters a private network namespace and runs the scenario there.
pub fn run(args: &ReflectionArgs) -> Outcome {
    if let Err(e) = netns::enter_private() {
        say(&json!({ "unavailable": e.to_string() }).to_string());
        return Ok(());
    }
    let report = reflection::run(args.request.as_bytes())
        .map_err(Failure::during("running the reflection scenario"))?;
    let as_text = json!({
        "plain": readable(&report.plain),
        "validated": readable(&report.validated),
    });
    say(&json!({ "as_text": as_text, "report": report }).to_string());
    Ok(())
}

/// What the victim received, as text (invalid UTF-8 shown as U+FFFD) and
/// its length; `null` when nothing came.
fn readable(outcome: &reflection::Outcome) -> serde_json::Value {
    outcome.victim_received.as_ref().map_or(
        json!(null),
        |bytes| json!({ "len": bytes.len(), "text": String::from_utf8_lossy(bytes) }),
    )
}
