//! Tour block for chapter 16: over a 1500-byte link 1472 bytes go in one
//! packet and 1473 in two fragments; a router in front of a 1280-byte link
//! lowers the sender's path MTU; one lost fragment loses the datagram. On
//! the test hosts of `udp_lab::lab::hosts` (Linux, root): elsewhere the
//! block says why it skips.

use std::io;
use std::net::{SocketAddr, SocketAddrV4};
use std::time::Duration;

use udp_lab::lab::hosts::{self, pmtu, send_fragments, IcmpWatch, Lab};
use udp_lab::lab::kernel;
use udp_lab::net::{DEFAULT_TIMEOUT, SILENCE};
use udp_lab::recv;

use super::{Report, SKIPPED};

/// The three scenes, or a skip line where there are no test hosts.
pub fn demo() -> io::Result<Report> {
    if let Err(why) = hosts::available() {
        return Ok(Report {
            lines: vec![format!("{SKIPPED}no test hosts here: {why}")],
            held: true,
        });
    }
    let (mut lines, fragments_ok) = one_packet_or_two()?;
    let (line, pmtu_ok) = router_lowers_the_path_mtu()?;
    lines.push(line);
    let (line, loss_ok) = one_fragment_lost()?;
    lines.push(line);
    Ok(Report {
        lines,
        held: fragments_ok && pmtu_ok && loss_ok,
    })
}

/// 1472 and 1473 bytes from a to b over 1500: fragments created, bytes received.
fn one_packet_or_two() -> io::Result<(Vec<String>, bool)> {
    let lab = Lab::pair(1500)?;
    let (a, b) = (lab.host("a"), lab.host("b"));
    let receiver = b.bind(b.any_port(false))?;
    let sender = a.bind(a.any_port(false))?;
    let (mut lines, mut held) = (Vec::new(), true);
    for (size, expected) in [(1472, 0), (1473, 2)] {
        let before = a.snmp("Ip", "FragCreates")?;
        sender.send_to(&vec![b'x'; size], receiver.local_addr()?)?;
        let got = again_on_signal(|| recv::recv_datagram(&receiver, "the datagram at b"))?;
        let created = a.snmp("Ip", "FragCreates")? - before;
        lines.push(format!(
            "a ==1500== b: sent {size} bytes as {created} fragments (0: one whole packet); b received {} bytes in one datagram",
            got.payload.len()
        ));
        held &= created == expected && got.payload.len() == size;
    }
    Ok((lines, held))
}

/// a ==1500== r ==1280== b, don't-fragment: IP_MTU before and after the router's ICMP.
fn router_lowers_the_path_mtu() -> io::Result<(String, bool)> {
    let lab = Lab::routed(1500, 1280)?;
    let (a, b) = (lab.host("a"), lab.host("b"));
    let receiver = b.bind(b.any_port(false))?;
    let sender = a.bind(a.any_port(false))?;
    sender.connect(receiver.local_addr()?)?;
    pmtu::set_dont_fragment(&sender, true)?;
    let before = pmtu::path_mtu(&sender)?;
    sender.send(&[0u8; 1400])?;
    kernel::wait_for_error(&sender, DEFAULT_TIMEOUT)?;
    let pending = sender.take_error()?;
    let after = pmtu::path_mtu(&sender)?;
    Ok((
        format!(
            "a ==1500== r ==1280== b, don't fragment, 1400 bytes: path MTU {before} -> {after} after the router's ICMP (pending error: {})",
            pending.map_or_else(|| "none".to_string(), |e| e.to_string())
        ),
        before == 1500 && after == 1280,
    ))
}

/// The first of two hand-made fragments sent, the second lost: b gives up.
fn one_fragment_lost() -> io::Result<(String, bool)> {
    let lab = Lab::pair(1500)?;
    let (a, b) = (lab.host("a"), lab.host("b"));
    b.sysctl("net/ipv4/ipfrag_time", "1")?;
    let receiver = b.bind(b.any_port(false))?;
    let source = a.bind(a.any_port(false))?;
    let icmp = IcmpWatch::open(a)?;
    let ends = (v4(source.local_addr()?)?, v4(receiver.local_addr()?)?);
    let fails = b.snmp("Ip", "ReasmFails")?;
    send_fragments(a, ends, &[b'f'; 1473], 1500, Some(1))?;
    let told = icmp.next_of_type(11, Duration::from_secs(10))?;
    let arrived = again_on_signal(|| recv::recv_within(&receiver, SILENCE))?;
    let failed = b.snmp("Ip", "ReasmFails")? - fails;
    Ok((
        format!(
            "1473 bytes, second fragment lost: b delivered {}, ReasmFails +{failed}, a was told {told:?} (ICMP time exceeded, reassembly)",
            arrived.map_or_else(|| "nothing".to_string(), |d| format!("{} bytes", d.payload.len()))
        ),
        failed == 1 && told == Some((11, 1)),
    ))
}

/// Runs `call` again while a signal interrupts it (`EINTR`: a receive with
/// a timeout is not restarted by the kernel).
fn again_on_signal<T>(mut call: impl FnMut() -> io::Result<T>) -> io::Result<T> {
    loop {
        match call() {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

fn v4(addr: SocketAddr) -> io::Result<SocketAddrV4> {
    match addr {
        SocketAddr::V4(v4) => Ok(v4),
        SocketAddr::V6(_) => Err(io::Error::other("expected an IPv4 address")),
    }
}
