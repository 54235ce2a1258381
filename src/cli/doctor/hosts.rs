//! The doctor's line for the test hosts of chapter 16: whether `ip`
//! (iproute2) runs and two namespaces joined by a veth link can be built
//! and removed here (`udp_lab::lab::hosts::available`, which tries it).

use udp_lab::lab::hosts;

use super::{Check, Status};

/// Two test hosts built and removed, as chapter 16 and `udp-lab lab` do.
pub(super) fn test_hosts() -> Check {
    let (status, detail) = match hosts::available() {
        Ok(()) => (
            Status::Ok,
            format!(
                "`ip netns add` and a veth link work here, as root ({})",
                hosts::ip_version().unwrap_or_default()
            ),
        ),
        Err(why) if cfg!(target_os = "linux") => (Status::Missing, why),
        Err(why) => (Status::NotOnThisOs, why),
    };
    Check {
        name: "test_hosts",
        label: "test hosts (namespaces + ip)",
        status,
        detail,
        needed: false,
        used_by: "ch16 (path MTU and fragmentation), ch17 (broadcast and multicast), ch18 (multihoming), udp-lab lab",
    }
}
