//! Private network namespaces (Linux): a network stack of one's own, with
//! its own `lo`, its own ports and its own counters, where traffic cannot
//! leave the machine. Chapter 15 runs its forged-source scenario in one;
//! a later chapter can build veth topologies on the same two calls.
//!
//! # The rules, measured on Linux 6.18
//! - As root, `unshare(CLONE_NEWNET)` gives the calling *thread* a new
//!   network namespace. Without root, a user namespace comes first
//!   (`CLONE_NEWUSER | CLONE_NEWNET`, then `uid_map`/`gid_map` so that the
//!   caller is "root" inside), which gives it `CAP_NET_ADMIN` and
//!   `CAP_NET_RAW` over the new network namespace only.
//! - `unshare(CLONE_NEWUSER)` fails with `EINVAL` in a multithreaded
//!   process, and a test binary always is one. So [`enter_private`] must be
//!   called by a fresh, single-threaded process: the chapter's test runs
//!   `udp-lab` as a child (a hidden subcommand) that enters the namespace
//!   first and starts its threads after. Threads started afterwards inherit
//!   the namespace.
//! - A new namespace's `lo` is down: [`enter_private`] brings it up with
//!   the `SIOCSIFFLAGS` ioctl (no `ip` command needed).
//! - [`probe`] says whether this works here, from any process: it forks a
//!   child (single-threaded by construction), which tries and exits.
//!
//! # For a namespaces lab
//! After [`enter_private`], the process may create veth pairs and move
//! their ends into namespaces of children it starts the same way
//! (netlink, or `ip link add va type veth peer name vb` where iproute2 is
//! installed), and address them from the documentation ranges
//! (192.0.2.0/24, 198.51.100.0/24, 2001:db8::/32).

use std::io;

/// Moves the calling process (which must still be single-threaded) into a
/// new network namespace of its own, inside a new user namespace unless it
/// is root, and brings its `lo` up.
pub fn enter_private() -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        linux::unshare_net()?;
        linux::loopback_up()
    }
    #[cfg(not(target_os = "linux"))]
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "network namespaces are a Linux feature",
    ))
}

/// Whether [`enter_private`] can work on this machine: `Err` says why not.
/// Safe to call from a multithreaded process (it tries in a forked child).
pub fn probe() -> Result<(), String> {
    #[cfg(target_os = "linux")]
    {
        linux::probe_in_child()
    }
    #[cfg(not(target_os = "linux"))]
    Err("network namespaces are a Linux feature".to_string())
}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;

    /// `unshare` as root (net only), else user + net with the id maps.
    pub(super) fn unshare_net() -> io::Result<()> {
        // SAFETY: plain system calls with no pointers.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        if uid == 0 && unshare(libc::CLONE_NEWNET).is_ok() {
            return Ok(());
        }
        unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET).map_err(|e| {
            crate::net::context(e, "unshare(CLONE_NEWUSER | CLONE_NEWNET) (EINVAL: the process has threads; EPERM: user namespaces are off)")
        })?;
        // Without "deny", an unprivileged process may not write gid_map.
        std::fs::write("/proc/self/setgroups", "deny")?;
        std::fs::write("/proc/self/uid_map", format!("0 {uid} 1"))?;
        std::fs::write("/proc/self/gid_map", format!("0 {gid} 1"))?;
        Ok(())
    }

    fn unshare(flags: libc::c_int) -> io::Result<()> {
        // SAFETY: unshare takes flags only.
        match unsafe { libc::unshare(flags) } {
            0 => Ok(()),
            _ => Err(io::Error::last_os_error()),
        }
    }

    /// Sets `IFF_UP` on `lo` with `SIOCGIFFLAGS`/`SIOCSIFFLAGS`.
    pub(super) fn loopback_up() -> io::Result<()> {
        let sock = std::net::UdpSocket::bind("0.0.0.0:0")?;
        let fd = std::os::fd::AsRawFd::as_raw_fd(&sock);
        // SAFETY: ifreq is plain data; zeroed is a valid value.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        // SAFETY: fd is an open socket; req names lo and lives across both calls.
        unsafe {
            if libc::ioctl(fd, libc::SIOCGIFFLAGS as _, &mut req) != 0 {
                return Err(crate::net::context(
                    io::Error::last_os_error(),
                    "reading lo's flags",
                ));
            }
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            if libc::ioctl(fd, libc::SIOCSIFFLAGS as _, &req) != 0 {
                return Err(crate::net::context(
                    io::Error::last_os_error(),
                    "bringing lo up",
                ));
            }
        }
        Ok(())
    }

    /// Forks; the child (single-threaded) enters a namespace and exits 0,
    /// or exits with the error number. The parent reads the status.
    pub(super) fn probe_in_child() -> Result<(), String> {
        // SAFETY: the child calls only unshare, file writes and ioctl, then _exit.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("fork failed: {}", io::Error::last_os_error()));
        }
        if pid == 0 {
            let code = match unshare_net().and_then(|()| loopback_up()) {
                Ok(()) => 0,
                Err(e) => e.raw_os_error().unwrap_or(255).clamp(1, 255),
            };
            // SAFETY: ends the child at once, running no destructors of the parent's state.
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waits for our own child.
        if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
            return Err(format!(
                "waiting for the probe: {}",
                io::Error::last_os_error()
            ));
        }
        match (libc::WIFEXITED(status), libc::WEXITSTATUS(status)) {
            (true, 0) => Ok(()),
            (true, errno) => Err(format!(
                "cannot enter a private network namespace: {} (user namespaces may be disabled: sysctl kernel.unprivileged_userns_clone, user.max_user_namespaces)",
                io::Error::from_raw_os_error(errno)
            )),
            _ => Err("the namespace probe did not exit normally".to_string()),
        }
    }
}
