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

/// `source` with the body of region `name` replaced by the body of the
/// region of the same name in `replacement` (markers kept). `None` when
/// either side lacks the region.
pub fn splice_region(source: &str, replacement: &str, name: &str) -> Option<String> {
    let lines: Vec<&str> = source.lines().collect();
    let (start, end) = region_bounds(&lines, name)?;
    let new_lines: Vec<&str> = replacement.lines().collect();
    let (new_start, new_end) = region_bounds(&new_lines, name)?;
    let mut out: Vec<&str> = lines[..=start].to_vec();
    out.extend_from_slice(&new_lines[new_start + 1..new_end]);
    out.extend_from_slice(&lines[end..]);
    Some(out.join("\n") + "\n")
}

/// One exercise: an ignored test whose reason starts with `exercise N.M:`,
/// inside a region named `exercise_N_M`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exercise {
    /// `"2.1"`.
    pub id: String,
    /// The property to prove, as a sentence (the ignore reason's rest).
    pub title: String,
    /// The test function's name.
    pub test: String,
    /// The `/// Hint:` doc lines, joined.
    pub hint: String,
    /// The region holding the stub (and, in the solution file, the solution).
    pub region: String,
}

/// Every exercise in a chapter's test file, in order.
pub fn exercises(source: &str) -> Vec<Exercise> {
    region_names(source)
        .into_iter()
        .filter(|name| name.starts_with("exercise_"))
        .filter_map(|name| {
            let body = region(source, &name)?;
            parse_exercise(&body, name)
        })
        .collect()
}

fn parse_exercise(body: &str, region: String) -> Option<Exercise> {
    let reason = body
        .lines()
        .find_map(|l| l.trim().strip_prefix("#[ignore = \"exercise "))?
        .trim_end_matches("\"]");
    let (id, title) = reason.split_once(':')?;
    let test = body
        .lines()
        .find_map(|l| l.trim().strip_prefix("fn "))?
        .split('(')
        .next()?
        .to_string();
    let hint = body
        .lines()
        .filter_map(|l| l.trim().strip_prefix("///"))
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ");
    let hint = hint
        .strip_prefix("Hint:")
        .unwrap_or(&hint)
        .trim()
        .to_string();
    Some(Exercise {
        id: id.trim().to_string(),
        title: title.trim().to_string(),
        test,
        hint,
        region,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STUB: &str = "use x;\n// ANCHOR: exercise_2_1\n/// Hint: send two.\n/// Then receive.\n#[test]\n\
        #[ignore = \"exercise 2.1: two empty datagrams are two receives\"]\nfn two_receives() {\n    todo!()\n}\n\
        // ANCHOR_END: exercise_2_1\n";

    #[test]
    fn an_exercise_is_parsed_from_its_stub() {
        let found = exercises(STUB);
        let expected = Exercise {
            id: "2.1".into(),
            title: "two empty datagrams are two receives".into(),
            test: "two_receives".into(),
            hint: "send two. Then receive.".into(),
            region: "exercise_2_1".into(),
        };
        assert_eq!(
            found,
            vec![expected],
            "id, title, test name and hint come from the stub"
        );
    }

    #[test]
    fn splicing_replaces_only_the_region_body() {
        let solution =
            "// ANCHOR: exercise_2_1\n#[test]\nfn two_receives() {}\n// ANCHOR_END: exercise_2_1\n";
        let spliced = splice_region(STUB, solution, "exercise_2_1").expect("both have the region");
        assert_eq!(
            spliced,
            "use x;\n// ANCHOR: exercise_2_1\n#[test]\nfn two_receives() {}\n// ANCHOR_END: exercise_2_1\n",
            "the lines outside the region are kept, the body is the solution's"
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
