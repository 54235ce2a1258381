//! Binding helpers: every socket udp-lab makes is bound to an address the OS
//! chooses (port 0) and has a read timeout, so no test hangs and no two tests
//! fight over a port. And how a test that cannot run on this machine says
//! so ([`require`], [`skip`]).
//!
//! # Platform-specific behavior
//! IPv6 loopback (`[::1]`) is missing on some machines (containers started
//! with IPv6 disabled, some CI runners). [`family_available`] probes it once
//! and tests skip IPv6 cases with a printed reason when it is absent.
//!
//! # A skipped case never looks like a pass
//! libtest has no "skipped" outcome: a test that returns early is reported
//! `ok`. So [`skip`] (and [`require`], which calls it) writes one line that
//! names the test and the reason **straight to the process's stderr**, which
//! libtest does not capture (it captures only the `print!` family), so
//! `cargo test` shows it right above the test's `ok`:
//!
//! ```text
//! skipped: ch02_empty_datagrams::empty_datagram_takes_one_receive_of_its_own::case_2_ipv6 is reported "ok" but proved nothing here: IPv6 loopback [::1] is not available on this machine (binding a UDP socket to it failed)
//! test empty_datagram_takes_one_receive_of_its_own::case_2_ipv6 ... ok
//! ```
//!
//! cargo-nextest captures each test's whole output, so there the line shows
//! only with a failure; `.config/nextest.toml` makes nextest print, once at
//! the end of the run, the list of the cases that skip on this machine
//! (from `udp-lab doctor`).
//!
//! Under `CI=true` a skip that CI could have run is a failure: [`skip`]
//! panics with the reason (CI is set up to have IPv6 and python3). A skip
//! for a reason CI shares, such as an OS without the feature, uses
//! [`skip_even_under_ci`].
//!
//! To see all this on a machine that has IPv6, set
//! `UDP_LAB_PRETEND_NO_IPV6=1` ([`PRETEND_NO_IPV6`]): [`family_available`]
//! then reports IPv6 absent, as on a machine without it.
//!
//! ```sh
//! UDP_LAB_PRETEND_NO_IPV6=1 cargo test --test ch02_empty_datagrams          # its IPv6 cases say they skip
//! UDP_LAB_PRETEND_NO_IPV6=1 CI=true cargo test --test ch02_empty_datagrams  # the same cases fail
//! UDP_LAB_PRETEND_NO_IPV6=1 cargo run -- doctor                             # which cases skip
//! ```

use std::ffi::OsStr;
use std::fmt;
use std::io::{self, Write};
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
    sock.set_read_timeout(Some(DEFAULT_TIMEOUT))
        .map_err(|e| context(e, format!("setting a read timeout on {addr}")))?;
    Ok(sock)
}

/// Binds a UDP socket to the loopback address of `family`, on a port the OS
/// chooses, with a read timeout of [`DEFAULT_TIMEOUT`].
pub fn bind_loopback(family: Family) -> io::Result<UdpSocket> {
    bind(family.any_port())
}

/// The environment variable that makes [`family_available`] report IPv6
/// loopback as absent when it is set to `1`: a test-only switch that shows
/// what a machine without IPv6 sees (see the [module docs](self)).
pub const PRETEND_NO_IPV6: &str = "UDP_LAB_PRETEND_NO_IPV6";

/// Whether [`PRETEND_NO_IPV6`] is set to `1` in this process's environment.
fn pretending_no_ipv6() -> bool {
    std::env::var_os(PRETEND_NO_IPV6).is_some_and(|v| v == "1")
}

/// Whether this machine can bind a UDP socket on the loopback of `family`.
/// IPv4 is assumed; IPv6 is probed once per process, and reported absent
/// whenever `UDP_LAB_PRETEND_NO_IPV6=1` ([`PRETEND_NO_IPV6`]) is set.
pub fn family_available(family: Family) -> bool {
    static IPV6: OnceLock<bool> = OnceLock::new();
    match family {
        Family::V4 => true,
        Family::V6 => {
            !pretending_no_ipv6()
                && *IPV6.get_or_init(|| UdpSocket::bind(Family::V6.any_port()).is_ok())
        }
    }
}

/// For tests: `true` when `family` can be used; otherwise reports the test
/// as skipped with [`skip`] (a line on stderr naming the test and why; a
/// panic under `CI=true`) and returns `false`, so the test can `return`.
///
/// ```
/// use udp_lab::net::{require, Family};
/// if !require(Family::V6) {
///     return; // stderr: "skipped: <test> ...: IPv6 loopback [::1] is not available ..."
/// }
/// ```
#[track_caller]
pub fn require(family: Family) -> bool {
    if family_available(family) {
        return true;
    }
    let why = if pretending_no_ipv6() {
        format!("{PRETEND_NO_IPV6}=1 pretends it is not")
    } else {
        "binding a UDP socket to it failed".to_string()
    };
    let loopback = match family.loopback() {
        IpAddr::V6(v6) => format!("[{v6}]"),
        v4 => v4.to_string(),
    };
    skip(format_args!(
        "{family} loopback {loopback} is not available on this machine ({why})"
    ));
    false
}

/// Whether this process runs under CI: the environment variable `CI` is set
/// to anything but empty, `0` or `false` (CI services set `CI=true`).
pub fn under_ci() -> bool {
    std::env::var("CI")
        .is_ok_and(|v| !matches!(v.to_ascii_lowercase().as_str(), "" | "0" | "false"))
}

/// For tests: reports that the running test is skipped, naming the test and
/// `why`, where the student sees it (see the [module docs](self)); the test
/// then returns early. For a reason CI does not share (a missing IPv6
/// loopback or python3): under `CI=true` this panics with `why` instead,
/// because CI could have run the test.
///
/// ```no_run
/// let python_found = false;
/// if !python_found {
///     udp_lab::net::skip("python3 is not installed, so the Python peers cannot run here");
///     return;
/// }
/// ```
#[track_caller]
pub fn skip(why: impl fmt::Display) {
    let test = current_test();
    assert!(
        !under_ci(),
        "{test} cannot run on this machine: {why}. Under CI a skipped case is a failure: \
         CI is set up to run every case (unset CI to let it skip)"
    );
    report_skip(&test, &why);
}

/// For tests: like [`skip`], for a reason CI shares (the OS has no such
/// feature, like `kill -TERM` on Windows; the material is not part of the
/// repository): reported the same way, and never a failure, even under CI.
#[track_caller]
pub fn skip_even_under_ci(why: impl fmt::Display) {
    report_skip(&current_test(), &why);
}

/// The test binary that holds the whole suite (`tests/suite.rs`): its test
/// names already begin with their file (`ch02_empty_datagrams::...`).
const WHOLE_SUITE: &str = "suite";

/// The running test as `binary::test_name` (libtest names each test's
/// thread after the test), or `"this test"` outside a test thread. In the
/// whole suite's binary the name alone says it (`file::test_name`), so it
/// reads the same whichever way the test was run.
fn current_test() -> String {
    let thread = std::thread::current();
    let test = match thread.name() {
        Some(name) if name != "main" => name,
        _ => "this test",
    };
    match std::env::current_exe()
        .ok()
        .as_deref()
        .and_then(|exe| exe.file_stem())
    {
        Some(binary) if without_cargo_hash(binary) != WHOLE_SUITE => {
            format!("{}::{test}", without_cargo_hash(binary))
        }
        _ => test.to_string(),
    }
}

/// `ch02_empty_datagrams-0123456789abcdef` → `ch02_empty_datagrams`: a test
/// binary's name without the hash cargo appends to it.
fn without_cargo_hash(binary: &OsStr) -> String {
    let binary = binary.to_string_lossy();
    match binary.rsplit_once('-') {
        Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            name.to_string()
        }
        _ => binary.into_owned(),
    }
}

/// Writes the skip line with one `write_all` straight to stderr: libtest
/// captures the `print!` and `eprint!` macros of a test, not this.
fn report_skip(test: &str, why: &dyn fmt::Display) {
    let line = format!("skipped: {test} is reported \"ok\" but proved nothing here: {why}\n");
    // If stderr itself is gone there is nowhere left to tell; the test still returns.
    let _ = io::stderr().lock().write_all(line.as_bytes());
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
/// Windows): one in 20000..=31999, chosen at random, for programs that
/// must be told a port, like the article's servers
/// (`python3 echo_server.py 127.0.0.1 PORT`).
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
    let last = last.unwrap_or_else(|| io::Error::other("no port tried"));
    Err(context(
        last,
        "finding a free UDP port in 20000..=31999 on 127.0.0.1 (20 random tries)",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_binary_loses_only_the_16_hex_digit_hash_cargo_appends_to_its_name() {
        for (binary, expected) in [
            (
                "ch02_empty_datagrams-0123456789abcdef",
                "ch02_empty_datagrams",
            ),
            ("cli-doctor-fedcba9876543210", "cli-doctor"),
            ("udp-lab", "udp-lab"),
            ("tool-0123456789abcdeg", "tool-0123456789abcdeg"),
            ("tool-0123456789abcde", "tool-0123456789abcde"),
        ] {
            assert_eq!(
                without_cargo_hash(OsStr::new(binary)),
                expected,
                "{binary}: only a '-' and exactly 16 hex digits are cargo's hash"
            );
        }
    }

    #[test]
    fn a_skip_outside_a_test_thread_names_this_test() {
        let named_main = std::thread::Builder::new()
            .name("main".to_string())
            .spawn(current_test)
            .expect("spawn a thread named main");
        let unnamed = std::thread::spawn(current_test);
        for (thread, got) in [("main", named_main), ("unnamed", unnamed)] {
            let got = got.join().expect("the thread ends");
            assert!(
                got.ends_with("::this test"),
                "expected a {thread} thread to be called 'this test' (it is no test's thread), got {got:?}"
            );
        }
        let here = current_test();
        assert!(
            here.ends_with("::tests::a_skip_outside_a_test_thread_names_this_test"),
            "expected libtest's thread name, the test's path, got {here:?}"
        );
    }
}
