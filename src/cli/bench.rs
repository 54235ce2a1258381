//! `udp-lab bench`: a load generator for UDP echo servers, and a race
//! between the project's server models, the bare loop and the article's
//! Python server, in one interleaved run.
//!
//! ```text
//! $ udp-lab bench --to 127.0.0.1:8080                  # any echo server, the article's load
//! $ udp-lab bench --model all --python-server tests/peers/threading_server.py \
//!       --duration-s 3 --repeat 5 --markdown --plot docs/img/bench.svg
//! ```
//!
//! Each contender is started fresh for each repetition (a `udp-lab serve
//! --model M --quiet` child process, `--in-process` for threads of this
//! process), proved to answer, measured with [`udp_lab::lab::load::run`], and
//! stopped. Repetitions are interleaved (`a b c`, `b c a`, `c a b`, ...), so a
//! slow minute of the machine hurts every contender alike; the report gives
//! medians and the spread. Progress goes to stderr, the report to stdout
//! (`--json`: see `bench/json.rs` for its fields).
//!
//! Exit codes: 0 every request answered; 1 some request failed, or the run
//! did (a contender that stopped answering, a chart that could not be
//! written at the end); 2 bad input, found before anything is measured (a
//! value out of range, an unknown model, an address, a chart file that
//! cannot be created) or a contender that cannot be started.

mod bare;
mod bulk;
mod bulk_chart;
mod child;
mod json;
mod machine;
#[cfg(all(feature = "contenders", unix))]
mod quinn;
mod report;
mod summary;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use clap::builder::TypedValueParser;
use udp_lab::lab::load::{self, Length, Load, Measurement};
use udp_lab::lab::server::models::{self, Model};
use udp_lab::lab::server::{Reply, ServerHandle};
use udp_lab::net::Family;

use bare::BareServer;
use child::ChildServer;
use machine::Machine;
use summary::Summary;

use super::send::resolve_peer;
use super::serve::{model_help, reply_choice};
use super::{choice, number_in, Failure, Outcome};

/// How long a contender's process may take to start answering.
const START_DEADLINE: Duration = Duration::from_secs(20);

/// The most clients one run drives.
const MAX_CLIENTS: i64 = 1000;

/// The most rounds per client: a million lock-step round trips already
/// take minutes; more is a typing mistake.
const MAX_ROUNDS: i64 = 1_000_000;

/// The longest `--duration-s`: ten minutes per contender and repetition.
const MAX_DURATION_S: f64 = 600.0;

/// The longest `--timeout-ms`, as `send`'s: ten minutes.
const MAX_TIMEOUT_MS: i64 = 600_000;

/// Arguments of `udp-lab bench`.
#[derive(clap::Args)]
pub struct BenchArgs {
    /// Measure the echo server at ADDR (HOST:PORT; NAME=HOST:PORT names it in the report); repeat to compare several.
    #[arg(long, value_name = "[NAME=]ADDR")]
    pub to: Vec<String>,
    /// Start and measure the project's servers; comma-separated or repeated.
    #[arg(long, value_name = "M", value_delimiter = ',', value_parser = pick_choice())]
    pub model: Vec<Pick>,
    /// Also start and measure a Python server as `python3 PATH 127.0.0.1 PORT` (e.g. the article's threading_server.py).
    #[arg(long, value_name = "PATH")]
    pub python_server: Option<PathBuf>,
    /// The reply style of the project's models (as `udp-lab serve --reply`).
    #[arg(long, value_name = "STYLE", default_value_t = Reply::Upper, value_parser = reply_choice())]
    pub reply: Reply,
    /// Lock-step clients, each with its own socket (1 to 1000).
    #[arg(long, value_name = "N", default_value_t = 50, allow_negative_numbers = true,
          value_parser = number_in::<usize>(1..=MAX_CLIENTS))]
    pub clients: usize,
    /// Request/reply rounds per client (default 10, the article's load; 1 to 1000000).
    #[arg(long, value_name = "N", conflicts_with = "duration_s", allow_negative_numbers = true,
          value_parser = number_in::<usize>(1..=MAX_ROUNDS))]
    pub rounds: Option<usize>,
    /// Run each client for S seconds instead of a number of rounds (a throughput run; more than 0, at most 600).
    #[arg(long, value_name = "S", allow_negative_numbers = true, value_parser = duration_s)]
    pub duration_s: Option<f64>,
    /// Bytes per request (16 to 60000; requests carry a 15-byte tag, and a threaded reply must still fit in one datagram).
    #[arg(long, value_name = "BYTES", default_value_t = 16, allow_negative_numbers = true,
          value_parser = number_in::<usize>(16..=60_000))]
    pub payload: usize,
    /// How many times each contender runs, interleaved (1 to 100).
    #[arg(long, value_name = "N", default_value_t = 3, allow_negative_numbers = true,
          value_parser = number_in::<usize>(1..=100))]
    pub repeat: usize,
    /// How long a client waits for a reply before counting a failure, in milliseconds (1 to 600000).
    #[arg(long, value_name = "MS", default_value_t = 1000, allow_negative_numbers = true,
          value_parser = number_in::<u64>(1..=MAX_TIMEOUT_MS))]
    pub timeout_ms: u64,
    /// Run the project's servers as threads of this process instead of child processes.
    #[arg(long)]
    pub in_process: bool,
    /// One client thread per client, blocked in recv_from (the article's clients) instead of a few threads polling all client sockets; costs a context switch per request.
    #[arg(long)]
    pub thread_per_client: bool,
    /// Threads that poll the client sockets (0 to 1000; default 0: half the CPUs, at least one, so the load generator and the server each get half the machine).
    #[arg(long, value_name = "N", default_value_t = 0, allow_negative_numbers = true,
          value_parser = number_in::<usize>(0..=1000))]
    pub poll_threads: usize,
    /// Print the report as JSON: command, machine, load, repeat, and the contenders with every run (field names: src/cli/bench/json.rs).
    #[arg(long, conflicts_with = "markdown")]
    pub json: bool,
    /// Print the report as a Markdown table (as pasted in the book).
    #[arg(long)]
    pub markdown: bool,
    /// Also draw the report as an SVG chart into FILE.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// Race bulk transfers instead of echo servers: every sender (send_to, sendmmsg, GSO) into every receiver (recv_from, recvmmsg, GRO), and quinn-udp with the feature `contenders` (chapter 19).
    #[arg(long)]
    pub bulk: bool,
    /// With --bulk: MiB moved per pair and repetition (default 64; 1 to 4096).
    #[arg(long, value_name = "MIB", allow_negative_numbers = true,
          value_parser = number_in::<usize>(1..=4096))]
    pub bulk_mib: Option<usize>,
    /// With --bulk: bytes per datagram (default 1200; 1 to 1300: a burst of 50 must fit one 65,507-byte GSO send).
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true,
          value_parser = number_in::<usize>(1..=1300))]
    pub segment: Option<usize>,
    /// Internal: run the bare baseline loop on ADDR (what `--model bare` starts as a child).
    #[arg(long, value_name = "ADDR", hide = true)]
    pub serve_bare: Option<String>,
}

/// One `--model` value: one of the project's models, the bare baseline,
/// or all of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    /// The bare loop and every model.
    All,
    /// The bare loop, the baseline.
    Bare,
    /// One model.
    Model(Model),
}

impl FromStr for Pick {
    type Err = String;

    /// `all`, `bare`, or a model's name as [`Model::name`] writes it.
    fn from_str(text: &str) -> Result<Pick, String> {
        match text {
            "all" => Ok(Pick::All),
            "bare" => Ok(Pick::Bare),
            model => model.parse().map(Pick::Model),
        }
    }
}

/// `--model`'s value parser: `all`, `bare` and the models, each with its
/// help line, the models described as `udp-lab serve --help` does; a model
/// this build lacks is refused with the line that says how to build it.
fn pick_choice() -> impl TypedValueParser<Value = Pick> {
    let extra = [
        (
            "all",
            "the bare loop and every model below, one after the other",
        ),
        (
            "bare",
            "the baseline: the plainest recv_from/send_to loop, no counters",
        ),
    ];
    choice::<Pick>(
        extra
            .into_iter()
            .chain(Model::ALL.map(|m| (m.name(), model_help(m)))),
    )
    .try_map(|pick| match pick {
        Pick::Model(model) => model.built().map(Pick::Model),
        other => Ok(other),
    })
}

/// `--duration-s`'s value parser: seconds, more than 0 and at most
/// [`MAX_DURATION_S`] (clap names the flag in its error, exit code 2).
fn duration_s(text: &str) -> Result<f64, String> {
    let range = format!("give more than 0 and at most {MAX_DURATION_S} seconds");
    let s: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number: {range}"))?;
    // Written so that NaN is refused too (every comparison with it is false).
    if s > 0.0 && s <= MAX_DURATION_S {
        Ok(s)
    } else {
        Err(format!("{s} is not in (0, {MAX_DURATION_S}]: {range}"))
    }
}

/// Something to measure.
#[derive(Clone, Debug, PartialEq)]
enum Contender {
    /// The bare single-threaded loop, the baseline.
    Bare,
    /// One of the project's models.
    Model(Model),
    /// A Python server script, started per repetition.
    Python(PathBuf),
    /// A server that is already running.
    External { name: String, addr: SocketAddr },
}

impl Contender {
    fn name(&self) -> String {
        match self {
            Contender::Bare => "bare".to_string(),
            Contender::Model(m) => m.name().to_string(),
            Contender::Python(path) => {
                let stem = path
                    .file_stem()
                    .map_or("server".into(), |s| s.to_string_lossy());
                format!("python {stem}")
            }
            Contender::External { name, .. } => name.clone(),
        }
    }
}

/// Everything a bench run needs, checked.
struct Plan {
    contenders: Vec<Contender>,
    load: Load,
    repeat: usize,
    reply: Reply,
    in_process: bool,
}

/// Runs `udp-lab bench`.
pub fn run(args: &BenchArgs) -> Outcome {
    if let Some(bind) = &args.serve_bare {
        return bare::serve_as_process(bind);
    }
    if args.bulk {
        return bulk::run(args);
    }
    if args.bulk_mib.is_some() || args.segment.is_some() {
        return Err(Failure::Usage(
            "--bulk-mib and --segment size a --bulk run: add --bulk".to_string(),
        ));
    }
    let plan = plan(args)?;
    if let Some(path) = &args.plot {
        // Refused now, not after minutes of measuring.
        check_writable(path)?;
    }
    let machine = Machine::this();
    let summaries = race(&plan)?;
    let report = report::Report {
        machine,
        command: command_line(),
        load: plan.load,
        repeat: plan.repeat,
        summaries,
    };
    print_report(&report, args)?;
    if let Some(path) = &args.plot {
        // Writable at the start: a failure now is a failed run (exit 1),
        // and the report is already printed.
        report::plot(&report, path).map_err(|e| {
            Failure::Failed(format!("drawing the chart into {}: {e}", path.display()))
        })?;
    }
    let failures: u64 = report.summaries.iter().map(Summary::failures).sum();
    if failures > 0 {
        return Err(Failure::Failed(format!(
            "{failures} requests got no right reply in time (see the failures column)"
        )));
    }
    Ok(())
}

/// Creates (or empties) the chart file, so a path that cannot be written
/// is bad input found before anything is measured (exit code 2).
fn check_writable(path: &Path) -> Outcome {
    std::fs::File::create(path)
        .map(drop)
        .map_err(Failure::setup(format!(
            "--plot {}: cannot write the chart there",
            path.display()
        )))
}

/// Prints the report on stdout as JSON, Markdown or a plain table.
fn print_report(report: &report::Report, args: &BenchArgs) -> Outcome {
    let text = if args.json {
        json::to_json(report)
            .map_err(|e| Failure::Failed(format!("writing the report as JSON: {e}")))?
    } else if args.markdown {
        report.markdown()
    } else {
        report.text()
    };
    // A reader that went away (`| head`) is not an error of the measurement.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    Ok(())
}

/// Turns the checked arguments into a plan (clap has checked every range
/// and name; what is left are the addresses and the Python script).
fn plan(args: &BenchArgs) -> Result<Plan, Failure> {
    Ok(Plan {
        contenders: contenders(args)?,
        load: Load {
            clients: args.clients,
            length: length(args),
            payload: args.payload,
            timeout: Duration::from_millis(args.timeout_ms),
            thread_per_client: args.thread_per_client,
            poll_threads: args.poll_threads,
        },
        repeat: args.repeat,
        reply: args.reply,
        in_process: args.in_process,
    })
}

/// `--rounds N` or `--duration-s S` (10 rounds when neither is given;
/// clap refuses both at once).
fn length(args: &BenchArgs) -> Length {
    match (args.rounds, args.duration_s) {
        (Some(n), _) => Length::Rounds(n),
        (None, Some(s)) => Length::For(Duration::from_secs_f64(s)),
        (None, None) => Length::Rounds(10),
    }
}

/// The contenders in the order given: models, then the Python server, then
/// the `--to` addresses.
fn contenders(args: &BenchArgs) -> Result<Vec<Contender>, Failure> {
    let mut all = Vec::new();
    for pick in &args.model {
        let picked = match pick {
            Pick::All => std::iter::once(Contender::Bare)
                .chain(
                    Model::ALL
                        .into_iter()
                        .filter(|m| m.built().is_ok())
                        .map(Contender::Model),
                )
                .collect(),
            Pick::Bare => vec![Contender::Bare],
            Pick::Model(model) => vec![Contender::Model(*model)],
        };
        all.extend(
            picked
                .into_iter()
                .filter(|c| !all.contains(c))
                .collect::<Vec<_>>(),
        );
    }
    if let Some(path) = &args.python_server {
        if !path.is_file() {
            return Err(Failure::Usage(format!(
                "--python-server {}: no such file",
                path.display()
            )));
        }
        all.push(Contender::Python(path.clone()));
    }
    for target in &args.to {
        let (name, addr) = match target.split_once('=') {
            Some((name, addr)) => (name.to_string(), resolve_peer("--to", addr)?),
            None => (target.clone(), resolve_peer("--to", target)?),
        };
        all.push(Contender::External { name, addr });
    }
    if all.is_empty() {
        return Err(Failure::Usage(
            "nothing to measure: give --to ADDR, --model M (e.g. --model all) or --python-server PATH".to_string(),
        ));
    }
    Ok(all)
}

/// Runs every contender `repeat` times, interleaved, rotating the order
/// each repetition.
fn race(plan: &Plan) -> Result<Vec<Summary>, Failure> {
    let n = plan.contenders.len();
    let mut summaries: Vec<Summary> = plan
        .contenders
        .iter()
        .map(|c| Summary {
            name: c.name(),
            runs: Vec::new(),
        })
        .collect();
    let total = n * plan.repeat;
    let show_progress = total > 1 || matches!(plan.load.length, Length::For(_));
    for rep in 0..plan.repeat {
        for k in 0..n {
            let i = (k + rep) % n;
            let measured = measure_once(&plan.contenders[i], plan)?;
            if show_progress {
                eprintln!(
                    "bench [{}/{total}] {} (repetition {}/{}): {:.0} requests/s, p99 {:.3} ms, {} failures",
                    rep * n + k + 1,
                    summaries[i].name,
                    rep + 1,
                    plan.repeat,
                    measured.rate(),
                    measured.latency.p99.as_secs_f64() * 1e3,
                    measured.failures()
                );
            }
            summaries[i].runs.push(measured);
        }
    }
    Ok(summaries)
}

/// Starts `contender`, proves it answers, measures it, stops it.
fn measure_once(contender: &Contender, plan: &Plan) -> Result<Measurement, Failure> {
    let server = start(contender, plan)?;
    let name = contender.name();
    load::probe(server.addr, plan.load.timeout)
        .map_err(|e| Failure::Failed(format!("{name}: {e}")))?;
    // The server's CPU time is read only around timed runs: it moves in
    // 10 ms ticks, too coarse for 50 x 10 requests that last a few ms.
    let timed = matches!(plan.load.length, Length::For(_));
    let cpu_now = || {
        server
            .pid()
            .filter(|_| timed)
            .and_then(machine::process_cpu_time)
    };
    let cpu_before = cpu_now();
    let mut measured =
        load::run(server.addr, &plan.load).map_err(|e| Failure::Failed(format!("{name}: {e}")))?;
    measured.server_cpu = cpu_before
        .zip(cpu_now())
        .map(|(before, after)| after.saturating_sub(before));
    Ok(measured)
}

/// A contender that is running; stopped (or killed) when dropped.
struct Running {
    addr: SocketAddr,
    guard: Guard,
}

impl Running {
    /// The server's process id, when it runs as a child process.
    fn pid(&self) -> Option<u32> {
        match &self.guard {
            Guard::Child(child) => Some(child.child.id()),
            _ => None,
        }
    }
}

/// What keeps a contender running: held only to be dropped (which stops
/// the server or kills its process) when its run is over.
#[allow(dead_code)]
enum Guard {
    InProcess(ServerHandle),
    Bare(BareServer),
    Child(ChildServer),
    External,
}

fn start(contender: &Contender, plan: &Plan) -> Result<Running, Failure> {
    let any = Family::V4.any_port();
    // A contender that cannot be started (no port, no process) is a setup
    // problem of this machine, whichever repetition it is: exit code 2. Its
    // measurement begins only once it has answered the probe.
    let setup = |e: std::io::Error| Failure::Usage(format!("starting {}: {e}", contender.name()));
    let running = match contender {
        Contender::External { addr, .. } => Running {
            addr: *addr,
            guard: Guard::External,
        },
        Contender::Model(model) if plan.in_process => {
            let server = models::spawn(any, *model, plan.reply).map_err(setup)?;
            Running {
                addr: server.local_addr(),
                guard: Guard::InProcess(server),
            }
        }
        Contender::Bare if plan.in_process => {
            let server = BareServer::spawn(any).map_err(setup)?;
            Running {
                addr: server.local_addr(),
                guard: Guard::Bare(server),
            }
        }
        Contender::Model(model) => ChildServer::udp_lab(&[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--quiet",
            "--model",
            model.name(),
            "--reply",
            plan.reply.name(),
        ])?,
        Contender::Bare => ChildServer::udp_lab(&["bench", "--serve-bare", "127.0.0.1:0"])?,
        Contender::Python(path) => ChildServer::python(path)?,
    };
    Ok(running)
}

/// This command as typed, for the report (`udp-lab bench --model all ...`).
fn command_line() -> String {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .map(|a| if a.contains(' ') { format!("'{a}'") } else { a })
        .collect();
    format!("udp-lab {}", args.join(" "))
}
