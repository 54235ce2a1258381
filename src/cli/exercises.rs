//! `udp-lab exercises`: the course's exercises for a student, rustlings
//! style. `list` (the default) shows each exercise's state and the
//! progress; `hint N.M` its hint; `check N.M` runs its test; `watch` checks
//! again on every save; `grade` grades in a clean copy (for a course's
//! grader too). The maintainers' commands are `udp-lab dev`.
//!
//! An exercise is the region `exercise_N_M` of `tests/chNN_slug.rs` (see
//! [`book`](super::book)); its reference solution is the same region in
//! `tests/solutions/chNN_slug.rs` (see `docs/contributing.md`).

pub mod bugs;
pub mod check;
pub mod grade;
pub mod runner;
pub mod tree;
pub mod watch;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use runner::Verdict;

use super::book::Exercise;
use tree::Chapter;

use super::Outcome;

/// Arguments of `udp-lab exercises`.
#[derive(clap::Args, Default)]
pub struct ExercisesArgs {
    #[command(subcommand)]
    pub command: Option<ExercisesCommand>,
    /// The udp-lab checkout to work on (default: the one holding the
    /// current directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

/// The student's commands.
#[derive(clap::Subcommand)]
pub enum ExercisesCommand {
    /// Every exercise with its state (todo, failing, passing) and how many are done (the default).
    List,
    /// An exercise's hint, where it is and how to check it (done or not).
    Hint {
        /// The exercise, e.g. `2.1`.
        id: String,
    },
    /// Run one exercise's test: exit 0 only when it ran and passed.
    Check {
        /// The exercise, e.g. `2.1`.
        id: String,
    },
    /// Check the exercise you are on again on every save of its chapter file (q or Ctrl-C quits).
    Watch(watch::WatchArgs),
    /// Grade every exercise in a clean copy of the course (exit 0 only when all are done).
    Grade(grade::GradeArgs),
}

/// Runs `udp-lab exercises`.
pub fn run(args: &ExercisesArgs) -> Outcome {
    let root = tree::root(args.root.as_deref());
    match &args.command {
        None | Some(ExercisesCommand::List) => list(&root),
        Some(ExercisesCommand::Hint { id }) => hint(&root, id),
        Some(ExercisesCommand::Check { id }) => check::run(&root, id),
        Some(ExercisesCommand::Watch(w)) => watch::run(&root, w),
        Some(ExercisesCommand::Grade(g)) => grade::run(&root, g),
    }
}

/// `udp-lab exercises list`: a table by chapter, then "N of M done" and
/// what to do next. Only chapters with a started exercise are run.
fn list(root: &Path) -> Outcome {
    let chapters = tree::chapters(root)?;
    let verdicts = runner::verdicts(root, None, &chapters)?;
    for chapter in &chapters {
        println!("{}", chapter.file());
        for exercise in &chapter.exercises {
            let verdict = &verdicts[&exercise.id];
            println!(
                "  {:<6} {:<8} {}{}",
                exercise.id,
                verdict.state.word(),
                exercise.title,
                note(verdict)
            );
        }
    }
    let (done, total) = progress(&verdicts);
    println!("\n{done} of {total} done");
    if done > 0 {
        // list runs each test once on the real library; only check and
        // grade also run it under the planted bugs it must catch.
        println!(
            "(passing: your test passes on the real library; `cargo run -- exercises check N.M` \
             also shows which planted bugs it catches, as a grade does)"
        );
    }
    println!("{}", next_hint(&chapters, &verdicts));
    Ok(())
}

/// ` (why)` for a failing exercise, nothing otherwise.
fn note(verdict: &Verdict) -> String {
    match verdict.state {
        runner::State::Failing => format!("  ({})", verdict.reason),
        _ => String::new(),
    }
}

/// How many exercises are done, of how many.
pub fn progress(verdicts: &BTreeMap<String, Verdict>) -> (usize, usize) {
    let done = verdicts.values().filter(|v| v.done()).count();
    (done, verdicts.len())
}

/// The first exercise that is not done, in chapter order.
pub fn first_not_done<'a>(
    chapters: &'a [Chapter],
    verdicts: &BTreeMap<String, Verdict>,
) -> Option<(&'a Chapter, &'a Exercise)> {
    chapters
        .iter()
        .flat_map(|c| c.exercises.iter().map(move |e| (c, e)))
        .find(|(_, e)| !verdicts.get(&e.id).is_some_and(Verdict::done))
}

/// The commands for the first exercise not done.
fn next_hint(chapters: &[Chapter], verdicts: &BTreeMap<String, Verdict>) -> String {
    match first_not_done(chapters, verdicts) {
        Some((_, e)) => {
            let rows = [
                (format!("hint {}", e.id), "its hint"),
                (format!("check {}", e.id), "run its test"),
                ("watch".to_string(), "check it again on every save"),
            ];
            let commands: Vec<String> = rows
                .iter()
                .map(|(cmd, what)| format!("  cargo run -- exercises {cmd:<10} {what}"))
                .collect();
            format!(
                "Next: exercise {}, {}.\n{}",
                e.id,
                e.title,
                commands.join("\n")
            )
        }
        None => "Every exercise is done.".into(),
    }
}

/// `udp-lab exercises hint N.M`: works whether the exercise is done or not.
fn hint(root: &Path, id: &str) -> Outcome {
    let chapters = tree::chapters(root)?;
    let (chapter, exercise) = tree::find(&chapters, id)?;
    println!("exercise {}: {}", exercise.id, exercise.title);
    println!("  where: {}, fn {}", chapter.file(), exercise.test);
    println!("  hint:  {}", exercise.hint);
    if !exercise.catches.is_empty() {
        println!("  its test must catch: {}", exercise.catches.join(", "));
    }
    println!("  check: cargo run -- exercises check {}", exercise.id);
    let solution = format!("tests/solutions/{}.rs", chapter.name);
    if root.join(&solution).exists() {
        println!("  reference solution: {solution} (try first)");
    }
    Ok(())
}
