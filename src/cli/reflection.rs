//! `udp-lab reflection-scenario` (hidden): chapter 15's forged-source
//! scenario in a private network namespace, for the chapter's test and the
//! tour, which start it as a child process.
//!
//! Why a process of its own: `unshare(CLONE_NEWUSER)` fails in a
//! multithreaded process, and a test binary always has threads. This
//! subcommand is still single-threaded when it enters the namespace
//! ([`netns::enter_private`]); the server and the victim start after, inside.
//!
//! It prints one JSON line: `{"report": {...}}` (a
//! [`reflection::Report`]) or `{"unavailable": "why"}` when namespaces
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
    say(&json!({ "report": report }).to_string());
    Ok(())
}
