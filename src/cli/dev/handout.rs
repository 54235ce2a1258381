//! `udp-lab dev handout --out DIR [--chapters 01-12]`: a student edition of
//! the course. It holds the chosen chapters' test files, chapters and
//! SUMMARY entries, no reference solutions, and a `HANDOUT.md` saying so
//! (which `tests/docs_sync.rs` reads); its own `cargo test` is green and
//! its book builds.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use crate::cli::exercises::tree::{self, CopyOptions, HANDOUT_MARKER};
use crate::cli::{Failure, Outcome};

/// Arguments of `udp-lab dev handout`.
#[derive(clap::Args)]
pub struct HandoutArgs {
    /// Where to write the edition (a new or empty folder).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The chapters to hand out: `all`, or numbers and ranges such as `01-12` or `1-3,5`.
    #[arg(long, value_name = "LIST", default_value = "all")]
    pub chapters: String,
}

/// Runs `udp-lab dev handout` for the checkout `root`.
pub fn run(root: &Path, args: &HandoutArgs) -> Outcome {
    let available = chapter_numbers(root)?;
    let chosen = parse_chapters(&args.chapters, &available)?;
    if fs::read_dir(&args.out).is_ok_and(|mut entries| entries.next().is_some()) {
        return Err(Failure::Usage(format!(
            "{} is not empty: name a new or empty folder",
            args.out.display()
        )));
    }
    let options = CopyOptions {
        solutions: false,
        own_workspace: false,
    };
    tree::copy_checkout(root, &args.out, options)?;
    remove_file(&args.out.join(TOOL_TESTS))?;
    drop_test_target(&args.out, TOOL_TESTS_TARGET)?;
    let left_out: Vec<u32> = available.difference(&chosen).copied().collect();
    for test_file in remove_chapters(&args.out, &left_out)? {
        drop_test_target(&args.out, &test_file)?;
    }
    let list = numbers(&chosen);
    tree::write(&args.out.join(HANDOUT_MARKER), &marker_text(&list))?;
    let ids: BTreeSet<String> = tree::chapters(&args.out)?
        .iter()
        .flat_map(|c| c.exercises.iter().map(|e| e.id.clone()))
        .collect();
    write_autograding(root, &args.out, &ids)?;
    let exercises = ids.len();
    println!(
        "student edition of chapters {list} in {}: {exercises} exercises, no reference solutions",
        args.out.display()
    );
    println!("check it: cd {} && cargo test", args.out.display());
    Ok(())
}

/// The tests of the exercise tools: they splice the reference solutions,
/// so an edition without them leaves them out.
const TOOL_TESTS: &str = "tests/cli_exercises.rs";

/// The test target of [`TOOL_TESTS`] in Cargo.toml.
const TOOL_TESTS_TARGET: &str = "cli_exercises";

/// The test binary that holds every test file as a module.
const SUITE: &str = "tests/suite.rs";

/// Takes the test target `name` out of the edition, whose file is gone:
/// its `[[test]]` stanza in Cargo.toml (cargo refuses to build a target
/// without its file) and its module in [`SUITE`] (which would not compile).
fn drop_test_target(out: &Path, name: &str) -> Outcome {
    let manifest = out.join("Cargo.toml");
    tree::write(&manifest, &without_stanza(&tree::read(&manifest)?, name))?;
    let suite = out.join(SUITE);
    if !suite.exists() {
        return Ok(());
    }
    tree::write(&suite, &without_module(&tree::read(&suite)?, name))
}

/// `manifest` without the `[[test]]` stanza named `name`: its lines up to
/// the next blank line or table header.
fn without_stanza(manifest: &str, name: &str) -> String {
    let head = format!("[[test]]\nname = \"{name}\"\n");
    let Some(start) = manifest.find(&head) else {
        return manifest.to_string();
    };
    let rest = &manifest[start + head.len()..];
    let mut end = 0;
    for line in rest.split_inclusive('\n') {
        if line.starts_with('[') {
            break;
        }
        end += line.len();
        if line.trim().is_empty() {
            break;
        }
    }
    format!("{}{}", &manifest[..start], &rest[end..])
}

/// `suite` without the module of the test file `name` (its `#[path]` line
/// and its `mod` line).
fn without_module(suite: &str, name: &str) -> String {
    let path = format!("#[path = \"{name}.rs\"]");
    let module = format!("mod {name};");
    suite
        .split_inclusive('\n')
        .filter(|line| line.trim_end() != path && line.trim_end() != module)
        .collect()
}

fn remove_file(path: &Path) -> Outcome {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Failure::Usage(format!("removing {}: {e}", path.display())))
        }
        _ => Ok(()),
    }
}

/// The chapter numbers of `tests/chNN_*.rs` in `root`.
fn chapter_numbers(root: &Path) -> Result<BTreeSet<u32>, Failure> {
    let entries = fs::read_dir(root.join("tests"))
        .map_err(|e| Failure::Usage(format!("reading {}/tests: {e}", root.display())))?;
    Ok(entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".rs"))
        .filter_map(|name| chapter_number(&name))
        .collect())
}

/// `2` for `ch02_empty_datagrams.rs` (and `02-empty-datagrams.md`).
fn chapter_number(file_name: &str) -> Option<u32> {
    let rest = file_name.strip_prefix("ch").unwrap_or(file_name);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let after = rest[digits.len()..].chars().next();
    (digits.len() == 2 && matches!(after, Some('_' | '-'))).then(|| digits.parse().ok())?
}

/// `all`, or a list like `01-12` or `1-3,5`, checked against `available`.
pub fn parse_chapters(spec: &str, available: &BTreeSet<u32>) -> Result<BTreeSet<u32>, Failure> {
    if spec.trim() == "all" {
        return Ok(available.clone());
    }
    let bad = |why: String| {
        Failure::Usage(format!(
            "--chapters {spec}: {why} (expected `all`, or numbers and ranges of {} such as 01-12 or 1-3,5)",
            numbers(available)
        ))
    };
    let mut chosen = BTreeSet::new();
    for part in spec.split(',').map(str::trim) {
        let (from, to) = part.split_once('-').unwrap_or((part, part));
        let number = |s: &str| {
            s.trim()
                .parse::<u32>()
                .map_err(|_| bad(format!("`{s}` is no chapter number")))
        };
        let (from, to) = (number(from)?, number(to)?);
        if from > to {
            return Err(bad(format!("the range {part} runs backwards")));
        }
        for n in from..=to {
            if !available.contains(&n) {
                return Err(bad(format!("there is no chapter {n:02}")));
            }
            chosen.insert(n);
        }
    }
    Ok(chosen)
}

/// `01-03, 05` style, for messages.
fn numbers(set: &BTreeSet<u32>) -> String {
    let all: Vec<u32> = set.iter().copied().collect();
    let mut parts = Vec::new();
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1] == all[j] + 1 {
            j += 1;
        }
        parts.push(if i == j {
            format!("{:02}", all[i])
        } else {
            format!("{:02}-{:02}", all[i], all[j])
        });
        i = j + 1;
    }
    parts.join(", ")
}

/// Removes the test files, proptest regressions, chapters and SUMMARY
/// entries of the chapters `left_out`; returns the removed test files'
/// names (`ch13_concurrency_models`), whose targets go too.
fn remove_chapters(out: &Path, left_out: &[u32]) -> Result<Vec<String>, Failure> {
    let gone = |name: &str| chapter_number(name).is_some_and(|n| left_out.contains(&n));
    let mut test_files = Vec::new();
    for dir in ["tests", "docs"] {
        let entries = fs::read_dir(out.join(dir))
            .map_err(|e| Failure::Usage(format!("reading {}/{dir}: {e}", out.display())))?;
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_file() && gone(&name) {
                remove_file(&entry.path())?;
                if let Some(stem) = name.strip_suffix(".rs") {
                    test_files.push(stem.to_string());
                }
            }
        }
    }
    let summary_path = out.join("docs/SUMMARY.md");
    let summary = tree::read(&summary_path)?;
    let kept: Vec<&str> = summary
        .lines()
        .filter(|line| !linked_file(line).is_some_and(gone))
        .collect();
    tree::write(&summary_path, &without_empty_parts(&kept))?;
    Ok(test_files)
}

/// SUMMARY lines without the part titles (`# Performance`) left with no
/// chapter under them.
fn without_empty_parts(lines: &[&str]) -> String {
    let mut out: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let is_part = line.starts_with("# ") && i > 0;
        let next = lines[i + 1..].iter().find(|l| !l.trim().is_empty());
        let empty = next.is_none_or(|n| n.starts_with("# ") || n.starts_with("---"));
        if is_part && empty {
            if out.last().is_some_and(|l| l.trim().is_empty()) {
                out.pop();
            }
            continue;
        }
        out.push(line);
    }
    out.join("\n") + "\n"
}

/// The file a SUMMARY line links to: `02-empty-datagrams.md` in `- [02. ...](02-empty-datagrams.md)`.
fn linked_file(line: &str) -> Option<&str> {
    line.rsplit_once("](")?.1.strip_suffix(')')
}

/// The course's GitHub Classroom autograding tests, one per exercise.
const AUTOGRADING: &str = ".github/classroom/autograding.json";

/// Writes the course's autograding tests of the exercises `ids` (those
/// whose command ends with one of them) into the edition.
fn write_autograding(root: &Path, out: &Path, ids: &BTreeSet<String>) -> Outcome {
    let from = root.join(AUTOGRADING);
    if !from.exists() {
        return Ok(());
    }
    let bad = |e: &dyn std::fmt::Display| Failure::Usage(format!("{}: {e}", from.display()));
    let mut json: serde_json::Value =
        serde_json::from_str(&tree::read(&from)?).map_err(|e| bad(&e))?;
    let tests = json["tests"]
        .as_array_mut()
        .ok_or_else(|| bad(&"no `tests` list"))?;
    tests.retain(|test| {
        let id = test["run"].as_str().and_then(|run| run.rsplit(' ').next());
        id.is_some_and(|id| ids.contains(id))
    });
    let to = out.join(AUTOGRADING);
    if let Some(folder) = to.parent() {
        fs::create_dir_all(folder).map_err(|e| bad(&e))?;
    }
    let text = serde_json::to_string_pretty(&json).map_err(|e| bad(&e))?;
    tree::write(&to, &(text + "\n"))
}

fn marker_text(chapters: &str) -> String {
    format!(
        "# udp-lab, student edition\n\n\
         This copy of udp-lab holds chapters {chapters} and no reference solutions; it was made\n\
         with `udp-lab dev handout`. Work on the exercises with `cargo run -- exercises`\n\
         (see the README). `tests/docs_sync.rs` reads this file: it proves that the edition\n\
         holds no `tests/solutions/`. The tests of the exercise tools\n\
         (`tests/cli_exercises.rs`) splice the reference solutions, so they are left out.\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thirteen() -> BTreeSet<u32> {
        (1..=13).collect()
    }

    #[test]
    fn a_chapter_list_takes_numbers_and_ranges() {
        let chosen = parse_chapters("01-03, 5", &thirteen()).ok();
        assert_eq!(
            chosen,
            Some([1, 2, 3, 5].into()),
            "01-03, 5 is chapters 1, 2, 3 and 5"
        );
        assert_eq!(
            numbers(&[1, 2, 3, 5].into()),
            "01-03, 05",
            "and is written back the same way"
        );
    }

    #[test]
    fn a_chapter_list_naming_no_chapter_is_bad_input() {
        for spec in ["14", "3-1", "x", "01-"] {
            assert!(
                matches!(parse_chapters(spec, &thirteen()), Err(Failure::Usage(_))),
                "--chapters {spec} names no chapter list of 01-13: it must be a usage error"
            );
        }
    }

    #[test]
    fn a_part_left_without_chapters_leaves_the_summary() {
        let kept = [
            "# Summary",
            "",
            "# Limits",
            "",
            "- [06. T](06-t.md)",
            "",
            "# Performance",
            "",
            "---",
            "",
            "[How](c.md)",
        ];
        assert_eq!(
            without_empty_parts(&kept),
            "# Summary\n\n# Limits\n\n- [06. T](06-t.md)\n\n---\n\n[How](c.md)\n",
            "the empty part `# Performance` goes, the others stay"
        );
    }

    #[test]
    fn a_left_out_test_file_leaves_neither_its_target_nor_its_module() {
        let manifest = "[[test]]\nname = \"ch13_x\"\ntest = false\n\n[[test]]\nname = \"ch14_y\"\ntest = false\n\n\
                        [[test]]\nname = \"cli_exercises\"\nrequired-features = [\"dev\"]\n[dev-dependencies]\n";
        assert_eq!(
            without_stanza(&without_stanza(manifest, "ch13_x"), "cli_exercises"),
            "[[test]]\nname = \"ch14_y\"\ntest = false\n\n[dev-dependencies]\n",
            "each stanza goes up to its blank line or the next table, the others stay"
        );
        let suite =
            "//! s\n#[path = \"ch13_x.rs\"]\nmod ch13_x;\n#[path = \"ch14_y.rs\"]\nmod ch14_y;\n";
        assert_eq!(
            without_module(suite, "ch13_x"),
            "//! s\n#[path = \"ch14_y.rs\"]\nmod ch14_y;\n",
            "the file's two lines go, the other module stays"
        );
    }

    #[test]
    fn a_summary_line_links_to_its_chapter_file() {
        assert_eq!(
            linked_file("- [02. Empty](02-empty-datagrams.md)"),
            Some("02-empty-datagrams.md"),
            "the link target"
        );
        assert_eq!(
            chapter_number("02-empty-datagrams.md"),
            Some(2),
            "a chapter file's number"
        );
        assert_eq!(
            chapter_number("ch13_concurrency_models.rs"),
            Some(13),
            "a test file's number"
        );
        assert_eq!(chapter_number("cli_exercises.rs"), None, "not a chapter");
    }
}
