//! The subcommands of `udp-lab`, one file each, and how their outcome
//! becomes an exit code.

pub mod bench;
pub mod buffers;
pub mod exercises;
pub mod ping;
pub mod relay;
pub mod send;
pub mod serve;
pub mod tour;

use std::process::ExitCode;

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
