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

use std::sync::Arc;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use udp_lab::lab::server::models::{self, Model, ServerConfig};
use udp_lab::lab::server::{Observer, Reply, Served, ServerStats};

use super::send::{resolve, say, show};
use super::{bind_failure, choice, stop_signal, Outcome};

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
    let model = args.model.unwrap_or(Model::articles(args.reply));
    let config = ServerConfig {
        observer,
        ..ServerConfig::new(model, args.reply)
    };
    let server = models::spawn_with(bind, config).map_err(|e| bind_failure("serve", bind, &e))?;
    say(&format!("listening on {}", server.local_addr()));
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

/// The final counters, on one line.
fn counters(stats: &ServerStats) -> String {
    format!(
        "received {}, replied {}, empty {}, non-UTF-8 {}, send errors {}, receive errors {}, handler threads {}",
        stats.received,
        stats.replied,
        stats.empty,
        stats.non_utf8,
        stats.send_errors,
        stats.recv_errors,
        stats.threads_spawned
    )
}
