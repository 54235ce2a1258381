//! The book and the tests agree: every code block a chapter takes from a
//! test file is that file's region, exactly; every chapter's test file has
//! its chapter; every exercise has a reference solution.
//!
//! A chapter marks a copied region with a line
//! `<!-- snippet: tests/chNN_slug.rs#region -->` right before a fenced block.
//! An exercise region (`exercise_N_M`) is shown as its `///` header and its
//! test's signature, the lines a student keeps while solving it: the copy
//! stays true before and after the exercise is done.
//! When a test changes, refresh every copy with one command:
//!
//! ```sh
//! UDP_LAB_BLESS=1 cargo test --test docs_sync
//! ```
//!
//! Run: `cargo test --test docs_sync`

use std::fs;
use std::path::{Path, PathBuf};

// The book's plumbing is part of the `udp-lab` command (src/cli/book.rs);
// this test compiles its own copy of it.
#[allow(dead_code)]
#[path = "../src/cli/book.rs"]
mod book;

const MARKER: &str = "<!-- snippet: ";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn files_in(dir: &str, prefix: &str, ext: &str) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("listing {dir}/: {e}"))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with(prefix) && name.ends_with(ext)
        })
        .collect();
    found.sort();
    found
}

/// `tests/ch02_empty_datagrams.rs` -> `docs/02-empty-datagrams.md`.
fn chapter_for(test_file: &Path) -> PathBuf {
    let stem = test_file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let slug = stem
        .trim_start_matches("ch")
        .replacen('_', "-", 1)
        .replace('_', "-");
    root().join("docs").join(format!("{slug}.md"))
}

/// What a chapter shows of region `name`: the region itself, or for an
/// exercise its header and signature.
fn chapter_copy(source: &str, name: &str) -> Option<String> {
    if book::exercise_id(name).is_some() {
        book::exercise_view(source, name)
    } else {
        book::region(source, name)
    }
}

/// A chapter with every snippet block refreshed from its source region;
/// the errors name each marker that points nowhere.
fn refreshed(doc: &str) -> (String, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut lines = doc.lines();
    let mut open_fence: Option<String> = None; // inside an example block, markers are only text
    while let Some(line) = lines.next() {
        out.push(line.to_string());
        let fence: String = line.chars().take_while(|&c| c == '`').collect();
        if fence.len() >= 3 {
            match &open_fence {
                Some(open) if line.trim() == open.as_str() => open_fence = None,
                None => open_fence = Some(fence),
                Some(_) => {}
            }
            continue;
        }
        if open_fence.is_some() {
            continue;
        }
        let Some(target) = line
            .strip_prefix(MARKER)
            .and_then(|t| t.trim_end().strip_suffix("-->"))
        else {
            continue;
        };
        let (file, name) = target.trim().split_once('#').unwrap_or((target.trim(), ""));
        let Some(fence) = lines.next().filter(|l| l.starts_with("```")) else {
            errors.push(format!(
                "{MARKER}{target}--> must be followed by a ``` fenced block"
            ));
            continue;
        };
        out.push(fence.to_string());
        lines
            .by_ref()
            .take_while(|l| !l.starts_with("```"))
            .for_each(drop);
        match fs::read_to_string(root().join(file))
            .ok()
            .and_then(|src| chapter_copy(&src, name))
        {
            Some(region) => out.push(region),
            None => errors.push(format!("{file} has no region `{name}` (// ANCHOR: {name})")),
        }
        out.push("```".to_string());
    }
    (out.join("\n") + "\n", errors)
}

#[test]
fn every_snippet_in_the_docs_is_its_test_region_exactly() {
    let bless = std::env::var_os("UDP_LAB_BLESS").is_some();
    let mut stale = Vec::new();
    let mut broken = Vec::new();
    for doc_path in files_in("docs", "", ".md") {
        let doc = read(&doc_path);
        let (fresh, errors) = refreshed(&doc);
        broken.extend(
            errors
                .into_iter()
                .map(|e| format!("{}: {e}", doc_path.display())),
        );
        if fresh != doc {
            if bless {
                fs::write(&doc_path, &fresh)
                    .unwrap_or_else(|e| panic!("writing {}: {e}", doc_path.display()));
            } else {
                stale.push(doc_path.display().to_string());
            }
        }
    }
    assert!(
        broken.is_empty(),
        "snippet markers that point nowhere:\n{}",
        broken.join("\n")
    );
    assert!(
        stale.is_empty(),
        "these chapters show code that is no longer what the tests say:\n{}\n\
         refresh them with: UDP_LAB_BLESS=1 cargo test --test docs_sync",
        stale.join("\n")
    );
}

#[test]
fn every_chapter_test_file_has_its_docs_chapter_in_the_summary() {
    let summary = read(&root().join("docs/SUMMARY.md"));
    let missing: Vec<String> = files_in("tests", "ch", ".rs")
        .iter()
        .map(|t| chapter_for(t))
        .filter(|chapter| {
            let name = chapter.file_name().and_then(|n| n.to_str()).unwrap_or("");
            !chapter.exists() || !summary.contains(&format!("({name})"))
        })
        .map(|c| c.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "each tests/chNN_slug.rs needs docs/NN-slug.md, listed in docs/SUMMARY.md; missing or unlisted:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_test_file_runs_once_in_a_plain_cargo_test_inside_the_whole_suite() {
    let manifest = read(&root().join("Cargo.toml"));
    let suite = read(&root().join("tests/suite.rs"));
    let wrong: Vec<String> = files_in("tests", "", ".rs")
        .iter()
        .filter_map(|file| file.file_stem()?.to_str().map(str::to_string))
        .filter(|name| name != "suite")
        .filter_map(|name| {
            let stanza = format!("[[test]]\nname = \"{name}\"\n");
            let declared = manifest
                .split_once(&stanza)
                .map(|(_, rest)| rest.split("\n\n").next().unwrap_or(""));
            let module = format!("#[path = \"{name}.rs\"]\nmod {name};\n");
            match declared {
                // A maintainer's test, built only with its feature (cli_exercises).
                Some(body) if body.starts_with("required-features") => None,
                Some(body) if body.starts_with("test = false") && suite.contains(&module) => None,
                _ => Some(format!(
                    "tests/{name}.rs: needs `{}` in Cargo.toml and `{}` in tests/suite.rs",
                    format!("{stanza}test = false").replace('\n', " "),
                    module.trim_end().replace('\n', " ")
                )),
            }
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "a plain `cargo test` runs every test file once, as a module of tests/suite.rs (one binary, \
         its tests side by side), and each file stays a target of its own for `cargo test --test NAME`, \
         left out of the plain run; not so for:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_chapter_has_the_sections_in_the_style_order() {
    const SECTIONS: [&str; 7] = [
        "The claim",
        "Why",
        "The proof",
        "Run it",
        "Platform-specific behaviour",
        "Exercises",
        "Further reading",
    ];
    let mut wrong = Vec::new();
    for test_file in files_in("tests", "ch", ".rs") {
        let chapter = chapter_for(&test_file);
        let Ok(text) = fs::read_to_string(&chapter) else {
            continue;
        };
        let found: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("## "))
            .map(str::trim)
            .collect();
        if found != SECTIONS {
            wrong.push(format!("{}: has {found:?}", chapter.display()));
        }
    }
    assert!(
        wrong.is_empty(),
        "a chapter's `## ` sections are exactly, in order: {SECTIONS:?} (see \"How a chapter reads\" in docs/contributing.md); not so in:\n{}",
        wrong.join("\n")
    );
}

/// The file a student edition (`udp-lab dev handout`) carries instead of
/// the reference solutions.
const HANDOUT_MARKER: &str = "HANDOUT.md";

#[test]
fn every_exercise_stub_has_a_reference_solution() {
    if root().join(HANDOUT_MARKER).exists() {
        assert!(
            !root().join("tests/solutions").exists(),
            "a student edition ({HANDOUT_MARKER} is here) holds no reference solutions, \
             yet tests/solutions/ exists: rebuild it with `udp-lab dev handout`"
        );
        return;
    }
    let mut missing = Vec::new();
    for test_file in files_in("tests", "ch", ".rs") {
        let exercises = book::exercises(&read(&test_file));
        let solution_path = root()
            .join("tests/solutions")
            .join(test_file.file_name().expect("a file name"));
        let solutions = fs::read_to_string(&solution_path).unwrap_or_default();
        for exercise in exercises {
            let solved = book::region(&solutions, &exercise.region).is_some_and(|s| {
                s.contains(&format!("fn {}(", exercise.test)) && !s.contains("#[ignore")
            });
            if !solved {
                missing.push(format!(
                    "{} exercise {} ({})",
                    solution_path.display(),
                    exercise.id,
                    exercise.test
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "each exercise needs a solution region of the same name, with the same test and no #[ignore] \
         (a student edition has {HANDOUT_MARKER} instead):\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_exercise_header_names_its_id_and_title() {
    let mut wrong = Vec::new();
    for test_file in files_in("tests", "ch", ".rs") {
        let name = test_file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let chapter: String = name
            .trim_start_matches("ch")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        for exercise in book::exercises(&read(&test_file)) {
            let major = exercise
                .id
                .split('.')
                .next()
                .and_then(|m| m.parse::<u32>().ok());
            if exercise.header_id.as_deref() != Some(exercise.id.as_str())
                || major != chapter.parse::<u32>().ok()
                || exercise.title.is_empty()
                || exercise.test.is_empty()
            {
                wrong.push(format!(
                    "{}: region {} has header id {:?}, title {:?}, test {:?}",
                    test_file.display(),
                    exercise.region,
                    exercise.header_id,
                    exercise.title,
                    exercise.test
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "region exercise_N_M of chapter N opens with `/// Exercise N.M: title.` and holds one \
         test fn (restore the `///` lines from the chapter if they were edited):\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_chapter_has_at_least_two_exercises_with_hints() {
    let mut thin = Vec::new();
    for test_file in files_in("tests", "ch", ".rs") {
        let exercises = book::exercises(&read(&test_file));
        let hinted = exercises.iter().filter(|e| !e.hint.is_empty()).count();
        if hinted < 2 {
            thin.push(format!(
                "{}: {hinted} exercise(s) with a hint",
                test_file.display()
            ));
        }
    }
    assert!(
        thin.is_empty(),
        "a chapter extends its tests with at least two hinted exercises:\n{}",
        thin.join("\n")
    );
}

#[test]
fn every_exercise_is_shown_in_its_chapter_with_the_command_that_checks_it() {
    let mut unlisted = Vec::new();
    for test_file in files_in("tests", "ch", ".rs") {
        let chapter = chapter_for(&test_file);
        let text = fs::read_to_string(&chapter).unwrap_or_default();
        let file = test_file.file_name().and_then(|n| n.to_str()).unwrap_or("");
        for exercise in book::exercises(&read(&test_file)) {
            let shown = [
                format!("**{} ", exercise.id),
                format!("{MARKER}tests/{file}#{} -->", exercise.region),
                format!("cargo run -- exercises check {}`", exercise.id),
            ];
            if let Some(absent) = shown.iter().find(|s| !text.contains(s.as_str())) {
                unlisted.push(format!(
                    "{}: exercise {} lacks `{absent}`",
                    chapter.display(),
                    exercise.id
                ));
            }
        }
    }
    assert!(
        unlisted.is_empty(),
        "a chapter's Exercises section shows each exercise as `**N.M title.**`, the command \
         `cargo run -- exercises check N.M` and a snippet of its region:\n{}",
        unlisted.join("\n")
    );
}

#[test]
fn every_exercise_has_one_autograding_test_that_runs_its_check() {
    let path = root().join(".github/classroom/autograding.json");
    let json: serde_json::Value = serde_json::from_str(&read(&path))
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
    let runs: Vec<&str> = json["tests"]
        .as_array()
        .map(|tests| tests.iter().filter_map(|t| t["run"].as_str()).collect())
        .unwrap_or_default();
    let expected: Vec<String> = files_in("tests", "ch", ".rs")
        .iter()
        .flat_map(|t| book::exercises(&read(t)))
        .map(|e| format!("cargo run --quiet -- exercises check {}", e.id))
        .collect();
    assert_eq!(
        runs,
        expected,
        "{} has one test per exercise, in order, each running its check (whose exit code is the grade)",
        path.display()
    );
}
