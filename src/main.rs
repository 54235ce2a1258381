//! `udp-lab`: the command line of the course.
//!
//! - `udp-lab` / `udp-lab tour`: every chapter's property, live on loopback.
//! - `udp-lab serve`: the article's echo servers as a real process.
//! - `udp-lab send`: the article's client, with a timeout.
//! - `udp-lab exercises`: the exercises: progress, hints, check one, watch, grade.
//! - `udp-lab dev`: for maintainers: prove the exercises (`verify`), make a student edition (`handout`).
//! - `udp-lab buffers`: datagrams kept vs `SO_RCVBUF` size, measured (and plotted).
//! - `udp-lab bench`: a load generator; races the server models against the bare loop and Python.
//! - `udp-lab relay`: a seeded impairment relay (loss, duplication, reordering, delay) between real programs.
//! - `udp-lab ping`: the UDP pinger: round-trip times and loss against any echo server.
//! - `udp-lab lab`: test hosts in network namespaces (root, Linux): `lab up`, `lab down`, `lab status`.
//! - `udp-lab doctor`: what this machine supports, and which test cases will skip here.
//!
//! Exit codes: 0 all good, 1 a property or a reply failed, 2 bad input or setup.

mod cli;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// How UDP really behaves, one property at a time, on real sockets.
#[derive(Parser)]
#[command(name = "udp-lab", version, about)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run each chapter's property live on loopback and print what was seen (the default).
    Tour(cli::tour::TourArgs),
    /// Run the article's echo server (upper-casing or threaded).
    Serve(cli::serve::ServeArgs),
    /// Send each MESSAGE as one datagram and print each reply.
    Send(cli::send::SendArgs),
    /// The exercises: your progress, a hint, check one, watch while you edit, grade.
    Exercises(cli::exercises::ExercisesArgs),
    /// Measure how many datagrams a receive buffer keeps, for several SO_RCVBUF sizes.
    Buffers(cli::buffers::BuffersArgs),
    /// Load-test UDP echo servers: the project's models, the bare loop, Python's, any address.
    Bench(cli::bench::BenchArgs),
    /// Relay datagrams to a server, dropping, duplicating, reordering, delaying them as a seed decides.
    Relay(cli::relay::RelayArgs),
    /// Ping an echo server over UDP: round-trip times and loss (the Kurose & Ross pinger).
    Ping(cli::ping::PingArgs),
    /// For maintainers and teachers, not students: prove the exercises, make a student edition.
    Dev(cli::dev::DevArgs),
    /// Test hosts in network namespaces (Linux, root): up, down, status.
    Lab(cli::lab::LabArgs),
    /// What this machine supports (IPv6, python3, /proc, SO_REUSEPORT, ...) and which test cases skip here.
    Doctor(cli::doctor::DoctorArgs),
    /// Chapter 15's forged-source scenario in a private network namespace (for its test).
    #[command(hide = true)]
    ReflectionScenario(cli::reflection::ReflectionArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    let outcome = match args.command {
        None => cli::tour::run(&cli::tour::TourArgs::default()),
        Some(Command::Tour(a)) => cli::tour::run(&a),
        Some(Command::Serve(a)) => cli::serve::run(&a),
        Some(Command::Send(a)) => cli::send::run(&a),
        Some(Command::Exercises(a)) => cli::exercises::run(&a),
        Some(Command::Buffers(a)) => cli::buffers::run(&a),
        Some(Command::Bench(a)) => cli::bench::run(&a),
        Some(Command::Relay(a)) => cli::relay::run(&a),
        Some(Command::Ping(a)) => cli::ping::run(&a),
        Some(Command::Dev(a)) => cli::dev::run(&a),
        Some(Command::Lab(a)) => cli::lab::run(&a),
        Some(Command::Doctor(a)) => cli::doctor::run(&a),
        Some(Command::ReflectionScenario(a)) => cli::reflection::run(&a),
    };
    cli::finish(outcome)
}
