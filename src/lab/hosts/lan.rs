//! A LAN of test hosts (chapter 17): hosts `a`, `b`, `c` and router `r`
//! on one Ethernet segment (a bridge in a fourth namespace, the switch
//! `s`), and host `d` behind the router on a second link.
//!
//! ```text
//!   a 192.0.2.1   b 192.0.2.2   c 192.0.2.3   r 192.0.2.254 | 198.51.100.254 ===== d 198.51.100.2
//!      \              |             /          /
//!       +------ s (bridge br0, no address) ---+        (IPv6: 2001:db8:1::/64 and 2001:db8:2::/64)
//! ```
//!
//! Why a bridge: a veth link joins two ends only, and broadcast and
//! multicast need a segment with three or more hosts to show "every host"
//! and "only the members". The bridge floods what it cannot place, as an
//! Ethernet switch does. Its multicast snooping is off (`mcast_snooping
//! 0`): with it on, the bridge would forward a group's frames only to ports
//! that sent IGMP/MLD reports, after it has heard a querier; off, it floods
//! every multicast frame to every port, so *which host delivers* is decided
//! by each host's own membership, the thing chapter 17 tests.

use std::io;
use std::net::Ipv4Addr;

use super::{ip, unique_prefix, Host, Lab};

/// (role, LAN address v4, v6): the hosts on the bridge, the router last.
const ON_THE_LAN: [(&str, &str, &str); 4] = [
    ("a", "192.0.2.1", "2001:db8:1::1"),
    ("b", "192.0.2.2", "2001:db8:1::2"),
    ("c", "192.0.2.3", "2001:db8:1::3"),
    ("r", "192.0.2.254", "2001:db8:1::fe"),
];

/// The LAN's IPv4 broadcast address (192.0.2.0/24).
pub const LAN_BROADCAST: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 255);

/// The IPv4 broadcast address of d's subnet behind the router (198.51.100.0/24):
/// a *directed* broadcast when sent from the LAN.
pub const FAR_BROADCAST: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 255);

impl Lab {
    /// Hosts `a`, `b`, `c` and router `r` on one bridged segment
    /// (192.0.2.0/24, 2001:db8:1::/64), host `d` behind `r`
    /// (198.51.100.2, 2001:db8:2::2), the switch `s`; every host's
    /// interface is `eth0` (the router's second is `eth1`); default routes
    /// via the router; IP forwarding on in `r`.
    pub fn lan() -> io::Result<Lab> {
        let prefix = unique_prefix();
        let mut lab = Lab {
            hosts: Vec::new(),
            keep: false,
        };
        let mut add = |role: &'static str, v4: &str, v6: &str| -> io::Result<()> {
            let netns = format!("{prefix}{role}");
            ip::run(&["netns", "add", &netns])?;
            lab.hosts.push(Host {
                role,
                netns: netns.clone(),
                v4: v4.parse().map_err(|_| bad(v4))?,
                v6: v6.parse().map_err(|_| bad(v6))?,
            });
            ip::run(&["-n", &netns, "link", "set", "lo", "up"])?;
            Ok(())
        };
        add("s", "0.0.0.0", "::")?;
        for (role, v4, v6) in ON_THE_LAN {
            add(role, v4, v6)?;
        }
        add("d", "198.51.100.2", "2001:db8:2::2")?;
        lab.wire()?;
        Ok(lab)
    }

    /// The bridge, the LAN's ports, the router's second link, the routes.
    fn wire(&self) -> io::Result<()> {
        let switch = &self.host("s").netns;
        ip::run(&[
            "-n",
            switch,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "mcast_snooping",
            "0",
        ])?;
        ip::run(&["-n", switch, "link", "set", "br0", "up"])?;
        for (role, v4, v6) in ON_THE_LAN {
            let ns = &self.host(role).netns;
            let port = format!("port-{role}");
            ip::run(&[
                "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", &port, "netns",
                switch,
            ])?;
            ip::run(&["-n", switch, "link", "set", &port, "master", "br0", "up"])?;
            address(ns, "eth0", &format!("{v4}/24"), &format!("{v6}/64"))?;
        }
        let (r, d) = (&self.host("r").netns, &self.host("d").netns);
        ip::run(&[
            "link", "add", "eth1", "netns", r, "type", "veth", "peer", "name", "eth0", "netns", d,
        ])?;
        address(r, "eth1", "198.51.100.254/24", "2001:db8:2::fe/64")?;
        address(d, "eth0", "198.51.100.2/24", "2001:db8:2::2/64")?;
        for role in ["a", "b", "c"] {
            default_route(&self.host(role).netns, "192.0.2.254", "2001:db8:1::fe")?;
        }
        default_route(d, "198.51.100.254", "2001:db8:2::fe")?;
        let router = self.host("r");
        router.sysctl("net/ipv4/ip_forward", "1")?;
        router.sysctl("net/ipv6/conf/all/forwarding", "1")?;
        self.wait_until_usable()
    }

    /// Returns once every link of the LAN can carry frames (a broadcast
    /// sent a moment too early would be lost: [`ip::wait_until_usable`]).
    fn wait_until_usable(&self) -> io::Result<()> {
        let switch = &self.host("s").netns;
        for (role, _, _) in ON_THE_LAN {
            ip::wait_until_usable(&self.host(role).netns, "eth0")?;
            ip::wait_until_usable(switch, &format!("port-{role}"))?;
        }
        ip::wait_until_usable(&self.host("r").netns, "eth1")?;
        ip::wait_until_usable(&self.host("d").netns, "eth0")
    }
}

/// Addresses `iface` of namespace `ns` (IPv6 without duplicate address
/// detection, usable at once) and brings it up.
fn address(ns: &str, iface: &str, v4: &str, v6: &str) -> io::Result<()> {
    ip::run(&["-n", ns, "addr", "add", v4, "dev", iface])?;
    ip::run(&["-n", ns, "-6", "addr", "add", v6, "dev", iface, "nodad"])?;
    ip::run(&["-n", ns, "link", "set", iface, "up"])?;
    Ok(())
}

fn default_route(ns: &str, gw4: &str, gw6: &str) -> io::Result<()> {
    ip::run(&["-n", ns, "route", "add", "default", "via", gw4])?;
    ip::run(&["-n", ns, "-6", "route", "add", "default", "via", gw6])?;
    Ok(())
}

fn bad(addr: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("not an address: {addr}"),
    )
}

impl Host {
    /// The index of interface `iface` in this host's namespace
    /// (`if_nametoindex`): IPv6 multicast names interfaces by index.
    pub fn index(&self, iface: &str) -> io::Result<u32> {
        let name = std::ffi::CString::new(iface).map_err(|_| {
            io::Error::new(io::ErrorKind::InvalidInput, "interface name with a NUL")
        })?;
        self.run(|| {
            // SAFETY: name is a valid C string that outlives the call.
            let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
            if index == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("no interface {iface} in {}", self.netns),
                ));
            }
            Ok(index)
        })
    }
}
