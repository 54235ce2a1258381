//! `udp-lab serve` (placeholder, being written).

use super::Outcome;

/// Arguments of `udp-lab serve`.
#[derive(clap::Args, Default)]
pub struct ServeArgs {}

/// Runs `udp-lab serve`.
pub fn run(_args: &ServeArgs) -> Outcome {
    Ok(())
}
