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
//! - `lab status`: every `udplab-` namespace, its owner, and its
//!   interfaces with their MTU and addresses.
//!
//! Root only (named namespaces need it): elsewhere each prints why, exit 2.

use udp_lab::lab::hosts::{self, Lab};

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
    }
}

fn up(mtu: u32, router_mtu: Option<u32>) -> Outcome {
    let existing = hosts::existing().map_err(Failure::setup("listing namespaces"))?;
    if existing.iter().any(|n| n.starts_with(hosts::UP_PREFIX)) {
        return Err(Failure::Usage(
            "the lab is already up (udp-lab lab status shows it; udp-lab lab down removes it)".to_string(),
        ));
    }
    let lab = Lab::up(mtu, router_mtu).map_err(Failure::setup("building the hosts"))?;
    for host in lab.hosts() {
        println!("{}  {}  {}  (ip netns exec {} bash)", host.netns, host.v4, host.v6, host.netns);
    }
    match router_mtu {
        Some(second) => println!("links: a ={mtu}= r ={second}= b; the router forwards (ip_forward on)"),
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
            Some(pid) if std::path::Path::new(&format!("/proc/{pid}")).exists() => format!("process {pid}, running"),
            Some(pid) => format!("process {pid}, gone: udp-lab lab down removes it"),
            None => "udp-lab lab up".to_string(),
        };
        println!("{name}  ({owner})");
        let brief = hosts::describe(&name).map_err(Failure::during(format!("reading {name}")))?;
        for line in brief.lines() {
            println!("    {line}");
        }
    }
    Ok(())
}
