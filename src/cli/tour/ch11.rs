//! Tour block for chapter 11: the seeded relay loses, duplicates and
//! reorders exactly as its seed predicts. The run is the chapter's own
//! ([`relay::deliver`]); this block prints it.

use std::time::Duration;

use udp_lab::lab::relay::{self, Direction, Impairments, Plan};
use udp_lab::net::Family;

use super::Report;

/// Sends 20 numbered datagrams through a lossy relay and compares what
/// arrived with what the seed predicted.
pub fn demo() -> std::io::Result<Report> {
    let imp = Impairments::seeded(7)
        .loss(0.2)
        .duplicate(0.1)
        .reorder(4, 0.3)
        .hold(Duration::from_secs(3600));
    let inputs: Vec<Vec<u8>> = (0..20u8).map(|i| vec![i]).collect();
    let (delivered, stats) = relay::deliver(Family::V4, imp, &inputs)?;
    let stats = stats.to_server;
    let arrived: Vec<u8> = delivered
        .iter()
        .filter_map(|p| p.first().copied())
        .collect();
    let predicted: Vec<u8> = Plan::run(&imp, Direction::ToServer, inputs)
        .iter()
        .filter_map(|p| p.payload.first().copied())
        .collect();
    Ok(Report {
        lines: vec![
            "relay, client to server: loss 20%, duplication 10%, 30% held back until up to 4 later ones pass; seed 7"
                .to_string(),
            format!(
                "sent 0..19, {} arrived: {arrived:?}",
                arrived.len()
            ),
            format!(
                "dropped {}, duplicated {}, reordered {}; every send_to returned Ok",
                stats.dropped, stats.duplicated, stats.reordered
            ),
            format!("the seed's plan predicted exactly this sequence: {}", arrived == predicted),
        ],
        held: arrived == predicted && stats.dropped > 0,
    })
}
