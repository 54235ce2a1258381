//! The subcommands of `udp-lab`, one file each, how their outcome becomes
//! an exit code, and how a library enum becomes a command-line choice.
//!
//! This is the top of the crate's dependency order: the command line uses
//! the lab tier (`udp_lab::lab`) and the socket tier; the library never
//! uses the command line (no clap outside `src/cli/` and `src/main.rs`).
//! `book.rs` is maintainer plumbing (the book's code regions and the
//! exercises), shared with `tests/docs_sync.rs`, not library code.

pub mod bench;
pub mod book;
pub mod buffers;
pub mod exercises;
pub mod ping;
pub mod relay;
pub mod send;
pub mod serve;
pub mod tour;

use std::io;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::mpsc;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

/// How a subcommand ended.
pub enum Failure {
    /// The thing being checked did not hold (a missing reply, a broken
    /// property): exit code 1.
    Failed(String),
    /// Bad input or a setup error (bad address, port in use): exit code 2.
    Usage(String),
}

/// What every subcommand returns.
pub type Outcome = Result<(), Failure>;

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Usage(e.to_string())
    }
}

/// Prints a failure as one clear line on stderr and picks the exit code.
pub fn finish(outcome: Outcome) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Failed(msg)) => {
            eprintln!("udp-lab: {msg}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("udp-lab: error: {msg}");
            ExitCode::from(2)
        }
    }
}

/// A channel that receives once SIGINT (Ctrl-C) or SIGTERM arrives.
pub fn stop_signal() -> Result<mpsc::Receiver<()>, Failure> {
    let (tx, rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .map_err(|e| Failure::Usage(format!("cannot handle Ctrl-C: {e}")))?;
    Ok(rx)
}

/// The bind error in one line, with the likely cause for the usual ones.
pub fn bind_failure(doing: &str, bind: SocketAddr, err: &io::Error) -> Failure {
    let hint = match err.kind() {
        io::ErrorKind::AddrInUse => {
            " (another program uses this port: pick another, or port 0 to let the OS choose)"
        }
        io::ErrorKind::PermissionDenied => {
            " (ports below 1024 need administrator rights: pick one above 1023)"
        }
        io::ErrorKind::AddrNotAvailable => {
            " (no interface of this machine has that address: try 127.0.0.1 or [::1])"
        }
        _ => "",
    };
    Failure::Usage(format!("cannot {doing} on {bind}: {err}{hint}"))
}

/// A clap value parser for one of the library's named enums (such as
/// [`Reply`](udp_lab::lab::server::Reply) and
/// [`Model`](udp_lab::lab::server::models::Model)): `choices` are each
/// value's name (as the enum displays it) with a help line, and the chosen
/// name is parsed back with the enum's `FromStr`. A bad value gets clap's
/// usual error listing the possible values (exit code 2).
pub fn choice<T>(
    choices: impl IntoIterator<Item = (&'static str, &'static str)>,
) -> impl TypedValueParser<Value = T>
where
    T: FromStr + Clone + Send + Sync + 'static,
{
    let names = choices
        .into_iter()
        .map(|(name, help)| PossibleValue::new(name).help(help));
    PossibleValuesParser::new(names).map(|name| match name.parse::<T>() {
        Ok(value) => value,
        Err(_) => unreachable!("clap accepted {name:?}, one of the enum's own names"),
    })
}
