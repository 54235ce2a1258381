//! The `udp-lab` binary run as a student runs it, as a separate process,
//! for the `cli*` test files: a command that ends is run to completion
//! under a deadline ([`run`]); a command that serves until it is stopped
//! (`serve`, `relay`) is started with [`Running::start`] (see
//! `process.rs`: it reads where the command listens and kills it when
//! dropped).

use std::process::{Command, Output};

pub use super::process::{Running, DEADLINE};

/// The `udp-lab` binary cargo built for these tests.
pub fn udp_lab() -> Command {
    Command::new(env!("CARGO_BIN_EXE_udp-lab"))
}

/// Runs `udp-lab ARGS` to completion, killing it after [`DEADLINE`]: a
/// command that hangs is a failure, never a hung test.
#[track_caller]
pub fn run(args: &[&str]) -> Output {
    super::process::output_within(udp_lab().args(args), DEADLINE, &shown(args))
}

/// A run's stdout as text.
pub fn stdout_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A run's stderr as text.
pub fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

impl Running {
    /// Starts `udp-lab ARGS`, a command that serves until stopped; its first
    /// line must be `listening on ADDR` (no fixed ports: it binds port 0).
    #[track_caller]
    pub fn start(args: &[&str]) -> Running {
        Running::spawn(udp_lab().args(args), shown(args))
    }
}

/// `` `udp-lab ARGS` ``, as a student would type it.
fn shown(args: &[&str]) -> String {
    format!("`udp-lab {}`", args.join(" "))
}
