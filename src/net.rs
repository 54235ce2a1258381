//! Binding helpers: every socket udp-lab makes is bound to an address the OS
//! chooses (port 0) and has a read timeout, so no test hangs and no two tests
//! fight over a port.
//!
//! # Platform-specific behavior
//! IPv6 loopback (`[::1]`) is missing on some machines (containers started
//! with IPv6 disabled, some CI runners). [`family_available`] probes it once
//! and tests skip IPv6 cases with a printed reason when it is absent.

use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::sync::OnceLock;
use std::time::Duration;

/// How long any udp-lab receive waits before it calls the wait a failure.
///
/// On loopback a reply takes microseconds; this is only reached when
/// something is really lost, so it is generous enough for a loaded machine.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a test waits to be sure that *nothing* arrives.
///
/// Used only where silence is the expected outcome (a reply that must not
/// come). A loopback datagram that was going to arrive arrives in far less.
pub const SILENCE: Duration = Duration::from_millis(300);

/// The IP version a socket uses. Tests run each property for both, as named
/// rstest cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4, loopback `127.0.0.1`.
    V4,
    /// IPv6, loopback `[::1]`.
    V6,
}

impl Family {
    /// Both families, IPv4 first.
    pub const ALL: [Family; 2] = [Family::V4, Family::V6];

    /// The loopback address of this family.
    pub fn loopback(self) -> IpAddr {
        match self {
            Family::V4 => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Family::V6 => IpAddr::V6(Ipv6Addr::LOCALHOST),
        }
    }

    /// The loopback address with port 0: "any free port, OS, you choose".
    pub fn any_port(self) -> SocketAddr {
        SocketAddr::new(self.loopback(), 0)
    }

    /// The largest UDP payload one datagram can carry in this family:
    /// 65535 (the IPv4 total length / IPv6 payload length field) minus the
    /// headers counted in it: IPv4 20 + UDP 8 = 65507, IPv6 UDP 8 = 65527.
    pub fn max_payload(self) -> usize {
        match self {
            Family::V4 => 65_507,
            Family::V6 => 65_527,
        }
    }

    /// The family of an address.
    pub fn of(addr: &SocketAddr) -> Family {
        if addr.is_ipv4() {
            Family::V4
        } else {
            Family::V6
        }
    }
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        })
    }
}

/// Adds what was being done to an I/O error, keeping its kind.
///
/// The raw OS error code is lost in the new error, so callers that need it
/// (for example to compare against `EMSGSIZE`) use the socket directly.
pub fn context(err: io::Error, doing: impl fmt::Display) -> io::Error {
    io::Error::new(err.kind(), format!("{doing}: {err}"))
}

/// Binds a UDP socket to `addr` and sets a read timeout of [`DEFAULT_TIMEOUT`].
///
/// ```
/// let sock = udp_lab::net::bind("127.0.0.1:0".parse().unwrap())?;
/// assert_ne!(sock.local_addr()?.port(), 0, "the OS picked a port");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
    let sock = UdpSocket::bind(addr).map_err(|e| context(e, format!("binding UDP to {addr}")))?;
    sock.set_read_timeout(Some(DEFAULT_TIMEOUT))?;
    Ok(sock)
}

/// Binds a UDP socket to the loopback address of `family`, on a port the OS
/// chooses, with a read timeout of [`DEFAULT_TIMEOUT`].
pub fn bind_loopback(family: Family) -> io::Result<UdpSocket> {
    bind(family.any_port())
}

/// Whether this machine can bind a UDP socket on the loopback of `family`.
/// IPv4 is assumed; IPv6 is probed once per process.
pub fn family_available(family: Family) -> bool {
    static IPV6: OnceLock<bool> = OnceLock::new();
    match family {
        Family::V4 => true,
        Family::V6 => *IPV6.get_or_init(|| UdpSocket::bind(Family::V6.any_port()).is_ok()),
    }
}

/// For tests: `true` when `family` can be used; otherwise prints why the
/// test is skipped and returns `false`, so the test can `return` early.
///
/// ```
/// use udp_lab::net::{require, Family};
/// if !require(Family::V6) {
///     return; // printed: "skipped: IPv6 loopback [::1] is not available ..."
/// }
/// ```
pub fn require(family: Family) -> bool {
    let ok = family_available(family);
    if !ok {
        println!(
            "skipped: {family} loopback {} is not available on this machine \
             (binding a UDP socket to it failed), so this {family} case proves nothing here",
            family.loopback()
        );
    }
    ok
}

/// Where to send to reach a server bound to `addr`: an unspecified bind
/// address (`0.0.0.0`, `[::]`) is reached through loopback.
pub fn reachable(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::new(Family::of(&addr).loopback(), addr.port())
    } else {
        addr
    }
}

/// A UDP socket from which `peer` is reached, on a port the OS chooses,
/// with a read timeout of [`DEFAULT_TIMEOUT`]: bound to the loopback of
/// `peer`'s family when `peer` is on loopback (so the replies come back
/// over loopback, as to the article's client), to every address of that
/// family otherwise (so the OS picks the route).
///
/// `udp-lab send` and `ping` make their client socket with it, and the
/// relay its socket toward the server.
///
/// ```
/// let sock = udp_lab::net::bind_toward("127.0.0.1:8080".parse().unwrap())?;
/// assert!(sock.local_addr()?.ip().is_loopback(), "a loopback peer, a loopback socket");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn bind_toward(peer: SocketAddr) -> io::Result<UdpSocket> {
    let family = Family::of(&peer);
    if peer.ip().is_loopback() {
        return bind_loopback(family);
    }
    let every_address = match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    bind(SocketAddr::new(every_address, 0))
}

/// A loopback address where nobody receives: what a datagram sent to a
/// server that is not running meets. See [`closed_port`].
#[derive(Debug)]
pub struct ClosedPort {
    /// Holds the port so that no other socket can take it meanwhile.
    _holder: UdpSocket,
    addr: SocketAddr,
}

impl ClosedPort {
    /// The address to send to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// A port on the loopback of `family` where nothing receives datagrams from
/// anyone, held for as long as the returned value lives.
///
/// A port bound and released at once could be handed to another socket of
/// another test before the datagram arrives. Instead, a socket keeps the port
/// but is *connected to itself*: a connected UDP socket accepts datagrams only
/// from its peer, so a datagram from anyone else finds no socket, exactly as
/// at a port nobody bound. Linux counts it in `Udp: NoPorts` and answers with
/// ICMP port unreachable, as for a closed port; Windows discards it.
///
/// ```
/// use udp_lab::net::{self, Family};
/// let nobody = net::closed_port(Family::V4)?;
/// let client = net::bind_loopback(Family::V4)?;
/// assert_eq!(client.send_to(b"hello", nobody.addr())?, 5, "sent into the void");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn closed_port(family: Family) -> io::Result<ClosedPort> {
    let holder = bind_loopback(family)?;
    let addr = holder.local_addr()?;
    holder
        .connect(addr)
        .map_err(|e| context(e, format!("connecting {addr} to itself")))?;
    Ok(ClosedPort {
        _holder: holder,
        addr,
    })
}

/// A UDP port on IPv4 loopback that is free right now and lies *below* the
/// OS's ephemeral range (which starts at 32768 on Linux, 49152 on macOS and
/// Windows), for programs that must be told a port, like the article's
/// servers (`python3 echo_server.py 127.0.0.1 PORT`).
///
/// A port taken with port 0 and released could be handed to another
/// program's port-0 socket before the child binds it; a port below the
/// ephemeral range never is. Another explicit bind may still win the race,
/// so callers retry when their child fails to bind.
pub fn free_port_below_ephemeral_range() -> io::Result<u16> {
    use std::hash::{BuildHasher, Hasher};
    let mut last = None;
    for _ in 0..20 {
        let random = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let port = 20_000 + (random % 12_000) as u16;
        match UdpSocket::bind((Ipv4Addr::LOCALHOST, port)) {
            Ok(_) => return Ok(port),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free port found")))
}
