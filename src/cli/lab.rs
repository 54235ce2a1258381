//! `udp-lab lab up | down | status`: the test hosts of chapter 16
//! (`udp_lab::lab::hosts`), built for a person to explore.
//!
//! - `lab up [--mtu 1500] [--router-mtu 1280]`: namespaces `udplab-up-a`
//!   and `udplab-up-b` on one veth link, or with `--router-mtu` a router
//!   `udplab-up-r` between them (its second link has that MTU). They stay
//!   after the command ends: `ip netns exec udplab-up-a bash` is host a.
//! - `lab down`: deletes the `lab up` hosts and every leftover `udplab-`
//!   namespace whose process is gone (a test killed before it could clean
//!   up); the namespaces of running tests are left alone.
//! - `lab capture IFACE --pcap FILE [--netns NAME]`: the frames of one
//!   interface of a host, bounded by `--count` and `--seconds`, as a pcap
//!   file; it prints `capturing on IFACE in NAME` once it is recording.
//! - `lab status`: every `udplab-` namespace, its owner, and its
//!   interfaces with their MTU and addresses.
//!
//! Root only (named namespaces need it): elsewhere each prints why, exit 2.

use std::path::{Path, PathBuf};
use std::time::Duration;

use udp_lab::lab::hosts::capture::{self, Capture, Frames};
use udp_lab::lab::hosts::{self, Host, Lab};

use super::{number_in, Failure, Outcome};

/// Arguments of `udp-lab lab`.
#[derive(clap::Args)]
pub struct LabArgs {
    #[command(subcommand)]
    pub action: Action,
}

/// What `udp-lab lab` does.
#[derive(clap::Subcommand)]
pub enum Action {
    /// Build hosts a and b (and router r with --router-mtu); they stay until `lab down`.
    Up {
        /// MTU of the first link, host a's (576 to 65535; try 1500, 1280, 9000).
        #[arg(long, default_value_t = 1500, value_parser = number_in::<u32>(576..=65_535))]
        mtu: u32,
        /// Put a router between a and b, its link to b with this MTU (1280 to 65535).
        #[arg(long, value_name = "MTU", value_parser = number_in::<u32>(1280..=65_535))]
        router_mtu: Option<u32>,
    },
    /// Delete the `lab up` hosts and every leftover udplab- namespace of a process that is gone.
    Down,
    /// List the udplab- namespaces, their owners, interfaces, MTUs and addresses.
    Status,
    /// Capture the frames of IFACE in a namespace into a pcap file (AF_PACKET; tcpdump and Wireshark read it).
    Capture {
        /// The interface, as the namespace names it (eth0, eth1, lo).
        iface: String,
        /// The pcap file to write.
        #[arg(long, value_name = "FILE")]
        pcap: PathBuf,
        /// The namespace to capture in.
        #[arg(long, value_name = "NAME", default_value = "udplab-up-b")]
        netns: String,
        /// Stop after this many frames (1 to 100000).
        #[arg(long, value_name = "N", default_value_t = 100, value_parser = number_in::<usize>(1..=100_000))]
        count: usize,
        /// Stop after this many seconds (1 to 3600).
        #[arg(long, value_name = "S", default_value_t = 10, value_parser = number_in::<u64>(1..=3600))]
        seconds: u64,
        /// Capture IPv4 frames only (no ARP, no IPv6 neighbour discovery).
        #[arg(long)]
        ipv4_only: bool,
    },
}

/// Runs `udp-lab lab`.
pub fn run(args: &LabArgs) -> Outcome {
    if let Err(why) = hosts::available() {
        return Err(Failure::Usage(format!("no test hosts here: {why}")));
    }
    match args.action {
        Action::Up { mtu, router_mtu } => up(mtu, router_mtu),
        Action::Down => down(),
        Action::Status => status(),
        Action::Capture {
            ref iface,
            ref pcap,
            ref netns,
            count,
            seconds,
            ipv4_only,
        } => capture(
            iface,
            pcap,
            netns,
            (count, Duration::from_secs(seconds)),
            ipv4_only,
        ),
    }
}

fn up(mtu: u32, router_mtu: Option<u32>) -> Outcome {
    let existing = hosts::existing().map_err(Failure::setup("listing namespaces"))?;
    if existing.iter().any(|n| n.starts_with(hosts::UP_PREFIX)) {
        return Err(Failure::Usage(
            "the lab is already up (udp-lab lab status shows it; udp-lab lab down removes it)"
                .to_string(),
        ));
    }
    let lab = Lab::up(mtu, router_mtu).map_err(Failure::setup("building the hosts"))?;
    for host in lab.hosts() {
        println!(
            "{}  {}  {}  (ip netns exec {} bash)",
            host.netns, host.v4, host.v6, host.netns
        );
    }
    match router_mtu {
        Some(second) => {
            println!("links: a ={mtu}= r ={second}= b; the router forwards (ip_forward on)")
        }
        None => println!("link: a ={mtu}= b"),
    }
    println!("remove with: udp-lab lab down");
    Ok(())
}

fn down() -> Outcome {
    let removed = hosts::remove_leftovers(true).map_err(Failure::during("removing namespaces"))?;
    if removed.is_empty() {
        println!("no udplab- namespace to remove");
    }
    for name in removed {
        println!("removed {name}");
    }
    Ok(())
}

fn status() -> Outcome {
    let names = hosts::existing().map_err(Failure::during("listing namespaces"))?;
    if names.is_empty() {
        println!("no udplab- namespace (udp-lab lab up builds the hosts)");
    }
    for name in names {
        let owner = match hosts::owner_pid(&name) {
            Some(pid) if Path::new(&format!("/proc/{pid}")).exists() => {
                format!("process {pid}, running")
            }
            Some(pid) => format!("process {pid}, gone: udp-lab lab down removes it"),
            None => "udp-lab lab up".to_string(),
        };
        let brief = match hosts::describe(&name) {
            Ok(brief) => brief,
            // A test's lab that ended between the listing and now: it is not
            // there any more, so it is not listed (the others still are).
            Err(_) if !hosts::existing().is_ok_and(|now| now.contains(&name)) => continue,
            // A namespace caught half made or half removed: `ip netns add`
            // creates its file before it binds the namespace there, `ip netns
            // del` unbinds it before it unlinks the file, and meanwhile it
            // cannot be entered (EINVAL). Shown as such, not an error.
            Err(_) if !hosts::is_bound(&name) => {
                "(not a namespace yet, or no more: `ip netns add` or `del` is half done)\n".into()
            }
            // Bound now, so it may have been half made a moment ago: read it
            // again; a second failure is a real one.
            Err(_) => hosts::describe(&name).map_err(Failure::during(format!("reading {name}")))?,
        };
        println!("{name}  ({owner})");
        for line in brief.lines() {
            println!("    {line}");
        }
    }
    Ok(())
}

fn capture(
    iface: &str,
    pcap: &Path,
    netns: &str,
    (count, within): (usize, Duration),
    ipv4_only: bool,
) -> Outcome {
    let frames = if ipv4_only { Frames::Ipv4 } else { Frames::All };
    let recording = Capture::start(&Host::existing(netns), iface, frames)
        .map_err(Failure::setup(format!("capturing on {iface} in {netns}")))?;
    println!(
        "capturing on {iface} in {netns} (at most {count} frames, {} s)",
        within.as_secs()
    );
    let seen = recording
        .take(count, within)
        .map_err(Failure::during(format!("capturing on {iface} in {netns}")))?;
    capture::write_pcap(pcap, &seen).map_err(Failure::during("writing the capture"))?;
    println!("wrote {} frames to {}", seen.len(), pcap.display());
    Ok(())
}
