//! Tour block for chapter 11: the seeded relay loses, duplicates and
//! reorders exactly as its seed predicts.

use std::time::Duration;

use udp_lab::lab::relay::{self, Direction, Impairments, Links, Plan};
use udp_lab::net::{self, Family};
use udp_lab::recv;

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
    let sink = net::bind_loopback(Family::V4)?;
    let relay = relay::spawn(
        Family::V4.any_port(),
        sink.local_addr()?,
        Links::to_server_only(imp),
    )?;
    let client = net::bind_loopback(Family::V4)?;
    for payload in &inputs {
        client.send_to(payload, relay.local_addr())?;
    }
    relay.wait_until("the relay to read all 20", |s| s.to_server.received == 20)?;
    let stats = relay.shutdown().to_server;
    let mut arrived = Vec::new();
    for _ in 0..stats.sent {
        arrived.push(recv::recv_datagram(&sink, "a relayed datagram")?.payload[0]);
    }
    let predicted: Vec<u8> = Plan::run(&imp, Direction::ToServer, inputs)
        .iter()
        .map(|p| p.payload[0])
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
