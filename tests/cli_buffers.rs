//! `udp-lab buffers`, run as a student runs it: a separate process that
//! measures datagrams kept against `SO_RCVBUF` size (chapter 08).
//!
//! Claim: it prints one table row per size (with the kernel's drop count),
//! draws the curve as SVG with `--plot`, and rejects bad input with one
//! clear line and exit code 2, before measuring anything.
//!
//! Run: `cargo test --test cli_buffers`

mod support;

use std::path::PathBuf;
use std::process::Output;

use rstest::rstest;
use support::cli::run;

/// A path in the temporary folder that no other test or run uses.
fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("udp-lab-{}-{name}", std::process::id()))
}

/// Runs a small measurement (two sizes, 50 datagrams each), with extra arguments.
fn run_small(extra: &[&str]) -> Output {
    let mut args = vec!["buffers", "--sizes", "1,1048576", "--count", "50"];
    args.extend_from_slice(extra);
    let out = run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "exit 0 expected, got {:?}: {stderr}",
        out.status
    );
    out
}

#[test]
fn buffers_prints_a_table_with_one_row_per_size() {
    let out = run_small(&[]);

    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("requested B")
            && stdout.contains("kept")
            && stdout.contains("RcvbufErrors+"),
        "the table header names its columns:\n{stdout}"
    );
    let rows = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()));
    assert_eq!(rows.count(), 2, "one row per requested size:\n{stdout}");
}

#[test]
fn buffers_writes_the_svg_plot_asked_for() {
    let svg = temp_path("buffers.svg");

    let out = run_small(&["--plot", svg.to_str().expect("a UTF-8 temporary path")]);

    let drawn = std::fs::read_to_string(&svg).expect("the plot file exists");
    let _ = std::fs::remove_file(&svg);
    assert!(drawn.starts_with("<svg"), "the plot is an SVG file");
    assert!(drawn.contains("datagrams kept"), "with its axis label");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("plot written to"),
        "the command says where: {stdout}"
    );
}

#[rstest]
#[case::zero_count(&["--count", "0"], "--count")]
#[case::payload_over_65507(&["--payload", "65508"], "--payload")]
#[case::unwritable_plot(&["--plot", "/udp-lab-no-such-folder/buffers.svg"], "plot")]
fn buffers_rejects_bad_input_with_one_line_and_exit_code_2(
    #[case] bad: &[&str],
    #[case] named: &str,
) {
    let mut args = vec!["buffers", "--sizes", "1"];
    args.extend_from_slice(bad);

    let out = run(&args);

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "bad input is exit code 2; stderr: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one clear line, got:\n{stderr}");
    assert!(
        stderr.contains(named),
        "the line names what was wrong ({named}): {stderr}"
    );
    assert!(
        out.stdout.is_empty(),
        "nothing is measured after bad input: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
