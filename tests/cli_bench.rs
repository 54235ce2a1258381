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

use std::process::Output;

use rstest::rstest;
use support::cli::{run, stderr_of, stdout_of};
use udp_lab::lab::server::models::{self, Model};
use udp_lab::lab::server::Reply;
use udp_lab::net::{self, Family};

/// The JSON line of contender `name` (bench writes one line per contender).
#[track_caller]
fn contender_line(json: &str, name: &str) -> String {
    let key = format!("{{\"name\": \"{name}\",");
    json.lines()
        .find(|l| l.trim_start().starts_with(&key))
        .unwrap_or_else(|| panic!("bench's JSON has no contender {name:?}:\n{json}"))
        .to_string()
}

/// Asserts a JSON contender line counts `requests` answered and no failure.
#[track_caller]
fn assert_all_answered(json: &str, name: &str, requests: usize) {
    let line = contender_line(json, name);
    let expected = format!("\"requests\": {requests}, \"failures\": 0,");
    assert!(
        line.contains(&expected),
        "{name}: every request of the tiny load is answered and checked, so bench reports \
         {expected}; got:\n{line}"
    );
}

/// Runs bench once against the `single` model with `clients` clients and
/// the options `how`, asserts it succeeded, and returns its JSON report.
#[track_caller]
fn bench_single_json(clients: usize, how: &[&str]) -> String {
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
    stdout_of(&output)
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
    assert_all_answered(&stdout_of(&output), &to, 3 * 2);
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
    let json = stdout_of(&output);
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

/// Runs a tiny bench on the single model with `--plot` into a file of its
/// own (`name` keeps parallel tests apart) and returns the SVG it wrote.
fn bench_plot_svg(name: &str, extra: &[&str]) -> String {
    let path =
        std::env::temp_dir().join(format!("udp-lab-bench-{name}-{}.svg", std::process::id()));
    let file = path.to_str().expect("a UTF-8 temp path");
    let mut args = vec![
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
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--plot", file]);

    let output = run(&args);

    assert_success(&output);
    let svg = std::fs::read_to_string(&path).expect("bench --plot wrote the file");
    let _ = std::fs::remove_file(&path);
    svg
}

#[test]
fn bench_plot_draws_an_svg_chart() {
    let svg = bench_plot_svg("chart", &[]);

    assert!(
        svg.contains("<svg") && svg.contains("single"),
        "--plot FILE writes an SVG chart naming each contender"
    );
}

#[test]
fn bench_plot_title_says_how_the_clients_were_driven() {
    let svg = bench_plot_svg("driver", &["--thread-per-client"]);

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

    let line = contender_line(&json, "single");
    let null = line.contains("\"server_cpu_us_per_request\": null,");
    assert_eq!(
        !null,
        measured,
        "the server's CPU time is read from /proc/PID/stat (Linux) in 10 ms ticks, so it is \
         reported only for a server in its own process during a timed run; {how:?} should be \
         {}: {line}",
        if measured { "measured" } else { "null" }
    );
}

#[rstest]
#[case::three_pollers(&["--poll-threads", "3"], "\"poll_threads\": 3}")]
#[case::more_pollers_than_clients(&["--poll-threads", "9"], "\"poll_threads\": 4}")]
#[case::thread_per_client(&["--thread-per-client"], "\"poll_threads\": null}")]
fn bench_json_says_how_many_threads_drove_the_clients(#[case] how: &[&str], #[case] says: &str) {
    let json = bench_single_json(4, &[["--rounds", "1"].as_slice(), how].concat());

    let says = if cfg!(unix) {
        says
    } else {
        "\"poll_threads\": null}" // no poll(): one thread per client
    };
    assert!(
        json.contains(says),
        "how many threads drove the clients decides how much CPU the load takes from the \
         server, so the report records it ({says}; never more pollers than clients):\n{json}"
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
    let json = stdout_of(&output);
    assert_all_answered(&json, "single", 4);
    assert_all_answered(&json, "python threading_server", 4);
}
// ANCHOR_END: bench_python

// ANCHOR: bench_bad_input
#[rstest]
#[case::zero_clients(&["bench", "--to", "127.0.0.1:0", "--clients", "0"], "--clients")]
#[case::bad_address(&["bench", "--to", "not-an-address"], "HOST:PORT")]
#[case::unknown_model(&["bench", "--model", "fastest"], "unknown model")]
#[case::nothing_to_measure(&["bench"], "nothing to measure")]
#[case::missing_python_script(&["bench", "--python-server", "/no/such/server.py"], "no such file")]
fn bench_bad_input_exits_2_with_one_clear_line(#[case] args: &[&str], #[case] says: &str) {
    let output = run(args);

    let stderr = stderr_of(&output);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        output.status.code(),
        Some(2),
        "bad input is exit code 2; stderr:\n{stderr}"
    );
    assert_eq!(lines.len(), 1, "an error is one line, got:\n{stderr}");
    assert!(
        lines[0].contains(says),
        "the line names the problem ({says:?}): {stderr}"
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
    assert_eq!(
        stderr.lines().count(),
        1,
        "one line says no server answered:\n{stderr}"
    );
    assert!(
        stderr.contains(&to),
        "the line names the silent address: {stderr}"
    );
}
