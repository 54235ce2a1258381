//! `udp-lab exercises`: the course's exercises, found in the chapters' test
//! files, with a hint each; `--verify` proves (for CI and teachers) that
//! every untouched stub fails and every reference solution passes.
//!
//! An exercise is an ignored test inside a region `exercise_N_M` of
//! `tests/chNN_slug.rs`; its solution is the same region in
//! `tests/solutions/chNN_slug.rs` (see `docs/contributing.md`).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::book::{self, Exercise};
use super::{Failure, Outcome};

/// Arguments of `udp-lab exercises`.
#[derive(clap::Args, Default)]
pub struct ExercisesArgs {
    /// Show only this exercise (e.g. `2.1`), with its hint and how to run it.
    pub id: Option<String>,
    /// Prove that every stub fails and every reference solution passes
    /// (builds a copy of the crate; takes a minute or two).
    #[arg(long)]
    pub verify: bool,
    /// The udp-lab checkout to read (default: the one this binary was built from).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

/// One chapter's test file and the exercises in it.
struct Chapter {
    /// `ch02_empty_datagrams`.
    name: String,
    exercises: Vec<Exercise>,
}

/// Runs `udp-lab exercises`.
pub fn run(args: &ExercisesArgs) -> Outcome {
    let root = args
        .root
        .clone()
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let chapters = chapters(&root)?;
    if args.verify {
        return verify(&root, &chapters);
    }
    let mut shown = 0;
    for chapter in &chapters {
        for exercise in &chapter.exercises {
            if args.id.as_deref().is_some_and(|id| id != exercise.id) {
                continue;
            }
            show(chapter, exercise);
            shown += 1;
        }
    }
    match (&args.id, shown) {
        (Some(id), 0) => Err(Failure::Usage(format!(
            "no exercise {id}: run `udp-lab exercises` to list them"
        ))),
        _ => {
            println!("To do one: remove its #[ignore = ...] line, replace todo!() with your test, run the command.");
            println!("Reference solutions: tests/solutions/<chapter>.rs (try first!).");
            Ok(())
        }
    }
}

fn show(chapter: &Chapter, exercise: &Exercise) {
    println!("exercise {}: {}", exercise.id, exercise.title);
    println!("  where: tests/{}.rs, fn {}", chapter.name, exercise.test);
    println!("  hint:  {}", exercise.hint);
    println!(
        "  run:   cargo test --test {} {} -- --include-ignored",
        chapter.name, exercise.test
    );
    println!();
}

/// Every `tests/ch*.rs` under `root` that has exercises, in chapter order.
fn chapters(root: &Path) -> Result<Vec<Chapter>, Failure> {
    let tests = root.join("tests");
    let entries = fs::read_dir(&tests).map_err(|e| {
        Failure::Usage(format!(
            "reading {}: {e} (use --root to name a udp-lab checkout)",
            tests.display()
        ))
    })?;
    let mut chapters = Vec::new();
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        let Some(name) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        if !name.starts_with("ch") || path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let source = read(&path)?;
        let exercises = book::exercises(&source);
        if !exercises.is_empty() {
            chapters.push(Chapter { name, exercises });
        }
    }
    chapters.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(chapters)
}

fn read(path: &Path) -> Result<String, Failure> {
    fs::read_to_string(path).map_err(|e| Failure::Usage(format!("reading {}: {e}", path.display())))
}

fn write(path: &Path, text: &str) -> Result<(), Failure> {
    fs::write(path, text).map_err(|e| Failure::Usage(format!("writing {}: {e}", path.display())))
}

/// Proves each stub fails as given and passes with its solution spliced in,
/// in a copy of the crate under the target directory.
fn verify(root: &Path, chapters: &[Chapter]) -> Outcome {
    // The copy gets its own target dir: cargo names a package's artifacts
    // without its path, so sharing one would let the copy's test binaries
    // stand in for the checkout's.
    let base =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let copy = base.join("exercise-check");
    let target = base.join("exercise-check-target");
    copy_crate(root, &copy)?;
    let total: usize = chapters.iter().map(|c| c.exercises.len()).sum();

    println!("[1/2] running the {total} untouched stubs (each must fail)...");
    let stubs = run_tests(&copy, &target, chapters, &["--ignored"])?;

    println!("[2/2] splicing in the reference solutions and running them (each must pass)...");
    for chapter in chapters {
        splice_solutions(root, &copy, chapter)?;
    }
    let solved = run_tests(&copy, &target, chapters, &[])?;

    let mut wrong = Vec::new();
    println!(
        "\n{:<6} {:<22} {:<22} test",
        "id", "untouched stub", "with its solution"
    );
    for chapter in chapters {
        for ex in &chapter.exercises {
            let stub = stubs.get(&ex.test).map_or("did not run", String::as_str);
            let solution = solved.get(&ex.test).map_or("did not run", String::as_str);
            let good = stub == "FAILED" && solution == "ok";
            println!(
                "{:<6} {:<22} {:<22} {}{}",
                ex.id,
                stub,
                solution,
                ex.test,
                if good { "" } else { "  <-- WRONG" }
            );
            if !good {
                wrong.push(ex.id.clone());
            }
        }
    }
    if wrong.is_empty() {
        println!("\nall {total} exercises: the stub fails and the reference solution passes");
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "exercises whose stub does not fail or whose solution does not pass: {}",
            wrong.join(", ")
        )))
    }
}

/// Copies what building the tests needs (Cargo.toml, Cargo.lock, src/,
/// tests/) to `copy`, made its own workspace so cargo does not look above it.
fn copy_crate(root: &Path, copy: &Path) -> Result<(), Failure> {
    let io =
        |e: std::io::Error| Failure::Usage(format!("copying the crate to {}: {e}", copy.display()));
    if copy.exists() {
        fs::remove_dir_all(copy).map_err(io)?;
    }
    fs::create_dir_all(copy).map_err(io)?;
    let manifest = read(&root.join("Cargo.toml"))?;
    write(
        &copy.join("Cargo.toml"),
        &format!("{manifest}\n[workspace]\n"),
    )?;
    for file in ["Cargo.lock", "README.md"] {
        if root.join(file).exists() {
            fs::copy(root.join(file), copy.join(file)).map_err(io)?;
        }
    }
    for dir in ["src", "tests"] {
        copy_dir(&root.join(dir), &copy.join(dir)).map_err(io)?;
    }
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            fs::copy(entry.path(), dest)?;
        }
    }
    Ok(())
}

fn splice_solutions(root: &Path, copy: &Path, chapter: &Chapter) -> Result<(), Failure> {
    let solution_path = root
        .join("tests/solutions")
        .join(format!("{}.rs", chapter.name));
    let solutions = read(&solution_path)?;
    let test_path = copy.join("tests").join(format!("{}.rs", chapter.name));
    let mut source = read(&test_path)?;
    for ex in &chapter.exercises {
        source = book::splice_region(&source, &solutions, &ex.region).ok_or_else(|| {
            Failure::Failed(format!(
                "{} has no region {} for exercise {}",
                solution_path.display(),
                ex.region,
                ex.id
            ))
        })?;
    }
    write(&test_path, &source)
}

/// Runs the exercises' tests of every chapter in the copy; returns each
/// test's outcome as libtest prints it (`ok`, `FAILED`, `ignored, ...`).
fn run_tests(
    copy: &Path,
    target: &Path,
    chapters: &[Chapter],
    extra: &[&str],
) -> Result<BTreeMap<String, String>, Failure> {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(copy)
        .env("CARGO_TARGET_DIR", target)
        .args(["test", "--no-fail-fast"]);
    for chapter in chapters {
        cmd.args(["--test", &chapter.name]);
    }
    cmd.args(["--", "--exact"]).args(extra);
    cmd.args(
        chapters
            .iter()
            .flat_map(|c| c.exercises.iter().map(|e| e.test.as_str())),
    );
    let output = cmd
        .output()
        .map_err(|e| Failure::Usage(format!("running cargo test: {e}")))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !stdout.contains("test result:") {
        eprintln!("{}", String::from_utf8_lossy(&output.stderr));
        return Err(Failure::Failed(
            "cargo test did not run the exercises (a compile error? see above)".into(),
        ));
    }
    Ok(stdout
        .lines()
        .filter_map(|l| l.strip_prefix("test ")?.split_once(" ... "))
        .map(|(name, outcome)| (name.to_string(), outcome.trim().to_string()))
        .collect())
}
