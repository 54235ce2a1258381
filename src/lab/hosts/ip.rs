//! The lab's two ways into the kernel's network configuration: `ip`
//! (iproute2) for namespaces, links, addresses and routes, and `setns` to
//! put the calling thread into a namespace.

use std::io;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a new link may take to become usable before building the lab fails.
const USABLE_WITHIN: Duration = Duration::from_secs(10);

/// The pause between two looks at a link that is not usable yet.
const LOOK_AGAIN_AFTER: Duration = Duration::from_millis(5);

/// The `ip` binary: in `/usr/sbin` or `/sbin`, which a normal user's
/// `PATH` may lack, else whatever `PATH` finds.
fn program() -> &'static str {
    ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap_or("ip")
}

/// Runs `ip ARGS`; an error carries the command and iproute2's own message.
pub(super) fn run(args: &[&str]) -> io::Result<String> {
    let out = Command::new(program())
        .args(args)
        .output()
        .map_err(|e| crate::net::context(e, "running `ip` (iproute2 installed?)"))?;
    if out.status.success() {
        return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
    }
    Err(io::Error::other(format!(
        "`ip {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    )))
}

/// `ip -V`: iproute2's version line.
pub(super) fn version() -> io::Result<String> {
    Ok(run(&["-V"])?.trim().to_string())
}

/// The names `ip netns list` prints (each line starts with the name).
pub(super) fn netns_list() -> io::Result<Vec<String>> {
    Ok(run(&["netns", "list"])?
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect())
}

/// Moves the calling thread into the named namespace `name`
/// (`/run/netns/NAME`, the file `ip netns add` bind-mounts). Only this
/// thread moves: `setns(CLONE_NEWNET)` is per thread.
pub(super) fn enter(name: &str) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let path = format!("/run/netns/{name}");
        let file = std::fs::File::open(&path)
            .map_err(|e| crate::net::context(e, format!("opening {path}")))?;
        // SAFETY: the fd is an open namespace file for the duration of the call.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(crate::net::context(
                io::Error::last_os_error(),
                format!("entering network namespace {name}"),
            ));
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        format!("cannot enter {name}: network namespaces are a Linux feature"),
    ))
}

/// Returns once `iface` in namespace `ns` can carry frames, or fails after
/// [`USABLE_WITHIN`] naming what `ip` still shows.
///
/// `ip link set up` can return before the link is usable: the kernel's
/// link watcher, a background worker, then marks the carrier change,
/// attaches the transmit queue (until then a placeholder queue drops every
/// frame: a unicast datagram survives, as ARP asks again, but a broadcast
/// or multicast datagram is sent once and lost) and tells the bridge to
/// forward on the port. Under load it can run well after the lab's last
/// `ip` command. No call blocks until it has run, so this looks again
/// every few milliseconds until it has (a bounded poll of the state itself,
/// not a guess at how long it takes), as the kernel's own network
/// selftests do (`setup_wait_dev` in tools/testing/selftests/net/forwarding/lib.sh).
pub(super) fn wait_until_usable(ns: &str, iface: &str) -> io::Result<()> {
    let until = Instant::now() + USABLE_WITHIN;
    loop {
        let shown = run(&["-n", ns, "-d", "link", "show", "dev", iface])?;
        if usable(&shown) {
            return Ok(());
        }
        if Instant::now() >= until {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{iface} in {ns} is still not usable after {} s; `ip -d link show` says: {}",
                    USABLE_WITHIN.as_secs(),
                    shown.split_whitespace().collect::<Vec<_>>().join(" ")
                ),
            ));
        }
        std::thread::sleep(LOOK_AGAIN_AFTER);
    }
}

/// Whether `ip -d link show` describes a link that can carry frames: its
/// operational state is `UP` (the link watcher sets it in the step that
/// attaches the transmit queue: `linkwatch_do_dev`, net/core/link_watch.c)
/// and, when it is a bridge's port, the bridge forwards on it.
fn usable(shown: &str) -> bool {
    let first = shown.lines().next().unwrap_or_default();
    let up = first.contains(" state UP ");
    let forwarding =
        !shown.contains("bridge_slave state ") || shown.contains("bridge_slave state forwarding");
    up && forwarding
}

#[cfg(test)]
mod tests {
    use super::usable;

    const DOWN: &str = "2: eth0@if3: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN mode DEFAULT group default qlen 1000
    link/ether 9a:c9:60:52:d1:a8 brd ff:ff:ff:ff:ff:ff link-netns s
    veth addrgenmode eui64";
    const UP: &str = "2: eth0@if3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000
    link/ether 9a:c9:60:52:d1:a8 brd ff:ff:ff:ff:ff:ff link-netns s
    veth addrgenmode eui64";
    const PORT_DISABLED: &str = "3: port-a@if2: <NO-CARRIER,BROADCAST,MULTICAST,UP> mtu 1500 qdisc noqueue master br0 state DOWN mode DEFAULT group default qlen 1000
    link/ether 2a:19:a6:68:5d:04 brd ff:ff:ff:ff:ff:ff link-netns a
    veth
    bridge_slave state disabled priority 32 cost 2 hairpin off";
    const PORT_FORWARDING: &str = "3: port-a@if2: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue master br0 state UP mode DEFAULT group default qlen 1000
    link/ether 2a:19:a6:68:5d:04 brd ff:ff:ff:ff:ff:ff link-netns a
    veth
    bridge_slave state forwarding priority 32 cost 2 hairpin off";

    #[test]
    fn a_link_is_usable_only_once_it_is_up_and_a_bridge_forwards_on_it() {
        let learning = PORT_FORWARDING.replace("state forwarding", "state learning");
        let cases = [
            ("a veth whose peer is down", DOWN, false),
            ("a veth that is up", UP, true),
            ("a bridge port without carrier", PORT_DISABLED, false),
            ("a forwarding bridge port", PORT_FORWARDING, true),
            ("a bridge port still learning", learning.as_str(), false),
        ];
        for (what, shown, expected) in cases {
            assert_eq!(
                usable(shown),
                expected,
                "{what}: `ip -d link show` says {shown:?}; a frame sent before the link is up \
                 and forwarding is dropped without an error"
            );
        }
    }
}
