//! `udp-lab dev`: the maintainers' commands, apart from the students'
//! `udp-lab exercises`. `verify` proves every exercise (CI runs it);
//! `handout` makes a student edition of chosen chapters.

pub mod handout;
pub mod planted_proof;
pub mod verify;

use std::path::PathBuf;

use super::exercises::tree;
use super::Outcome;

/// Arguments of `udp-lab dev`.
#[derive(clap::Args)]
#[command(
    about = "For maintainers and teachers, not students: prove the exercises, make a student edition",
    long_about = "For maintainers and teachers, not students (students use `udp-lab exercises`).\n\
                  `verify` proves every exercise on a copy of the course (CI runs it);\n\
                  `handout` writes a student edition of chosen chapters, without the solutions."
)]
pub struct DevArgs {
    #[command(subcommand)]
    pub command: DevCommand,
    /// The udp-lab checkout to work on (default: the one holding the current directory).
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

/// The maintainers' commands.
#[derive(clap::Subcommand)]
pub enum DevCommand {
    /// Prove every exercise on a copy: each stub fails, each reference solution passes, alone and all together.
    Verify,
    /// Write a student edition: the chosen chapters, no reference solutions, its own `cargo test` green.
    Handout(handout::HandoutArgs),
}

/// Runs `udp-lab dev`.
pub fn run(args: &DevArgs) -> Outcome {
    let root = tree::root(args.root.as_deref());
    match &args.command {
        DevCommand::Verify => verify::run(&root),
        DevCommand::Handout(h) => handout::run(&root, h),
    }
}
