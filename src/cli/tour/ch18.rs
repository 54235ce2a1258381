//! Tour block for chapter 18: on a host with two addresses, a server bound
//! to the wildcard address answers a request for its second address from
//! its first; with `IP_PKTINFO` it answers from the address asked. On the
//! test hosts of `udp_lab::lab::hosts` (Linux, root): elsewhere the block
//! says why it skips.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use udp_lab::lab::hosts::{self, multihomed, Lab};
use udp_lab::recv;

use super::{Report, SKIPPED};

/// The same request answered by a wildcard server and by a pktinfo server,
/// or a skip line where there are no test hosts.
pub fn demo() -> io::Result<Report> {
    if let Err(why) = hosts::available() {
        return Ok(Report {
            lines: vec![format!("{SKIPPED}no test hosts here: {why}")],
            held: true,
        });
    }
    let lab = Lab::multihomed()?;
    let asked = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3));
    let (mut lines, mut held) = (Vec::new(), true);
    for pktinfo in [false, true] {
        let server = lab
            .host("s")
            .bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))?;
        if pktinfo {
            multihomed::enable_pktinfo(&server)?;
        }
        let client = lab
            .host("a")
            .bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0)))?;
        let to = SocketAddr::new(asked, server.local_addr()?.port());
        client.send_to(b"who are you?", to)?;
        multihomed::echo_once(&server)?;
        let reply = recv::recv_datagram(&client, "the server's reply")?;
        let name = if pktinfo {
            "pktinfo server"
        } else {
            "wildcard server"
        };
        lines.push(format!(
            "s has 192.0.2.2 and 192.0.2.3; a asked {asked}; the {name} answered from {}",
            reply.from.ip()
        ));
        held &= (reply.from.ip() == asked) == pktinfo;
    }
    Ok(Report { lines, held })
}
