//! Tour block for chapter 19: one GSO send is many datagrams; a GRO
//! receiver gets them in one receive and cuts them back by the size the
//! kernel gives. Linux only: elsewhere the block says so and holds.

use std::io;

use udp_lab::lab::fast::{self, GRO_BUFFER, SEGMENT};
use udp_lab::net::{self, Family};

use super::Report;

/// 5 x 1,200 B + 300 B in one GSO send, to a plain receiver and to a GRO one.
pub fn demo() -> io::Result<Report> {
    if !cfg!(target_os = "linux") {
        return Ok(Report {
            lines: vec![format!(
                "UDP GSO and GRO are Linux's; {} has none (Windows: USO/URO, not wrapped here)",
                std::env::consts::OS
            )],
            held: true,
        });
    }
    let data: Vec<u8> = (0..6u8)
        .flat_map(|i| vec![i; if i < 5 { SEGMENT } else { 300 }])
        .collect();
    let sender = net::bind_loopback(Family::V4)?;
    let plain = net::bind_loopback(Family::V4)?;
    fast::send_gso(&sender, plain.local_addr()?, &data, SEGMENT)?;
    let mut buf = vec![0u8; GRO_BUFFER];
    let mut lengths = Vec::new();
    for _ in 0..6 {
        lengths.push(plain.recv(&mut buf)?);
    }
    let gro = net::bind_loopback(Family::V4)?;
    fast::enable_gro(&gro, true)?;
    fast::send_gso(&sender, gro.local_addr()?, &data, SEGMENT)?;
    let got = fast::recv_gro(&gro, &mut buf)?;
    let pieces: Vec<usize> = fast::split(&buf[..got.len], got.segment)
        .iter()
        .map(|p| p.len())
        .collect();
    let max = fast::max_segments()?;
    Ok(Report {
        lines: vec![
            format!("one sendmsg of {} B with UDP_SEGMENT = {SEGMENT}", data.len()),
            format!("a plain receiver: {} receives of {lengths:?} B", lengths.len()),
            format!(
                "a receiver with UDP_GRO on: one receive of {} B, UDP_GRO cmsg = {:?}, split into {pieces:?} B",
                got.len, got.segment
            ),
            format!("this kernel takes at most {max} segments per send (UDP_MAX_SEGMENTS)"),
        ],
        held: lengths == [1200, 1200, 1200, 1200, 1200, 300] && pieces == lengths,
    })
}
