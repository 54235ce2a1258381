//! `udp-lab buffers`, run as a student runs it: a separate process that
//! measures datagrams kept against `SO_RCVBUF` size (chapter 08).
//!
//! Claim: it names the kernel it measures on (as `uname -r` does), prints
//! one table row per size (with the kernel's drop count), draws the curve
//! as SVG with `--plot`, and rejects bad input with one clear line and exit
//! code 2, before measuring anything.
//!
//! Run: `cargo test --test cli_buffers`

mod support;

use std::process::Output;

use rstest::rstest;
use support::cli::{run, the_error_line};

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
fn buffers_names_the_kernel_its_figures_are_measured_on() {
    if !cfg!(target_os = "linux") {
        return udp_lab::net::skip_even_under_ci(
            "this compares with `uname -r`, Linux's kernel release",
        );
    }
    let uname = std::process::Command::new("uname")
        .arg("-r")
        .output()
        .expect("run `uname -r`");
    let release = String::from_utf8_lossy(&uname.stdout).trim().to_string();

    let out = run_small(&[]);

    let stdout = String::from_utf8_lossy(&out.stdout);
    let expected = format!("measured on Linux {release} (this machine)");
    assert!(
        stdout.lines().any(|l| l.starts_with(&expected)),
        "expected a line starting {expected:?}: a measured figure names the kernel it was \
         measured on, the one `uname -r` names; got:\n{stdout}"
    );
}

#[test]
fn buffers_writes_the_svg_plot_asked_for() {
    // Removed when dropped, even if an assertion below fails.
    let folder = tempfile::tempdir().expect("a temporary folder");
    let svg = folder.path().join("buffers.svg");

    let out = run_small(&["--plot", svg.to_str().expect("a UTF-8 temporary path")]);

    let drawn = std::fs::read_to_string(&svg).expect("the plot file exists");
    assert!(drawn.starts_with("<svg"), "the plot is an SVG file");
    assert!(drawn.contains("datagrams kept"), "with its axis label");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("plot written to"),
        "the command says where: {stdout}"
    );
}

#[rstest]
#[case::zero_count(&["--count", "0"], &["--count", "1..=100000"])]
#[case::negative_count(&["--count", "-5"], &["--count", "1..=100000"])]
#[case::negative_size(&["--sizes", "1,-2"], &["--sizes", "0..=2147483647"])]
#[case::size_over_an_int(&["--sizes", "2147483648"], &["--sizes", "0..=2147483647"])]
#[case::payload_over_any_datagram(&["--payload", "70000"], &["--payload", "0..=65527"])]
#[case::payload_over_65507(&["--payload", "65508"], &["--payload", "65507"])]
#[case::unwritable_plot(&["--plot", "/udp-lab-no-such-folder/buffers.svg"], &["plot", "/udp-lab-no-such-folder"])]
fn buffers_rejects_bad_input_with_one_line_and_exit_code_2(
    #[case] bad: &[&str],
    #[case] named: &[&str],
) {
    let args = [&["buffers", "--sizes", "1"][..], bad].concat();

    let out = run(&args);

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "bad input is exit code 2; stderr: {stderr}"
    );
    let line = the_error_line(&stderr);
    for word in named {
        assert!(
            line.contains(word),
            "the line names the flag and what it accepts ({word:?} expected): {line}"
        );
    }
    assert!(
        out.stdout.is_empty(),
        "nothing is measured after bad input: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn buffers_whose_plot_cannot_be_written_at_the_end_exits_1_after_the_table() {
    if !cfg!(target_os = "linux") {
        return udp_lab::net::skip_even_under_ci(
            "/dev/full (every write fails with ENOSPC) is Linux's",
        );
    }
    // /dev/full opens for writing (the check before measuring passes) and
    // refuses every byte: an I/O error in the middle of the run, every
    // time, which is a failed run (1), not bad input (2).
    let out = run(&[
        "buffers",
        "--sizes",
        "1",
        "--count",
        "10",
        "--plot",
        "/dev/full",
    ]);

    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "an I/O error during the run is exit code 1 (2 is for bad input found at the \
         start): {stderr}"
    );
    let line = the_error_line(&stderr);
    assert!(
        line.contains("/dev/full"),
        "the line says what was being written: {line}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("requested B"),
        "the measurement was printed before the plot failed:\n{stdout}"
    );
}
