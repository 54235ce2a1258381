//! The book's plumbing: named regions of source files and the exercises
//! found in them. Used by `tests/docs_sync.rs` (code in the chapters is the
//! tested code, which includes this file with `#[path]`) and by
//! `udp-lab exercises` (list, hint, check, grade).
//!
//! A region is marked with mdBook's anchor comments, so the same files also
//! work with mdBook's `{{#include FILE:NAME}}`:
//!
//! ```text
//! // ANCHOR: name
//! ...lines...
//! // ANCHOR_END: name
//! ```
//!
//! An exercise is the region `exercise_N_M` of a chapter's test file. It
//! opens with `///` lines the student keeps (its id and title, its hint, and
//! the planted bugs its test must catch), then the code the
//! student replaces:
//!
//! ```text
//! // ANCHOR: exercise_2_1
//! /// Exercise 2.1: the echo server answers two empty requests with two empty replies, then still serves.
//! ///
//! /// Hint: send `b""` twice with `recv::request`, then `b"still there"`.
//! ///
//! /// Catches: ignores_empty_request, stops_on_empty_request
//! #[test]
//! #[ignore = "exercise 2.1: delete this line to start"]
//! fn echo_server_answers_two_empty_requests_then_still_serves() {
//!     todo!("exercise 2.1: write the test")
//! }
//! // ANCHOR_END: exercise_2_1
//! ```
//!
//! The exercise is found by its region, never by its `#[ignore]` line, so it
//! stays an exercise once the student has solved it.

/// The marker opening region `name`.
fn start_marker(line: &str) -> Option<&str> {
    line.trim().strip_prefix("// ANCHOR:").map(str::trim)
}

/// The marker closing region `name`.
fn end_marker(line: &str) -> Option<&str> {
    line.trim().strip_prefix("// ANCHOR_END:").map(str::trim)
}

/// Line indices `(start, end)` of the markers of region `name`: the region's
/// body is the lines strictly between them.
fn region_bounds(lines: &[&str], name: &str) -> Option<(usize, usize)> {
    let start = lines.iter().position(|l| start_marker(l) == Some(name))?;
    let end = start
        + lines[start..]
            .iter()
            .position(|l| end_marker(l) == Some(name))?;
    Some((start, end))
}

/// The names of every region in `source`, in order.
pub fn region_names(source: &str) -> Vec<String> {
    source
        .lines()
        .filter_map(start_marker)
        .map(str::to_string)
        .collect()
}

/// The text of region `name` as a chapter shows it: nested anchor lines
/// left out, common indentation removed, no trailing newline.
pub fn region(source: &str, name: &str) -> Option<String> {
    let lines: Vec<&str> = source.lines().collect();
    let (start, end) = region_bounds(&lines, name)?;
    let body: Vec<&str> = lines[start + 1..end]
        .iter()
        .copied()
        .filter(|l| start_marker(l).is_none() && end_marker(l).is_none())
        .collect();
    let indent = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let dedented: Vec<&str> = body
        .iter()
        .map(|l| l.get(indent..).unwrap_or("").trim_end())
        .collect();
    Some(dedented.join("\n"))
}

/// `source` with the code of exercise region `name` replaced by the code of
/// the same region in `replacement`, keeping `source`'s `///` header (id,
/// title, hint, planted bugs). The replacement's own header, if any, is
/// left out: a student cannot change what their exercise is graded on.
/// `None` when either side lacks the region.
pub fn splice_exercise(source: &str, replacement: &str, name: &str) -> Option<String> {
    let lines: Vec<&str> = source.lines().collect();
    let (start, end) = region_bounds(&lines, name)?;
    let header_len = doc_header_len(&lines[start + 1..end]);
    let new_lines: Vec<&str> = replacement.lines().collect();
    let (new_start, new_end) = region_bounds(&new_lines, name)?;
    let new_body = &new_lines[new_start + 1..new_end];
    let new_code = &new_body[doc_header_len(new_body)..];
    let mut out: Vec<&str> = lines[..=start + header_len].to_vec();
    out.extend_from_slice(new_code);
    out.extend_from_slice(&lines[end..]);
    Some(out.join("\n") + "\n")
}

/// How many lines at the start of `body` are `///` doc lines.
fn doc_header_len(body: &[&str]) -> usize {
    body.iter()
        .take_while(|l| l.trim_start().starts_with("///"))
        .count()
}

/// One exercise, found by its region `exercise_N_M` in a chapter's test file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exercise {
    /// `"2.1"`, from the region's name.
    pub id: String,
    /// The property to prove, as a sentence (the header's `Exercise N.M:` line).
    pub title: String,
    /// The test function's name.
    pub test: String,
    /// The header's `Hint:` paragraph, joined into one line.
    pub hint: String,
    /// The header's `Catches:` list: the planted bugs the test must catch.
    pub catches: Vec<String>,
    /// The region holding the stub (and, in the solution file, the solution).
    pub region: String,
    /// The id the header's first line gives (`None` when it has none); it
    /// must be `id`.
    pub header_id: Option<String>,
    /// False while the stub is untouched: still `#[ignore]`d or still `todo!()`.
    pub started: bool,
}

/// Every exercise in a chapter's test file, in order.
pub fn exercises(source: &str) -> Vec<Exercise> {
    region_names(source)
        .into_iter()
        .filter_map(|name| {
            let body = region(source, &name)?;
            parse_exercise(&body, name)
        })
        .collect()
}

/// `exercise_2_1` -> `2.1`; `None` for any other region name.
pub fn exercise_id(region: &str) -> Option<String> {
    let (major, minor) = region.strip_prefix("exercise_")?.split_once('_')?;
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    (number(major) && number(minor)).then(|| format!("{major}.{minor}"))
}

/// The text of the `///` lines at the start of `body`, one string per line.
fn doc_header(body: &str) -> Vec<String> {
    body.lines()
        .map_while(|l| l.trim_start().strip_prefix("///"))
        .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end().to_string())
        .collect()
}

/// The header's paragraph that starts with `label` (e.g. `Hint:`), joined
/// into one line, without the label.
fn paragraph(doc: &[String], label: &str) -> Option<String> {
    let start = doc.iter().position(|l| l.starts_with(label))?;
    let text: Vec<&str> = doc[start..]
        .iter()
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.trim())
        .collect();
    Some(text.join(" ")[label.len()..].trim().to_string())
}

fn parse_exercise(body: &str, region: String) -> Option<Exercise> {
    let id = exercise_id(&region)?;
    let doc = doc_header(body);
    let first = doc.first().and_then(|l| l.strip_prefix("Exercise "));
    let header_id = first
        .and_then(|l| l.split_once(':'))
        .map(|(id, _)| id.trim().to_string());
    let title = first
        .and_then(|l| l.split_once(':'))
        .map_or("", |(_, title)| title.trim().trim_end_matches('.'))
        .to_string();
    let code: Vec<&str> = body.lines().skip(doc.len()).collect();
    let test = test_name(&code).unwrap_or_default();
    let untouched = code
        .iter()
        .any(|l| l.trim_start().starts_with("#[ignore") || l.contains("todo!("));
    let catches = paragraph(&doc, "Catches:").map_or_else(Vec::new, |list| {
        list.trim_end_matches('.')
            .split(',')
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .collect()
    });
    Some(Exercise {
        id,
        title,
        test,
        hint: paragraph(&doc, "Hint:").unwrap_or_default(),
        catches,
        region,
        header_id,
        started: !untouched,
    })
}

/// The name of the fn right after the first `#[test]` line (other
/// attributes may stand between), else of the first fn: a solution may
/// define helpers before its test.
fn test_name(code: &[&str]) -> Option<String> {
    let name = |l: &str| {
        let rest = l.trim().strip_prefix("fn ")?;
        rest.split(['(', '<', ' ']).next().map(str::to_string)
    };
    let after_test = code
        .iter()
        .skip_while(|l| l.trim() != "#[test]")
        .skip(1)
        .find(|l| !l.trim().starts_with("#["));
    after_test
        .and_then(|l| name(l))
        .or_else(|| code.iter().find_map(|l| name(l)))
}

/// What a chapter shows of exercise region `name`: its `///` header and
/// the test's signature. The student keeps both while solving it, so the
/// chapter's copy stays true whether the exercise is done or not.
#[allow(dead_code)] // used by tests/docs_sync.rs, which includes this file
pub fn exercise_view(source: &str, name: &str) -> Option<String> {
    let body = region(source, name)?;
    let exercise = parse_exercise(&body, name.to_string())?;
    let mut lines: Vec<String> = body
        .lines()
        .take(doc_header(&body).len())
        .map(str::to_string)
        .collect();
    lines.push("#[test]".to_string());
    lines.push(format!("fn {}() {{ ... }}", exercise.test));
    Some(lines.join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STUB: &str = "use x;\n// ANCHOR: exercise_2_1\n/// Exercise 2.1: two empty datagrams are two receives.\n\
        ///\n/// Hint: send two.\n/// Then receive.\n///\n/// Catches: merged, dropped_second.\n#[test]\n\
        #[ignore = \"exercise 2.1: delete this line to start\"]\nfn two_receives() {\n    todo!(\"exercise 2.1: write the test\")\n}\n\
        // ANCHOR_END: exercise_2_1\n";

    const SOLVED: &str =
        "// ANCHOR: exercise_2_1\n#[test]\nfn two_receives() {}\n// ANCHOR_END: exercise_2_1\n";

    #[test]
    fn an_exercise_is_parsed_from_its_header_and_stub() {
        let found = exercises(STUB);
        let expected = Exercise {
            id: "2.1".into(),
            title: "two empty datagrams are two receives".into(),
            test: "two_receives".into(),
            hint: "send two. Then receive.".into(),
            catches: vec!["merged".into(), "dropped_second".into()],
            region: "exercise_2_1".into(),
            header_id: Some("2.1".into()),
            started: false,
        };
        assert_eq!(
            found,
            vec![expected],
            "id, title, hint and planted bugs come from the header, the test name from the fn"
        );
    }

    #[test]
    fn a_solved_exercise_is_still_found_and_is_started() {
        let solved = splice_exercise(STUB, SOLVED, "exercise_2_1").expect("both have the region");
        let found = exercises(&solved);
        assert_eq!(
            found.len(),
            1,
            "the solved exercise is still an exercise; got {found:?}"
        );
        assert!(
            found[0].started && found[0].hint == "send two. Then receive.",
            "without #[ignore] and todo!() it is started, and its header is kept; got {:?}",
            found[0]
        );
    }

    #[test]
    fn splicing_an_exercise_keeps_the_header_and_takes_the_code() {
        let spliced = splice_exercise(STUB, SOLVED, "exercise_2_1").expect("both have the region");
        let expected = "use x;\n// ANCHOR: exercise_2_1\n/// Exercise 2.1: two empty datagrams are two receives.\n\
            ///\n/// Hint: send two.\n/// Then receive.\n///\n/// Catches: merged, dropped_second.\n\
            #[test]\nfn two_receives() {}\n// ANCHOR_END: exercise_2_1\n";
        assert_eq!(
            spliced, expected,
            "the lines outside the region and the header are kept, the code is the solution's"
        );
    }

    #[test]
    fn splicing_ignores_a_header_the_student_edited() {
        let edited = "// ANCHOR: exercise_2_1\n/// Exercise 2.1: easy.\n/// Catches: nothing\n#[test]\nfn two_receives() {}\n// ANCHOR_END: exercise_2_1\n";
        let spliced = splice_exercise(STUB, edited, "exercise_2_1").expect("both have the region");
        assert_eq!(
            exercises(&spliced)[0].catches,
            ["merged", "dropped_second"],
            "the graded copy keeps the pristine header, whatever the student's says"
        );
    }

    #[test]
    fn the_test_is_the_fn_under_test_even_after_helpers() {
        let solved = "// ANCHOR: exercise_2_1\n/// Exercise 2.1: t.\nfn helper() {}\n#[test]\n\
            #[should_panic]\nfn two_receives() {}\n// ANCHOR_END: exercise_2_1\n";
        assert_eq!(
            exercises(solved)[0].test,
            "two_receives",
            "the test is the fn under #[test], not the helper before it"
        );
    }

    #[test]
    fn a_chapter_shows_an_exercise_as_its_header_and_signature() {
        let view = exercise_view(STUB, "exercise_2_1").expect("the region exists");
        let solved = splice_exercise(STUB, SOLVED, "exercise_2_1").expect("both have the region");
        assert_eq!(
            view,
            "/// Exercise 2.1: two empty datagrams are two receives.\n///\n/// Hint: send two.\n/// Then receive.\n\
             ///\n/// Catches: merged, dropped_second.\n#[test]\nfn two_receives() { ... }",
            "the header, then the test's signature"
        );
        assert_eq!(
            exercise_view(&solved, "exercise_2_1"),
            Some(view),
            "solving the exercise does not change what the chapter shows"
        );
    }

    #[test]
    fn only_regions_named_exercise_n_m_are_exercises() {
        assert_eq!(
            exercise_id("exercise_12_3").as_deref(),
            Some("12.3"),
            "exercise_12_3 is 12.3"
        );
        assert_eq!(
            exercise_id("exercise_x_1"),
            None,
            "exercise_x_1 names no exercise"
        );
        assert_eq!(
            exercise_id("echo_pair"),
            None,
            "echo_pair names no exercise"
        );
    }

    #[test]
    fn a_region_is_dedented_without_its_markers() {
        let src = "fn a() {\n    // ANCHOR: x\n    let y = 1;\n    // ANCHOR_END: x\n}\n";
        assert_eq!(
            region(src, "x").as_deref(),
            Some("let y = 1;"),
            "the region's body, dedented, without the anchor lines"
        );
    }

    #[test]
    fn nested_anchor_lines_are_left_out_of_a_region() {
        let src = "// ANCHOR: outer\na\n// ANCHOR: inner\nb\n// ANCHOR_END: inner\n// ANCHOR_END: outer\n";
        assert_eq!(
            region(src, "outer").as_deref(),
            Some("a\nb"),
            "inner markers are not shown"
        );
    }
}
