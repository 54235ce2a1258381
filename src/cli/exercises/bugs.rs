//! Running a test against the planted bugs of `udp_lab::lab::planted`: is
//! it sharp enough to fail when the lab breaks the property it claims?
//!
//! The chapters' test binaries are built once with the cargo feature
//! `planted-bugs` ([`binaries`]); each bug is then one run of one binary
//! with `UDP_LAB_PLANTED_BUG` set ([`run`]), no new build. Every run is
//! bounded ([`LIMIT`]): a test that waits forever on a bug that makes the
//! lab wait forever has not caught it, and must not hang the grader.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use udp_lab::lab::planted;

use super::runner::{self, Build};
use crate::cli::Failure;

/// The cargo feature that compiles the planted bugs in.
pub const FEATURE: &str = "planted-bugs";

/// The longest one test run under a planted bug may take.
pub const LIMIT: Duration = Duration::from_secs(60);

/// How a test run under a planted bug (or under none) ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ended {
    /// Every test that ran passed (and at least one ran).
    Passed,
    /// At least one test failed.
    Failed,
    /// Killed after [`LIMIT`].
    Hung,
    /// No test of that name ran.
    NotRun,
}

/// The test binary of each chapter, built with the planted bugs in.
pub struct Binaries(BTreeMap<String, PathBuf>);

impl Binaries {
    /// The binary of chapter `name` (`ch02_empty_datagrams`).
    pub fn of(&self, name: &str) -> Result<&Path, Failure> {
        self.0.get(name).map(PathBuf::as_path).ok_or_else(|| {
            Failure::Failed(format!(
                "no test binary for {name} was built with --features {FEATURE}"
            ))
        })
    }
}

/// Builds the test binaries of `chapters` in `root` with the planted bugs
/// in (`cargo test --no-run --features planted-bugs`), in `target` (the
/// checkout's own when `None`). Compile errors are shown or kept quiet as
/// `build` says; `Failure::Failed` when it does not compile.
pub fn binaries(
    root: &Path,
    target: Option<&Path>,
    chapters: &[&str],
    build: Build,
) -> Result<Binaries, Failure> {
    let flags = ["--no-run", "--message-format", "json-render-diagnostics"];
    let output = runner::cargo_test_of(root, target, &flags, chapters, build)
        .output()
        .map_err(|e| Failure::Usage(format!("running cargo in {}: {e}", root.display())))?;
    if !output.status.success() {
        return Err(Failure::Failed(format!(
            "the tests do not compile with --features {FEATURE}: {}",
            String::from_utf8_lossy(&output.stderr)
                .lines()
                .find(|l| l.starts_with("error"))
                .unwrap_or("see cargo's errors")
        )));
    }
    Ok(Binaries(executables(&String::from_utf8_lossy(
        &output.stdout,
    ))))
}

/// Each test target's executable, from cargo's JSON messages.
fn executables(json_lines: &str) -> BTreeMap<String, PathBuf> {
    json_lines
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact")
        .filter_map(|m| {
            let exe = m["executable"].as_str()?;
            let name = m["target"]["name"].as_str()?;
            Some((name.to_string(), PathBuf::from(exe)))
        })
        .collect()
}

/// One run of a chapter's test binary: the tests `filter` names (exactly
/// one, with `exact`), ignored ones included, with `bug` planted (none:
/// the real library). Returns how it ended and libtest's output.
pub fn run(
    root: &Path,
    binary: &Path,
    filter: &str,
    exact: bool,
    bug: Option<&str>,
) -> Result<(Ended, String), Failure> {
    let mut cmd = Command::new(binary);
    cmd.current_dir(root).arg(filter).arg("--include-ignored");
    if exact {
        cmd.arg("--exact");
    }
    match bug {
        Some(name) => cmd.env(planted::ENV, name),
        None => cmd.env_remove(planted::ENV),
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let child = cmd
        .spawn()
        .map_err(|e| Failure::Usage(format!("running {}: {e}", binary.display())))?;
    let (status, stdout) = wait_bounded(child, LIMIT)?;
    let ran = runner::tests_run(&stdout);
    let ended = match status {
        None => Ended::Hung,
        Some(_) if ran == 0 => Ended::NotRun,
        Some(true) => Ended::Passed,
        Some(false) => Ended::Failed,
    };
    Ok((ended, stdout))
}

/// Waits for `child` at most `limit`, reading its stdout meanwhile (so a
/// full pipe never blocks it); kills it after `limit`. `None`: killed.
fn wait_bounded(mut child: Child, limit: Duration) -> Result<(Option<bool>, String), Failure> {
    let mut pipe = child.stdout.take();
    let reader = thread::spawn(move || {
        let mut text = String::new();
        if let Some(out) = pipe.as_mut() {
            let _ = out.read_to_string(&mut text);
        }
        text
    });
    let deadline = Instant::now() + limit;
    let io = |e: std::io::Error| Failure::Usage(format!("waiting for a test binary: {e}"));
    let status = loop {
        if let Some(status) = child.try_wait().map_err(io)? {
            break Some(status.success());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        // Polling a child process: std has no wait with a timeout.
        thread::sleep(Duration::from_millis(20));
    };
    Ok((status, reader.join().unwrap_or_default()))
}

/// What a test did against the bugs its exercise lists.
#[derive(Debug, Default)]
pub struct Hunt {
    /// The bugs it failed on.
    pub caught: Vec<String>,
    /// The bugs it missed, each with why (it passed, it hung, ...).
    pub missed: Vec<(String, String)>,
}

impl Hunt {
    /// The names of the missed bugs.
    pub fn missed_names(&self) -> Vec<String> {
        self.missed.iter().map(|(name, _)| name.clone()).collect()
    }

    /// "your test caught 2 of 3 planted bugs: it still passes when ...".
    pub fn summary(&self) -> String {
        let total = self.caught.len() + self.missed.len();
        let mut line = format!(
            "your test caught {} of {total} planted bugs",
            self.caught.len()
        );
        if !self.missed.is_empty() {
            let why: Vec<&str> = self.missed.iter().map(|(_, why)| why.as_str()).collect();
            line.push_str(": ");
            line.push_str(&why.join("; "));
        }
        line
    }
}

/// Runs test `test` of the chapter binary `binary` once per bug of
/// `catches`: each must make it fail.
pub fn hunt(root: &Path, binary: &Path, test: &str, catches: &[String]) -> Result<Hunt, Failure> {
    let mut hunt = Hunt::default();
    for name in catches {
        let Some(bug) = planted::find(name) else {
            hunt.missed.push((
                name.clone(),
                format!("`{name}` is no planted bug (see src/lab/planted.rs)"),
            ));
            continue;
        };
        let (ended, _) = run(root, binary, test, true, Some(name))?;
        match ended {
            Ended::Failed => hunt.caught.push(name.clone()),
            Ended::Passed => hunt.missed.push((
                name.clone(),
                format!("it still passes when {} ({name})", bug.what),
            )),
            Ended::Hung => hunt.missed.push((
                name.clone(),
                format!(
                    "it hangs (killed after {}s) when {} ({name}): bound every wait",
                    LIMIT.as_secs(),
                    bug.what
                ),
            )),
            Ended::NotRun => hunt
                .missed
                .push((name.clone(), format!("it did not run under {name}"))),
        }
    }
    Ok(hunt)
}
