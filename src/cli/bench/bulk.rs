//! `udp-lab bench --bulk`: a bulk load (64 MiB in 1,200-byte datagrams by
//! default) moved over loopback by every sender (`send_to`, `sendmmsg`,
//! GSO) into every receiver (`recv_from`, `recvmmsg`, GRO), and, with the
//! feature `contenders`, by quinn-udp's `UdpSocketState`: interleaved in one
//! run, repetitions rotated, medians reported (chapter 19).
//!
//! ```text
//! $ udp-lab bench --bulk --repeat 5 --plot target/bulk.svg
//! ```
//!
//! The figures are delivered bytes/s, datagrams/s, receive calls/s and CPU
//! nanoseconds per delivered byte (`getrusage`, both ends: they share this
//! process). Two goals are printed as ratios of the same run: GSO + GRO
//! over `send_to` + `recv_from` in bytes/s (goal: 10x), and udp-lab's GSO +
//! GRO over quinn-udp's (goal: 1.0x). `--json`: see [`JsonBulk`].

use std::fmt::Write as _;

use serde::Serialize;
use udp_lab::lab::fast::bulk::{
    self, BulkLoad, BulkRecv, BulkRun, BulkSend, Receiver, Sender, BURST, RCVBUF,
};

use super::machine::Machine;
use super::summary::median;
use super::{BenchArgs, Failure, Outcome};

/// Something `--bulk` races: a way of sending paired with a way of receiving.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pair {
    /// udp-lab's own.
    Lab(Sender, Receiver),
    /// quinn-udp's `UdpSocketState` on both ends (feature `contenders`).
    #[cfg_attr(not(all(feature = "contenders", unix)), allow(dead_code))]
    Quinn,
}

impl Pair {
    /// Its name in reports: `sender -> receiver`.
    pub fn name(self) -> String {
        match self {
            Pair::Lab(s, r) => format!("{} -> {}", s.name(), r.name()),
            #[cfg(all(feature = "contenders", unix))]
            Pair::Quinn => super::quinn::NAME.to_string(),
            #[cfg(not(all(feature = "contenders", unix)))]
            Pair::Quinn => "quinn-udp".to_string(),
        }
    }

    /// A fresh sender and receiver of this pair for `segment`-byte datagrams.
    fn make(self, segment: usize) -> (Box<dyn BulkSend>, Box<dyn BulkRecv>) {
        match self {
            Pair::Lab(s, r) => (s.make(), r.make(segment)),
            #[cfg(all(feature = "contenders", unix))]
            Pair::Quinn => (
                Box::new(super::quinn::QuinnSend::default()),
                Box::new(super::quinn::QuinnRecv::default()),
            ),
            #[cfg(not(all(feature = "contenders", unix)))]
            Pair::Quinn => unreachable!("quinn-udp is raced only with the feature contenders"),
        }
    }
}

/// Every pair this build and OS can race: all nine of udp-lab's on Linux
/// (only `send_to -> recv_from` elsewhere), then quinn-udp's.
fn pairs() -> Vec<Pair> {
    let mut all: Vec<Pair> = Sender::ALL
        .into_iter()
        .flat_map(|s| Receiver::ALL.into_iter().map(move |r| Pair::Lab(s, r)))
        .filter(|p| {
            cfg!(target_os = "linux") || *p == Pair::Lab(Sender::SendTo, Receiver::RecvFrom)
        })
        .collect();
    if cfg!(all(feature = "contenders", unix)) {
        all.push(Pair::Quinn);
    }
    all
}

/// One pair's repetitions.
pub struct BulkSummary {
    pub pair: Pair,
    pub runs: Vec<BulkRun>,
}

impl BulkSummary {
    /// The median of `f` over the runs (`None` when some run has none).
    fn median_of(&self, f: impl Fn(&BulkRun) -> Option<f64>) -> Option<f64> {
        let mut values: Vec<f64> = self.runs.iter().map(f).collect::<Option<_>>()?;
        Some(median(&mut values))
    }

    fn bytes_per_s(&self) -> f64 {
        self.median_of(|r| Some(r.bytes_per_s())).unwrap_or(0.0)
    }
}

/// The report of a `--bulk` run.
pub struct BulkReport {
    pub machine: Machine,
    pub command: String,
    pub load: BulkLoad,
    pub repeat: usize,
    pub summaries: Vec<BulkSummary>,
}

impl BulkReport {
    /// The receiver's `SO_RCVBUF` as the kernel reported it (the same for
    /// every run: one request, one cap).
    fn recv_buffer(&self) -> Option<usize> {
        self.summaries
            .iter()
            .flat_map(|s| &s.runs)
            .map(|r| r.recv_buffer)
            .max()
    }

    fn rate_of(&self, pair: Pair) -> Option<f64> {
        self.summaries
            .iter()
            .find(|s| s.pair == pair)
            .map(BulkSummary::bytes_per_s)
    }

    /// GSO + GRO over `send_to` + `recv_from`, in bytes/s.
    fn fast_vs_plain(&self) -> Option<f64> {
        let fast = self.rate_of(Pair::Lab(Sender::Gso, Receiver::Gro))?;
        let plain = self.rate_of(Pair::Lab(Sender::SendTo, Receiver::RecvFrom))?;
        (plain > 0.0).then(|| fast / plain)
    }

    /// udp-lab's GSO + GRO over quinn-udp's, in bytes/s.
    fn lab_vs_quinn(&self) -> Option<f64> {
        let lab = self.rate_of(Pair::Lab(Sender::Gso, Receiver::Gro))?;
        let quinn = self.rate_of(Pair::Quinn)?;
        (quinn > 0.0).then(|| lab / quinn)
    }

    /// A plain table, then the two goals as ratios.
    pub fn text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "load: {} MiB in datagrams of {} B, bursts of {BURST}, IPv4 loopback",
            self.load.bytes >> 20,
            self.load.segment
        );
        let _ = writeln!(
            out,
            "repetitions: {}, interleaved; figures are medians",
            self.repeat
        );
        let _ = writeln!(
            out,
            "machine: {} ({} CPUs, {})",
            self.machine.cpu, self.machine.cpus, self.machine.os
        );
        let _ = writeln!(
            out,
            "receive buffer: {} MiB asked, SO_RCVBUF reports {} (Linux caps the request at \
             net.core.rmem_max and reports twice what it grants); a datagram it has no room \
             for is dropped, not delivered",
            RCVBUF >> 20,
            self.recv_buffer()
                .map_or("nothing".to_string(), |b| format!(
                    "{:.1} MiB",
                    b as f64 / f64::from(1 << 20)
                ))
        );
        let _ = writeln!(
            out,
            "{:<24} {:>10} {:>14} {:>13} {:>10} {:>11}",
            "sender -> receiver", "Gbit/s", "datagrams/s", "receives/s", "delivered", "CPU ns/B"
        );
        for s in &self.summaries {
            let delivered = s.median_of(|r| {
                Some(r.bytes as f64 / (r.sent.max(1) as f64 * self.load.segment as f64))
            });
            let _ = writeln!(
                out,
                "{:<24} {:>10.2} {:>14.0} {:>13.0} {:>9.0}% {:>11}",
                s.pair.name(),
                s.bytes_per_s() * 8.0 / 1e9,
                s.median_of(|r| Some(r.datagrams_per_s())).unwrap_or(0.0),
                s.median_of(|r| Some(r.recv_calls_per_s())).unwrap_or(0.0),
                delivered.unwrap_or(0.0) * 100.0,
                s.median_of(BulkRun::cpu_ns_per_byte)
                    .map_or("-".to_string(), |c| format!("{c:.2}"))
            );
        }
        let ratio = |r: Option<f64>| r.map_or("not measured".to_string(), |r| format!("{r:.1}x"));
        let _ = writeln!(
            out,
            "gso -> gro vs send_to -> recv_from, bytes/s: {} (goal: >= 10x)",
            ratio(self.fast_vs_plain())
        );
        let _ = writeln!(
            out,
            "udp-lab gso -> gro vs quinn-udp, bytes/s: {} (goal: >= 1.0x{})",
            ratio(self.lab_vs_quinn()),
            if cfg!(all(feature = "contenders", unix)) {
                ""
            } else {
                "; build with --features contenders"
            }
        );
        out
    }
}

/// `--bulk`'s JSON report: `command`, `machine`, `load` (`bytes`,
/// `segment`, `burst`, `recv_buffer_asked`, `recv_buffer_reported`: the
/// receiver's `SO_RCVBUF` request and what the kernel reported), `repeat`, `contenders` (each: `name`, `sender`,
/// `receiver` (`null` for quinn-udp), the medians `bytes_per_s`,
/// `datagrams_per_s`, `recv_calls_per_s`, `cpu_ns_per_byte` (`null` when
/// unknown), and `runs` with every repetition's counts), and `ratios`
/// (`gso_gro_vs_send_to_recv_from`, `gso_gro_vs_quinn_udp`: `null` when not
/// measured).
#[derive(Serialize)]
pub struct JsonBulk<'a> {
    command: &'a str,
    machine: &'a Machine,
    load: JsonLoad,
    repeat: usize,
    contenders: Vec<JsonPair>,
    ratios: JsonRatios,
}

#[derive(Serialize)]
struct JsonLoad {
    bytes: usize,
    segment: usize,
    burst: usize,
    recv_buffer_asked: usize,
    recv_buffer_reported: Option<usize>,
}

#[derive(Serialize)]
struct JsonPair {
    name: String,
    sender: Option<&'static str>,
    receiver: Option<&'static str>,
    bytes_per_s: f64,
    datagrams_per_s: f64,
    recv_calls_per_s: f64,
    cpu_ns_per_byte: Option<f64>,
    runs: Vec<JsonRun>,
}

#[derive(Serialize)]
struct JsonRun {
    bytes: u64,
    datagrams: u64,
    sent: u64,
    send_calls: u64,
    recv_calls: u64,
    elapsed_s: f64,
    cpu_s: Option<f64>,
}

#[derive(Serialize)]
struct JsonRatios {
    gso_gro_vs_send_to_recv_from: Option<f64>,
    gso_gro_vs_quinn_udp: Option<f64>,
}

fn json(report: &BulkReport) -> serde_json::Result<String> {
    let round = |v: f64| (v * 10.0).round() / 10.0;
    let contenders = report
        .summaries
        .iter()
        .map(|s| {
            let (sender, receiver) = match s.pair {
                Pair::Lab(a, b) => (Some(a.name()), Some(b.name())),
                Pair::Quinn => (None, None),
            };
            JsonPair {
                name: s.pair.name(),
                sender,
                receiver,
                bytes_per_s: round(s.bytes_per_s()),
                datagrams_per_s: round(s.median_of(|r| Some(r.datagrams_per_s())).unwrap_or(0.0)),
                recv_calls_per_s: round(s.median_of(|r| Some(r.recv_calls_per_s())).unwrap_or(0.0)),
                cpu_ns_per_byte: s
                    .median_of(BulkRun::cpu_ns_per_byte)
                    .map(|c| (c * 1000.0).round() / 1000.0),
                runs: s
                    .runs
                    .iter()
                    .map(|r| JsonRun {
                        bytes: r.bytes,
                        datagrams: r.datagrams,
                        sent: r.sent,
                        send_calls: r.send_calls,
                        recv_calls: r.recv_calls,
                        elapsed_s: r.elapsed.as_secs_f64(),
                        cpu_s: r.cpu.map(|c| c.as_secs_f64()),
                    })
                    .collect(),
            }
        })
        .collect();
    let ratio = |r: Option<f64>| r.map(|r| (r * 100.0).round() / 100.0);
    serde_json::to_string_pretty(&JsonBulk {
        command: &report.command,
        machine: &report.machine,
        load: JsonLoad {
            bytes: report.load.bytes,
            segment: report.load.segment,
            burst: BURST,
            recv_buffer_asked: RCVBUF,
            recv_buffer_reported: report.recv_buffer(),
        },
        repeat: report.repeat,
        contenders,
        ratios: JsonRatios {
            gso_gro_vs_send_to_recv_from: ratio(report.fast_vs_plain()),
            gso_gro_vs_quinn_udp: ratio(report.lab_vs_quinn()),
        },
    })
    .map(|mut s| {
        s.push('\n');
        s
    })
}

/// Runs `udp-lab bench --bulk`.
pub fn run(args: &BenchArgs) -> Outcome {
    let others = [
        ("--to", !args.to.is_empty()),
        ("--model", !args.model.is_empty()),
        ("--python-server", args.python_server.is_some()),
        ("--markdown", args.markdown),
    ];
    if let Some((flag, _)) = others.iter().find(|(_, given)| *given) {
        return Err(Failure::Usage(format!(
            "--bulk races bulk transfers, not echo servers: it takes no {flag}"
        )));
    }
    if let Some(path) = &args.plot {
        super::check_writable(path)?;
    }
    let load = BulkLoad {
        bytes: args.bulk_mib.unwrap_or(64) << 20,
        segment: args.segment.unwrap_or(udp_lab::lab::fast::SEGMENT),
    };
    let machine = Machine::this();
    let summaries = race(load, args.repeat)?;
    let report = BulkReport {
        machine,
        command: super::command_line(),
        load,
        repeat: args.repeat,
        summaries,
    };
    let text = if args.json {
        json(&report).map_err(|e| Failure::Failed(format!("writing the report as JSON: {e}")))?
    } else {
        report.text()
    };
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    if let Some(path) = &args.plot {
        super::bulk_chart::plot(&report, path).map_err(|e| {
            Failure::Failed(format!("drawing the chart into {}: {e}", path.display()))
        })?;
    }
    Ok(())
}

/// Every pair `repeat` times, interleaved, the order rotated each time.
fn race(load: BulkLoad, repeat: usize) -> Result<Vec<BulkSummary>, Failure> {
    let all = pairs();
    let n = all.len();
    let mut summaries: Vec<BulkSummary> = all
        .iter()
        .map(|&pair| BulkSummary {
            pair,
            runs: Vec::new(),
        })
        .collect();
    for rep in 0..repeat {
        for k in 0..n {
            let i = (k + rep) % n;
            let pair = summaries[i].pair;
            let (mut send, mut recv) = pair.make(load.segment);
            let measured = bulk::run(send.as_mut(), recv.as_mut(), load)
                .map_err(|e| Failure::Failed(format!("bulk {}: {e}", pair.name())))?;
            if measured.bytes == 0 {
                return Err(Failure::Failed(format!(
                    "bulk {}: nothing was delivered",
                    pair.name()
                )));
            }
            eprintln!(
                "bench --bulk [{}/{}] {} (repetition {}/{repeat}): {:.2} Gbit/s, {} receives",
                rep * n + k + 1,
                n * repeat,
                pair.name(),
                rep + 1,
                measured.bytes_per_s() * 8.0 / 1e9,
                measured.recv_calls
            );
            summaries[i].runs.push(measured);
        }
    }
    Ok(summaries)
}
