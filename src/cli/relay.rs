//! `udp-lab relay`: the impairment relay of chapter 11 as a real process,
//! between real programs (the article's client and server, for example).
//!
//! The first line on stdout is always `listening on ADDR` (flushed at once),
//! so `--listen 127.0.0.1:0` lets the OS choose the port and a script reads
//! it. Point the client at that address instead of the server's. Ctrl-C
//! (SIGINT) or SIGTERM stops the relay, releases what it still held, and
//! prints its counters.
//!
//! ```text
//! $ udp-lab relay --listen 127.0.0.1:0 --to 127.0.0.1:8080 --loss 0.2 --dup 0.05 --reorder 4 --delay-ms 20 --seed 7
//! listening on 127.0.0.1:40123
//! relaying to 127.0.0.1:8080, both directions: loss 0.2, duplication 0.05, ... seed 7; Ctrl-C stops and prints the counters
//! ^C
//! stopped: to server: received 10, dropped 2, ...; to client: received 8, ...; clients 1
//! ```
//!
//! With `--rate` the relay also has a bottleneck toward the server
//! (chapter 14): a token bucket (`--rate` datagrams a second, `--burst`)
//! and a drop-tail queue (`--queue`), timed by the relay's clock or, with
//! `--link-clock stamped`, by the 8-byte stamps the lab's paced senders put
//! in front of each datagram.
//!
//! ```text
//! $ udp-lab relay --to 127.0.0.1:8080 --rate 100 --queue 20
//! ```

use std::time::Duration;

use udp_lab::lab::relay::{
    self, Bottleneck, Impairments, LinkClock, Links, RelayStats, DEFAULT_HOLD, MAX_QUEUE, MAX_RATE,
    MAX_WAIT,
};

use super::send::{resolve, resolve_peer, say};
use super::{bind_failure, number_in, probability, stop_signal, Failure, Outcome};

/// The longest delay, jitter or hold, in milliseconds: the library's
/// [`MAX_WAIT`] (a day), so clap refuses what the relay would.
const MAX_WAIT_MS: i64 = MAX_WAIT.as_secs() as i64 * 1000;

/// The widest reordering window: more would hold so many datagrams that
/// the relay looks dead rather than reordering.
const MAX_REORDER: i64 = 1000;

/// Which way the impairments apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Way {
    /// Requests and replies (two independent random streams from one seed).
    Both,
    /// Only datagrams from clients to the server.
    ToServer,
    /// Only datagrams from the server back to clients.
    ToClient,
}

/// Arguments of `udp-lab relay`.
#[derive(clap::Args)]
pub struct RelayArgs {
    /// Where clients send to: HOST:PORT (port 0: the OS chooses, see the first line printed).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: String,
    /// The server to forward to: HOST:PORT.
    #[arg(long, value_name = "ADDR")]
    pub to: String,
    /// Probability that a datagram is dropped (0 to 1; 0.2 means 20%).
    #[arg(long, value_name = "P", default_value_t = 0.0,
          allow_negative_numbers = true, value_parser = probability)]
    pub loss: f64,
    /// Probability that a datagram is delivered twice (0 to 1).
    #[arg(long, value_name = "P", default_value_t = 0.0,
          allow_negative_numbers = true, value_parser = probability)]
    pub dup: f64,
    /// Probability that one bit of a datagram's payload is flipped (0 to 1).
    #[arg(long, value_name = "P", default_value_t = 0.0,
          allow_negative_numbers = true, value_parser = probability)]
    pub corrupt: f64,
    /// Reordering window: a held-back datagram is overtaken by up to N later ones (0: no reordering; at most 1000).
    #[arg(long, value_name = "N", default_value_t = 0,
          allow_negative_numbers = true, value_parser = number_in::<usize>(0..=MAX_REORDER))]
    pub reorder: usize,
    /// Probability that a datagram is held back, when --reorder is set (0 to 1).
    #[arg(long, value_name = "P", default_value_t = 0.25,
          allow_negative_numbers = true, value_parser = probability)]
    pub reorder_rate: f64,
    /// The longest a held-back datagram waits for its overtakers, in milliseconds (at most a day, 86400000).
    #[arg(long, value_name = "MS", default_value_t = DEFAULT_HOLD.as_millis() as u64,
          allow_negative_numbers = true, value_parser = number_in::<u64>(0..=MAX_WAIT_MS))]
    pub hold_ms: u64,
    /// Fixed delay added to every datagram, in milliseconds (at most a day, 86400000).
    #[arg(long, value_name = "MS", default_value_t = 0,
          allow_negative_numbers = true, value_parser = number_in::<u64>(0..=MAX_WAIT_MS))]
    pub delay_ms: u64,
    /// Extra random delay, from 0 to this many milliseconds (the order is kept; at most a day, 86400000).
    #[arg(long, value_name = "MS", default_value_t = 0,
          allow_negative_numbers = true, value_parser = number_in::<u64>(0..=MAX_WAIT_MS))]
    pub jitter_ms: u64,
    /// The seed: the same seed and the same traffic give the same impairments.
    #[arg(
        long,
        value_name = "N",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub seed: u64,
    /// Which way the impairments apply.
    #[arg(long, value_enum, default_value_t = Way::Both)]
    pub way: Way,
    /// A bottleneck toward the server: forward at most N datagrams a second (1 to 1000000).
    #[arg(long, value_name = "N", allow_negative_numbers = true,
          value_parser = number_in::<u32>(1..=i64::from(MAX_RATE)))]
    pub rate: Option<u32>,
    /// The bottleneck's queue: datagrams that may wait for their turn; one more is dropped (0 to 100000).
    #[arg(long, value_name = "N", default_value_t = 64, requires = "rate",
          allow_negative_numbers = true, value_parser = number_in::<usize>(0..=MAX_QUEUE as i64))]
    pub queue: usize,
    /// The bottleneck's burst: datagrams that may leave back to back after a quiet spell (1 to 10000).
    #[arg(long, value_name = "N", default_value_t = 1, requires = "rate",
          allow_negative_numbers = true, value_parser = number_in::<u32>(1..=10_000))]
    pub burst: u32,
    /// Where the bottleneck reads the time.
    #[arg(long, value_enum, default_value_t = Clocking::Relay, requires = "rate")]
    pub link_clock: Clocking,
}

/// Where the bottleneck reads the time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Clocking {
    /// The relay's own clock.
    Relay,
    /// The 8-byte stamp (microseconds, big-endian) in front of each datagram.
    Stamped,
}

/// Runs `udp-lab relay` until SIGINT or SIGTERM.
pub fn run(args: &RelayArgs) -> Outcome {
    let listen = resolve("--listen", &args.listen)?;
    let to = resolve_peer("--to", &args.to)?;
    let links = links(args)?;
    // Installed before the listening line, so a signal sent as soon as that
    // line is read is already handled.
    let stop = stop_signal()?;
    let bottleneck = bottleneck(args);
    let relay = match bottleneck {
        Some(link) => relay::spawn_with_bottleneck(listen, to, links, link),
        None => relay::spawn(listen, to, links),
    }
    .map_err(|e| bind_failure("relay", listen, &e))?;
    say(&format!("listening on {}", relay.local_addr()));
    let link = bottleneck.map_or(String::new(), |b| format!("; {b}"));
    say(&format!(
        "relaying to {to}, {}{link}; Ctrl-C stops and prints the counters",
        describe(args.way, &links)
    ));
    let _ = stop.recv();
    say(&format!("stopped: {}", counters(&relay.shutdown())));
    Ok(())
}

/// The impairments the arguments ask for. clap has checked each flag's
/// range; the library's own check stays as a second line of defence.
fn links(args: &RelayArgs) -> Result<Links, Failure> {
    let imp = Impairments::seeded(args.seed)
        .loss(args.loss)
        .duplicate(args.dup)
        .corrupt(args.corrupt)
        .reorder(
            args.reorder,
            if args.reorder > 0 {
                args.reorder_rate
            } else {
                0.0
            },
        )
        .hold(Duration::from_millis(args.hold_ms))
        .delay(Duration::from_millis(args.delay_ms))
        .jitter(Duration::from_millis(args.jitter_ms));
    imp.validate().map_err(Failure::Usage)?;
    let untouched = Impairments::seeded(args.seed);
    Ok(match args.way {
        Way::Both => Links::both(imp),
        Way::ToServer => Links {
            to_server: imp,
            to_client: untouched,
        },
        Way::ToClient => Links {
            to_server: untouched,
            to_client: imp,
        },
    })
}

/// The bottleneck `--rate` asks for (clap has checked every range).
fn bottleneck(args: &RelayArgs) -> Option<Bottleneck> {
    let clock = match args.link_clock {
        Clocking::Relay => LinkClock::Relay,
        Clocking::Stamped => LinkClock::Stamped,
    };
    args.rate.map(|rate| {
        Bottleneck::new(rate, args.queue)
            .burst(args.burst)
            .clock(clock)
    })
}

fn describe(way: Way, links: &Links) -> String {
    match way {
        Way::Both => format!("both directions: {}", links.to_server),
        Way::ToServer => format!("toward the server only: {}", links.to_server),
        Way::ToClient => format!("toward the clients only: {}", links.to_client),
    }
}

fn counters(stats: &RelayStats) -> String {
    format!(
        "to server: {}; to client: {}; clients {}, turned away {}, receive errors {}; bottleneck: {}",
        stats.to_server,
        stats.to_client,
        stats.clients,
        stats.turned_away,
        stats.recv_errors,
        stats.bottleneck
    )
}
