//! `udp-lab exercises` (placeholder, being written).

use super::Outcome;

/// Arguments of `udp-lab exercises`.
#[derive(clap::Args, Default)]
pub struct ExercisesArgs {}

/// Runs `udp-lab exercises`.
pub fn run(_args: &ExercisesArgs) -> Outcome {
    Ok(())
}
