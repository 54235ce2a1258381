//! Which of the course's test cases skip on this machine, read from the
//! checkout's `tests/*.rs` rather than by running them: a case whose
//! arguments hold `Family::V6` (or a test that calls
//! `require(Family::V6)`) needs IPv6 loopback, a test that calls
//! `python3()` needs python3, a test that calls `hosts::require()` needs
//! the test hosts of chapter 16. rstest's `#[values]` lists multiply a case.

use std::fs;
use std::path::Path;

use super::Skip;

/// Every `tests/*.rs` of the checkout at `root` (not `support/`, not
/// `solutions/`), as (file stem, source), in name order.
pub(super) fn test_files(root: &Path) -> std::io::Result<Vec<(String, String)>> {
    let dir = root.join("tests");
    let mut files = Vec::new();
    for entry in fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("rs") {
            continue;
        }
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        files.push((stem.to_string(), fs::read_to_string(&path)?));
    }
    files.sort();
    Ok(files)
}

/// The cases of `files` that need one of the `missing` checks, grouped by
/// check and file.
pub(super) fn skipping_cases(files: &[(String, String)], missing: &[&'static str]) -> Vec<Skip> {
    let mut skips = Vec::new();
    for &because in missing {
        for (file, source) in files {
            let mut count = 0;
            let mut cases = Vec::new();
            for test in test_fns(source) {
                for (case, multiplier) in test.cases_needing(because) {
                    count += multiplier;
                    cases.push(case);
                }
            }
            if count > 0 {
                skips.push(Skip {
                    because,
                    file: file.clone(),
                    count,
                    cases,
                });
            }
        }
    }
    skips
}

/// A test function as read from its source: enough to tell which of its
/// cases need IPv6 or python3.
#[derive(Debug, Default)]
struct TestFn {
    name: String,
    /// rstest's `#[case::name(args)]`, as (name, args); empty for a plain `#[test]`.
    cases: Vec<(String, String)>,
    /// The product of the lengths of its `#[values(..)]` lists (1 without).
    values: usize,
    /// The signature and the body.
    text: String,
}

impl TestFn {
    /// The names `cargo test` gives its cases that need `check`, each with
    /// how many tests it stands for (its `#[values]` combinations).
    fn cases_needing(&self, check: &str) -> Vec<(String, usize)> {
        let width = self.cases.len().to_string().len();
        let named = |i: usize, case: &str| {
            if case.is_empty() {
                format!("{}::case_{:0width$}", self.name, i + 1)
            } else {
                format!("{}::case_{:0width$}_{case}", self.name, i + 1)
            }
        };
        match check {
            "ipv6_loopback" if self.cases.is_empty() => {
                if self.text.contains("require(Family::V6)") {
                    vec![(self.name.clone(), self.values)]
                } else {
                    Vec::new()
                }
            }
            "ipv6_loopback" => self
                .cases
                .iter()
                .enumerate()
                .filter(|(_, (_, args))| args.contains("Family::V6"))
                .map(|(i, (case, _))| (named(i, case), self.values))
                .collect(),
            "python3" if self.text.contains("python3()") => {
                if self.cases.is_empty() {
                    vec![(self.name.clone(), self.values)]
                } else {
                    self.cases
                        .iter()
                        .enumerate()
                        .map(|(i, (case, _))| (named(i, case), self.values))
                        .collect()
                }
            }
            "private_netns" if self.text.contains("reflection_report()") => {
                vec![(self.name.clone(), self.values)]
            }
            "test_hosts" if self.text.contains("hosts::require()") => {
                let all = (0..self.cases.len().max(1)).map(|i| match self.cases.get(i) {
                    Some((case, _)) => (named(i, case), self.values),
                    None => (self.name.clone(), self.values),
                });
                all.collect()
            }
            _ => Vec::new(),
        }
    }
}

/// The test functions of `source` that are not ignored, read line by line
/// as rustfmt lays them out: attributes, then `fn name(`, then a body that
/// ends with a `}` alone at the start of a line.
fn test_fns(source: &str) -> Vec<TestFn> {
    let mut tests = Vec::new();
    let mut is_test = false;
    let mut ignored = false;
    let mut cases = Vec::new();
    let mut lines = source.lines();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if trimmed == "#[test]" || trimmed == "#[rstest]" {
            is_test = true;
        } else if trimmed.starts_with("#[ignore") {
            ignored = true;
        } else if let Some(case) = trimmed.strip_prefix("#[case") {
            let (name, args) = match case.strip_prefix("::") {
                Some(rest) => rest.split_once('(').unwrap_or((rest, "")),
                None => ("", case),
            };
            cases.push((name.to_string(), args.to_string()));
        } else if trimmed.starts_with("#[") || trimmed.starts_with("//") {
            // Another attribute or a comment between the attributes and the fn.
        } else if let Some(rest) = trimmed.strip_prefix("fn ") {
            let name = rest.split(['(', '<']).next().unwrap_or(rest).to_string();
            let mut text = line.to_string();
            for body_line in lines.by_ref() {
                text.push('\n');
                text.push_str(body_line);
                if body_line == "}" {
                    break;
                }
            }
            if is_test && !ignored {
                let values = values_product(&text);
                tests.push(TestFn {
                    name,
                    cases: std::mem::take(&mut cases),
                    values,
                    text,
                });
            }
            (is_test, ignored) = (false, false);
            cases.clear();
        } else {
            (is_test, ignored) = (false, false);
            cases.clear();
        }
    }
    tests
}

/// The product of the lengths of the `#[values(..)]` lists in `text`.
fn values_product(text: &str) -> usize {
    text.split("#[values(")
        .skip(1)
        .map(|list| {
            let mut depth = 0usize;
            let mut items = 1;
            for c in list.chars() {
                match c {
                    '(' | '[' | '{' => depth += 1,
                    ')' | ']' | '}' if depth == 0 => break,
                    ')' | ']' | '}' => depth -= 1,
                    ',' if depth == 0 => items += 1,
                    _ => {}
                }
            }
            items
        })
        .product()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rstest_cases_with_family_v6_are_the_ones_that_need_ipv6() {
        let source = r#"
/// Docs before the attributes.
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
/// Docs and another attribute between the cases and the fn.
#[file_serial(icmp)]
fn one(#[case] family: Family, #[values(Reply::Upper, Reply::Threaded)] reply: Reply) {
    if !net::require(family) {
        return;
    }
}

#[test]
#[ignore = "exercise"]
fn stub() {
    todo!()
}

#[test]
fn with_python() {
    let server = start();
    let Some(python) = support::python3() else {
        return;
    };
}

#[test]
fn plain_ipv6() {
    let before = 1;
    if !net::require(Family::V6) {
        return;
    }
}
"#;
        let tests = test_fns(source);
        let names: Vec<&str> = tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["one", "with_python", "plain_ipv6"],
            "the ignored stub is not counted"
        );
        assert_eq!(
            tests[0].cases_needing("ipv6_loopback"),
            [("one::case_2_ipv6".to_string(), 2)],
            "one IPv6 case, times its two #[values]"
        );
        assert!(
            tests[0].cases_needing("python3").is_empty(),
            "no python3() call, no python3 case"
        );
        assert_eq!(
            tests[1].cases_needing("python3"),
            [("with_python".to_string(), 1)],
            "the call is found anywhere in the body"
        );
        assert!(tests[1].cases_needing("ipv6_loopback").is_empty());
        assert_eq!(
            tests[2].cases_needing("ipv6_loopback"),
            [("plain_ipv6".to_string(), 1)],
            "a plain test that requires IPv6 is one case"
        );
    }

    #[test]
    fn values_lists_multiply_and_commas_inside_brackets_do_not_split_a_value() {
        assert_eq!(
            values_product("#[values(f(1, 2), [3, 4], {5}, 6)] a: u8, #[values(x, y)] b: u8"),
            8,
            "4 values times 2 values"
        );
        assert_eq!(values_product("fn plain()"), 1, "no #[values]: one case");
    }
}
