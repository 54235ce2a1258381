//! The subcommands of `udp-lab`, one file each, how their outcome becomes
//! an exit code, and how a library enum becomes a command-line choice.
//!
//! This is the top of the crate's dependency order: the command line uses
//! the lab tier (`udp_lab::lab`) and the socket tier; the library never
//! uses the command line (no clap outside `src/cli/` and `src/main.rs`).
//! `book.rs` is maintainer plumbing (the book's code regions and the
//! exercises), shared with `tests/docs_sync.rs`, not library code.
//!
//! Exit codes, as the README promises: 0 all went well, 1 a property or a
//! reply failed, 2 bad input or setup. An I/O error is not one or the other
//! by its kind (a refused send is bad input at the start and a failed run
//! later), so there is deliberately no `From<io::Error>` for [`Failure`]:
//! each call site says which it is with [`Failure::setup`] or
//! [`Failure::during`], and what it was doing. Numbers, probabilities and
//! named choices are checked by clap before a command runs ([`number_in`],
//! [`probability`], [`choice`]): clap names the flag and what it accepts,
//! and exits 2.

pub mod bench;
pub mod book;
pub mod buffers;
pub mod dev;
pub mod doctor;
pub mod exercises;
pub mod lab;
pub mod ping;
pub mod reflection;
pub mod relay;
pub mod send;
pub mod serve;
pub mod tour;

use std::fmt::Display;
use std::io;
use std::net::SocketAddr;
use std::ops::RangeBounds;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::mpsc;

use clap::builder::{PossibleValue, PossibleValuesParser, RangedI64ValueParser, TypedValueParser};

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

impl Failure {
    /// For `map_err` while a command sets itself up (binding, opening a
    /// file it will write, starting a server): the error is bad input or a
    /// setup problem, exit code 2. `doing` says what was being done, with
    /// the address or path, e.g. `cannot send to 127.0.0.1:8080`.
    pub fn setup(doing: impl Display) -> impl FnOnce(io::Error) -> Failure {
        move |e| Failure::Usage(format!("{doing}: {e}"))
    }

    /// For `map_err` once the run has begun (sending, receiving, measuring,
    /// writing the results): the run failed, exit code 1. `doing` says what
    /// was being done, e.g. `receiving the reply to message 2 from ADDR`.
    pub fn during(doing: impl Display) -> impl FnOnce(io::Error) -> Failure {
        move |e| Failure::Failed(format!("{doing}: {e}"))
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

/// A clap value parser for a whole number in `range`, as a `T` (`usize`,
/// `u32`, `u64`), e.g. `number_in::<usize>(1..=1000)`. clap refuses
/// anything else before the command runs, with one line naming the flag and
/// the range (exit code 2): `invalid value '0' for '--clients <N>': 0 is
/// not in 1..=1000`. The text is read as an `i64` first, so `-1` gets that
/// same line (with the flag's `allow_negative_numbers`) rather than
/// "invalid digit".
pub fn number_in<T>(range: impl RangeBounds<i64>) -> RangedI64ValueParser<T>
where
    T: TryFrom<i64> + Clone + Send + Sync + 'static,
{
    RangedI64ValueParser::<T>::new().range(range)
}

/// A clap value parser for a probability: a number from 0 to 1 (`0.2`
/// means 20%). `NaN`, infinities and anything outside `0..=1` are refused
/// with a line naming the flag (clap adds it) and the range.
pub fn probability(text: &str) -> Result<f64, String> {
    let range = "give a probability from 0 to 1 (0.2 means 20%)";
    let p: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number: {range}"))?;
    // NaN is in no range, so `contains` refuses it too.
    if (0.0..=1.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{p} is not in 0..=1: {range}"))
    }
}

#[cfg(test)]
mod tests {
    use super::probability;

    #[test]
    fn a_probability_is_a_number_from_0_to_1_inclusive() {
        for ok in ["0", "1", "0.2", " 0.5 "] {
            assert!(probability(ok).is_ok(), "{ok:?} is a probability");
        }
        for bad in ["1.5", "-0.1", "NaN", "inf", "", "twenty"] {
            assert!(
                probability(bad).is_err(),
                "{bad:?} is not a probability, yet it was accepted"
            );
        }
    }
}
