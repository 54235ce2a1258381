//! `udp-lab ping`: the UDP pinger of Kurose & Ross's socket lab.
//!
//! Sends `--count` pings `"PING <seq> <time>"` to an echo server, one at a
//! time; each waits `--timeout-ms` for its echo. Works against
//! `udp-lab serve` and the article's echo server: the message is upper-case,
//! so upper-casing returns it unchanged. Ends with the loss and the
//! min/avg/max round-trip time. Exit code 1 when no echo came at all.
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

use super::send::{resolve, say};
use super::{Failure, Outcome};

/// Arguments of `udp-lab ping`.
#[derive(clap::Args)]
pub struct PingArgs {
    /// The echo server: HOST:PORT.
    #[arg(long, value_name = "ADDR")]
    pub to: String,
    /// How many pings.
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub count: u32,
    /// How long each ping waits for its echo, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub timeout_ms: u64,
    /// The least time between two pings, in milliseconds (0: send the next one as soon as the last is answered).
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub interval_ms: u64,
}

/// Runs `udp-lab ping`.
pub fn run(args: &PingArgs) -> Outcome {
    let to = resolve("--to", &args.to)?;
    let settings = PingSettings {
        count: args.count,
        timeout: Duration::from_millis(args.timeout_ms),
        interval: Duration::from_millis(args.interval_ms),
    };
    let sock = net::bind_toward(to)?;
    say(&format!(
        "pinging {to} from {}: {} pings, each waiting {} ms",
        sock.local_addr()?,
        args.count,
        args.timeout_ms
    ));
    let report = reliable::ping(&sock, to, &settings, |result| {
        say(&line(to, result, args.timeout_ms))
    })
    .map_err(|e| Failure::Failed(format!("ping stopped: {e}")))?;
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
