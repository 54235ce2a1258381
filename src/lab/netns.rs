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
//!   child (single-threaded by construction), which tries and exits. The
//!   child of a multithreaded process may make only async-signal-safe calls
//!   (POSIX; glibc tolerates more, but nothing promises it), so the child's
//!   path allocates nothing: the id maps are formatted before the fork.
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
        linux::explained(linux::unshare_net(&linux::IdMaps::of_this_process()))?;
        linux::explained(linux::loopback_up())
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
    use std::ffi::CStr;
    use std::io;

    /// What a step that failed was doing, with the error it got. Building it
    /// allocates nothing (an OS error is a number), so the probe's forked
    /// child can use the same steps as [`super::enter_private`].
    type Step = Result<(), (io::Error, &'static str)>;

    /// The user namespace's id maps, `0 <uid> 1` and `0 <gid> 1`, formatted
    /// before any fork: the child of a multithreaded process may call only
    /// async-signal-safe functions (POSIX), and `malloc` is not one.
    pub(super) struct IdMaps {
        uid: u32,
        uid_map: String,
        gid_map: String,
    }

    impl IdMaps {
        pub(super) fn of_this_process() -> IdMaps {
            // SAFETY: plain system calls with no pointers.
            let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
            IdMaps {
                uid,
                uid_map: format!("0 {uid} 1"),
                gid_map: format!("0 {gid} 1"),
            }
        }
    }

    /// Turns a failed step into an error that says what it was doing.
    pub(super) fn explained(step: Step) -> io::Result<()> {
        step.map_err(|(e, what)| crate::net::context(e, what))
    }

    /// `unshare` as root (net only), else user + net with the id maps.
    /// Allocation-free: only system calls on memory prepared before.
    pub(super) fn unshare_net(maps: &IdMaps) -> Step {
        if maps.uid == 0 && unshare(libc::CLONE_NEWNET).is_ok() {
            return Ok(());
        }
        unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNET).map_err(|e| {
            (e, "unshare(CLONE_NEWUSER | CLONE_NEWNET) (EINVAL: the process has threads; EPERM: user namespaces are off)")
        })?;
        // Without "deny", an unprivileged process may not write gid_map.
        write_proc(c"/proc/self/setgroups", b"deny")?;
        write_proc(c"/proc/self/uid_map", maps.uid_map.as_bytes())?;
        write_proc(c"/proc/self/gid_map", maps.gid_map.as_bytes())
    }

    fn unshare(flags: libc::c_int) -> io::Result<()> {
        // SAFETY: unshare takes flags only.
        match unsafe { libc::unshare(flags) } {
            0 => Ok(()),
            _ => Err(io::Error::last_os_error()),
        }
    }

    /// Writes `text` to a /proc file in one `write`, as the kernel wants
    /// for the id maps; open, write and close are async-signal-safe.
    fn write_proc(path: &'static CStr, text: &[u8]) -> Step {
        let what = "writing the user namespace's /proc/self/{setgroups,uid_map,gid_map}";
        // SAFETY: path is a NUL-terminated string that outlives the call.
        let fd = unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
        if fd < 0 {
            return Err((io::Error::last_os_error(), what));
        }
        // SAFETY: fd is ours and open; text is valid for text.len() bytes.
        let written = unsafe { libc::write(fd, text.as_ptr().cast(), text.len()) };
        let error = io::Error::last_os_error();
        // SAFETY: closes the descriptor opened above, once.
        unsafe { libc::close(fd) };
        match usize::try_from(written) {
            Ok(n) if n == text.len() => Ok(()),
            Ok(_) => Err((io::ErrorKind::WriteZero.into(), what)), // a short write
            Err(_) => Err((error, what)),
        }
    }

    /// Sets `IFF_UP` on `lo` with `SIOCGIFFLAGS`/`SIOCSIFFLAGS`, on a
    /// socket made with `socket(2)` itself (std's bind parses an address
    /// into a `Vec`: an allocation). Allocation-free.
    pub(super) fn loopback_up() -> Step {
        // SAFETY: plain system call with no pointers.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
        if fd < 0 {
            return Err((io::Error::last_os_error(), "a socket for the ioctl"));
        }
        let done = set_up(fd);
        // SAFETY: closes the socket opened above, once.
        unsafe { libc::close(fd) };
        done
    }

    fn set_up(fd: libc::c_int) -> Step {
        // SAFETY: ifreq is plain data; zeroed is a valid value.
        let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
        for (dst, src) in req.ifr_name.iter_mut().zip(b"lo\0") {
            *dst = *src as libc::c_char;
        }
        // SAFETY: fd is an open socket; req names lo and lives across both calls.
        unsafe {
            if libc::ioctl(fd, libc::SIOCGIFFLAGS as _, &mut req) != 0 {
                return Err((io::Error::last_os_error(), "reading lo's flags"));
            }
            req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
            if libc::ioctl(fd, libc::SIOCSIFFLAGS as _, &req) != 0 {
                return Err((io::Error::last_os_error(), "bringing lo up"));
            }
        }
        Ok(())
    }

    /// Forks; the child (single-threaded) enters a namespace and exits 0,
    /// or exits with the error number. The parent reads the status.
    pub(super) fn probe_in_child() -> Result<(), String> {
        let maps = IdMaps::of_this_process(); // allocated here, before the fork
                                              // SAFETY: the caller may have threads, so after fork the child may
                                              // call only async-signal-safe functions (POSIX): it calls unshare,
                                              // open, write, close, socket, ioctl and _exit on memory prepared
                                              // before the fork, and allocates nothing, takes no lock.
        let pid = unsafe { libc::fork() };
        if pid < 0 {
            return Err(format!("fork failed: {}", io::Error::last_os_error()));
        }
        if pid == 0 {
            let code = match unshare_net(&maps).and_then(|()| loopback_up()) {
                Ok(()) => 0,
                Err((e, _)) => e.raw_os_error().unwrap_or(255).clamp(1, 255),
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
