//! `udp-lab dev verify`: proves, on a temporary copy of the course, that
//! every exercise works as a student meets it:
//!
//! 1. every untouched stub is `todo` in the list and fails when run;
//! 2. one chapter at a time, its first exercise's reference solution
//!    spliced in: the chapter's tests stay green and the list shows one
//!    more exercise done;
//! 3. every reference solution spliced in at once: the chapters' tests and
//!    the docs tests stay green, every solution passes, the list shows all done;
//! 4. the planted bugs (`src/lab/planted.rs`), on the same binaries built
//!    once with `--features planted-bugs`: every exercise lists the bugs it
//!    must catch and its reference solution fails under each; every bug's
//!    chapter tests (`caught_by`, never empty) fail under it.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use super::planted_proof;
use crate::cli::book;
use crate::cli::exercises::progress;
use crate::cli::exercises::runner::{self, Build, State, Verdict};
use crate::cli::exercises::tree::{self, Chapter, CopyOptions};
use crate::cli::{Failure, Outcome};

/// Runs `udp-lab dev verify` for the checkout `root`.
pub fn run(root: &Path) -> Outcome {
    if !root.join("tests/solutions").is_dir() {
        return Err(Failure::Usage(format!(
            "{} has no tests/solutions/ (a student edition?): nothing to verify",
            root.display()
        )));
    }
    let copy = tempfile::Builder::new()
        .prefix("udp-lab-verify-")
        .tempdir()
        .map_err(|e| Failure::Usage(format!("making a temporary folder: {e}")))?;
    let options = CopyOptions {
        solutions: true,
        own_workspace: true,
    };
    tree::copy_checkout(root, copy.path(), options)?;
    let target = tree::copies_target(root);
    let work = Work {
        root,
        copy: copy.path(),
        target: &target,
    };
    let chapters = tree::chapters(copy.path())?;
    let stubs = work.stubs(&chapters)?;
    let alone = work.one_at_a_time(&chapters)?;
    let together = work.all_at_once(&chapters)?;
    report(&chapters, &stubs, &alone, &together)?;
    planted_proof::run(copy.path(), &target, &chapters)
}

/// The checkout, its copy and the copies' target folder.
struct Work<'a> {
    root: &'a Path,
    copy: &'a Path,
    target: &'a Path,
}

impl Work<'_> {
    /// Step 1: each stub is `todo` and fails when run; returns libtest's
    /// word for each stub's test.
    fn stubs(&self, chapters: &[Chapter]) -> Result<BTreeMap<String, String>, Failure> {
        let total: usize = chapters.iter().map(|c| c.exercises.len()).sum();
        println!("[1/4] the {total} untouched stubs: each must be todo and fail when run");
        let verdicts = runner::verdicts(self.copy, Some(self.target), chapters)?;
        let (done, _) = progress(&verdicts);
        expect(
            done == 0,
            format!("with every stub untouched the list shows {done} done, not 0"),
        )?;
        let names: Vec<&str> = chapters.iter().map(|c| c.name.as_str()).collect();
        let tests: Vec<&str> = exercises(chapters).map(|e| e.test.as_str()).collect();
        let run = runner::cargo_test(self.copy, Some(self.target), &names, &tests, Build::Quiet)?;
        expect(run.compiled, "the untouched stubs do not compile".into())?;
        Ok(run.outcomes)
    }

    /// Step 2: the first exercise of each chapter solved, one after the
    /// other; returns libtest's word for each of them.
    fn one_at_a_time(&self, chapters: &[Chapter]) -> Result<BTreeMap<String, String>, Failure> {
        println!("[2/4] one solution at a time (the first of each chapter): its chapter stays green, one more done");
        let mut words = BTreeMap::new();
        for (k, chapter) in chapters.iter().enumerate() {
            let Some(first) = chapter.exercises.first() else {
                continue;
            };
            self.splice_solutions(chapter, &[first.region.as_str()])?;
            let green = self.cargo(&["test", "--test", &chapter.name])?;
            expect(
                green,
                format!(
                    "with solution {} spliced in, `cargo test --test {}` fails",
                    first.id, chapter.name
                ),
            )?;
            let verdicts =
                runner::verdicts(self.copy, Some(self.target), &tree::chapters(self.copy)?)?;
            let (done, total) = progress(&verdicts);
            expect(
                done == k + 1,
                format!(
                    "after {} solutions the list shows {done} of {total} done, not {}; {}",
                    k + 1,
                    k + 1,
                    not_done(&verdicts)
                ),
            )?;
            let word = if verdicts[&first.id].done() {
                "ok"
            } else {
                "FAILED"
            };
            println!("      {} spliced: {done} of {total} done", first.id);
            words.insert(first.test.clone(), word.to_string());
        }
        Ok(words)
    }

    /// Step 3: every solution spliced in; returns libtest's word for each.
    fn all_at_once(&self, chapters: &[Chapter]) -> Result<BTreeMap<String, String>, Failure> {
        println!(
            "[3/4] every solution at once: the chapters' and the docs' tests stay green, all done"
        );
        for chapter in chapters {
            let regions: Vec<&str> = chapter
                .exercises
                .iter()
                .map(|e| e.region.as_str())
                .collect();
            self.splice_solutions(chapter, &regions)?;
        }
        let mut args = vec![
            "test",
            "--no-fail-fast",
            "--lib",
            "--bins",
            "--test",
            "docs_sync",
        ];
        for chapter in chapters {
            args.extend(["--test", chapter.name.as_str()]);
        }
        let green = self.cargo(&args)? || self.green_one_at_a_time(&args)?;
        expect(
            green,
            "with every solution spliced in, the chapters' or docs' tests fail".into(),
        )?;
        let verdicts = runner::verdicts(self.copy, Some(self.target), &tree::chapters(self.copy)?)?;
        let (done, total) = progress(&verdicts);
        expect(
            done == total,
            format!(
                "with every solution spliced in the list shows {done} of {total} done; {}",
                not_done(&verdicts)
            ),
        )?;
        Ok(exercises(chapters)
            .map(|e| {
                let word = if verdicts[&e.id].done() {
                    "ok"
                } else {
                    "FAILED"
                };
                (e.test.clone(), word.to_string())
            })
            .collect())
    }

    /// After `cargo ARGS` failed with every test in parallel: the same
    /// tests one at a time. Green then means a test that fails only under
    /// parallel load: said loudly (its output is above), not a failure of
    /// the exercises.
    fn green_one_at_a_time(&self, args: &[&str]) -> Result<bool, Failure> {
        println!("      failed with every test in parallel; again, one test at a time...");
        let mut serial = args.to_vec();
        serial.extend(["--", "--test-threads=1"]);
        let green = self.cargo(&serial)?;
        if green {
            println!(
                "      WARNING: FLAKY: the failure above happens only with every test in parallel \
                 (a student running `cargo test` can meet it): fix that test"
            );
        }
        Ok(green)
    }

    /// Splices the reference solutions of `regions` into the copy's chapter file.
    fn splice_solutions(&self, chapter: &Chapter, regions: &[&str]) -> Outcome {
        let solution_path = self
            .root
            .join("tests/solutions")
            .join(format!("{}.rs", chapter.name));
        let solutions = tree::read(&solution_path)?;
        let path = self.copy.join(chapter.file());
        let mut source = tree::read(&path)?;
        for region in regions {
            source = book::splice_exercise(&source, &solutions, region).ok_or_else(|| {
                Failure::Failed(format!(
                    "{} has no region {region}",
                    solution_path.display()
                ))
            })?;
        }
        tree::write(&path, &source)
    }

    /// `cargo ARGS` in the copy; prints its output when it fails.
    fn cargo(&self, args: &[&str]) -> Result<bool, Failure> {
        let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
            .current_dir(self.copy)
            .env("CARGO_TARGET_DIR", self.target)
            .env("CARGO_TERM_COLOR", "never")
            .args(args)
            .output()
            .map_err(|e| Failure::Usage(format!("running cargo {}: {e}", args.join(" "))))?;
        if !output.status.success() {
            print!("{}", String::from_utf8_lossy(&output.stdout));
            eprint!("{}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(output.status.success())
    }
}

fn exercises(chapters: &[Chapter]) -> impl Iterator<Item = &book::Exercise> {
    chapters.iter().flat_map(|c| &c.exercises)
}

/// The started exercises that are not done, with why.
fn not_done(verdicts: &BTreeMap<String, Verdict>) -> String {
    let list: Vec<String> = verdicts
        .iter()
        .filter(|(_, v)| v.state == State::Failing)
        .map(|(id, v)| format!("{id}: {}", v.reason))
        .collect();
    format!("failing: {}", list.join("; "))
}

fn expect(holds: bool, otherwise: String) -> Outcome {
    if holds {
        Ok(())
    } else {
        Err(Failure::Failed(otherwise))
    }
}

/// The table of every exercise; fails naming those whose stub does not
/// fail or whose solution does not pass.
fn report(
    chapters: &[Chapter],
    stubs: &BTreeMap<String, String>,
    alone: &BTreeMap<String, String>,
    together: &BTreeMap<String, String>,
) -> Outcome {
    let word = |map: &BTreeMap<String, String>, test: &str| {
        map.get(test)
            .cloned()
            .unwrap_or_else(|| "did not run".into())
    };
    println!(
        "\n{:<6} {:<14} {:<14} {:<14} test",
        "id", "stub", "alone", "all at once"
    );
    let mut wrong = Vec::new();
    for e in exercises(chapters) {
        let (stub, together) = (word(stubs, &e.test), word(together, &e.test));
        let alone = alone.get(&e.test).map_or("-", String::as_str);
        let good = stub == "FAILED" && together == "ok" && matches!(alone, "ok" | "-");
        let flag = if good { "" } else { "  <-- WRONG" };
        println!(
            "{:<6} {stub:<14} {alone:<14} {together:<14} {}{flag}",
            e.id, e.test
        );
        if !good {
            wrong.push(e.id.clone());
        }
    }
    let total = exercises(chapters).count();
    expect(
        wrong.is_empty(),
        format!(
            "exercises whose stub does not fail or whose solution does not pass: {}",
            wrong.join(", ")
        ),
    )?;
    println!("\nall {total} exercises: each stub fails; each reference solution passes, alone and all together");
    Ok(())
}
