//! The lab's two ways into the kernel's network configuration: `ip`
//! (iproute2) for namespaces, links, addresses and routes, and `setns` to
//! put the calling thread into a namespace.

use std::io;
use std::process::Command;

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
