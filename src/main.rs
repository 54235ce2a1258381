//! `udp-lab`: the command line of the course.
//!
//! - `udp-lab` / `udp-lab tour`: every chapter's property, live on loopback.
//! - `udp-lab serve`: the article's echo servers as a real process.
//! - `udp-lab send`: the article's client, with a timeout.
//! - `udp-lab exercises`: the exercises with their hints (and `--verify` for CI).
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
    /// List the exercises with their hints; `--verify` proves stubs fail and solutions pass.
    Exercises(cli::exercises::ExercisesArgs),
}

fn main() -> ExitCode {
    let args = Args::parse();
    let outcome = match args.command {
        None => cli::tour::run(&cli::tour::TourArgs::default()),
        Some(Command::Tour(a)) => cli::tour::run(&a),
        Some(Command::Serve(a)) => cli::serve::run(&a),
        Some(Command::Send(a)) => cli::send::run(&a),
        Some(Command::Exercises(a)) => cli::exercises::run(&a),
    };
    cli::finish(outcome)
}
