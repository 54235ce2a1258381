//! `udp-lab exercises grade [--json] [--pristine DIR]`: grades a student's
//! exercises in a clean copy of the course. Only the student's exercise
//! regions are taken (their code; the `///` header stays the pristine
//! one), spliced into a temporary copy of the pristine tree, so a student
//! who edits a helper, another test or an exercise's header cannot fake a
//! pass. Exit 0 only when every exercise is done.
//!
//! The JSON report (`--json`, schema `udp-lab-grade/1`) is documented in
//! `docs/teaching.md`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::bugs;
use super::runner::{self, Build, State, Verdict};
use super::tree::{self, Chapter, CopyOptions};
use crate::cli::book;
use crate::cli::{Failure, Outcome};

/// Arguments of `udp-lab exercises grade`.
#[derive(clap::Args, Default)]
pub struct GradeArgs {
    /// Print the report as JSON (schema in docs/teaching.md).
    #[arg(long)]
    pub json: bool,
    /// The course's untouched tree, whose helpers and tests are used
    /// (default: the checkout being graded).
    #[arg(long, value_name = "DIR")]
    pub pristine: Option<PathBuf>,
}

/// The report, as `--json` prints it.
#[derive(Serialize)]
pub struct Report {
    /// `udp-lab-grade/1`.
    pub schema: &'static str,
    /// The student's checkout.
    pub student: String,
    /// The tree the exercises were spliced into.
    pub pristine: String,
    /// How many exercises are done.
    pub done: usize,
    /// How many exercises there are.
    pub total: usize,
    /// Every exercise, in chapter order.
    pub exercises: Vec<Graded>,
}

/// One exercise's grade.
#[derive(Serialize)]
pub struct Graded {
    /// `2.1`.
    pub id: String,
    /// `ch02_empty_datagrams`.
    pub chapter: String,
    /// The test function's name.
    pub test: String,
    /// The property the test proves.
    pub title: String,
    /// `todo`, `failing` or `passing`.
    pub state: State,
    /// Passing on the real library, and every planted bug it lists caught.
    pub done: bool,
    /// Why it is not done; `null` when it is.
    pub reason: Option<String>,
    /// The planted bugs the test caught.
    pub bugs_caught: Vec<String>,
    /// The planted bugs the test let through (it passed, or hung, under them).
    pub bugs_missed: Vec<String>,
}

/// Runs `udp-lab exercises grade` for the student checkout `root`.
pub fn run(root: &Path, args: &GradeArgs) -> Outcome {
    let pristine = args.pristine.clone().unwrap_or_else(|| root.to_path_buf());
    if !pristine.join("tests").is_dir() {
        return Err(Failure::Usage(format!(
            "{} has no tests/ folder: --pristine names the course's untouched checkout",
            pristine.display()
        )));
    }
    let report = grade(root, &pristine)?;
    if args.json {
        let text = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::Usage(format!("writing the JSON report: {e}")))?;
        println!("{text}");
    } else {
        print_table(&report);
    }
    if report.done == report.total {
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "{} of {} exercises done",
            report.done, report.total
        )))
    }
}

/// Grades the exercises of `student` spliced into a temporary copy of
/// `pristine` (removed when done, even on failure).
pub fn grade(student: &Path, pristine: &Path) -> Result<Report, Failure> {
    let pristine_chapters = tree::chapters(pristine)?;
    let copy = tempfile::Builder::new()
        .prefix("udp-lab-grade-")
        .tempdir()
        .map_err(|e| Failure::Usage(format!("making a temporary folder: {e}")))?;
    let options = CopyOptions {
        solutions: false,
        own_workspace: true,
    };
    tree::copy_checkout(pristine, copy.path(), options)?;
    for chapter in &pristine_chapters {
        splice_student(student, copy.path(), chapter)?;
    }
    let chapters = tree::chapters(copy.path())?;
    let target = tree::copies_target(student);
    let mut verdicts = runner::verdicts(copy.path(), Some(&target), &chapters)?;
    let hunts = hunt_passing(copy.path(), &target, &chapters, &mut verdicts)?;
    Ok(report(student, pristine, &chapters, &verdicts, &hunts))
}

/// Runs every passing exercise's test under the planted bugs it must
/// catch; one that misses any becomes `failing`, with the summary as why.
fn hunt_passing(
    copy: &Path,
    target: &Path,
    chapters: &[Chapter],
    verdicts: &mut BTreeMap<String, Verdict>,
) -> Result<BTreeMap<String, bugs::Hunt>, Failure> {
    let mut hunts = BTreeMap::new();
    for chapter in chapters {
        let passing: Vec<_> = chapter
            .exercises
            .iter()
            .filter(|e| verdicts[&e.id].done() && !e.catches.is_empty())
            .collect();
        if passing.is_empty() {
            continue;
        }
        let binaries = bugs::binaries(copy, Some(target), &[&chapter.name], Build::Quiet)?;
        for exercise in passing {
            let binary = binaries.of(&chapter.name)?;
            let hunt = bugs::hunt(copy, binary, &exercise.test, &exercise.catches)?;
            if !hunt.missed.is_empty() {
                verdicts.insert(
                    exercise.id.clone(),
                    Verdict {
                        state: State::Failing,
                        reason: hunt.summary(),
                    },
                );
            }
            hunts.insert(exercise.id.clone(), hunt);
        }
    }
    Ok(hunts)
}

/// Writes the copy's chapter file with the code of each of the student's
/// exercise regions; a region the student's file lacks stays the stub.
fn splice_student(student: &Path, copy: &Path, chapter: &Chapter) -> Outcome {
    let path = copy.join(chapter.file());
    let mut source = tree::read(&path)?;
    let theirs = tree::read(&student.join(chapter.file())).unwrap_or_default();
    for exercise in &chapter.exercises {
        if let Some(spliced) = book::splice_exercise(&source, &theirs, &exercise.region) {
            source = spliced;
        }
    }
    tree::write(&path, &source)
}

fn report(
    student: &Path,
    pristine: &Path,
    chapters: &[Chapter],
    verdicts: &BTreeMap<String, Verdict>,
    hunts: &BTreeMap<String, bugs::Hunt>,
) -> Report {
    let exercises: Vec<Graded> = chapters
        .iter()
        .flat_map(|c| c.exercises.iter().map(move |e| (c, e)))
        .map(|(chapter, e)| {
            let verdict = &verdicts[&e.id];
            let hunt = hunts.get(&e.id);
            Graded {
                id: e.id.clone(),
                chapter: chapter.name.clone(),
                test: e.test.clone(),
                title: e.title.clone(),
                state: verdict.state.clone(),
                done: verdict.done(),
                reason: (!verdict.done()).then(|| verdict.reason.clone()),
                bugs_caught: hunt.map(|h| h.caught.clone()).unwrap_or_default(),
                bugs_missed: hunt.map(bugs::Hunt::missed_names).unwrap_or_default(),
            }
        })
        .collect();
    Report {
        schema: "udp-lab-grade/1",
        student: student.display().to_string(),
        pristine: pristine.display().to_string(),
        done: exercises.iter().filter(|e| e.done).count(),
        total: exercises.len(),
        exercises,
    }
}

fn print_table(report: &Report) {
    println!("{:<6} {:<8} exercise", "id", "state");
    for e in &report.exercises {
        let why = e
            .reason
            .as_deref()
            .map(|r| format!("  ({r})"))
            .unwrap_or_default();
        println!("{:<6} {:<8} {}{why}", e.id, e.state.word(), e.title);
    }
    println!("\n{} of {} done", report.done, report.total);
}
