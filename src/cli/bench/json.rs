//! `udp-lab bench --json`: the report for scripts, derived with serde from
//! the structs below, so the field names are written once, here.
//!
//! The shape (every figure a number, `null` when not measured):
//!
//! ```text
//! {
//!   "command": "udp-lab bench ...",
//!   "machine": {"cpu", "cpus", "os", "load_average"},
//!   "load": {"clients", "rounds" | "duration_s", "payload", "timeout_ms", "poll_threads"},
//!   "repeat": 3,
//!   "contenders": [
//!     {"name", "requests", "failures",
//!      "requests_per_s", "min_requests_per_s", "max_requests_per_s",
//!      "p50_us", "p90_us", "p99_us", "max_us", "server_cpu_us_per_request",
//!      "runs": [{"requests", "timeouts", "wrong", "elapsed_s", "requests_per_s",
//!                "p50_us", "p90_us", "p99_us", "max_us", "server_cpu_us_per_request"}]}
//!   ]
//! }
//! ```
//!
//! `load` has `rounds` or `duration_s`, never both; `poll_threads` is
//! `null` when each client had its own thread. A contender's figures are
//! medians over its `runs`. Rates and microseconds are rounded to 0.1,
//! `elapsed_s` to the microsecond: finer digits would be noise.

use std::time::Duration;

use serde::Serialize;
use udp_lab::lab::load::{Latency, Length, Measurement};

use super::machine::Machine;
use super::report::{poll_threads, Report};
use super::summary::Summary;

/// The whole report.
#[derive(Serialize)]
struct JsonReport<'a> {
    /// The command that produced it, to run it again.
    command: &'a str,
    machine: &'a Machine,
    load: JsonLoad,
    /// Repetitions of each contender, interleaved.
    repeat: usize,
    contenders: Vec<JsonContender<'a>>,
}

/// The load every contender was given.
#[derive(Serialize)]
struct JsonLoad {
    clients: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    rounds: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    duration_s: Option<f64>,
    /// Bytes per request.
    payload: usize,
    timeout_ms: u64,
    /// Threads that polled the client sockets; `null`: one thread per client.
    poll_threads: Option<usize>,
}

/// Latency percentiles, in microseconds (flattened into their owner).
#[derive(Serialize)]
struct JsonLatency {
    p50_us: f64,
    p90_us: f64,
    p99_us: f64,
    max_us: f64,
}

/// One contender: medians over its runs, and every run.
#[derive(Serialize)]
struct JsonContender<'a> {
    name: &'a str,
    /// Requests answered, all runs together.
    requests: u64,
    /// Timeouts and wrong replies, all runs together.
    failures: u64,
    requests_per_s: f64,
    min_requests_per_s: f64,
    max_requests_per_s: f64,
    #[serde(flatten)]
    latency: JsonLatency,
    server_cpu_us_per_request: Option<f64>,
    runs: Vec<JsonRun>,
}

/// One repetition of one contender.
#[derive(Serialize)]
struct JsonRun {
    requests: u64,
    timeouts: u64,
    wrong: u64,
    elapsed_s: f64,
    requests_per_s: f64,
    #[serde(flatten)]
    latency: JsonLatency,
    server_cpu_us_per_request: Option<f64>,
}

/// The report as pretty-printed JSON, ending with a newline.
pub fn to_json(report: &Report) -> serde_json::Result<String> {
    let (rounds, duration_s) = match report.load.length {
        Length::Rounds(n) => (Some(n), None),
        Length::For(d) => (None, Some(d.as_secs_f64())),
    };
    let json = JsonReport {
        command: &report.command,
        machine: &report.machine,
        load: JsonLoad {
            clients: report.load.clients,
            rounds,
            duration_s,
            payload: report.load.payload,
            timeout_ms: u64::try_from(report.load.timeout.as_millis()).unwrap_or(u64::MAX),
            poll_threads: poll_threads(&report.load),
        },
        repeat: report.repeat,
        contenders: report.summaries.iter().map(contender).collect(),
    };
    serde_json::to_string_pretty(&json).map(|text| text + "\n")
}

fn contender(s: &Summary) -> JsonContender<'_> {
    let (low, high) = s.rate_range();
    let median = Latency {
        p50: s.latency(|l| l.p50),
        p90: s.latency(|l| l.p90),
        p99: s.latency(|l| l.p99),
        max: s.latency(|l| l.max),
    };
    JsonContender {
        name: &s.name,
        requests: s.requests(),
        failures: s.failures(),
        requests_per_s: tenths(s.rate()),
        min_requests_per_s: tenths(low),
        max_requests_per_s: tenths(high),
        latency: latency(&median),
        server_cpu_us_per_request: s.server_cpu_per_request().map(micros),
        runs: s.runs.iter().map(run).collect(),
    }
}

fn run(m: &Measurement) -> JsonRun {
    JsonRun {
        requests: m.requests,
        timeouts: m.timeouts,
        wrong: m.wrong,
        elapsed_s: (m.elapsed.as_secs_f64() * 1e6).round() / 1e6,
        requests_per_s: tenths(m.rate()),
        latency: latency(&m.latency),
        server_cpu_us_per_request: m.server_cpu_per_request().map(micros),
    }
}

fn latency(l: &Latency) -> JsonLatency {
    JsonLatency {
        p50_us: micros(l.p50),
        p90_us: micros(l.p90),
        p99_us: micros(l.p99),
        max_us: micros(l.max),
    }
}

/// A duration in microseconds, to 0.1 µs.
fn micros(d: Duration) -> f64 {
    tenths(d.as_secs_f64() * 1e6)
}

/// `value` rounded to one decimal, as the hand-written JSON printed it.
fn tenths(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}
