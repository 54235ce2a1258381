//! `udp-lab serve`: the article's echo servers as a real process.
//!
//! The first line on stdout is always `listening on ADDR` (flushed at once),
//! so a script or a test can start `udp-lab serve --bind 127.0.0.1:0` and
//! read where the OS put it. Then one line per datagram served (unless
//! `--quiet`): who sent it, what it held, what went back. Ctrl-C (SIGINT) or
//! SIGTERM stops the server cleanly and prints its final counters.
//!
//! ```text
//! $ udp-lab serve --bind 127.0.0.1:0
//! listening on 127.0.0.1:40123
//! replies: the request upper-cased (the article's first server); model: single; Ctrl-C stops and prints the counters
//! from 127.0.0.1:51234: 5 bytes "hello" -> replied 5 bytes "HELLO"
//! ^C
//! stopped: received 1, replied 1, empty 0, non-UTF-8 0, send errors 0, receive errors 0, handler threads 0
//! ```
//!
//! Chapter 15's defences (`--max-amplification`, `--rate-limit`,
//! `--validate`) run the guarded single-threaded server
//! ([`udp_lab::lab::server::spawn_guarded`]). Bound to an address that is
//! not loopback, `serve` says on its second line that other machines can
//! reach it, and what a forged source can make it send.

use std::sync::Arc;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use udp_lab::lab::abuse::amplification;
use udp_lab::lab::abuse::limiter::RateLimit;
use udp_lab::lab::abuse::token::TokenKey;
use udp_lab::lab::server::models::{self, Model, ServerConfig};
use udp_lab::lab::server::{
    self, Amplification, Guard, Observer, Reply, Served, ServerHandle, ServerStats,
};

use super::send::{resolve, say, show};
use super::{bind_failure, choice, stop_signal, Failure, Outcome};

/// How many characters of a payload a log line shows.
const PREVIEW_CHARS: usize = 40;

/// Arguments of `udp-lab serve`.
#[derive(clap::Args)]
pub struct ServeArgs {
    /// Where to listen: HOST:PORT (port 0: the OS chooses, see the first line printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub bind: String,
    /// What to send back: the request upper-cased, or "Thread-N [REQUEST]" from a thread per datagram.
    #[arg(long, default_value_t = Reply::Upper, value_parser = reply_choice())]
    pub reply: Reply,
    /// Do not log each datagram.
    #[arg(long)]
    pub quiet: bool,
    /// How datagrams are dispatched to threads (chapter 13); default: the article's, `single` for upper, `thread-per-datagram` for threaded.
    #[arg(long, value_name = "MODEL", value_parser = model_choice())]
    pub model: Option<Model>,
    /// Send no reply longer than FACTOR times its request (chapter 15; 1: never more bytes out than in).
    #[arg(long, value_name = "FACTOR", value_parser = clap::value_parser!(Amplification))]
    pub max_amplification: Option<Amplification>,
    /// A token bucket per source: BURST requests at once, then one per EVERY requests the server sees (e.g. 5/10).
    #[arg(long, value_name = "BURST/EVERY", value_parser = rate_limit)]
    pub rate_limit: Option<RateLimit>,
    /// Answer an unknown source only with a token no larger than its request; in full only "token TOKEN REQUEST".
    #[arg(long)]
    pub validate: bool,
}

/// `--rate-limit`'s parser: `BURST/EVERY`, both whole numbers from 1.
fn rate_limit(text: &str) -> Result<RateLimit, String> {
    let hint = "give BURST/EVERY, two whole numbers from 1, e.g. 5/10";
    let (burst, every) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} has no '/': {hint}"))?;
    let number = |t: &str| t.trim().parse::<u64>().ok().filter(|n| *n >= 1);
    match (number(burst), number(every)) {
        (Some(burst), Some(refill_every)) => Ok(RateLimit {
            burst,
            refill_every,
        }),
        _ => Err(format!("{text:?} is not two whole numbers from 1: {hint}")),
    }
}

/// `--reply`'s value parser, shared with `udp-lab bench --reply`: the
/// style names with their help lines; clap refuses any other (exit 2).
pub fn reply_choice() -> impl TypedValueParser<Value = Reply> {
    choice::<Reply>(Reply::ALL.map(|r| (r.name(), reply_name(r))))
}

/// `--model`'s value parser: the model names with their help lines; a
/// model this build lacks (`tokio` without the cargo feature) is refused
/// with one line saying how to build it (exit 2).
fn model_choice() -> impl TypedValueParser<Value = Model> {
    let names = Model::ALL.map(|m| PossibleValue::new(m.name()).help(model_help(m)));
    PossibleValuesParser::new(names).try_map(|name| name.parse::<Model>()?.built())
}

/// Runs `udp-lab serve` until SIGINT or SIGTERM.
pub fn run(args: &ServeArgs) -> Outcome {
    let bind = resolve("--bind", &args.bind)?;
    // Installed before the listening line, so a signal sent as soon as that
    // line is read is already handled.
    let stop = stop_signal()?;
    let observer = (!args.quiet).then(log_observer);
    let guard = guard(args)?;
    let model = match args.model {
        Some(m) if guard.is_on() && m != Model::Single => {
            return Err(Failure::Usage(format!(
                "--model {m} cannot be guarded: --max-amplification, --rate-limit and --validate run the single model"
            )))
        }
        Some(m) => m,
        None if guard.is_on() => Model::Single,
        None => Model::articles(args.reply),
    };
    let server = start(bind, model, args.reply, guard, observer)
        .map_err(|e| bind_failure("serve", bind, &e))?;
    say(&format!("listening on {}", server.local_addr()));
    if !bind.ip().is_loopback() {
        say(&reachable_warning(args));
    }
    say(&format!(
        "replies: {}; model: {model}; Ctrl-C stops and prints the counters",
        reply_name(args.reply)
    ));
    // Either a signal arrived or the handler is gone: stop in both cases.
    let _ = stop.recv();
    let stats = server.shutdown();
    say(&format!("stopped: {}", counters(&stats)));
    Ok(())
}

/// The defences the flags ask for.
fn guard(args: &ServeArgs) -> Result<Guard, Failure> {
    let validate = match args.validate {
        true => Some(TokenKey::random().map_err(Failure::setup("drawing the token key"))?),
        false => None,
    };
    Ok(Guard {
        max_amplification: args.max_amplification,
        rate_limit: args.rate_limit,
        validate,
    })
}

/// The guarded server when a defence is on, else the model's.
fn start(
    bind: std::net::SocketAddr,
    model: Model,
    reply: Reply,
    guard: Guard,
    observer: Option<Observer>,
) -> std::io::Result<ServerHandle> {
    if guard.is_on() {
        return server::spawn_guarded(bind, reply, guard, observer);
    }
    models::spawn_with(
        bind,
        ServerConfig {
            observer,
            ..ServerConfig::new(model, reply)
        },
    )
}

/// The line printed when the server is bound to an address other machines
/// can reach: anyone there can forge a source and aim the replies.
fn reachable_warning(args: &ServeArgs) -> String {
    let factor = amplification::factor(5, server::threaded_reply("Thread-1", b"hello").len());
    let now = match (args.max_amplification, args.validate) {
        (_, true) => "--validate is on: unknown sources get only a token no larger than their request".to_string(),
        (Some(cap), false) => format!("--max-amplification {} caps each reply at that factor", cap.factor()),
        (None, false) => format!(
            "replies are not capped (threaded replies to 5 bytes are {factor:.1}x): add --max-amplification 1 or --validate"
        ),
    };
    format!(
        "warning: reachable from other machines: a forged source address makes this server send its replies to a victim; {now}"
    )
}

fn log_observer() -> Observer {
    Arc::new(|served: &Served<'_>| say(&log_line(served)))
}

/// One datagram served, on one line: sender, request, and the reply or why
/// it could not be sent.
fn log_line(served: &Served<'_>) -> String {
    let outcome = match served.sent {
        Ok(n) => format!("replied {n} bytes {}", preview(served.reply)),
        Err(e) => format!("reply of {} bytes NOT sent: {e}", served.reply.len()),
    };
    format!(
        "from {}: {} bytes {} -> {outcome}",
        served.from,
        served.request.len(),
        preview(served.request)
    )
}

/// The start of a payload, shown as [`show`] does.
fn preview(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    if text.chars().count() <= PREVIEW_CHARS {
        return show(bytes);
    }
    let head: String = text.chars().take(PREVIEW_CHARS).collect();
    format!("{head:?}...")
}

/// What a reply style sends back, in words (the startup line and `--help`).
fn reply_name(reply: Reply) -> &'static str {
    match reply {
        Reply::Upper => "the request upper-cased (the article's first server)",
        Reply::Threaded => "\"Thread-N [REQUEST]\" (the article's ThreadingUDPServer)",
    }
}

/// How a model dispatches datagrams to threads, in words (`--help` of
/// `serve` and `bench`).
pub fn model_help(model: Model) -> &'static str {
    match model {
        Model::Single => "one thread, one socket, a recv_from/send_to loop",
        Model::ThreadPerDatagram => {
            "the article's ThreadingUDPServer: a new thread for each datagram"
        }
        Model::Pool => "N threads, each blocked in recv_from on the same socket",
        Model::ReusePort => "N sockets bound to one address with SO_REUSEPORT, a thread each",
        Model::Batch => "one socket, drained and answered in batches (recvmmsg/sendmmsg)",
        Model::Tokio if cfg!(feature = "tokio") => {
            "tokio's current-thread runtime: one thread, one task awaiting each datagram"
        }
        Model::TokioMulti if cfg!(feature = "tokio") => {
            "tokio's multi-thread runtime: N tasks on N worker threads, one socket"
        }
        Model::Tokio | Model::TokioMulti => "async on tokio; not in this build: --features tokio",
    }
}

/// The final counters, on one line (with chapter 15's when a defence refused anything).
fn counters(stats: &ServerStats) -> String {
    let guarded = stats.over_amplification + stats.rate_limited + stats.challenged;
    let defences = match guarded {
        0 => String::new(),
        _ => format!(
            ", over amplification {}, rate limited {}, challenged {}",
            stats.over_amplification, stats.rate_limited, stats.challenged
        ),
    };
    format!(
        "received {}, replied {}, empty {}, non-UTF-8 {}, send errors {}, receive errors {}, handler threads {}{defences}",
        stats.received,
        stats.replied,
        stats.empty,
        stats.non_utf8,
        stats.send_errors,
        stats.recv_errors,
        stats.threads_spawned
    )
}
