//! `udp-lab exercises check N.M`: runs one exercise's test and says whether
//! it is done and what to do next. Exit 0 only when the test exists, is
//! not ignored, ran (exactly one test), passed on the real library and
//! failed under every planted bug its exercise lists (`Catches:`): a test
//! that would also pass on a broken server is not done.

use std::collections::BTreeMap;
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
        println!("{}", still_this_one(exercise));
        return Err(Failure::Failed(status_line(exercise, &verdict)));
    }
    let hunt = hunt(root, None, chapter, exercise)?;
    if !hunt.missed.is_empty() {
        println!("{}", still_this_one(exercise));
        return Err(Failure::Failed(format!(
            "exercise {} is not done yet: it passes on the real library, but {}",
            exercise.id,
            hunt.summary()
        )));
    }
    println!("{}", status_line(exercise, &verdict));
    if !hunt.caught.is_empty() {
        println!("{}: {}", hunt.summary(), hunt.caught.join(", "));
    }
    // The others' states, as `exercises` (list) finds them: a started
    // exercise that does not pass yet is next as much as an untouched one.
    let verdicts = runner::verdicts(root, None, &chapters)?;
    println!("{}", next_step(&chapters, exercise, verdicts));
    Ok(())
}

/// The exercise being worked on is not done: it stays the next one.
fn still_this_one(exercise: &Exercise) -> String {
    format!(
        "Next: exercise {} still (`cargo run -- exercises hint {}`), then check it again.",
        exercise.id, exercise.id
    )
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

/// What to do after `done` passes: the first exercise not done, started
/// or not, in chapter order from the one after `done` (wrapping round to
/// the first chapter, so an earlier one left undone still comes up).
/// `verdicts` as [`runner::verdicts`] gives them; `done` counts as done.
fn next_step(chapters: &[Chapter], done: &Exercise, verdicts: BTreeMap<String, Verdict>) -> String {
    let all: Vec<&Exercise> = chapters.iter().flat_map(|c| &c.exercises).collect();
    let after = all
        .iter()
        .position(|e| e.id == done.id)
        .map_or(0, |i| i + 1);
    let next = all[after..]
        .iter()
        .chain(&all[..after])
        .find(|e| e.id != done.id && !verdicts.get(&e.id).is_some_and(Verdict::done));
    match next {
        Some(e) => format!(
            "Next: exercise {}, {} (`cargo run -- exercises hint {}`); \
             `cargo run -- exercises` shows your progress.",
            e.id, e.title, e.id
        ),
        None => "Every exercise passes: `cargo run -- exercises` shows your progress.".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exercise(id: &str, started: bool) -> Exercise {
        Exercise {
            id: id.into(),
            title: format!("title of {id}"),
            test: format!("test_{}", id.replace('.', "_")),
            hint: String::new(),
            catches: Vec::new(),
            region: format!("exercise_{}", id.replace('.', "_")),
            header_id: Some(id.into()),
            started,
        }
    }

    fn verdict(state: State) -> Verdict {
        Verdict {
            state,
            reason: String::new(),
        }
    }

    #[test]
    fn next_after_a_passing_exercise_is_the_first_not_done_even_if_started() {
        let chapter = Chapter {
            name: "ch14_congestion".into(),
            exercises: vec![
                exercise("14.1", true),
                exercise("14.2", true),
                exercise("14.3", false),
            ],
        };
        let verdicts = BTreeMap::from([
            ("14.1".to_string(), verdict(State::Passing)),
            ("14.2".to_string(), verdict(State::Failing)),
            ("14.3".to_string(), verdict(State::Todo)),
        ]);
        let line = next_step(&[chapter], &exercise("14.1", true), verdicts);
        assert!(
            line.starts_with("Next: exercise 14.2,"),
            "14.2 is started but failing, so it comes before the untouched 14.3; got: {line}"
        );
    }

    #[test]
    fn next_wraps_round_to_an_earlier_exercise_not_done() {
        let chapter = Chapter {
            name: "ch14_congestion".into(),
            exercises: vec![
                exercise("14.1", true),
                exercise("14.2", true),
                exercise("14.3", true),
            ],
        };
        // 14.3 was failing when the verdicts were taken; it passes now.
        let verdicts = BTreeMap::from([
            ("14.1".to_string(), verdict(State::Failing)),
            ("14.2".to_string(), verdict(State::Passing)),
            ("14.3".to_string(), verdict(State::Failing)),
        ]);
        let line = next_step(&[chapter], &exercise("14.3", true), verdicts);
        assert!(
            line.starts_with("Next: exercise 14.1,"),
            "nothing after 14.3 is left, 14.1 still fails, and 14.3 itself just passed; got: {line}"
        );
    }
}
