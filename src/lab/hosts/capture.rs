//! Capturing a test host's frames (Linux): an `AF_PACKET` socket made
//! inside the host's namespace and bound to one interface sees every
//! Ethernet frame that interface sends or receives, as tcpdump does; the
//! frames are written as a pcap file (the `pcap-file` crate) that tcpdump
//! and Wireshark read. Every capture is bounded in count and in time.

use std::io;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::Host;

/// What to capture: every frame, or IPv4 only (ethertype 0x0800: no ARP,
/// no IPv6 neighbour discovery), which makes a count exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frames {
    /// Every frame (`ETH_P_ALL`).
    All,
    /// IPv4 frames only (`ETH_P_IP`).
    Ipv4,
}

/// One captured frame: when it was seen (since the Unix epoch) and its bytes,
/// from the Ethernet header on.
#[derive(Clone, Debug)]
pub struct Frame {
    pub at: Duration,
    pub bytes: Vec<u8>,
}

/// An open capture: frames are queued from [`Capture::start`] on, so a
/// test starts it, sends, then [`Capture::take`]s.
pub struct Capture {
    sock: socket2::Socket,
}

impl Capture {
    /// Starts capturing on `iface` of `host`.
    pub fn start(host: &Host, iface: &str, frames: Frames) -> io::Result<Capture> {
        let sock = host.run(|| open(iface, frames))?;
        Ok(Capture { sock })
    }

    /// The frames seen so far and until `count` have been seen or `within`
    /// has passed, whichever comes first.
    pub fn take(&self, count: usize, within: Duration) -> io::Result<Vec<Frame>> {
        let until = Instant::now() + within;
        let mut frames = Vec::new();
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 65_536];
        while frames.len() < count {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            self.sock.set_read_timeout(Some(left))?;
            let n = match self.sock.recv(&mut buf) {
                Ok(n) => n,
                Err(e) if crate::recv::is_timeout(&e) => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue, // a signal: wait again
                Err(e) => return Err(crate::net::context(e, "reading a captured frame")),
            };
            // SAFETY: recv initialised the first n bytes.
            let bytes = buf[..n]
                .iter()
                .map(|b| unsafe { b.assume_init() })
                .collect();
            let at = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            frames.push(Frame { at, bytes });
        }
        Ok(frames)
    }
}

/// Writes `frames` to `path` as a pcap file (Ethernet link type).
pub fn write_pcap(path: &Path, frames: &[Frame]) -> io::Result<()> {
    use pcap_file::pcap::{PcapPacket, PcapWriter};
    let doing = |what: &str| format!("{what} {}", path.display());
    let file =
        std::fs::File::create(path).map_err(|e| crate::net::context(e, doing("creating")))?;
    let mut writer = PcapWriter::new(io::BufWriter::new(file))
        .map_err(|e| io::Error::other(format!("{}: {e}", doing("writing"))))?;
    for frame in frames {
        let packet = PcapPacket::new(frame.at, frame.bytes.len() as u32, &frame.bytes);
        writer
            .write_packet(&packet)
            .map_err(|e| io::Error::other(format!("{}: {e}", doing("writing"))))?;
    }
    use std::io::Write;
    writer.into_writer().flush()
}

/// Reads a pcap file back: each frame's bytes.
pub fn read_pcap(path: &Path) -> io::Result<Vec<Vec<u8>>> {
    use pcap_file::pcap::PcapReader;
    let file = std::fs::File::open(path)
        .map_err(|e| crate::net::context(e, format!("opening {}", path.display())))?;
    let bad = |e: pcap_file::PcapError| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    };
    let mut reader = PcapReader::new(file).map_err(bad)?;
    let mut frames = Vec::new();
    while let Some(packet) = reader.next_packet() {
        frames.push(packet.map_err(bad)?.data.into_owned());
    }
    Ok(frames)
}

/// An `AF_PACKET` socket of the calling thread's namespace, bound to `iface`.
#[cfg(target_os = "linux")]
fn open(iface: &str, frames: Frames) -> io::Result<socket2::Socket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let protocol = match frames {
        Frames::All => libc::ETH_P_ALL,
        Frames::Ipv4 => libc::ETH_P_IP,
    } as u16;
    let sock = Socket::new(
        Domain::PACKET,
        Type::RAW,
        Some(Protocol::from(i32::from(protocol.to_be()))),
    )
    .map_err(|e| crate::net::context(e, "opening an AF_PACKET socket (needs CAP_NET_RAW)"))?;
    let name = std::ffi::CString::new(iface)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name with a NUL"))?;
    // SAFETY: name is a valid C string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no interface {iface} in this namespace"),
        ));
    }
    let mut storage = socket2::SockAddrStorage::zeroed();
    // SAFETY: sockaddr_ll is one of this platform's sockaddr types; it fits the storage.
    let ll = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    ll.sll_family = libc::AF_PACKET as u16;
    ll.sll_protocol = protocol.to_be();
    ll.sll_ifindex = index as i32;
    let len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
    // SAFETY: the storage holds an initialised sockaddr_ll of `len` bytes.
    let addr = unsafe { socket2::SockAddr::new(storage, len) };
    sock.bind(&addr)
        .map_err(|e| crate::net::context(e, format!("binding the capture to {iface}")))?;
    Ok(sock)
}

#[cfg(not(target_os = "linux"))]
fn open(_iface: &str, _frames: Frames) -> io::Result<socket2::Socket> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "AF_PACKET is Linux's",
    ))
}

/// The IPv4 fragment fields of an Ethernet frame carrying IPv4: (IP
/// identification, "more fragments", offset in bytes, IP payload length);
/// `None` for any other frame.
pub fn ipv4_fragment(frame: &[u8]) -> Option<(u16, bool, usize, usize)> {
    if frame.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let ip = frame.get(14..)?;
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    let id = u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]);
    let flags = u16::from_be_bytes([*ip.get(6)?, *ip.get(7)?]);
    Some((
        id,
        flags & 0x2000 != 0,
        usize::from(flags & 0x1fff) * 8,
        total.checked_sub(ihl)?,
    ))
}
