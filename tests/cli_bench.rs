//! `udp-lab bench`, run as a student runs it: a separate process measuring
//! servers over real loopback sockets, with tiny loads (these tests prove
//! that it counts and reports, never how fast anything is).
//!
//! Claim: bench measures any echo server (`--to`, ours in-process here, the
//! article's Python server with `--python-server`), starts the project's own
//! models itself (`--model`, as child processes or `--in-process`), reports
//! requests and failures as text, Markdown, JSON and an SVG chart, and turns
//! bad input into one clear line with exit code 2.
//!
//! Run: `cargo test --test cli_bench`

mod support;

use std::collections::BTreeSet;
use std::process::Output;

use rstest::rstest;
use serde_json::Value;
use support::cli::{contender, report_of, run, stderr_of, stdout_of, the_error_line};
use udp_lab::lab::server::models::{self, Model};
use udp_lab::lab::server::Reply;
use udp_lab::net::{self, Family};

/// Asserts contender `name` counts `requests` answered and no failure.
#[track_caller]
fn assert_all_answered(report: &Value, name: &str, requests: u64) {
    let c = contender(report, name);
    assert_eq!(
        (c["requests"].as_u64(), c["failures"].as_u64()),
        (Some(requests), Some(0)),
        "{name}: every request of the tiny load is answered and checked, so bench reports \
         (requests, failures) = ({requests}, 0); got:\n{c:#}"
    );
}

/// The keys of a JSON object, sorted (empty when `value` is no object).
fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .map(|o| o.keys().map(String::as_str).collect())
        .unwrap_or_default()
}

/// Names as a sorted set, to compare with [`keys`].
fn set<'a>(names: &[&'a str]) -> BTreeSet<&'a str> {
    names.iter().copied().collect()
}

/// Runs bench once against the `single` model with `clients` clients and
/// the options `how`, asserts it succeeded, and returns its JSON report.
#[track_caller]
fn bench_single_json(clients: usize, how: &[&str]) -> Value {
    let clients = clients.to_string();
    let mut args = vec![
        "bench",
        "--model",
        "single",
        "--clients",
        &clients,
        "--repeat",
        "1",
        "--json",
    ];
    args.extend(how);
    let output = run(&args);
    assert_success(&output);
    report_of(&output)
}

/// Asserts a run exited 0; shows stderr otherwise.
#[track_caller]
fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "bench exits 0 when every request was answered; it exited {}:\n{}",
        output.status,
        stderr_of(output)
    );
}

// ANCHOR: bench_to_address
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn bench_measures_a_running_server_and_counts_every_answered_request(#[case] family: Family) {
    if !net::require(family) {
        return;
    }
    let server =
        models::spawn(family.any_port(), Model::Single, Reply::Upper).expect("start a server");
    let to = server.local_addr().to_string();

    let output = run(&[
        "bench",
        "--to",
        &to,
        "--clients",
        "3",
        "--rounds",
        "2",
        "--repeat",
        "1",
        "--json",
    ]);

    assert_success(&output);
    assert_all_answered(&report_of(&output), &to, 3 * 2);
    assert_eq!(
        server.shutdown().received,
        3 * 2 + 1,
        "the server saw 6 requests and bench's one probe"
    );
}
// ANCHOR_END: bench_to_address

// ANCHOR: bench_models
#[rstest]
#[case::child_processes(&[])]
#[case::in_process(&["--in-process"])]
#[case::thread_per_client(&["--thread-per-client"])]
fn bench_starts_each_model_itself_and_measures_it(#[case] how: &[&str]) {
    let mut args = vec![
        "bench",
        "--model",
        "all",
        "--clients",
        "2",
        "--rounds",
        "2",
        "--repeat",
        "2",
        "--json",
    ];
    args.extend(how);

    let output = run(&args);

    assert_success(&output);
    let json = report_of(&output);
    for name in [
        "bare",
        "single",
        "thread-per-datagram",
        "pool",
        "reuseport",
        "batch",
    ] {
        if name == "reuseport" && !cfg!(unix) {
            continue; // no SO_REUSEPORT on Windows: that contender cannot start there
        }
        assert_all_answered(&json, name, 2 * 2 * 2); // clients x rounds x repetitions
    }
}
// ANCHOR_END: bench_models

#[test]
fn bench_markdown_prints_one_row_per_contender_and_how_to_reproduce_it() {
    let output = run(&[
        "bench",
        "--model",
        "bare,batch",
        "--clients",
        "2",
        "--rounds",
        "1",
        "--repeat",
        "1",
        "--markdown",
    ]);

    assert_success(&output);
    let table = stdout_of(&output);
    let rows: Vec<&str> = table.lines().filter(|l| l.starts_with("| `")).collect();
    assert_eq!(rows.len(), 2, "a row for bare and one for batch:\n{table}");
    assert!(
        table.contains("vs bare"),
        "with bare in the run, each row says how it compares:\n{table}"
    );
    assert!(
        table.contains("Command: `udp-lab bench --model bare,batch"),
        "the caption gives the command that reproduces the table:\n{table}"
    );
}

/// The arguments of a tiny bench on the single model.
const TINY: [&str; 9] = [
    "bench",
    "--model",
    "single",
    "--clients",
    "2",
    "--rounds",
    "1",
    "--repeat",
    "1",
];

/// Runs a tiny bench on the single model with `--plot` into a fresh
/// temporary folder (removed even if the test fails) and returns the SVG.
fn bench_plot_svg(extra: &[&str]) -> String {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let path = folder.path().join("bench.svg");
    let file = path.to_str().expect("a UTF-8 temp path");
    let args = [&TINY[..], extra, &["--plot", file]].concat();

    let output = run(&args);

    assert_success(&output);
    std::fs::read_to_string(&path).expect("bench --plot wrote the file")
}

#[test]
fn bench_plot_draws_an_svg_chart() {
    let svg = bench_plot_svg(&[]);

    assert!(
        svg.contains("<svg") && svg.contains("single"),
        "--plot FILE writes an SVG chart naming each contender"
    );
}

#[test]
fn bench_plot_title_says_how_the_clients_were_driven() {
    let svg = bench_plot_svg(&["--thread-per-client"]);

    assert!(
        svg.contains("one thread per client"),
        "the chart's title names the driver (here --thread-per-client), because the \
         driver decides how much CPU is left for the server; the title said none of it"
    );
}

#[rstest]
#[case::child_process_timed(&["--duration-s", "0.3"], cfg!(target_os = "linux"))]
#[case::in_process_timed(&["--duration-s", "0.3", "--in-process"], false)]
#[case::child_process_rounds(&["--rounds", "2"], false)]
fn bench_reports_server_cpu_per_request_only_for_timed_runs_of_child_processes(
    #[case] how: &[&str],
    #[case] measured: bool,
) {
    let json = bench_single_json(2, how);

    let cpu = &contender(&json, "single")["server_cpu_us_per_request"];
    assert_eq!(
        cpu.is_f64(),
        measured,
        "the server's CPU time is read from /proc/PID/stat (Linux) in 10 ms ticks, so it is \
         reported only for a server in its own process during a timed run; {how:?} should be \
         {}, got {cpu}",
        if measured { "a number" } else { "null" }
    );
}

#[rstest]
#[case::three_pollers(&["--poll-threads", "3"], Some(3))]
#[case::more_pollers_than_clients(&["--poll-threads", "9"], Some(4))]
#[case::thread_per_client(&["--thread-per-client"], None)]
fn bench_json_says_how_many_threads_drove_the_clients(
    #[case] how: &[&str],
    #[case] pollers: Option<u64>,
) {
    let json = bench_single_json(4, &[["--rounds", "1"].as_slice(), how].concat());

    // No poll() outside Unix: one thread per client there.
    let expected = if cfg!(unix) { pollers } else { None };
    let got = &json["load"]["poll_threads"];
    assert_eq!(
        got.as_u64(),
        expected,
        "how many threads drove the clients decides how much CPU the load takes from the \
         server, so the report records it (never more pollers than clients; null for a \
         thread per client); got {got}"
    );
}

#[rstest]
#[case::rounds(&["--rounds", "1"], "rounds")]
#[case::duration(&["--duration-s", "0.2"], "duration_s")]
fn bench_json_carries_every_documented_field(#[case] how: &[&str], #[case] length: &str) {
    let json = bench_single_json(2, how);

    let latency = ["p50_us", "p90_us", "p99_us", "max_us"];
    let cpu = "server_cpu_us_per_request";
    let contender_fields = [
        &[
            "name",
            "requests",
            "failures",
            "requests_per_s",
            "min_requests_per_s",
        ][..],
        &["max_requests_per_s", cpu, "runs"],
        &latency,
    ]
    .concat();
    let run_fields = [
        &[
            "requests",
            "timeouts",
            "wrong",
            "elapsed_s",
            "requests_per_s",
            cpu,
        ][..],
        &latency,
    ]
    .concat();
    let single = contender(&json, "single");
    for (part, got, expected) in [
        (
            "the report",
            keys(&json),
            set(&["command", "machine", "load", "repeat", "contenders"]),
        ),
        (
            "machine",
            keys(&json["machine"]),
            set(&["cpu", "cpus", "os", "load_average"]),
        ),
        (
            "load",
            keys(&json["load"]),
            set(&["clients", length, "payload", "timeout_ms", "poll_threads"]),
        ),
        ("a contender", keys(single), set(&contender_fields)),
        ("a run", keys(&single["runs"][0]), set(&run_fields)),
    ] {
        assert_eq!(
            got, expected,
            "scripts read bench's JSON by these names (src/cli/bench/json.rs documents \
             them): {part} must have exactly these fields; {length} says how long the load \
             lasted, never both rounds and duration_s"
        );
    }
    assert_eq!(
        (json["repeat"].as_u64(), json["load"]["clients"].as_u64()),
        (Some(1), Some(2)),
        "the load's figures are the ones asked for: --repeat 1, --clients 2"
    );
}

// ANCHOR: bench_python
#[test]
fn bench_measures_the_python_threading_server_in_the_same_run() {
    let Some(_python) = support::python3() else {
        return;
    };
    let script = support::peer("threading_server.py");
    let script = script.to_str().expect("a UTF-8 path");

    let output = run(&[
        "bench",
        "--model",
        "single",
        "--python-server",
        script,
        "--clients",
        "2",
        "--rounds",
        "2",
        "--repeat",
        "1",
        "--json",
    ]);

    assert_success(&output);
    let json = report_of(&output);
    assert_all_answered(&json, "single", 4);
    assert_all_answered(&json, "python threading_server", 4);
}
// ANCHOR_END: bench_python

// ANCHOR: bench_bad_input
#[rstest]
#[case::zero_clients(&["bench", "--model", "single", "--clients", "0"], &["--clients", "1..=1000"])]
#[case::negative_rounds(&["bench", "--model", "single", "--rounds", "-1"], &["--rounds", "1..=1000000"])]
#[case::zero_duration(&["bench", "--model", "single", "--duration-s", "0"], &["--duration-s", "600"])]
#[case::tiny_payload(&["bench", "--model", "single", "--payload", "15"], &["--payload", "16..=60000"])]
#[case::zero_repeat(&["bench", "--model", "single", "--repeat", "0"], &["--repeat", "1..=100"])]
#[case::zero_timeout(&["bench", "--model", "single", "--timeout-ms", "0"], &["--timeout-ms", "1..=600000"])]
#[case::unknown_reply(&["bench", "--model", "single", "--reply", "loud"], &["--reply", "upper, threaded"])]
#[case::unknown_model(&["bench", "--model", "fastest"], &["--model", "'fastest'", "bare"])]
#[case::bad_address(&["bench", "--to", "not-an-address"], &["--to", "HOST:PORT"])]
#[case::port_0(&["bench", "--to", "127.0.0.1:0"], &["--to", "port 0"])]
#[case::nothing_to_measure(&["bench"], &["nothing to measure"])]
#[case::missing_python_script(&["bench", "--python-server", "/no/such/server.py"], &["no such file"])]
#[case::unwritable_plot(&["bench", "--model", "single", "--plot", "/udp-lab-no-such-folder/b.svg"], &["--plot", "/udp-lab-no-such-folder/b.svg"])]
fn bench_bad_input_exits_2_with_one_clear_line_before_measuring(
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
    assert!(
        line.contains(says[0]),
        "the error line names the flag or the problem ({:?} expected): {line}",
        says[0]
    );
    for word in &says[1..] {
        assert!(
            stderr.contains(word),
            "the error says what is accepted ({word:?} expected; clap lists possible values \
             below its line): {stderr}"
        );
    }
    assert!(
        output.stdout.is_empty(),
        "bad input is refused before anything is measured, yet stdout has:\n{}",
        stdout_of(&output)
    );
}
// ANCHOR_END: bench_bad_input

#[test]
fn bench_against_a_port_where_nothing_listens_exits_1_with_one_line() {
    // Held (connected to itself) for the whole test: no other test's
    // server can be given this port while bench knocks on it.
    let vacant = net::closed_port(Family::V4).expect("a port where nothing receives");
    let to = vacant.addr().to_string();

    let output = run(&["bench", "--to", &to, "--timeout-ms", "100", "--repeat", "1"]);

    let stderr = stderr_of(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "no reply is a failure (exit 1), not bad input: {stderr}"
    );
    the_error_line(&stderr);
    assert!(
        stderr.contains(&to),
        "the line names the silent address: {stderr}"
    );
}

#[test]
fn bench_whose_chart_cannot_be_written_at_the_end_exits_1_after_printing_its_report() {
    if !cfg!(target_os = "linux") {
        return net::skip_even_under_ci("/dev/full (every write fails with ENOSPC) is Linux's");
    }
    // /dev/full opens for writing (so the check before measuring passes)
    // and refuses every byte written: an I/O error in the middle of the
    // run, deterministic, which is a failed run, not bad input.
    let args = [&TINY[..], &["--plot", "/dev/full"]].concat();

    let output = run(&args);

    let stderr = stderr_of(&output);
    assert_eq!(
        output.status.code(),
        Some(1),
        "an I/O error during the run is exit code 1 (2 is for bad input found at the start): \
         {stderr}"
    );
    let line = the_error_line(&stderr);
    assert!(
        line.contains("/dev/full"),
        "the line says what was being written: {line}"
    );
    assert!(
        stdout_of(&output).contains("single"),
        "the measurement is not lost: the report is printed before the chart is drawn:\n{}",
        stdout_of(&output)
    );
}
