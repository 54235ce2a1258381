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
//! # Platform-specific behavior
//! Every OS-specific probe is in the [`platform`] module below, chosen with
//! `#[cfg]` per OS: the kernel name and release (`uname` on Unix, `ver` on
//! Windows); `/proc` files, namespaces, GSO and GRO exist only on Linux;
//! `SO_REUSEPORT` only on Unix. A check that cannot exist here is `n/a`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;
use udp_lab::net::{self, Family};
use udp_lab::{limits, recv, tune};

use super::{Failure, Outcome};

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
    let root = args
        .root
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
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
        buffer_ceiling(("rmem_max", "net.core.rmem_max"), limits::rmem_max()),
        buffer_ceiling(("wmem_max", "net.core.wmem_max"), limits::wmem_max()),
        reuse_port(),
        platform::namespaces(),
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

// --- the checks that are the same on every OS ---------------------------------

/// A datagram to itself on the loopback of `family`: the one thing every
/// chapter does.
fn loopback(family: Family) -> Check {
    let (name, label, used_by, needed) = match family {
        Family::V4 => ("ipv4_loopback", "IPv4 loopback", "every chapter", true),
        Family::V6 => (
            "ipv6_loopback",
            "IPv6 loopback",
            "the IPv6 case of most properties",
            false,
        ),
    };
    let (status, detail) = if !net::family_available(family) {
        let why = if std::env::var_os(net::PRETEND_NO_IPV6).is_some_and(|v| v == "1") {
            format!("{}=1 pretends it is missing", net::PRETEND_NO_IPV6)
        } else {
            format!("cannot bind a UDP socket to {}", family.any_port())
        };
        (Status::Missing, why)
    } else {
        match datagram_to_itself(family) {
            Ok(addr) => (
                Status::Ok,
                format!("{addr}: a datagram sent to itself came back"),
            ),
            Err(e) => (Status::Missing, e.to_string()),
        }
    };
    Check {
        name,
        label,
        status,
        detail,
        needed,
        used_by,
    }
}

/// Binds the loopback of `family`, sends a datagram to itself and receives
/// it (within `net::DEFAULT_TIMEOUT`); returns the socket's address.
fn datagram_to_itself(family: Family) -> std::io::Result<std::net::SocketAddr> {
    let sock = net::bind_loopback(family)?;
    let addr = sock.local_addr()?;
    sock.send_to(b"doctor", addr)
        .map_err(|e| net::context(e, format!("sending a datagram from {addr} to itself")))?;
    recv::recv_datagram(&sock, "the datagram the socket sent to itself")?;
    Ok(addr)
}

/// `python3 --version`: the interop tests run the article's Python peers.
fn python3() -> Check {
    let (status, detail) = match version_of("python3", &["--version"]) {
        Some(version) => (Status::Ok, version),
        None => (
            Status::Missing,
            "`python3 --version` did not run: install Python 3".to_string(),
        ),
    };
    Check {
        name: "python3",
        label: "python3",
        status,
        detail,
        needed: false,
        used_by: "the interop tests with the article's Python programs (ch01, ch05, ch12, cli)",
    }
}

/// Linux's `rmem_max` or `wmem_max`, with what the default was and is.
fn buffer_ceiling(
    (name, label): (&'static str, &'static str),
    value: std::io::Result<usize>,
) -> Check {
    let (status, detail) = match value {
        Ok(bytes) if name == "rmem_max" => (
            Status::Ok,
            format!(
                "{bytes} B ({}); the default is 4 MiB since Linux 6.18, 212992 B before",
                mib(bytes)
            ),
        ),
        Ok(bytes) => (Status::Ok, format!("{bytes} B ({})", mib(bytes))),
        Err(e) if cfg!(target_os = "linux") => (Status::Missing, e.to_string()),
        Err(_) => (
            Status::NotOnThisOs,
            "a Linux sysctl (macOS: kern.ipc.maxsockbuf)".to_string(),
        ),
    };
    Check {
        name,
        label,
        status,
        detail,
        needed: false,
        used_by: "the ceiling of SO_RCVBUF / SO_SNDBUF (ch08)",
    }
}

/// `1048576` -> `"1 MiB"`, `212992` -> `"208 KiB"`.
fn mib(bytes: usize) -> String {
    if bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{} KiB", bytes / 1024)
    }
}

/// Two sockets with `SO_REUSEPORT` bound to one port (Unix only).
fn reuse_port() -> Check {
    let (status, detail) = if cfg!(unix) {
        let tuning = tune::Tuning {
            reuse_port: true,
            ..tune::Tuning::default()
        };
        let both = tune::bind_tuned(Family::V4.any_port(), tuning).and_then(|first| {
            let addr = first.local_addr()?;
            tune::bind_tuned(addr, tuning).map(|_second| addr)
        });
        match both {
            Ok(addr) => (Status::Ok, format!("two sockets bound {addr}")),
            Err(e) => (Status::Missing, e.to_string()),
        }
    } else {
        (
            Status::NotOnThisOs,
            "Windows has no SO_REUSEPORT".to_string(),
        )
    };
    Check {
        name: "so_reuseport",
        label: "SO_REUSEPORT",
        status,
        detail,
        needed: false,
        used_by: "the reuseport server model (ch13)",
    }
}

/// Whether `program ARGS` runs and succeeds, as the check `(name, label)`.
fn tool(
    (name, label): (&'static str, &'static str),
    program: &str,
    args: &[&str],
    used_by: &'static str,
) -> Check {
    let (status, detail) = match version_of(program, args) {
        Some(version) => (Status::Ok, version),
        None => (
            Status::Missing,
            format!("`{program} {}` did not run: not installed", args.join(" ")),
        ),
    };
    Check {
        name,
        label,
        status,
        detail,
        needed: false,
        used_by,
    }
}

/// The first line `program ARGS` prints (on stdout, or stderr as old
/// Pythons do) when it succeeds.
fn version_of(program: &str, args: &[&str]) -> Option<String> {
    let output = run_within(Command::new(program).args(args), Duration::from_secs(20))?;
    if !output.status.success() {
        return None;
    }
    let text = if output.stdout.is_empty() {
        output.stderr
    } else {
        output.stdout
    };
    let text = String::from_utf8_lossy(&text);
    Some(text.lines().next().unwrap_or("").trim().to_string())
}

/// Runs `command` to completion within `deadline`; `None` when it cannot
/// start or is still running then (it is killed: a probe never hangs).
fn run_within(command: &mut Command, deadline: Duration) -> Option<Output> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    let pipes: [Box<dyn Read + Send>; 2] = [
        Box::new(child.stdout.take()?),
        Box::new(child.stderr.take()?),
    ];
    let (tx, rx) = mpsc::channel();
    for (index, mut pipe) in pipes.into_iter().enumerate() {
        let tx = tx.clone();
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            let _ = tx.send((index, bytes));
        });
    }
    let until = Instant::now() + deadline;
    let mut outputs = [Vec::new(), Vec::new()];
    for _ in 0..2 {
        match rx.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok((index, bytes)) => outputs[index] = bytes,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
    let status = child.wait().ok()?;
    let [stdout, stderr] = outputs;
    Some(Output {
        status,
        stdout,
        stderr,
    })
}

// --- which cases skip: read from the test files --------------------------------

/// Every `tests/*.rs` of the checkout at `root` (not `support/`, not
/// `solutions/`), as (file stem, source), in name order.
fn test_files(root: &Path) -> std::io::Result<Vec<(String, String)>> {
    let dir = root.join("tests");
    let mut files = Vec::new();
    for entry in fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        files.push((stem.to_string(), fs::read_to_string(&path)?));
    }
    files.sort();
    Ok(files)
}

/// The cases of `files` that need one of the `missing` checks, grouped by
/// check and file.
fn skipping_cases(files: &[(String, String)], missing: &[&'static str]) -> Vec<Skip> {
    let mut skips = Vec::new();
    for &because in missing {
        for (file, source) in files {
            let mut count = 0;
            let mut cases = Vec::new();
            for test in test_fns(source) {
                for (case, multiplier) in test.cases_needing(because) {
                    count += multiplier;
                    cases.push(case);
                }
            }
            if count > 0 {
                skips.push(Skip {
                    because,
                    file: file.clone(),
                    count,
                    cases,
                });
            }
        }
    }
    skips
}

/// A test function as read from its source: enough to tell which of its
/// cases need IPv6 or python3.
#[derive(Debug, Default)]
struct TestFn {
    name: String,
    /// rstest's `#[case::name(args)]`, as (name, args); empty for a plain `#[test]`.
    cases: Vec<(String, String)>,
    /// The product of the lengths of its `#[values(..)]` lists (1 without).
    values: usize,
    /// The signature and the body.
    text: String,
}

impl TestFn {
    /// The names `cargo test` gives its cases that need `check`, each with
    /// how many tests it stands for (its `#[values]` combinations).
    fn cases_needing(&self, check: &str) -> Vec<(String, usize)> {
        let width = self.cases.len().to_string().len();
        let named = |i: usize, case: &str| {
            if case.is_empty() {
                format!("{}::case_{:0width$}", self.name, i + 1)
            } else {
                format!("{}::case_{:0width$}_{case}", self.name, i + 1)
            }
        };
        match check {
            "ipv6_loopback" if self.cases.is_empty() => {
                if self.text.contains("require(Family::V6)") {
                    vec![(self.name.clone(), self.values)]
                } else {
                    Vec::new()
                }
            }
            "ipv6_loopback" => self
                .cases
                .iter()
                .enumerate()
                .filter(|(_, (_, args))| args.contains("Family::V6"))
                .map(|(i, (case, _))| (named(i, case), self.values))
                .collect(),
            "python3" if self.text.contains("python3()") => {
                if self.cases.is_empty() {
                    vec![(self.name.clone(), self.values)]
                } else {
                    self.cases
                        .iter()
                        .enumerate()
                        .map(|(i, (case, _))| (named(i, case), self.values))
                        .collect()
                }
            }
            _ => Vec::new(),
        }
    }
}

/// The test functions of `source` that are not ignored, read line by line
/// as rustfmt lays them out: attributes, then `fn name(`, then a body that
/// ends with a `}` alone at the start of a line.
fn test_fns(source: &str) -> Vec<TestFn> {
    let mut tests = Vec::new();
    let mut is_test = false;
    let mut ignored = false;
    let mut cases = Vec::new();
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed == "#[test]" || trimmed == "#[rstest]" {
            is_test = true;
        } else if trimmed.starts_with("#[ignore") {
            ignored = true;
        } else if let Some(case) = trimmed.strip_prefix("#[case") {
            let (name, args) = match case.strip_prefix("::") {
                Some(rest) => rest.split_once('(').unwrap_or((rest, "")),
                None => ("", case),
            };
            cases.push((name.to_string(), args.to_string()));
        } else if trimmed.starts_with("#[") || trimmed.starts_with("//") {
            // Another attribute or a comment between the attributes and the fn.
        } else if let Some(rest) = trimmed.strip_prefix("fn ") {
            let name = rest.split(['(', '<']).next().unwrap_or(rest).to_string();
            let mut text = line.to_string();
            for body_line in lines.by_ref() {
                text.push('\n');
                text.push_str(body_line);
                if body_line == "}" {
                    break;
                }
            }
            if is_test && !ignored {
                let values = values_product(&text);
                tests.push(TestFn {
                    name,
                    cases: std::mem::take(&mut cases),
                    values,
                    text,
                });
            }
            (is_test, ignored) = (false, false);
            cases.clear();
        } else {
            (is_test, ignored) = (false, false);
            cases.clear();
        }
    }
    tests
}

/// The product of the lengths of the `#[values(..)]` lists in `text`.
fn values_product(text: &str) -> usize {
    text.split("#[values(")
        .skip(1)
        .map(|list| {
            let mut depth = 0usize;
            let mut items = 1;
            for c in list.chars() {
                match c {
                    '(' | '[' | '{' => depth += 1,
                    ')' | ']' | '}' if depth == 0 => break,
                    ')' | ']' | '}' => depth -= 1,
                    ',' if depth == 0 => items += 1,
                    _ => {}
                }
            }
            items
        })
        .product()
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

// --- what differs per OS: all of it here ---------------------------------------

/// The OS-specific probes, one `#[cfg]` per OS, and nowhere else.
mod platform {
    use super::{Check, Status};

    /// The kernel's name and release, as `uname -sr` prints them.
    #[cfg(unix)]
    pub fn kernel() -> String {
        match nix::sys::utsname::uname() {
            Ok(uts) => format!(
                "{} {}",
                uts.sysname().to_string_lossy(),
                uts.release().to_string_lossy()
            ),
            Err(e) => format!("unknown (uname failed: {e})"),
        }
    }

    /// Windows' name and version, as `ver` prints them.
    #[cfg(windows)]
    pub fn kernel() -> String {
        super::version_of("cmd", &["/C", "ver"])
            .unwrap_or_else(|| "Windows (ver did not run)".to_string())
    }

    #[cfg(not(any(unix, windows)))]
    pub fn kernel() -> String {
        format!("unknown ({})", std::env::consts::OS)
    }

    /// Whether the Linux file `path` can be read, as the check `name`.
    pub fn proc_file((name, path): (&'static str, &'static str), used_by: &'static str) -> Check {
        let (status, detail) = if cfg!(target_os = "linux") {
            match std::fs::read_to_string(path) {
                Ok(_) => (Status::Ok, "readable".to_string()),
                Err(e) => (Status::Missing, format!("cannot read {path}: {e}")),
            }
        } else {
            (Status::NotOnThisOs, "Linux only".to_string())
        };
        Check {
            name,
            label: path,
            status,
            detail,
            needed: false,
            used_by,
        }
    }

    /// Whether an unprivileged user can make a user and network namespace:
    /// `unshare -rn true` (then `tc netem` can shape its own loopback).
    pub fn namespaces() -> Check {
        let (status, detail) = if cfg!(target_os = "linux") {
            let who = if is_root() {
                "as root (a normal user may still be refused)"
            } else {
                "as a normal user"
            };
            match super::run_within(
                std::process::Command::new("unshare").args(["-rn", "true"]),
                std::time::Duration::from_secs(20),
            ) {
                Some(out) if out.status.success() => {
                    (Status::Ok, format!("`unshare -rn true` works {who}"))
                }
                Some(out) => (
                    Status::Missing,
                    format!(
                        "`unshare -rn true` failed {who}: {}",
                        String::from_utf8_lossy(&out.stderr).trim()
                    ),
                ),
                None => (
                    Status::Missing,
                    "`unshare` did not run (util-linux not installed?)".to_string(),
                ),
            }
        } else {
            (Status::NotOnThisOs, "Linux only".to_string())
        };
        Check {
            name: "user_net_namespaces",
            label: "user+net namespaces",
            status,
            detail,
            needed: false,
            used_by: "tc netem on a private loopback without root (ch11's notes)",
        }
    }

    /// Whether this process runs as root (`id -u` prints 0).
    fn is_root() -> bool {
        super::version_of("id", &["-u"]).is_some_and(|uid| uid == "0")
    }

    /// `UDP_SEGMENT` (GSO, Linux 4.18): one send carries many datagrams.
    pub fn gso() -> Check {
        offload(
            "udp_gso",
            "UDP GSO (UDP_SEGMENT)",
            "setsockopt(IPPROTO_UDP, UDP_SEGMENT=103, 1200)",
            set_gso,
        )
    }

    /// `UDP_GRO` (Linux 5.0): one receive returns many datagrams.
    pub fn gro() -> Check {
        offload(
            "udp_gro",
            "UDP GRO (UDP_GRO)",
            "setsockopt(IPPROTO_UDP, UDP_GRO=104, 1)",
            set_gro,
        )
    }

    fn offload(
        name: &'static str,
        label: &'static str,
        call: &str,
        set: fn(&std::net::UdpSocket) -> std::io::Result<()>,
    ) -> Check {
        let (status, detail) = if cfg!(target_os = "linux") {
            match udp_lab::net::bind_loopback(udp_lab::net::Family::V4).and_then(|s| set(&s)) {
                Ok(()) => (Status::Ok, format!("{call} accepted")),
                Err(e) => (Status::Missing, format!("{call} refused: {e}")),
            }
        } else {
            (Status::NotOnThisOs, "Linux only".to_string())
        };
        Check {
            name,
            label,
            status,
            detail,
            needed: false,
            used_by: "batching beyond recvmmsg, as quinn-udp does (ch13's notes)",
        }
    }

    #[cfg(target_os = "linux")]
    fn set_gso(sock: &std::net::UdpSocket) -> std::io::Result<()> {
        use nix::sys::socket::{setsockopt, sockopt::UdpGsoSegment};
        setsockopt(sock, UdpGsoSegment, &1200).map_err(std::io::Error::from)
    }

    #[cfg(target_os = "linux")]
    fn set_gro(sock: &std::net::UdpSocket) -> std::io::Result<()> {
        use nix::sys::socket::{setsockopt, sockopt::UdpGroSegment};
        setsockopt(sock, UdpGroSegment, &true).map_err(std::io::Error::from)
    }

    #[cfg(not(target_os = "linux"))]
    fn set_gso(_: &std::net::UdpSocket) -> std::io::Result<()> {
        Err(std::io::ErrorKind::Unsupported.into())
    }

    #[cfg(not(target_os = "linux"))]
    fn set_gro(_: &std::net::UdpSocket) -> std::io::Result<()> {
        Err(std::io::ErrorKind::Unsupported.into())
    }
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

    #[test]
    fn rstest_cases_with_family_v6_are_the_ones_that_need_ipv6() {
        let source = r#"
/// Docs before the attributes.
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
/// Docs and another attribute between the cases and the fn.
#[file_serial(icmp)]
fn one(#[case] family: Family, #[values(Reply::Upper, Reply::Threaded)] reply: Reply) {
    if !net::require(family) {
        return;
    }
}

#[test]
#[ignore = "exercise"]
fn stub() {
    todo!()
}

#[test]
fn with_python() {
    let server = start();
    let Some(python) = support::python3() else {
        return;
    };
}

#[test]
fn plain_ipv6() {
    let before = 1;
    if !net::require(Family::V6) {
        return;
    }
}
"#;
        let tests = test_fns(source);
        let names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["one", "with_python", "plain_ipv6"],
            "the ignored stub is not counted"
        );
        assert_eq!(
            tests[0].cases_needing("ipv6_loopback"),
            [("one::case_2_ipv6".to_string(), 2)],
            "one IPv6 case, times its two #[values]"
        );
        assert!(
            tests[0].cases_needing("python3").is_empty(),
            "no python3() call, no python3 case"
        );
        assert_eq!(
            tests[1].cases_needing("python3"),
            [("with_python".to_string(), 1)],
            "the call is found anywhere in the body"
        );
        assert!(tests[1].cases_needing("ipv6_loopback").is_empty());
        assert_eq!(
            tests[2].cases_needing("ipv6_loopback"),
            [("plain_ipv6".to_string(), 1)],
            "a plain test that requires IPv6 is one case"
        );
    }

    #[test]
    fn values_lists_multiply_and_commas_inside_brackets_do_not_split_a_value() {
        assert_eq!(
            values_product("#[values(f(1, 2), [3, 4], {5}, 6)] a: u8, #[values(x, y)] b: u8"),
            8,
            "4 values times 2 values"
        );
        assert_eq!(values_product("fn plain()"), 1, "no #[values]: one case");
    }

    #[test]
    fn sizes_show_in_whole_mib_or_else_kib() {
        assert_eq!(mib(4 * 1024 * 1024), "4 MiB");
        assert_eq!(mib(212_992), "208 KiB");
    }
}
