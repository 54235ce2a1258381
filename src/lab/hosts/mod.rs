//! Test hosts (Linux, root): network namespaces joined by veth pairs, each
//! link with its own MTU, addressed from the documentation ranges only
//! (192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32), with an optional router
//! namespace between two links. Chapter 16 (path MTU and fragmentation)
//! runs its senders and receivers on them; `udp-lab lab up | down | status`
//! builds the same hosts for a student to explore with `ip netns exec`.
//!
//! ```text
//! Lab::pair(1500):        a (192.0.2.1, 2001:db8:1::1) ==1500== b (192.0.2.2, 2001:db8:1::2)
//! Lab::routed(1500,1280): a (192.0.2.1) ==1500== r (192.0.2.254 | 198.51.100.254) ==1280== b (198.51.100.2)
//! ```
//!
//! # Why `ip` (iproute2), not a netlink crate
//! Creating namespaces, veth pairs, addresses and routes is netlink work.
//! `rtnetlink` needs tokio, a large async runtime for a handful of
//! one-shot requests, on a student's build budget; `neli` would add a
//! dependency and a few hundred lines of message building that no chapter
//! teaches. `ip` is installed wherever namespaces are usable (iproute2 is in
//! every Linux distribution's base), its commands are the ones a student
//! types to look at the lab (`ip -n udplab-up-a addr`), and an error comes
//! back as iproute2's own one line. `udp-lab doctor` says whether `ip` and
//! named namespaces work here.
//!
//! # Root only, with a visible skip
//! Named namespaces (`ip netns add`, a bind mount under `/run/netns`) need
//! root. Without root a user+net namespace can only be entered by a fresh
//! single-threaded process ([`crate::lab::netns`]), which a test binary is
//! not; so the lab requires root, and [`require`] skips a test with a
//! printed reason elsewhere (a failure under `CI=true`: CI runs as root).
//!
//! # Running code on a host
//! [`Host::run`] runs a closure on a thread that has entered the host's
//! namespace (`setns(CLONE_NEWNET)` is per thread). A socket made there
//! belongs to that namespace for its whole life, whichever thread uses it
//! later: [`Host::bind`] returns such a socket to the test.
//!
//! # Capturing
//! [`capture`] records a host's frames with an `AF_PACKET` socket made in
//! its namespace and writes them as a pcap file (`udp-lab lab capture`).
//!
//! # Cleanup is guaranteed
//! Every namespace is named `udplab-<pid>-<n>-<role>` (unique per process
//! and per lab) and deleted when its [`Lab`] is dropped, which unwinding
//! does when a test panics (deleting a namespace deletes its veth ends).
//! A process killed outright leaves its namespaces behind:
//! `udp-lab lab down` removes every `udplab-` namespace whose process is
//! gone ([`remove_leftovers`]).

pub mod capture;
mod fragments;
pub mod group;
mod ip;
mod lan;
pub mod multihomed;
pub mod pmtu;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

pub use fragments::{send_fragments, IcmpWatch};
pub use lan::{FAR_BROADCAST, LAN_BROADCAST};

/// Every namespace the lab creates starts with this.
pub const PREFIX: &str = "udplab-";

/// The prefix of the namespaces `udp-lab lab up` leaves running.
pub const UP_PREFIX: &str = "udplab-up-";

/// One test host: a network namespace with one or two interfaces.
#[derive(Clone, Debug)]
pub struct Host {
    /// Its role in the topology: `"a"`, `"b"`, or the router `"r"`.
    pub role: &'static str,
    /// The namespace's name, as `ip netns list` shows it.
    pub netns: String,
    /// Its IPv4 address (the first interface's, for the router).
    pub v4: Ipv4Addr,
    /// Its IPv6 address (the first interface's, for the router).
    pub v6: Ipv6Addr,
}

/// A set of hosts and links; dropping it deletes every namespace it made.
#[derive(Debug)]
pub struct Lab {
    hosts: Vec<Host>,
    /// `udp-lab lab up` keeps its namespaces after the process ends.
    keep: bool,
}

/// One veth link: (role, interface, address/prefix v4, v6) at each end.
struct Link {
    mtu: u32,
    ends: [End; 2],
}

struct End {
    role: &'static str,
    iface: &'static str,
    v4: &'static str,
    v6: &'static str,
}

/// A topology: its hosts' roles, links and default routes (role, v4 gateway, v6 gateway).
struct Plan {
    roles: &'static [&'static str],
    links: Vec<Link>,
    routes: &'static [(&'static str, &'static str, &'static str)],
}

impl Lab {
    /// Hosts `a` (192.0.2.1, 2001:db8:1::1) and `b` (192.0.2.2,
    /// 2001:db8:1::2) on one veth link of `mtu` bytes.
    pub fn pair(mtu: u32) -> io::Result<Lab> {
        Lab::build(&unique_prefix(), &pair_plan(mtu), false)
    }

    /// Hosts `a` and `b` on two links joined by router `r` (IP forwarding
    /// on): `a` 192.0.2.1 / 2001:db8:1::1 on a link of `first_mtu` bytes,
    /// `b` 198.51.100.2 / 2001:db8:2::2 on a link of `second_mtu` bytes.
    pub fn routed(first_mtu: u32, second_mtu: u32) -> io::Result<Lab> {
        Lab::build(&unique_prefix(), &routed_plan(first_mtu, second_mtu), false)
    }

    /// The hosts `udp-lab lab up` builds, named `udplab-up-<role>`, kept
    /// after this process ends (`udp-lab lab down` removes them).
    pub fn up(first_mtu: u32, second_mtu: Option<u32>) -> io::Result<Lab> {
        let plan = match second_mtu {
            Some(second) => routed_plan(first_mtu, second),
            None => pair_plan(first_mtu),
        };
        Lab::build(UP_PREFIX, &plan, true)
    }

    /// The host playing `role` (`"a"`, `"b"`, `"r"`).
    ///
    /// # Panics
    /// When the topology has no such role (a mistake in the caller's code).
    #[track_caller]
    pub fn host(&self, role: &str) -> &Host {
        self.hosts
            .iter()
            .find(|h| h.role == role)
            .unwrap_or_else(|| panic!("this lab has no host {role:?}"))
    }

    /// Every host, in the order they were made.
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    fn build(prefix: &str, plan: &Plan, keep: bool) -> io::Result<Lab> {
        let mut lab = Lab {
            hosts: Vec::new(),
            keep: false, // until complete: a half-built lab is removed on error
        };
        for &role in plan.roles {
            let netns = format!("{prefix}{role}");
            ip::run(&["netns", "add", &netns])?;
            let (v4, v6) = first_addresses(plan, role);
            lab.hosts.push(Host {
                role,
                netns,
                v4,
                v6,
            });
            ip::run(&["-n", &format!("{prefix}{role}"), "link", "set", "lo", "up"])?;
        }
        for link in &plan.links {
            lab.connect(link)?;
        }
        for link in &plan.links {
            for end in &link.ends {
                ip::wait_until_usable(&lab.host(end.role).netns, end.iface)?;
            }
        }
        for &(role, gw4, gw6) in plan.routes {
            let ns = &lab.host(role).netns;
            ip::run(&["-n", ns, "route", "add", "default", "via", gw4])?;
            ip::run(&["-n", ns, "-6", "route", "add", "default", "via", gw6])?;
        }
        if let Some(router) = lab.hosts.iter().find(|h| h.role == "r") {
            router.sysctl("net/ipv4/ip_forward", "1")?;
            router.sysctl("net/ipv6/conf/all/forwarding", "1")?;
        }
        lab.keep = keep;
        Ok(lab)
    }

    /// Creates the veth pair of `link` straight in its two namespaces,
    /// sets the MTU, addresses both ends (IPv6 without duplicate address
    /// detection, so the address is usable at once) and brings them up.
    fn connect(&self, link: &Link) -> io::Result<()> {
        let [x, y] = &link.ends;
        let (nx, ny) = (&self.host(x.role).netns, &self.host(y.role).netns);
        let mtu = link.mtu.to_string();
        ip::run(&[
            "link", "add", x.iface, "netns", nx, "mtu", &mtu, "type", "veth", "peer", "name",
            y.iface, "netns", ny, "mtu", &mtu,
        ])?;
        for (end, ns) in [(x, nx), (y, ny)] {
            ip::run(&["-n", ns, "addr", "add", end.v4, "dev", end.iface])?;
            ip::run(&[
                "-n", ns, "-6", "addr", "add", end.v6, "dev", end.iface, "nodad",
            ])?;
            ip::run(&["-n", ns, "link", "set", end.iface, "up"])?;
        }
        Ok(())
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        for host in &self.hosts {
            // Nothing more can be done here if it fails; `lab down` finds it later.
            let _ = ip::run(&["netns", "del", &host.netns]);
        }
    }
}

impl Host {
    /// A host for a namespace that already exists (one `udp-lab lab up`
    /// left running): only [`Host::run`] and what uses it are meaningful;
    /// its addresses are unspecified.
    pub fn existing(netns: &str) -> Host {
        Host {
            role: "?",
            netns: netns.to_string(),
            v4: Ipv4Addr::UNSPECIFIED,
            v6: Ipv6Addr::UNSPECIFIED,
        }
    }

    /// Runs `f` on a thread that has entered this host's network
    /// namespace, and returns what it returned: sockets `f` makes belong to
    /// the host, `/proc/thread-self/net/...` and `/proc/sys/net/...` are the host's.
    pub fn run<T: Send>(&self, f: impl FnOnce() -> io::Result<T> + Send) -> io::Result<T> {
        std::thread::scope(|s| {
            s.spawn(|| {
                ip::enter(&self.netns)?;
                f()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// A UDP socket of this host bound to `addr` (port 0: the OS picks),
    /// with udp-lab's read timeout ([`crate::net::bind`]).
    pub fn bind(&self, addr: SocketAddr) -> io::Result<UdpSocket> {
        self.run(|| crate::net::bind(addr))
    }

    /// This host's IPv6 (`v6`) or IPv4 address, with port 0.
    pub fn any_port(&self, v6: bool) -> SocketAddr {
        let ip = if v6 {
            IpAddr::V6(self.v6)
        } else {
            IpAddr::V4(self.v4)
        };
        SocketAddr::new(ip, 0)
    }

    /// A counter of this host's `/proc/net/snmp` (`"Ip"`, `"FragCreates"`):
    /// read from `/proc/thread-self/net/snmp` on a thread inside the host,
    /// because `/proc/net` names the *main thread's* namespace.
    pub fn snmp(&self, group: &str, name: &str) -> io::Result<u64> {
        self.run(|| {
            snmp_counter(
                &std::fs::read_to_string("/proc/thread-self/net/snmp")?,
                group,
                name,
            )
        })
    }

    /// A counter of this host's `/proc/net/snmp6` (`"Ip6FragCreates"`).
    pub fn snmp6(&self, name: &str) -> io::Result<u64> {
        self.run(|| {
            let text = std::fs::read_to_string("/proc/thread-self/net/snmp6")?;
            text.lines()
                .find_map(|l| {
                    let mut w = l.split_whitespace();
                    (w.next()? == name).then(|| w.next()?.parse().ok())?
                })
                .ok_or_else(|| invalid(format!("/proc/net/snmp6 has no {name}")))
        })
    }

    /// Writes a per-namespace sysctl of this host: `key` is the path under
    /// `/proc/sys/` (`"net/ipv4/ipfrag_time"`).
    pub fn sysctl(&self, key: &str, value: &str) -> io::Result<()> {
        let path = format!("/proc/sys/{key}");
        self.run(|| {
            std::fs::write(&path, value).map_err(|e| {
                crate::net::context(e, format!("writing {value} to {path} in {}", self.netns))
            })
        })
    }
}

/// Whether the lab can be built here: `Err` says why not (not Linux, not
/// root, no `ip`, `ip netns add` refused). Probed once per process.
pub fn available() -> Result<(), String> {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    PROBE.get_or_init(probe).clone()
}

fn probe() -> Result<(), String> {
    if !cfg!(target_os = "linux") {
        return Err("network namespaces are a Linux feature".to_string());
    }
    // SAFETY: geteuid takes nothing and cannot fail.
    #[cfg(unix)]
    if unsafe { libc::geteuid() } != 0 {
        return Err("the namespaces lab needs root (`ip netns add` mounts under /run/netns); run as root, as CI does".to_string());
    }
    ip::version().map_err(|e| format!("`ip` (iproute2) does not run: {e}"))?;
    let lab = Lab::pair(1500).map_err(|e| format!("building two test hosts failed: {e}"))?;
    drop(lab);
    Ok(())
}

/// iproute2's version line (`ip -V`), for `udp-lab doctor`.
pub fn ip_version() -> io::Result<String> {
    ip::version()
}

/// For tests: `true` when the lab can be built here; otherwise reports the
/// test as skipped ([`crate::net::skip`]: a printed line, a failure under
/// `CI=true`) and returns `false`, so the test can `return`.
#[track_caller]
pub fn require() -> bool {
    match available() {
        Ok(()) => true,
        Err(why) => {
            crate::net::skip(format_args!("no test hosts here: {why}"));
            false
        }
    }
}

/// The `udplab-` namespaces that exist now, as `ip netns list` names them.
pub fn existing() -> io::Result<Vec<String>> {
    Ok(ip::netns_list()?
        .into_iter()
        .filter(|n| n.starts_with(PREFIX))
        .collect())
}

/// Deletes leftover `udplab-` namespaces: those of processes that are gone
/// (a test killed before its [`Lab`] was dropped), and with `including_up`
/// those of `udp-lab lab up`. Returns the names deleted.
pub fn remove_leftovers(including_up: bool) -> io::Result<Vec<String>> {
    let leftovers = existing()?
        .into_iter()
        .filter(|name| match owner_pid(name) {
            Some(pid) => !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            None => including_up && name.starts_with(UP_PREFIX),
        });
    delete_each(
        leftovers,
        |name| ip::run(&["netns", "del", name]).map(drop),
        |name| existing().is_ok_and(|now| now.iter().any(|n| n == name)),
    )
}

/// Deletes each of `names` with `delete`; returns those it deleted. A
/// namespace whose deletion fails because it no longer `exists` was
/// removed meanwhile by its owner (a test's lab ending between the listing
/// and now, or another `lab down`): that is what was wanted, so it is
/// skipped, not an error.
fn delete_each(
    names: impl IntoIterator<Item = String>,
    delete: impl Fn(&str) -> io::Result<()>,
    exists: impl Fn(&str) -> bool,
) -> io::Result<Vec<String>> {
    let mut removed = Vec::new();
    for name in names {
        match delete(&name) {
            Ok(()) => removed.push(name),
            Err(_) if !exists(&name) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

/// Whether namespace `name`'s file in /run/netns holds a namespace: it is
/// on nsfs, as `/proc/self/ns/net` is, not the plain file `ip netns add`
/// creates before it binds the namespace there (and `ip netns del` leaves
/// for a moment after unbinding it).
pub fn is_bound(name: &str) -> bool {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let device = |path: &str| std::fs::metadata(path).map(|m| m.dev());
        match (
            device(&format!("/run/netns/{name}")),
            device("/proc/self/ns/net"),
        ) {
            (Ok(file), Ok(nsfs)) => file == nsfs,
            _ => false,
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = name;
        false
    }
}

/// `ip -brief addr` inside namespace `name`, with each interface's MTU:
/// one line per interface (name, state, MTU, addresses).
pub fn describe(name: &str) -> io::Result<String> {
    let links = ip::run(&["-n", name, "-o", "link"])?;
    let addrs = ip::run(&["-n", name, "-brief", "addr"])?;
    let mtu_of = |iface: &str| {
        links.lines().find_map(|l| {
            let mut words = l.split_whitespace();
            let dev = words.nth(1)?.trim_end_matches(':');
            let dev = dev.split('@').next()?;
            (dev == iface).then(|| {
                let w: Vec<&str> = l.split_whitespace().collect();
                w.iter()
                    .position(|x| *x == "mtu")
                    .and_then(|i| w.get(i + 1))
                    .map(|m| m.to_string())
            })?
        })
    };
    Ok(addrs
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let iface = words.next()?.split('@').next()?.to_string();
            let state = words.next()?;
            let rest: Vec<&str> = words.collect();
            let mtu = mtu_of(&iface).unwrap_or_else(|| "?".to_string());
            Some(format!(
                "{iface:<6} {state:<7} mtu {mtu:<6} {}\n",
                rest.join(" ")
            ))
        })
        .collect())
}

/// The process id in `udplab-<pid>-<n>-<role>`, if the name has one.
pub fn owner_pid(name: &str) -> Option<u32> {
    name.strip_prefix(PREFIX)?.split('-').next()?.parse().ok()
}

/// `udplab-<pid>-<n>-`: unique to this process and to this lab.
fn unique_prefix() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{PREFIX}{}-{}-",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

fn pair_plan(mtu: u32) -> Plan {
    Plan {
        roles: &["a", "b"],
        links: vec![Link {
            mtu,
            ends: [
                end("a", "eth0", "192.0.2.1/24", "2001:db8:1::1/64"),
                end("b", "eth0", "192.0.2.2/24", "2001:db8:1::2/64"),
            ],
        }],
        routes: &[],
    }
}

fn routed_plan(first_mtu: u32, second_mtu: u32) -> Plan {
    Plan {
        roles: &["a", "r", "b"],
        links: vec![
            Link {
                mtu: first_mtu,
                ends: [
                    end("a", "eth0", "192.0.2.1/24", "2001:db8:1::1/64"),
                    end("r", "eth0", "192.0.2.254/24", "2001:db8:1::fe/64"),
                ],
            },
            Link {
                mtu: second_mtu,
                ends: [
                    end("r", "eth1", "198.51.100.254/24", "2001:db8:2::fe/64"),
                    end("b", "eth0", "198.51.100.2/24", "2001:db8:2::2/64"),
                ],
            },
        ],
        routes: &[
            ("a", "192.0.2.254", "2001:db8:1::fe"),
            ("b", "198.51.100.254", "2001:db8:2::fe"),
        ],
    }
}

fn end(role: &'static str, iface: &'static str, v4: &'static str, v6: &'static str) -> End {
    End {
        role,
        iface,
        v4,
        v6,
    }
}

/// The addresses of `role`'s first interface in `plan`.
fn first_addresses(plan: &Plan, role: &str) -> (Ipv4Addr, Ipv6Addr) {
    let end = plan
        .links
        .iter()
        .flat_map(|l| &l.ends)
        .find(|e| e.role == role)
        .expect("every role of a plan has a link");
    let ip = |cidr: &str| cidr.split('/').next().unwrap_or(cidr).to_string();
    (
        ip(end.v4).parse().expect("a plan's IPv4 addresses parse"),
        ip(end.v6).parse().expect("a plan's IPv6 addresses parse"),
    )
}

/// Finds `name` in `/proc/net/snmp`'s two `group:` lines (names, then values).
fn snmp_counter(snmp: &str, group: &str, name: &str) -> io::Result<u64> {
    let prefix = format!("{group}:");
    let mut lines = snmp
        .lines()
        .filter(|l| l.split_whitespace().next() == Some(prefix.as_str()));
    let found = (|| {
        let (names, values) = (lines.next()?, lines.next()?);
        let column = names.split_whitespace().position(|n| n == name)?;
        values.split_whitespace().nth(column)?.parse().ok()
    })();
    found.ok_or_else(|| invalid(format!("/proc/net/snmp has no {group}: {name}")))
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_namespace_that_vanishes_before_its_deletion_is_skipped_and_a_real_failure_is_not() {
        let names = || ["udplab-1-0-a", "udplab-2-0-a", "udplab-3-0-a"].map(String::from);
        let vanished = "udplab-2-0-a";
        let fails_for_the_vanished = |name: &str| {
            if name == vanished {
                Err(io::Error::other(
                    "Cannot remove namespace file: No such file",
                ))
            } else {
                Ok(())
            }
        };
        let removed = delete_each(names(), fails_for_the_vanished, |name| name != vanished);
        assert_eq!(
            removed.ok(),
            Some(vec!["udplab-1-0-a".to_string(), "udplab-3-0-a".to_string()]),
            "a namespace gone between the listing and its deletion (its test ended) is skipped; \
             the others are still removed and listed"
        );
        let still_there = delete_each(names(), fails_for_the_vanished, |_| true);
        assert!(
            still_there.is_err(),
            "a deletion that fails while the namespace is still there is an error, reported"
        );
    }

    #[test]
    fn a_namespace_name_carries_the_pid_of_the_process_that_made_it() {
        assert_eq!(owner_pid("udplab-4242-3-a"), Some(4242));
        assert_eq!(owner_pid("udplab-up-a"), None);
        assert_eq!(owner_pid("other-4242-3-a"), None);
        assert!(unique_prefix().starts_with(&format!("udplab-{}-", std::process::id())));
    }

    #[test]
    fn the_ip_line_of_snmp_gives_the_named_column() {
        let text = "Ip: Forwarding ReasmFails FragCreates\nIp: 1 3 2\nIcmp: InMsgs\nIcmp: 9\n";
        assert_eq!(snmp_counter(text, "Ip", "FragCreates").ok(), Some(2));
        assert!(snmp_counter(text, "Ip", "Nothing").is_err());
    }
}
