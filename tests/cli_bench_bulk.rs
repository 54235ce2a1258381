//! `udp-lab bench --bulk` (chapter 19), run as a student runs it: bulk
//! transfers over loopback with every sender (`send_to`, `sendmmsg`, GSO)
//! into every receiver (`recv_from`, `recvmmsg`, GRO), and quinn-udp beside
//! them with the feature `contenders`. Tiny loads (1 MiB): these tests prove
//! that it counts and reports, never how fast anything is.
//!
//! Run: `cargo test --test cli_bench_bulk` (and `cargo test --features
//! contenders --test cli_bench_bulk` for quinn-udp, as CI does)

mod support;

use std::process::Output;

use rstest::rstest;
use serde_json::Value;
use support::cli::{contender, report_of, run, stderr_of, stdout_of, the_error_line};
use udp_lab::net;

#[track_caller]
fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "bench --bulk exits 0 when every pair delivered something; it exited {}:\n{}",
        output.status,
        stderr_of(output)
    );
}

/// Runs a tiny `bench --bulk` (1 MiB per pair, one repetition) with `extra`
/// and returns its parsed JSON report.
#[track_caller]
fn bulk_json(extra: &[&str]) -> Value {
    let args = [
        &[
            "bench",
            "--bulk",
            "--bulk-mib",
            "1",
            "--repeat",
            "1",
            "--json",
        ][..],
        extra,
    ]
    .concat();
    let output = run(&args);
    assert_success(&output);
    report_of(&output)
}

/// The names of the pairs udp-lab races on this OS: all nine on Linux,
/// only the portable one elsewhere.
fn lab_pairs() -> Vec<String> {
    let (senders, receivers) = if cfg!(target_os = "linux") {
        (
            &["send_to", "sendmmsg", "gso"][..],
            &["recv_from", "recvmmsg", "gro"][..],
        )
    } else {
        (&["send_to"][..], &["recv_from"][..])
    };
    senders
        .iter()
        .flat_map(|s| receivers.iter().map(move |r| format!("{s} -> {r}")))
        .collect()
}

// ANCHOR: bench_bulk
#[test]
fn bench_bulk_races_every_sender_into_every_receiver_and_counts_what_arrived() {
    let json = bulk_json(&[]);

    for name in lab_pairs() {
        let pair = contender(&json, &name);
        let run = &pair["runs"][0];
        let (bytes, datagrams) = (run["bytes"].as_u64(), run["datagrams"].as_u64());
        let sent = run["sent"].as_u64().unwrap_or(0) * 1200;
        assert!(
            bytes.is_some_and(|b| b > 0 && b <= sent),
            "{name}: some of the {sent} bytes sent (1 MiB in whole bursts) arrived, and never \
             more than was sent (a full receive buffer may drop some): {pair:#}"
        );
        assert_eq!(
            bytes.zip(datagrams).map(|(b, d)| b == d * 1200),
            Some(true),
            "{name}: delivered bytes are delivered datagrams x 1,200 (GRO's receives are cut by \
             their segment size before counting): {pair:#}"
        );
        assert!(
            pair["bytes_per_s"].as_f64().is_some_and(|r| r > 0.0)
                && pair["recv_calls_per_s"].as_f64().is_some_and(|r| r > 0.0),
            "{name}: bytes/s and receive calls/s are measured: {pair:#}"
        );
    }
}
// ANCHOR_END: bench_bulk

#[test]
fn bench_bulk_json_carries_the_load_the_ratios_and_no_contender_without_the_feature() {
    let json = bulk_json(&["--segment", "1000"]);

    assert_eq!(
        (
            json["load"]["bytes"].as_u64(),
            json["load"]["segment"].as_u64(),
            json["load"]["burst"].as_u64()
        ),
        (Some(1 << 20), Some(1000), Some(50)),
        "the load is the one asked for: --bulk-mib 1 --segment 1000, in bursts of 50"
    );
    let names: Vec<&str> = json["contenders"]
        .as_array()
        .map(|all| all.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        names.iter().any(|n| n.starts_with("quinn-udp")),
        cfg!(all(feature = "contenders", unix)),
        "quinn-udp is raced only in a build with the feature contenders (on Unix): {names:?}"
    );
    let ratio = &json["ratios"]["gso_gro_vs_send_to_recv_from"];
    assert_eq!(
        ratio.is_f64(),
        cfg!(target_os = "linux"),
        "the goal ratio GSO+GRO / send_to+recv_from is a number where both ran (Linux): {ratio}"
    );
}

#[test]
fn bench_bulk_with_the_contenders_feature_races_quinn_udp_on_the_same_load() {
    if !cfg!(all(feature = "contenders", unix)) {
        return net::skip_even_under_ci(
            "quinn-udp is built only with --features contenders (CI: cargo test --features \
             contenders --test cli_bench_bulk)",
        );
    }
    let json = bulk_json(&[]);

    let quinn = contender(&json, "quinn-udp gso -> gro");
    assert!(
        quinn["runs"][0]["bytes"].as_u64().is_some_and(|b| b > 0),
        "quinn-udp moved some of the same 1 MiB: {quinn:#}"
    );
    assert_eq!(
        json["ratios"]["gso_gro_vs_quinn_udp"].is_f64(),
        cfg!(target_os = "linux"),
        "udp-lab's GSO+GRO over quinn-udp's, bytes/s, is reported beside it: {json:#}"
    );
}

#[test]
fn bench_bulk_plot_draws_an_svg_chart_of_every_pair() {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let path = folder.path().join("bulk.svg");
    let file = path.to_str().expect("a UTF-8 temp path");

    let output = run(&[
        "bench",
        "--bulk",
        "--bulk-mib",
        "1",
        "--repeat",
        "1",
        "--plot",
        file,
    ]);

    assert_success(&output);
    let svg = std::fs::read_to_string(&path).expect("bench --bulk --plot wrote the file");
    assert!(
        svg.contains("<svg") && svg.contains("send_to -&gt; recv_from")
            || svg.contains("send_to -> recv_from"),
        "--plot FILE writes an SVG chart naming each pair"
    );
    assert!(
        stdout_of(&output).contains("goal: >= 10x"),
        "the table ends with the goal ratios:\n{}",
        stdout_of(&output)
    );
}

#[rstest]
#[case::zero_mib(&["bench", "--bulk", "--bulk-mib", "0"], &["--bulk-mib", "1..=4096"])]
#[case::huge_segment(&["bench", "--bulk", "--segment", "1301"], &["--segment", "1..=1300"])]
#[case::segment_without_bulk(&["bench", "--model", "single", "--segment", "100"], &["--bulk"])]
#[case::bulk_and_model(&["bench", "--bulk", "--model", "single"], &["--model"])]
#[case::bulk_and_markdown(&["bench", "--bulk", "--markdown"], &["--markdown"])]
fn bench_bulk_bad_input_exits_2_with_one_clear_line_before_measuring(
    #[case] args: &[&str],
    #[case] says: &[&str],
) {
    let output = run(args);

    let stderr = stderr_of(&output);
    assert_eq!(
        output.status.code(),
        Some(2),
        "bad input is exit code 2; stderr:\n{stderr}"
    );
    let line = the_error_line(&stderr);
    for word in says {
        assert!(
            stderr.contains(word),
            "the error names the flag and what is accepted ({word:?} expected): {line}\n{stderr}"
        );
    }
    assert!(
        output.stdout.is_empty(),
        "bad input is refused before anything is measured"
    );
}
