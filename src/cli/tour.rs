//! `udp-lab tour` (also plain `udp-lab` and `cargo run`): every
//! chapter's property, run live on loopback, one short block per chapter.
//!
//! Each chapter's demonstration lives in `tour/chNN.rs` and returns a
//! [`Report`]: the lines it prints (bytes, addresses, counts) and whether
//! the property held. The tour exits 0 only when every property held.

use super::{Failure, Outcome};

mod ch01;
mod ch02;
mod ch03;
mod ch04;
mod ch05;
mod ch06;
mod ch07;
mod ch08;
mod ch09;
mod ch10;
mod ch11;
mod ch12;
mod ch13;
mod ch14;
mod ch15;
mod ch16;
mod ch17;
mod ch18;
mod ch19;

/// What one chapter's demonstration saw.
pub struct Report {
    /// What was sent and received, one fact per line.
    pub lines: Vec<String>,
    /// Whether the chapter's property held.
    pub held: bool,
}

/// A report whose first line starts with this is a skip (the chapter
/// cannot run here, and says why): the tour prints "-> skipped", not "-> holds".
pub const SKIPPED: &str = "skipped: ";

/// A chapter's live demonstration.
pub type Demo = fn() -> std::io::Result<Report>;

/// The chapters in order: (number and title, demonstration).
const DEMOS: &[(&str, Demo)] = &[
    ("01 echo", ch01::demo),
    ("02 empty datagrams", ch02::demo),
    ("03 message boundaries", ch03::demo),
    ("04 absent server", ch04::demo),
    ("05 concurrency", ch05::demo),
    ("06 truncation", ch06::demo),
    ("07 datagram size", ch07::demo),
    ("08 buffers", ch08::demo),
    ("09 timeouts", ch09::demo),
    ("10 connected sockets", ch10::demo),
    ("11 impairments", ch11::demo),
    ("12 reliability", ch12::demo),
    ("13 concurrency models", ch13::demo),
    ("14 congestion", ch14::demo),
    ("15 abuse", ch15::demo),
    ("16 path MTU", ch16::demo),
    ("17 broadcast and multicast", ch17::demo),
    ("18 multihoming", ch18::demo),
    ("19 fast paths", ch19::demo),
];

/// Arguments of `udp-lab tour`.
#[derive(clap::Args, Default)]
pub struct TourArgs {
    /// Run only the chapters whose title contains this text (e.g. "03").
    #[arg(long)]
    pub only: Option<String>,
}

/// Runs the tour.
pub fn run(args: &TourArgs) -> Outcome {
    println!(
        "udp-lab tour: each chapter's property, live on loopback, measured on {} (this machine)",
        super::buffers::this_system()
    );
    println!();
    let mut broken = Vec::new();
    for (title, demo) in DEMOS {
        if args.only.as_deref().is_some_and(|o| !title.contains(o)) {
            continue;
        }
        println!("== {title}");
        match demo() {
            Ok(report) => {
                for line in &report.lines {
                    println!("   {line}");
                }
                let skipped = report.lines.first().is_some_and(|l| l.starts_with(SKIPPED));
                println!(
                    "   {}",
                    if skipped {
                        "-> skipped"
                    } else if report.held {
                        "-> holds"
                    } else {
                        "-> DOES NOT HOLD"
                    }
                );
                if !report.held {
                    broken.push(*title);
                }
            }
            Err(e) => {
                println!("   -> could not run: {e}");
                broken.push(*title);
            }
        }
        println!();
    }
    if broken.is_empty() {
        println!("every property held");
        Ok(())
    } else {
        Err(Failure::Failed(format!(
            "these chapters' properties did not hold: {}",
            broken.join(", ")
        )))
    }
}
