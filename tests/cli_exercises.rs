//! `udp-lab exercises` as a student and a grader use it, run as a separate
//! process on temporary copies of this checkout: `check` exits 0 only on a
//! solved exercise whose test catches every planted bug it lists (and says
//! which a weak test missed), `list` counts what is done, `watch` checks
//! again after a save, `grade --json` reports every exercise with the bugs
//! caught and missed, and cannot be fooled by code outside the exercise
//! regions.
//!
//! The copies build in one shared folder (`target/udp-lab-copies`): the
//! first test to build pays for the dependencies, the others only compile
//! chapter 02's tests again. They run one at a time (a file lock), so no
//! copy's build is mistaken for another's.
//!
//! Run: `cargo test --test cli_exercises`

mod support;

// The exercise regions are spliced with the command's own code.
#[allow(dead_code)]
#[path = "../src/cli/book.rs"]
mod book;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::{Duration, Instant};

use serial_test::file_serial;
use support::cli::{stderr_of, stdout_of};
use tempfile::TempDir;

/// How long a command that may build the copy can take: the first build
/// compiles every dependency (minutes on two busy cores).
const BUILD_DEADLINE: Duration = Duration::from_secs(900);

/// The exercise these tests solve and its chapter.
const CHAPTER: &str = "ch02_empty_datagrams";

fn checkout() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The target folder every copy builds in.
fn copies_target() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| checkout().join("target"), PathBuf::from)
        .join("udp-lab-copies")
}

/// A temporary copy of this checkout (removed when dropped). Sources keep
/// their times, so the shared build of the library stays fresh; test files
/// get the time of the copy, so their binaries are built again.
fn copy_of_checkout() -> TempDir {
    let copy = tempfile::Builder::new()
        .prefix("udp-lab-cli-exercises-")
        .tempdir()
        .expect("a temporary folder");
    for file in ["Cargo.toml", "Cargo.lock", "README.md"] {
        copy_file(&checkout().join(file), &copy.path().join(file), true);
    }
    let manifest = copy.path().join("Cargo.toml");
    let text = fs::read_to_string(&manifest).expect("the copied manifest");
    fs::write(&manifest, format!("{text}\n[workspace]\n"))
        .expect("make the copy its own workspace");
    copy_dir(&checkout().join("src"), &copy.path().join("src"), true);
    copy_dir(&checkout().join("tests"), &copy.path().join("tests"), false);
    copy_dir(&checkout().join("docs"), &copy.path().join("docs"), true);
    copy
}

fn copy_dir(from: &Path, to: &Path, keep_times: bool) {
    fs::create_dir_all(to).expect("create a folder in the copy");
    for entry in fs::read_dir(from).expect("list a folder of the checkout") {
        let path = entry.expect("a folder entry").path();
        let dest = to.join(path.file_name().expect("a file name"));
        if path.is_dir() {
            copy_dir(&path, &dest, keep_times);
        } else {
            copy_file(&path, &dest, keep_times);
        }
    }
}

fn copy_file(from: &Path, to: &Path, keep_time: bool) {
    fs::copy(from, to).unwrap_or_else(|e| panic!("copying {}: {e}", from.display()));
    if keep_time {
        let modified = fs::metadata(from)
            .and_then(|m| m.modified())
            .expect("a modification time");
        fs::File::options()
            .write(true)
            .open(to)
            .and_then(|f| f.set_modified(modified))
            .expect("keep the modification time");
    }
}

/// Splices the reference solution of `region` into `tree`'s chapter file,
/// as a student who solved it would have it.
fn solve(tree: &Path, region: &str) {
    let solutions = fs::read_to_string(checkout().join(format!("tests/solutions/{CHAPTER}.rs")))
        .expect("the reference solutions");
    let path = tree.join(format!("tests/{CHAPTER}.rs"));
    let source = fs::read_to_string(&path).expect("the chapter's test file");
    let solved = book::splice_exercise(&source, &solutions, region).expect("both have the region");
    fs::write(&path, solved).expect("write the solved chapter");
}

/// `udp-lab exercises ARGS` run in `tree`, as `cargo run -- exercises` would.
fn exercises_in(tree: &Path, args: &[&str]) -> Command {
    let mut cmd = support::cli::udp_lab();
    cmd.arg("exercises")
        .args(args)
        .current_dir(tree)
        .env("CARGO_TARGET_DIR", copies_target())
        .env("UDP_LAB_COPY_TARGET_DIR", copies_target());
    cmd
}

fn run_in(tree: &Path, args: &[&str]) -> Output {
    let what = format!("udp-lab exercises {}", args.join(" "));
    support::process::output_within(&mut exercises_in(tree, args), BUILD_DEADLINE, &what)
}

#[test]
#[file_serial(udp_lab_copies)]
fn check_exits_1_with_one_line_on_an_untouched_stub() {
    let copy = copy_of_checkout();
    let out = run_in(copy.path(), &["check", "2.1"]);
    let stderr = stderr_of(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an untouched stub is not done, so check must exit 1; got {:?}, stderr: {stderr}",
        out.status
    );
    assert!(
        stderr.lines().count() == 1
            && stderr.contains("exercise 2.1 is todo")
            && stderr.contains("#[ignore"),
        "one line saying the exercise is todo and to delete its #[ignore] line; got: {stderr}"
    );
}

#[test]
fn check_exits_2_with_one_line_on_an_exercise_that_does_not_exist() {
    for id in ["9.9", "two.one", "2.1.1"] {
        let out = support::cli::run(&[
            "exercises",
            "--root",
            &checkout().display().to_string(),
            "check",
            id,
        ]);
        let stderr = stderr_of(&out);
        assert_eq!(
            out.status.code(),
            Some(2),
            "no exercise is named {id}: bad input must exit 2; got {:?}, stderr: {stderr}",
            out.status
        );
        assert!(
            stderr.lines().count() == 1 && stderr.contains(&format!("no exercise {id}")),
            "one line naming the missing exercise {id}; got: {stderr}"
        );
    }
}

#[test]
#[file_serial(udp_lab_copies)]
fn check_exits_0_on_an_exercise_solved_with_its_reference_solution() {
    let copy = copy_of_checkout();
    solve(copy.path(), "exercise_2_1");
    let out = run_in(copy.path(), &["check", "2.1"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the reference solution of 2.1 passes, so check must exit 0; got {:?}\nstdout: {}\nstderr: {}",
        out.status,
        stdout_of(&out),
        stderr_of(&out)
    );
    assert!(
        stdout_of(&out).contains("exercise 2.1 passes")
            && stdout_of(&out).contains("Next: exercise 2.2"),
        "check says it passes and names the next exercise; got: {}",
        stdout_of(&out)
    );
}

/// Writes `code` as the student's region `exercise_2_1` in `tree`.
fn answer_2_1(tree: &Path, code: &str) {
    let path = tree.join(format!("tests/{CHAPTER}.rs"));
    let source = fs::read_to_string(&path).expect("the chapter's test file");
    let theirs = format!("// ANCHOR: exercise_2_1\n{code}\n// ANCHOR_END: exercise_2_1\n");
    let answered =
        book::splice_exercise(&source, &theirs, "exercise_2_1").expect("both have the region");
    fs::write(&path, answered).expect("write the student's chapter");
}

/// A weak answer to 2.1: it passes on the real server, and it would notice
/// a server that stops on an empty request, but not one that never answers it.
const WEAK_2_1: &str = r#"#[test]
fn echo_server_answers_two_empty_requests_then_still_serves() {
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper).expect("start the echo server");
    let client = net::bind_loopback(Family::V4).expect("bind the client");
    client.send_to(b"", echo.local_addr()).expect("send an empty request");
    let _ = recv::recv_within(&client, SILENCE); // takes a reply or none: too lenient
    let reply = recv::request(&client, echo.local_addr(), b"still there", "the reply").expect("a reply");
    assert_eq!(reply.text(), "STILL THERE");
}"#;

#[test]
#[file_serial(udp_lab_copies)]
fn check_says_which_planted_bugs_a_sharp_test_and_a_weak_test_catch() {
    let copy = copy_of_checkout();
    solve(copy.path(), "exercise_2_1");
    let sharp = run_in(copy.path(), &["check", "2.1"]);
    assert!(
        sharp.status.code() == Some(0)
            && stdout_of(&sharp).contains("your test caught 2 of 2 planted bugs"),
        "the reference solution passes and catches both planted bugs of 2.1, so check exits 0 \
         and says so; got {:?}\nstdout: {}\nstderr: {}",
        sharp.status,
        stdout_of(&sharp),
        stderr_of(&sharp)
    );

    answer_2_1(copy.path(), WEAK_2_1);
    let weak = run_in(copy.path(), &["check", "2.1"]);
    let stderr = stderr_of(&weak);
    assert_eq!(
        weak.status.code(),
        Some(1),
        "a test that passes on the real server but misses a planted bug is not done: exit 1; \
         got {:?}, stdout: {}, stderr: {stderr}",
        weak.status,
        stdout_of(&weak)
    );
    assert!(
        stderr.contains("your test caught 1 of 2 planted bugs")
            && stderr.contains("it still passes when")
            && stderr.contains("(ignores_empty_request)"),
        "check names the bug the weak test missed and what that bug does; got: {stderr}"
    );
}

#[test]
#[file_serial(udp_lab_copies)]
fn list_shows_1_of_34_done_after_one_reference_solution_is_spliced_in() {
    let copy = copy_of_checkout();
    solve(copy.path(), "exercise_2_1");
    let out = run_in(copy.path(), &["list"]);
    let stdout = stdout_of(&out);
    assert!(
        out.status.success() && stdout.contains("\n1 of 34 done\n"),
        "one solved exercise of 34 is `1 of 34 done`; got {:?}\n{stdout}{}",
        out.status,
        stderr_of(&out)
    );
    let row = stdout.lines().find(|l| l.trim_start().starts_with("2.1 "));
    assert!(
        row.is_some_and(|r| r.contains("passing")),
        "the solved exercise's row says passing (and it is still listed); got {row:?}"
    );
}

/// Runs `grade --json` (with `extra` arguments) in `tree` and parses its report.
fn grade_json(tree: &Path, extra: &[&str]) -> (Output, serde_json::Value) {
    let mut args = vec!["grade", "--json"];
    args.extend_from_slice(extra);
    let out = run_in(tree, &args);
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "grade --json must print one JSON document on stdout ({e}); got:\n{}\nstderr: {}",
            stdout_of(&out),
            stderr_of(&out)
        )
    });
    (out, report)
}

/// The report's entry for exercise `id`.
fn entry<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["exercises"]
        .as_array()
        .and_then(|all| all.iter().find(|e| e["id"] == id))
        .unwrap_or_else(|| panic!("the report lists exercise {id}; got {report}"))
}

#[test]
#[file_serial(udp_lab_copies)]
fn grade_json_reports_every_exercise_with_its_state_and_the_totals() {
    let copy = copy_of_checkout();
    solve(copy.path(), "exercise_2_1");
    let (out, report) = grade_json(copy.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "33 exercises are not done, so grade must exit 1; got {:?}",
        out.status
    );
    assert_eq!(
        (&report["schema"], &report["done"], &report["total"]),
        (&"udp-lab-grade/1".into(), &1.into(), &34.into()),
        "the report names its schema and counts 1 of 34 done; 2.1 is {}",
        entry(&report, "2.1")
    );
    let solved = entry(&report, "2.1");
    assert_eq!(
        (
            &solved["state"],
            &solved["done"],
            &solved["reason"],
            &solved["test"]
        ),
        (
            &"passing".into(),
            &true.into(),
            &serde_json::Value::Null,
            &"echo_server_answers_two_empty_requests_then_still_serves".into()
        ),
        "2.1 was solved with its reference solution: passing, done, no reason; got {solved}"
    );
    assert_eq!(
        (&solved["bugs_caught"], &solved["bugs_missed"]),
        (
            &serde_json::json!(["ignores_empty_request", "stops_on_empty_request"]),
            &serde_json::json!([])
        ),
        "the reference solution catches both planted bugs 2.1 lists; got {solved}"
    );
    let untouched = entry(&report, "2.2");
    assert_eq!(
        (&untouched["state"], &untouched["done"]),
        (&"todo".into(), &false.into()),
        "2.2 is an untouched stub: todo, not done; got {untouched}"
    );
    assert!(
        untouched["reason"].is_string()
            && untouched["bugs_caught"].is_array()
            && untouched["bugs_missed"].is_array(),
        "every entry has a reason when not done and the planted-bug lists; got {untouched}"
    );
}

#[test]
#[file_serial(udp_lab_copies)]
fn grade_takes_only_the_exercise_regions_so_code_added_elsewhere_cannot_make_a_test_pass() {
    let student = copy_of_checkout();
    let path = student.path().join(format!("tests/{CHAPTER}.rs"));
    let source = fs::read_to_string(&path).expect("the chapter's test file");
    // The reference solution, moved into a helper outside the region: sharp
    // (it catches the planted bugs) but it exists only in the student's tree.
    let solutions = fs::read_to_string(checkout().join(format!("tests/solutions/{CHAPTER}.rs")))
        .expect("the reference solutions");
    let helper = book::region(&solutions, "exercise_2_1")
        .expect("the solution region")
        .replace("#[test]\n", "")
        .replace(
            "fn echo_server_answers_two_empty_requests_then_still_serves()",
            "fn helper_outside_the_region()",
        );
    let cheat = format!("{helper}\n\n// ANCHOR: exercise_2_1");
    let body = "#[test]\nfn echo_server_answers_two_empty_requests_then_still_serves() {\n    \
                helper_outside_the_region();\n}\n// ANCHOR_END: exercise_2_1";
    let region = book::region(&source, "exercise_2_1").expect("the region");
    let header: Vec<&str> = region
        .lines()
        .take_while(|l| l.starts_with("///"))
        .collect();
    let start = source
        .find("// ANCHOR: exercise_2_1")
        .expect("the region's start");
    let end = source
        .find("// ANCHOR_END: exercise_2_1")
        .expect("the region's end")
        + "// ANCHOR_END: exercise_2_1".len();
    let cheated = format!(
        "{}{cheat}\n{}\n{body}{}",
        &source[..start],
        header.join("\n"),
        &source[end..]
    );
    fs::write(&path, cheated).expect("write the student's chapter");

    let local = run_in(student.path(), &["check", "2.1"]);
    assert_eq!(
        local.status.code(),
        Some(0),
        "in the student's own tree the helper added outside the region makes 2.1 pass (the cheat \
         works there); got {:?}: {}",
        local.status,
        stderr_of(&local)
    );
    let pristine = checkout().display().to_string();
    let (_, report) = grade_json(student.path(), &["--pristine", &pristine]);
    let graded = entry(&report, "2.1");
    assert_eq!(
        &graded["state"], "failing",
        "the student's 2.1 leans on a helper they added outside the region; in the pristine tree it \
         does not compile, so it must be failing; got {graded}"
    );
}

/// Every stdout line of `child`, read by a thread (a full pipe would block it).
fn lines_of(child: &mut std::process::Child) -> Receiver<String> {
    let stdout = child.stdout.take().expect("stdout was piped");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// The first line starting with `prefix` before `deadline`; the lines seen
/// on the way are in the panic message.
fn line_starting(lines: &Receiver<String>, prefix: &str, deadline: Instant) -> String {
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if line.starts_with(prefix) => return line,
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    panic!(
        "expected a line starting with `{prefix}` in time; got:\n{}",
        seen.join("\n")
    );
}

/// A child process killed when dropped, so a failing test leaves none behind.
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// How long watch may take to check again after a save, once the copy's
/// library is built: one compile of chapter 02's tests and their run.
const RERUN_DEADLINE: Duration = Duration::from_secs(120);

#[test]
#[file_serial(udp_lab_copies)]
fn watch_checks_the_exercise_again_within_two_minutes_of_a_save() {
    let copy = copy_of_checkout();
    let warm = support::process::output_within(
        Command::new(env!("CARGO"))
            .args(["test", "--no-run", "--test", CHAPTER])
            .current_dir(copy.path())
            .env("CARGO_TARGET_DIR", copies_target()),
        BUILD_DEADLINE,
        "building the copy",
    );
    assert!(
        warm.status.success(),
        "the copy builds; got {}",
        stderr_of(&warm)
    );
    let mut watch = Killed(
        exercises_in(copy.path(), &["watch", "2.1", "--max-runs", "2"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start udp-lab exercises watch"),
    );
    let lines = lines_of(&mut watch.0);

    let first = line_starting(&lines, "[watch] run 1:", Instant::now() + RERUN_DEADLINE);
    solve(copy.path(), "exercise_2_1");
    let second = line_starting(&lines, "[watch] run 2:", Instant::now() + RERUN_DEADLINE);
    let status = watch.0.wait().expect("watch ends after its two runs");

    assert!(
        first.contains("exercise 2.1 is todo"),
        "before the save, 2.1 is an untouched stub; got: {first}"
    );
    assert!(
        second.contains("exercise 2.1 passes"),
        "saving the solved chapter file makes watch check 2.1 again, and it passes; got: {second}"
    );
    assert!(
        status.success(),
        "watch exits 0 after its runs; got {status:?}"
    );
}
