//! Step 4 of `udp-lab dev verify`: the planted bugs of
//! `udp_lab::lab::planted` against the course's own tests, on a copy with
//! every reference solution spliced in.
//!
//! - every exercise lists under `Catches:` the bugs it must catch, each a
//!   name of the catalogue, and its reference solution fails under each;
//! - every bug's chapter tests ([`Planted::caught_by`]) fail under it;
//! - every bug names at least one chapter test that catches it (the
//!   course's own tests are sharp, not only the reference solutions).
//!
//! The test binaries are built once with `--features planted-bugs`; each
//! check is one run of one binary with `UDP_LAB_PLANTED_BUG` set.

use std::collections::BTreeMap;
use std::path::Path;

use udp_lab::lab::planted::{self, Planted};

use crate::cli::exercises::bugs::{self, Binaries, Ended};
use crate::cli::exercises::runner::Build;
use crate::cli::exercises::tree::Chapter;
use crate::cli::{Failure, Outcome};

/// Runs the proof on `copy` (solutions spliced in), built in `target`.
pub fn run(copy: &Path, target: &Path, chapters: &[Chapter]) -> Outcome {
    println!(
        "[4/4] the {} planted bugs: each solution fails under the bugs it lists, \
         each bug's chapter tests fail under it",
        planted::CATALOGUE.len()
    );
    let names: Vec<&str> = chapters.iter().map(|c| c.name.as_str()).collect();
    let binaries = bugs::binaries(copy, Some(target), &names, Build::Quiet)?;
    let mut wrong = Vec::new();
    let mut catchers: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for chapter in chapters {
        let binary = binaries.of(&chapter.name)?;
        for exercise in &chapter.exercises {
            if exercise.catches.is_empty() {
                wrong.push(format!(
                    "exercise {} lists no planted bug (Catches:)",
                    exercise.id
                ));
                continue;
            }
            let hunt = bugs::hunt(copy, binary, &exercise.test, &exercise.catches)?;
            println!(
                "      {:<6} solution caught {} of {}: {}",
                exercise.id,
                hunt.caught.len(),
                exercise.catches.len(),
                exercise.catches.join(", ")
            );
            for name in &hunt.caught {
                if let Some(p) = planted::find(name) {
                    catchers
                        .entry(p.name)
                        .or_default()
                        .push(exercise.id.clone());
                }
            }
            wrong.extend(
                hunt.missed
                    .iter()
                    .map(|(_, why)| format!("solution {}: {why}", exercise.id)),
            );
        }
    }
    for bug in planted::CATALOGUE {
        let caught = chapter_tests(copy, &binaries, bug, &mut wrong)?;
        if caught.is_empty() {
            wrong.push(format!(
                "planted bug {} is caught by no chapter test (its caught_by is empty or none failed)",
                bug.name
            ));
        }
        catchers.entry(bug.name).or_default().extend(caught);
    }
    print_table(&catchers);
    if wrong.is_empty() {
        println!(
            "\nall {} planted bugs are caught; every reference solution catches the bugs it lists",
            planted::CATALOGUE.len()
        );
        return Ok(());
    }
    for line in &wrong {
        println!("  WRONG: {line}");
    }
    Err(Failure::Failed(format!(
        "{} planted-bug checks failed (listed above)",
        wrong.len()
    )))
}

/// Runs the chapter tests `bug` names under it; each must fail. Returns
/// those that did, as `chNN_slug::test`.
fn chapter_tests(
    copy: &Path,
    binaries: &Binaries,
    bug: &Planted,
    wrong: &mut Vec<String>,
) -> Result<Vec<String>, Failure> {
    let mut caught = Vec::new();
    for spec in bug.caught_by {
        let Some((chapter, test)) = spec.split_once("::") else {
            wrong.push(format!("{}: `{spec}` is not chNN_slug::test", bug.name));
            continue;
        };
        // Not --exact: an rstest test is a module of cases, all of them run.
        let (ended, _) = bugs::run(copy, binaries.of(chapter)?, test, false, Some(bug.name))?;
        match ended {
            Ended::Failed => caught.push(spec.to_string()),
            other => wrong.push(format!(
                "chapter test {spec} does not catch {} (under it: {other:?})",
                bug.name
            )),
        }
    }
    Ok(caught)
}

/// Every bug, its chapter and what caught it.
fn print_table(catchers: &BTreeMap<&str, Vec<String>>) {
    println!("\n{:<32} {:<3} caught by", "planted bug", "ch");
    for bug in planted::CATALOGUE {
        let by = catchers
            .get(bug.name)
            .map_or(String::new(), |c| c.join(", "));
        println!("{:<32} {:<3} {by}", bug.name, bug.chapter);
    }
}
