//! `udp-lab exercises check N.M`: runs one exercise's test and says whether
//! it is done and what to do next. Exit 0 only when the test exists, is
//! not ignored, ran (exactly one test), passed on the real library and
//! failed under every planted bug its exercise lists (`Catches:`): a test
//! that would also pass on a broken server is not done.

use std::path::Path;

use super::bugs;
use super::runner::{self, Build, State, Verdict};
use super::tree::{self, Chapter};
use crate::cli::book::{self, Exercise};
use crate::cli::{Failure, Outcome};

/// Runs `udp-lab exercises check ID` in `root`.
pub fn run(root: &Path, id: &str) -> Outcome {
    let chapters = tree::chapters(root)?;
    let (chapter, exercise) = tree::find(&chapters, id)?;
    let (verdict, stdout) = check(root, None, chapter, exercise, Build::Shown)?;
    if !verdict.done() {
        print!("{stdout}");
        return Err(Failure::Failed(status_line(exercise, &verdict)));
    }
    let hunt = hunt(root, None, chapter, exercise)?;
    if !hunt.missed.is_empty() {
        println!(
            "exercise {}: its test passes on the real library, but it is not sharp enough yet",
            exercise.id
        );
        return Err(Failure::Failed(format!(
            "exercise {} is failing: {}",
            exercise.id,
            hunt.summary()
        )));
    }
    println!("{}", status_line(exercise, &verdict));
    if !hunt.caught.is_empty() {
        println!("{}: {}", hunt.summary(), hunt.caught.join(", "));
    }
    println!("{}", next_step(&chapters, exercise));
    Ok(())
}

/// Runs a passing exercise's test under each planted bug its exercise
/// lists; the binaries `check` just built are reused (no new build).
pub fn hunt(
    root: &Path,
    target: Option<&Path>,
    chapter: &Chapter,
    exercise: &Exercise,
) -> Result<bugs::Hunt, Failure> {
    if exercise.catches.is_empty() {
        return Ok(bugs::Hunt::default());
    }
    let binaries = bugs::binaries(root, target, &[&chapter.name], Build::Quiet)?;
    bugs::hunt(
        root,
        binaries.of(&chapter.name)?,
        &exercise.test,
        &exercise.catches,
    )
}

/// One line: the exercise, its state, and why when it is not done.
pub fn status_line(exercise: &Exercise, verdict: &Verdict) -> String {
    match verdict.state {
        State::Passing => format!("exercise {} passes: {}", exercise.id, exercise.title),
        _ => format!(
            "exercise {} is {}: {}",
            exercise.id,
            verdict.state.word(),
            verdict.reason
        ),
    }
}

/// Checks one exercise: its verdict and the tests' output (empty when
/// nothing ran). An ignored stub is `todo` without running anything.
pub fn check(
    root: &Path,
    target: Option<&Path>,
    chapter: &Chapter,
    exercise: &Exercise,
    build: Build,
) -> Result<(Verdict, String), Failure> {
    let file = chapter.file();
    if is_ignored(root, &file, exercise)? {
        let reason = format!(
            "delete its `#[ignore = ...]` line in {file} and write the test \
             (hint: `cargo run -- exercises hint {}`)",
            exercise.id
        );
        return Ok((
            Verdict {
                state: State::Todo,
                reason,
            },
            String::new(),
        ));
    }
    let run = runner::cargo_test(root, target, &[&chapter.name], &[&exercise.test], build)?;
    let ran = runner::tests_run(&run.stdout);
    let outcome = run.outcomes.get(&exercise.test).map(String::as_str);
    let failing = |reason: String| Verdict {
        state: State::Failing,
        reason,
    };
    let verdict = if !run.compiled {
        failing(format!(
            "{file} does not compile: fix the errors cargo printed above"
        ))
    } else if ran != 1 || outcome.is_none() {
        failing(format!(
            "{ran} tests ran, not exactly one named `{}`: keep `#[test]` right above \
             `fn {}` (one test, no rstest cases)",
            exercise.test, exercise.test
        ))
    } else if !exercise.started {
        Verdict {
            state: State::Todo,
            reason: "its test still calls todo!(): replace it with your test".into(),
        }
    } else if outcome == Some("ok") && run.success {
        Verdict {
            state: State::Passing,
            reason: String::new(),
        }
    } else {
        failing(format!(
            "its test `{}` fails (its message is above)",
            exercise.test
        ))
    };
    Ok((verdict, run.stdout))
}

/// Whether the exercise's region in `root` still has an `#[ignore]` line.
fn is_ignored(root: &Path, file: &str, exercise: &Exercise) -> Result<bool, Failure> {
    let source = tree::read(&root.join(file))?;
    Ok(book::region(&source, &exercise.region)
        .is_some_and(|body| body.lines().any(|l| l.trim_start().starts_with("#[ignore"))))
}

/// What to do after `done` passes: the next exercise not started yet.
fn next_step(chapters: &[Chapter], done: &Exercise) -> String {
    let all: Vec<&Exercise> = chapters.iter().flat_map(|c| &c.exercises).collect();
    let after = all
        .iter()
        .position(|e| e.id == done.id)
        .map_or(0, |i| i + 1);
    let next = all[after..]
        .iter()
        .chain(&all[..after])
        .find(|e| !e.started && e.id != done.id);
    match next {
        Some(e) => format!(
            "Next: exercise {}, {} (`cargo run -- exercises hint {}`); \
             `cargo run -- exercises` shows your progress.",
            e.id, e.title, e.id
        ),
        None => "Every exercise is started: `cargo run -- exercises` shows which pass.".into(),
    }
}
