//! Everything of `udp-lab doctor` that differs per OS, chosen here with
//! `#[cfg]` (or `cfg!`) and nowhere else: the kernel's name and release
//! (`uname` on Unix, `ver` on Windows); the `/proc` files, buffer ceilings
//! (`rmem_max`, `wmem_max`), user+net namespaces, UDP GSO and GRO that only
//! Linux has; `SO_REUSEPORT`, which only Unix has. A check that cannot exist
//! on this OS reports `n/a`.

use udp_lab::net::Family;
use udp_lab::tune;

use super::checks::{mib, run_within, version_of};
use super::{Check, Status};

/// Linux's `rmem_max` or `wmem_max`, with what the default was and is.
pub fn buffer_ceiling(
    (name, label): (&'static str, &'static str),
    value: std::io::Result<usize>,
) -> Check {
    let (status, detail) = match value {
        Ok(bytes) if name == "rmem_max" => (
            Status::Ok,
            format!(
                "{bytes} B ({}); the default is 4 MiB since Linux 6.18, 212992 B before",
                mib(bytes)
            ),
        ),
        Ok(bytes) => (Status::Ok, format!("{bytes} B ({})", mib(bytes))),
        Err(e) if cfg!(target_os = "linux") => (Status::Missing, e.to_string()),
        Err(_) => (
            Status::NotOnThisOs,
            "a Linux sysctl (macOS: kern.ipc.maxsockbuf)".to_string(),
        ),
    };
    Check {
        name,
        label,
        status,
        detail,
        needed: false,
        used_by: "the ceiling of SO_RCVBUF / SO_SNDBUF (ch08)",
    }
}

/// Two sockets with `SO_REUSEPORT` bound to one port (Unix only).
pub fn reuse_port() -> Check {
    let (status, detail) = if cfg!(unix) {
        let tuning = tune::Tuning {
            reuse_port: true,
            ..tune::Tuning::default()
        };
        let both = tune::bind_tuned(Family::V4.any_port(), tuning).and_then(|first| {
            let addr = first.local_addr()?;
            tune::bind_tuned(addr, tuning).map(|_second| addr)
        });
        match both {
            Ok(addr) => (Status::Ok, format!("two sockets bound {addr}")),
            Err(e) => (Status::Missing, e.to_string()),
        }
    } else {
        (
            Status::NotOnThisOs,
            "Windows has no SO_REUSEPORT".to_string(),
        )
    };
    Check {
        name: "so_reuseport",
        label: "SO_REUSEPORT",
        status,
        detail,
        needed: false,
        used_by: "the reuseport server model (ch13)",
    }
}

/// The kernel's name and release, as `uname -sr` prints them.
#[cfg(unix)]
pub fn kernel() -> String {
    match nix::sys::utsname::uname() {
        Ok(uts) => format!(
            "{} {}",
            uts.sysname().to_string_lossy(),
            uts.release().to_string_lossy()
        ),
        Err(e) => format!("unknown (uname failed: {e})"),
    }
}

/// Windows' name and version, as `ver` prints them.
#[cfg(windows)]
pub fn kernel() -> String {
    version_of("cmd", &["/C", "ver"]).unwrap_or_else(|| "Windows (ver did not run)".to_string())
}

#[cfg(not(any(unix, windows)))]
pub fn kernel() -> String {
    format!("unknown ({})", std::env::consts::OS)
}

/// Whether the Linux file `path` can be read, as the check `name`.
pub fn proc_file((name, path): (&'static str, &'static str), used_by: &'static str) -> Check {
    let (status, detail) = if cfg!(target_os = "linux") {
        match std::fs::read_to_string(path) {
            Ok(_) => (Status::Ok, "readable".to_string()),
            Err(e) => (Status::Missing, format!("cannot read {path}: {e}")),
        }
    } else {
        (Status::NotOnThisOs, "Linux only".to_string())
    };
    Check {
        name,
        label: path,
        status,
        detail,
        needed: false,
        used_by,
    }
}

/// Whether an unprivileged user can make a user and network namespace:
/// `unshare -rn true` (then `tc netem` can shape its own loopback).
pub fn namespaces() -> Check {
    let (status, detail) = if cfg!(target_os = "linux") {
        let who = if is_root() {
            "as root (a normal user may still be refused)"
        } else {
            "as a normal user"
        };
        match run_within(
            std::process::Command::new("unshare").args(["-rn", "true"]),
            std::time::Duration::from_secs(20),
        ) {
            Some(out) if out.status.success() => {
                (Status::Ok, format!("`unshare -rn true` works {who}"))
            }
            Some(out) => (
                Status::Missing,
                format!(
                    "`unshare -rn true` failed {who}: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            ),
            None => (
                Status::Missing,
                "`unshare` did not run (util-linux not installed?)".to_string(),
            ),
        }
    } else {
        (Status::NotOnThisOs, "Linux only".to_string())
    };
    Check {
        name: "user_net_namespaces",
        label: "user+net namespaces",
        status,
        detail,
        needed: false,
        used_by: "tc netem on a private loopback without root (ch11's notes)",
    }
}

/// Whether this process can enter a private network namespace as chapter
/// 15's forged-source scenario does ([`udp_lab::lab::netns::probe`]: a
/// forked child tries `unshare` and brings its `lo` up).
pub fn private_netns() -> Check {
    let (status, detail) = if cfg!(target_os = "linux") {
        match udp_lab::lab::netns::probe() {
            Ok(()) => (
                Status::Ok,
                format!(
                    "a private network namespace with its own lo works here ({})",
                    if is_root() {
                        "as root"
                    } else {
                        "as a normal user, inside a user namespace"
                    }
                ),
            ),
            Err(why) => (Status::Missing, why),
        }
    } else {
        (Status::NotOnThisOs, "Linux only".to_string())
    };
    Check {
        name: "private_netns",
        label: "private network namespaces",
        status,
        detail,
        needed: false,
        used_by: "ch15's forged-source reflection (raw socket, inside the namespace)",
    }
}

/// Whether this process runs as root (`id -u` prints 0).
fn is_root() -> bool {
    version_of("id", &["-u"]).is_some_and(|uid| uid == "0")
}

/// `UDP_SEGMENT` (GSO, Linux 4.18): one send carries many datagrams.
pub fn gso() -> Check {
    offload(
        "udp_gso",
        "UDP GSO (UDP_SEGMENT)",
        "setsockopt(IPPROTO_UDP, UDP_SEGMENT=103, 1200)",
        set_gso,
    )
}

/// `UDP_GRO` (Linux 5.0): one receive returns many datagrams.
pub fn gro() -> Check {
    offload(
        "udp_gro",
        "UDP GRO (UDP_GRO)",
        "setsockopt(IPPROTO_UDP, UDP_GRO=104, 1)",
        set_gro,
    )
}

fn offload(
    name: &'static str,
    label: &'static str,
    call: &str,
    set: fn(&std::net::UdpSocket) -> std::io::Result<()>,
) -> Check {
    let (status, detail) = if cfg!(target_os = "linux") {
        match udp_lab::net::bind_loopback(udp_lab::net::Family::V4).and_then(|s| set(&s)) {
            Ok(()) => (Status::Ok, format!("{call} accepted")),
            Err(e) => (Status::Missing, format!("{call} refused: {e}")),
        }
    } else {
        (Status::NotOnThisOs, "Linux only".to_string())
    };
    Check {
        name,
        label,
        status,
        detail,
        needed: false,
        used_by: "batching beyond recvmmsg, as quinn-udp does (ch19, bench --bulk)",
    }
}

/// The chapter's own probe: `UDP_SEGMENT` = 1,200 on a fresh socket.
fn set_gso(sock: &std::net::UdpSocket) -> std::io::Result<()> {
    udp_lab::lab::fast::set_gso_segment(sock, udp_lab::lab::fast::SEGMENT)
}

/// The chapter's own probe: `UDP_GRO` on on a fresh socket.
fn set_gro(sock: &std::net::UdpSocket) -> std::io::Result<()> {
    udp_lab::lab::fast::enable_gro(sock, true)
}
