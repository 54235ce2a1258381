//! Running exercises' tests with `cargo test` and reading libtest's plain
//! output: which tests ran and how each ended; from that, each exercise's
//! state (`todo`, `failing`, `passing`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::Serialize;

use super::tree::Chapter;
use crate::cli::book::Exercise;
use crate::cli::Failure;

/// Where an exercise stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// The stub is untouched: still `#[ignore]`d or still `todo!()`.
    Todo,
    /// Started, and its test does not pass (or does not compile, or did not run).
    Failing,
    /// Started, and its test ran and passed.
    Passing,
}

impl State {
    /// `todo`, `failing`, `passing`.
    pub fn word(&self) -> &'static str {
        match self {
            State::Todo => "todo",
            State::Failing => "failing",
            State::Passing => "passing",
        }
    }
}

/// An exercise's state and, unless it passes, why.
#[derive(Clone, Debug)]
pub struct Verdict {
    pub state: State,
    /// Why it is not passing, in a few words; empty when it passes.
    pub reason: String,
}

impl Verdict {
    fn new(state: State, reason: impl Into<String>) -> Verdict {
        Verdict {
            state,
            reason: reason.into(),
        }
    }

    /// Done: the test ran and passed.
    pub fn done(&self) -> bool {
        self.state == State::Passing
    }
}

/// What one `cargo test` run showed.
pub struct Run {
    /// Each test that ran: its name and libtest's word (`ok`, `FAILED`, `ignored`).
    pub outcomes: BTreeMap<String, String>,
    /// False when no test binary ran (a compile error).
    pub compiled: bool,
    /// The tests' output (libtest's stdout), to show a student what failed.
    pub stdout: String,
    /// Whether cargo exited with success.
    pub success: bool,
}

/// How cargo's own output (compiling, errors) is handled.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// Shown as it comes (a student checking one exercise sees compile errors).
    Shown,
    /// Kept quiet (a list or a grade of many).
    Quiet,
}

/// `cargo` in `root`, building in `target` (the checkout's own when `None`),
/// without colours (its output is read), with no planted bug named.
pub fn cargo(root: &Path, target: Option<&Path>) -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root)
        .env("CARGO_TERM_COLOR", "never")
        .env_remove(udp_lab::lab::planted::ENV);
    if let Some(dir) = target {
        cmd.env("CARGO_TARGET_DIR", dir);
    }
    cmd
}

/// `cargo test --features planted-bugs FLAGS --test CHAPTER...` in `root`,
/// built in `target`: stdin closed, stdout piped, the build's messages
/// shown or kept quiet as `build` says.
pub fn cargo_test_of(
    root: &Path,
    target: Option<&Path>,
    flags: &[&str],
    chapters: &[&str],
    build: Build,
) -> Command {
    let mut cmd = cargo(root, target);
    cmd.args(["test", "--features", super::bugs::FEATURE])
        .args(flags);
    for chapter in chapters {
        cmd.args(["--test", chapter]);
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::piped());
    cmd.stderr(match build {
        Build::Shown => Stdio::inherit(),
        Build::Quiet => Stdio::piped(),
    });
    cmd
}

/// `cargo test --features planted-bugs --test CHAPTER... -- --exact
/// --include-ignored NAMES...` in `root`, built in `target` (the
/// checkout's own when `None`). Built with the planted bugs in (none is
/// named, so the tests run against the real library): the same binaries
/// then run again under each bug ([`bugs`](super::bugs)) with no new build.
pub fn cargo_test(
    root: &Path,
    target: Option<&Path>,
    chapters: &[&str],
    names: &[&str],
    build: Build,
) -> Result<Run, Failure> {
    let mut cmd = cargo_test_of(root, target, &["--no-fail-fast"], chapters, build);
    cmd.args(["--", "--exact", "--include-ignored"]).args(names);
    let output = cmd
        .output()
        .map_err(|e| Failure::Usage(format!("running cargo test in {}: {e}", root.display())))?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    Ok(Run {
        outcomes: outcomes(&stdout),
        compiled: stdout.contains("running "),
        stdout,
        success: output.status.success(),
    })
}

/// Each `test NAME ... OUTCOME` line of libtest's plain output.
pub fn outcomes(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test ")?.split_once(" ... "))
        .map(|(name, outcome)| (name.to_string(), outcome.trim().to_string()))
        .collect()
}

/// The number of tests libtest said it was running (`running N tests`), summed.
pub fn tests_run(stdout: &str) -> usize {
    stdout
        .lines()
        .filter_map(|l| {
            l.strip_prefix("running ")?
                .split_whitespace()
                .next()?
                .parse::<usize>()
                .ok()
        })
        .sum()
}

/// The verdict on a started exercise from a run of its chapter.
pub fn verdict(exercise: &Exercise, run: &Run) -> Verdict {
    if !exercise.started {
        return Verdict::new(State::Todo, "its stub is untouched (#[ignore] or todo!())");
    }
    if !run.compiled {
        return Verdict::new(State::Failing, "its chapter's tests do not compile");
    }
    match run.outcomes.get(&exercise.test).map(String::as_str) {
        Some("ok") => Verdict::new(State::Passing, ""),
        Some("FAILED") => Verdict::new(State::Failing, "its test fails"),
        Some(other) => Verdict::new(State::Failing, format!("its test ended as `{other}`")),
        None => Verdict::new(
            State::Failing,
            format!(
                "no test `{}` ran: is `#[test]` still above it?",
                exercise.test
            ),
        ),
    }
}

/// Every exercise's verdict, by id. An untouched stub is `todo` without
/// running anything; each chapter with a started exercise is run once.
pub fn verdicts(
    root: &Path,
    target: Option<&Path>,
    chapters: &[Chapter],
) -> Result<BTreeMap<String, Verdict>, Failure> {
    let mut verdicts = BTreeMap::new();
    for chapter in chapters {
        let started: Vec<&str> = chapter
            .exercises
            .iter()
            .filter(|e| e.started)
            .map(|e| e.test.as_str())
            .collect();
        let run = if started.is_empty() {
            None
        } else {
            Some(cargo_test(
                root,
                target,
                &[&chapter.name],
                &started,
                Build::Quiet,
            )?)
        };
        for exercise in &chapter.exercises {
            let verdict = match &run {
                Some(run) => verdict(exercise, run),
                None => verdict(exercise, &Run::none()),
            };
            verdicts.insert(exercise.id.clone(), verdict);
        }
    }
    Ok(verdicts)
}

impl Run {
    /// A run that never happened (every exercise of its chapter is todo).
    fn none() -> Run {
        Run {
            outcomes: BTreeMap::new(),
            compiled: false,
            stdout: String::new(),
            success: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIBTEST: &str =
        "\nrunning 2 tests\ntest a_b ... ok\ntest c_d ... FAILED\n\nfailures:\n\n\
        ---- c_d stdout ----\npanicked\n\ntest result: FAILED. 1 passed; 1 failed; 0 ignored\n";

    #[test]
    fn libtest_plain_output_gives_each_test_and_how_it_ended() {
        let found = outcomes(LIBTEST);
        assert_eq!(
            found.get("a_b").map(String::as_str),
            Some("ok"),
            "a_b passed; got {found:?}"
        );
        assert_eq!(
            found.get("c_d").map(String::as_str),
            Some("FAILED"),
            "c_d failed; got {found:?}"
        );
        assert_eq!(
            found.len(),
            2,
            "only `test NAME ... OUTCOME` lines count; got {found:?}"
        );
        assert_eq!(tests_run(LIBTEST), 2, "libtest said it was running 2 tests");
    }
}
