//! A private loopback with a small MTU, for the one GSO limit loopback's
//! 64 KiB MTU hides: a segment larger than the path allows. The work runs
//! on a thread of its own that first enters a new network namespace
//! (`unshare(CLONE_NEWNET)`: a namespace belongs to a thread on Linux, so the
//! rest of the process keeps the real loopback), then sets that namespace's
//! own `lo` to the MTU asked for with `ip link set lo mtu N up`. Nothing
//! leaves the namespace; it vanishes with the thread.
//!
//! # Platform-specific behaviour
//! Linux only, and only with `CAP_SYS_ADMIN` (root) and `ip` (iproute2);
//! otherwise `Err` with `ErrorKind::PermissionDenied` or `NotFound` or
//! `Unsupported`, for the caller to skip on.

use std::io;
use std::process::Command;
use std::thread;

/// Runs `work` on a thread in a new network namespace whose loopback is up
/// with MTU `mtu`; its result, or why the namespace could not be made.
pub fn with_loopback_mtu<T: Send>(mtu: u32, work: impl FnOnce() -> T + Send) -> io::Result<T> {
    thread::scope(|scope| {
        scope
            .spawn(|| {
                enter_new_net_namespace()?;
                let status = Command::new("ip")
                    .args(["link", "set", "lo", "mtu", &mtu.to_string(), "up"])
                    .status()?;
                if !status.success() {
                    return Err(io::Error::other(format!(
                        "`ip link set lo mtu {mtu} up` in the new namespace failed: {status}"
                    )));
                }
                Ok(work())
            })
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the namespace's thread panicked")))
    })
}

#[cfg(target_os = "linux")]
fn enter_new_net_namespace() -> io::Result<()> {
    // SAFETY: unshare takes flags only; CLONE_NEWNET moves this thread
    // alone into a fresh network namespace (allowed in a threaded process).
    let rc = unsafe { libc::unshare(libc::CLONE_NEWNET) };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(not(target_os = "linux"))]
fn enter_new_net_namespace() -> io::Result<()> {
    Err(super::unsupported())
}
