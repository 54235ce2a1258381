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

/// The one error line of a refused command, asserted to be the only line
/// apart from clap's own decoration below its errors (the possible values,
/// a tip, "For more information, try '--help'.").
#[track_caller]
pub fn the_error_line(stderr: &str) -> &str {
    let decoration = |l: &str| {
        l.starts_with("  [possible values:")
            || l.starts_with("  tip:")
            || l.starts_with("For more information")
    };
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !decoration(l))
        .collect();
    assert_eq!(lines.len(), 1, "an error is one clear line, got:\n{stderr}");
    assert!(
        (lines[0].starts_with("udp-lab: ") || lines[0].starts_with("error: "))
            && !stderr.contains("panicked"),
        "the line is udp-lab's or clap's, not a panic: {stderr}"
    );
    lines[0]
}

/// `` `udp-lab ARGS` ``, as a student would type it.
fn shown(args: &[&str]) -> String {
    format!("`udp-lab {}`", args.join(" "))
}

/// `udp-lab bench --json`'s report, parsed from `output`'s stdout.
#[track_caller]
pub fn report_of(output: &Output) -> serde_json::Value {
    let stdout = stdout_of(output);
    serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("bench --json prints one JSON document; {e} in:\n{stdout}"))
}

/// The contender called `name` in a parsed `bench --json` report.
#[track_caller]
pub fn contender<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["contenders"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("bench's JSON has no contender {name:?}:\n{report:#}"))
}
