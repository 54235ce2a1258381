//! `udp-lab send` (placeholder, being written).

use super::Outcome;

/// Arguments of `udp-lab send`.
#[derive(clap::Args, Default)]
pub struct SendArgs {}

/// Runs `udp-lab send`.
pub fn run(_args: &SendArgs) -> Outcome {
    Ok(())
}
