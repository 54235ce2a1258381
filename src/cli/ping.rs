//! `udp-lab ping`: the UDP pinger of Kurose & Ross's socket lab.
//!
//! Sends `--count` pings `"PING <seq> <time>"` to an echo server, one at a
//! time; each waits `--timeout-ms` for its echo. Works against
//! `udp-lab serve` and the article's echo server: the message is upper-case,
//! so upper-casing returns it unchanged. Ends with the loss and the
//! min/avg/max round-trip time. Exit code 1 when no echo came at all or a
//! send or receive failed mid-run; 2 for bad input (an address, a count or
//! a wait out of range), before anything is sent.
//!
//! ```text
//! $ udp-lab ping --to 127.0.0.1:8080 --count 3 --interval-ms 0
//! pinging 127.0.0.1:8080 from 127.0.0.1:51234: 3 pings, each waiting 1000 ms
//! echo from 127.0.0.1:8080: seq=1 time=0.112 ms
//! echo from 127.0.0.1:8080: seq=2 time=0.071 ms
//! seq=3: no echo within 1000 ms
//! --- 127.0.0.1:8080 ping statistics ---
//! 3 sent, 2 received, 33.3% loss
//! rtt min/avg/max = 0.071/0.092/0.112 ms
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use udp_lab::lab::reliable::{self, PingReport, PingResult, PingSettings};
use udp_lab::net;

use super::send::{resolve_peer, say};
use super::{number_in, Failure, Outcome};

/// The most pings one run sends: at the default interval, more than a day.
const MAX_COUNT: i64 = 100_000;

/// The longest wait or interval, in milliseconds: ten minutes, as `send`'s
/// `--timeout-ms`; anything longer is a typing mistake, not a ping.
const MAX_MS: i64 = 600_000;

/// Arguments of `udp-lab ping`.
#[derive(clap::Args)]
pub struct PingArgs {
    /// The echo server: HOST:PORT.
    #[arg(long, value_name = "ADDR")]
    pub to: String,
    /// How many pings (1 to 100000).
    #[arg(long, value_name = "N", default_value_t = 10,
          allow_negative_numbers = true, value_parser = number_in::<u32>(1..=MAX_COUNT))]
    pub count: u32,
    /// How long each ping waits for its echo, in milliseconds (1 to 600000).
    #[arg(long, value_name = "MS", default_value_t = 1000,
          allow_negative_numbers = true, value_parser = number_in::<u64>(1..=MAX_MS))]
    pub timeout_ms: u64,
    /// The least time between two pings, in milliseconds (0 to 600000; 0: send the next one as soon as the last is answered).
    #[arg(long, value_name = "MS", default_value_t = 1000,
          allow_negative_numbers = true, value_parser = number_in::<u64>(0..=MAX_MS))]
    pub interval_ms: u64,
}

/// Runs `udp-lab ping`.
pub fn run(args: &PingArgs) -> Outcome {
    let to = resolve_peer("--to", &args.to)?;
    let settings = PingSettings {
        count: args.count,
        timeout: Duration::from_millis(args.timeout_ms),
        interval: Duration::from_millis(args.interval_ms),
    };
    let setup = || Failure::setup(format!("cannot ping {to}"));
    let sock = net::bind_toward(to).map_err(setup())?;
    let from = sock.local_addr().map_err(setup())?;
    say(&format!(
        "pinging {to} from {from}: {} pings, each waiting {} ms",
        args.count, args.timeout_ms
    ));
    let report = reliable::ping(&sock, to, &settings, |result| {
        say(&line(to, result, args.timeout_ms))
    })
    .map_err(Failure::during(format!("ping of {to} stopped")))?;
    summary(to, &report);
    if report.received() == 0 {
        return Err(Failure::Failed(format!(
            "no echo at all from {to}: is an echo server listening there? (UDP never says)"
        )));
    }
    Ok(())
}

fn line(to: SocketAddr, result: &PingResult, timeout_ms: u64) -> String {
    match result.rtt {
        Some(rtt) => format!("echo from {to}: seq={} time={} ms", result.seq, millis(rtt)),
        None => format!("seq={}: no echo within {timeout_ms} ms", result.seq),
    }
}

fn summary(to: SocketAddr, report: &PingReport) {
    say(&format!("--- {to} ping statistics ---"));
    let mut counts = format!(
        "{} sent, {} received, {:.1}% loss",
        report.sent(),
        report.received(),
        report.loss_percent()
    );
    if report.late > 0 || report.rejected > 0 {
        counts += &format!(
            " ({} late or duplicated echoes, {} other datagrams dropped)",
            report.late, report.rejected
        );
    }
    say(&counts);
    if let Some((min, avg, max)) = report.rtt_summary() {
        say(&format!(
            "rtt min/avg/max = {}/{}/{} ms",
            millis(min),
            millis(avg),
            millis(max)
        ));
    }
}

fn millis(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1000.0)
}
