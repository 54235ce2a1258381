//! `udp-lab doctor`: what this machine supports, and which of the course's
//! test cases will skip here.
//!
//! Each check tries the real thing (a datagram to itself on each loopback,
//! `python3 --version`, reading a `/proc` file, setting a socket option,
//! `unshare -rn true`) rather than guessing from the OS's name. The result
//! is a table, or one JSON object with `--json`:
//!
//! ```text
//! $ udp-lab doctor --json
//! {"os":"linux","arch":"x86_64","kernel":"Linux 6.18.44","checks":[{"name":"ipv4_loopback",
//!  "label":"IPv4 loopback","status":"ok","detail":"...","needed":true,"used_by":"every chapter"},...],
//!  "skips":[{"because":"ipv6_loopback","file":"ch02_empty_datagrams","count":4,"cases":[...]}],
//!  "skipping_cases":52,"course_can_run":true}
//! ```
//!
//! The skipping cases are found by reading the checkout's `tests/*.rs`: a
//! case whose arguments hold `Family::V6` needs IPv6 loopback, a test that
//! calls `python3()` needs python3. Exit code 0 unless a check the course
//! cannot do without fails: only IPv4 loopback (exit code 1, naming it).
//!
//! `UDP_LAB_PRETEND_NO_IPV6=1` makes the IPv6 check report "missing", as the
//! tests then do (see `udp_lab::net`).
//!
//! # Where things are
//! - this file: the arguments, the report and its table, the exit code;
//! - [`checks`]: the checks that are the same on every OS (loopback,
//!   python3, the tools), and running a probe program
//!   within a deadline;
//! - [`skips`]: reading the checkout's `tests/*.rs` for the cases that skip
//!   when a check is missing;
//! - [`platform`]: everything that differs per OS.
//!
//! # Platform-specific behavior
//! Every OS-specific probe is in [`platform`], chosen with `#[cfg]` per OS:
//! the kernel name and release (`uname` on Unix, `ver` on Windows); `/proc`
//! files, namespaces, GSO and GRO exist only on Linux; `SO_REUSEPORT` only
//! on Unix. A check that cannot exist here is `n/a`.

mod checks;
mod hosts;
mod platform;
mod skips;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use udp_lab::limits;
use udp_lab::net::Family;

use super::{Failure, Outcome};
use checks::{loopback, python3, tool};
use skips::{skipping_cases, test_files};

/// Arguments of `udp-lab doctor`.
#[derive(clap::Args, Default)]
pub struct DoctorArgs {
    /// Print the report as one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
    /// The udp-lab checkout whose tests are read to list the cases that skip
    /// (default: the one this binary was built from).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

/// The outcome of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
enum Status {
    /// Works here.
    Ok,
    /// Could exist on this OS, but does not work on this machine.
    Missing,
    /// This OS has no such thing: nothing in the course expects it here.
    NotOnThisOs,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Missing => "MISSING",
            Status::NotOnThisOs => "n/a",
        }
    }
}

/// One line of the report.
#[derive(Debug, Serialize)]
struct Check {
    /// A stable identifier, for scripts and tests (`ipv6_loopback`).
    name: &'static str,
    /// What a person reads (`IPv6 loopback`).
    label: &'static str,
    status: Status,
    /// What was seen: a version, a size, why it failed.
    detail: String,
    /// The course cannot run without it: `doctor` then exits 1.
    needed: bool,
    /// Which chapters (or tools) use it.
    used_by: &'static str,
}

/// The cases of one test file that skip on this machine, and why.
#[derive(Debug, Serialize)]
struct Skip {
    /// The [`Check::name`] that is missing.
    because: &'static str,
    /// The test file, without `tests/` and `.rs` (`ch02_empty_datagrams`).
    file: String,
    /// How many cases (rstest `#[values]` multiply a case).
    count: usize,
    /// The cases as `cargo test` names them (`fn::case_2_ipv6`).
    cases: Vec<String>,
}

/// The whole report, as `--json` prints it.
#[derive(Debug, Serialize)]
struct Report {
    /// `std::env::consts::OS`: `linux`, `macos`, `windows`.
    os: &'static str,
    /// `std::env::consts::ARCH`.
    arch: &'static str,
    /// The kernel's name and release, as `uname -sr` prints them.
    kernel: String,
    checks: Vec<Check>,
    skips: Vec<Skip>,
    /// The sum of every [`Skip::count`].
    skipping_cases: usize,
    /// `None` when the checkout's tests could not be read (then `skips` is empty).
    tests_read_from: Option<String>,
    /// Every check the course needs passed.
    course_can_run: bool,
}

/// Runs `udp-lab doctor`.
pub fn run(args: &DoctorArgs) -> Outcome {
    // The checkout holding the current directory first, as the exercises
    // runner does: a binary reused from a shared target folder still names
    // the checkout it was built in, which may be another copy or gone.
    let root = super::exercises::tree::root(args.root.as_deref());
    let report = examine(&root);
    if args.json {
        let json = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::Failed(format!("writing the report as JSON: {e}")))?;
        println!("{json}");
    } else {
        print!("{}", table(&report));
    }
    verdict(&report)
}

/// Exit code 1, naming the checks, when one the course needs failed.
fn verdict(report: &Report) -> Outcome {
    let failed: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.needed && c.status != Status::Ok)
        .map(|c| format!("{} ({})", c.label, c.detail))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "the course cannot run on this machine without: {}",
            failed.join("; ")
        )))
    }
}

/// Runs every check and reads which cases skip.
fn examine(root: &Path) -> Report {
    let checks = vec![
        loopback(Family::V4),
        loopback(Family::V6),
        python3(),
        platform::proc_file(
            ("proc_net_snmp", "/proc/net/snmp"),
            "the namespace's UDP counters (ch04, ch07, ch08)",
        ),
        platform::proc_file(
            ("proc_net_udp", "/proc/net/udp"),
            "one socket's drops and queue (ch01, ch02, ch08)",
        ),
        platform::buffer_ceiling(("rmem_max", "net.core.rmem_max"), limits::rmem_max()),
        platform::buffer_ceiling(("wmem_max", "net.core.wmem_max"), limits::wmem_max()),
        platform::reuse_port(),
        platform::namespaces(),
        platform::private_netns(),
        hosts::test_hosts(),
        platform::gso(),
        platform::gro(),
        tool(
            ("mdbook", "mdbook"),
            "mdbook",
            &["--version"],
            "`mdbook build docs`: the book",
        ),
        tool(
            ("cargo_nextest", "cargo-nextest"),
            "cargo",
            &["nextest", "--version"],
            "`cargo nextest run`: one process per test (CI runs it when installed)",
        ),
    ];
    let missing: Vec<&'static str> = checks
        .iter()
        .filter(|c| c.status == Status::Missing)
        .map(|c| c.name)
        .collect();
    let (skips, tests_read_from) = match test_files(root) {
        Ok(files) => (
            skipping_cases(&files, &missing),
            Some(root.join("tests").display().to_string()),
        ),
        Err(_) => (Vec::new(), None),
    };
    Report {
        os: std::env::consts::OS,
        arch: std::env::consts::ARCH,
        kernel: platform::kernel(),
        skipping_cases: skips.iter().map(|s| s.count).sum(),
        course_can_run: checks.iter().all(|c| !c.needed || c.status == Status::Ok),
        checks,
        skips,
        tests_read_from,
    }
}

// --- the table -----------------------------------------------------------------

/// The report as aligned text.
fn table(report: &Report) -> String {
    let mut out = String::new();
    out.push_str("udp-lab doctor: what this machine supports\n\n");
    let label_width = report
        .checks
        .iter()
        .map(|c| c.label.len())
        .max()
        .unwrap_or(0);
    out.push_str(&format!(
        "  {:<label_width$}  {}\n  {:<label_width$}  {} ({})\n\n",
        "kernel", report.kernel, "os", report.os, report.arch
    ));
    out.push_str(&format!(
        "  {:<label_width$}  {:<7}  detail\n",
        "check", "status"
    ));
    for check in &report.checks {
        out.push_str(&format!(
            "  {:<label_width$}  {:<7}  {}\n",
            check.label,
            check.status.word(),
            check.detail
        ));
        if check.status == Status::Missing {
            let indent = label_width + 13;
            out.push_str(&format!("{:indent$}used by: {}\n", "", check.used_by));
        }
    }
    out.push('\n');
    match (&report.tests_read_from, report.skipping_cases) {
        (None, _) => out.push_str(
            "The test files were not found (use --root to name a udp-lab checkout), \
             so no case is listed.\n",
        ),
        (Some(_), 0) => out.push_str("No case skips here: every test proves its property.\n"),
        (Some(_), n) => {
            out.push_str(&format!(
                "{n} cases skip here: each prints \"skipped: ...\" and is reported ok without \
                 proving anything (under CI=true each fails instead):\n"
            ));
            let mut by_check: BTreeMap<&str, Vec<&Skip>> = BTreeMap::new();
            for skip in &report.skips {
                by_check.entry(skip.because).or_default().push(skip);
            }
            for (because, skips) in by_check {
                let total: usize = skips.iter().map(|s| s.count).sum();
                let label = report
                    .checks
                    .iter()
                    .find(|c| c.name == because)
                    .map_or(because, |c| c.label);
                out.push_str(&format!("  without {label}: {total} cases\n"));
                let file_width = skips.iter().map(|s| s.file.len()).max().unwrap_or(0);
                for skip in skips {
                    out.push_str(&format!(
                        "    {:<file_width$} {:>3}  cargo test --test {}\n",
                        skip.file, skip.count, skip.file
                    ));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &'static str, status: Status, needed: bool) -> Check {
        Check {
            name,
            label: name,
            status,
            detail: String::new(),
            needed,
            used_by: "",
        }
    }

    fn report(checks: Vec<Check>) -> Report {
        Report {
            os: "linux",
            arch: "x86_64",
            kernel: "Linux 6.18.0".to_string(),
            course_can_run: true,
            checks,
            skips: Vec::new(),
            skipping_cases: 0,
            tests_read_from: None,
        }
    }

    #[test]
    fn only_a_missing_check_the_course_needs_makes_doctor_fail() {
        let fine = report(vec![
            check("ipv4_loopback", Status::Ok, true),
            check("ipv6_loopback", Status::Missing, false),
            check("so_reuseport", Status::NotOnThisOs, false),
        ]);
        assert!(
            verdict(&fine).is_ok(),
            "a missing optional check only makes cases skip"
        );
        let broken = report(vec![check("ipv4_loopback", Status::Missing, true)]);
        match verdict(&broken) {
            Err(Failure::Failed(msg)) => assert!(
                msg.contains("ipv4_loopback"),
                "expected the failure to name the check, got {msg:?}"
            ),
            _ => panic!("expected exit code 1 when IPv4 loopback is missing"),
        }
    }
}
