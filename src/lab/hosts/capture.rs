//! Capturing a test host's frames (Linux): an `AF_PACKET` socket made
//! inside the host's namespace and bound to one interface sees every
//! Ethernet frame that interface sends or receives, as tcpdump does; the
//! frames are written as a pcap file that tcpdump and Wireshark read.
//! Every capture is bounded in count and in time.
//!
//! The pcap format (libpcap's classic file, described in
//! draft-ietf-opsawg-pcap, "PCAP Capture File Format") is a 24-byte file
//! header and a 16-byte header before each frame, written here in a few
//! lines: the `pcap-file` crate did the same but brought syn 1, syn 2 and
//! thiserror's derive into every student's first build (~12 s of CPU).

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

/// The pcap file header's magic number, written little-endian: microsecond
/// timestamps. A reader that sees it byte-swapped knows the file's order.
const PCAP_MAGIC: u32 = 0xa1b2_c3d4;
/// The same file with nanosecond timestamps (read, never written).
const PCAP_MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// Link type 1, LINKTYPE_ETHERNET: each frame starts with its Ethernet header.
const LINKTYPE_ETHERNET: u32 = 1;
/// The longest frame the file says it may hold (the capture buffer's size).
const SNAPLEN: u32 = 65_536;
/// Bytes of the file header and of each frame's header.
const FILE_HEADER: usize = 24;
const FRAME_HEADER: usize = 16;

/// Writes `frames` to `path` as a pcap file (Ethernet link type).
pub fn write_pcap(path: &Path, frames: &[Frame]) -> io::Result<()> {
    use std::io::Write;
    let doing = |what: &str| format!("{what} {}", path.display());
    let file =
        std::fs::File::create(path).map_err(|e| crate::net::context(e, doing("creating")))?;
    let mut out = io::BufWriter::new(file);
    let mut write = |bytes: &[u8]| {
        out.write_all(bytes)
            .map_err(|e| crate::net::context(e, doing("writing")))
    };
    // version 2.4, time zone 0 (UTC), accuracy 0, snap length, link type
    write(&PCAP_MAGIC.to_le_bytes())?;
    write(&[2, 0, 4, 0])?;
    write(&[0; 8])?;
    write(&SNAPLEN.to_le_bytes())?;
    write(&LINKTYPE_ETHERNET.to_le_bytes())?;
    for frame in frames {
        let seconds = u32::try_from(frame.at.as_secs()).unwrap_or(u32::MAX);
        let length = u32::try_from(frame.bytes.len()).unwrap_or(u32::MAX);
        write(&seconds.to_le_bytes())?;
        write(&frame.at.subsec_micros().to_le_bytes())?;
        write(&length.to_le_bytes())?; // bytes in the file
        write(&length.to_le_bytes())?; // bytes on the wire: the whole frame was kept
        write(&frame.bytes)?;
    }
    out.flush()
        .map_err(|e| crate::net::context(e, doing("writing")))
}

/// Reads a pcap file back (either byte order, micro- or nanosecond
/// timestamps): each frame's bytes.
pub fn read_pcap(path: &Path) -> io::Result<Vec<Vec<u8>>> {
    let bytes = std::fs::read(path)
        .map_err(|e| crate::net::context(e, format!("opening {}", path.display())))?;
    frames_of_pcap(&bytes).map_err(|why| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {why}", path.display()),
        )
    })
}

/// The frames of a whole pcap file, or what is wrong with it.
fn frames_of_pcap(bytes: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let word = |at: usize, big_endian: bool| -> Option<u32> {
        let four: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if big_endian {
            u32::from_be_bytes(four)
        } else {
            u32::from_le_bytes(four)
        })
    };
    let big_endian = match word(0, false) {
        Some(PCAP_MAGIC | PCAP_MAGIC_NANOS) => false,
        Some(m) if [PCAP_MAGIC, PCAP_MAGIC_NANOS].contains(&m.swap_bytes()) => true,
        Some(m) => return Err(format!("not a pcap file: magic number {m:#010x}")),
        None => return Err(format!("not a pcap file: {} bytes", bytes.len())),
    };
    if bytes.len() < FILE_HEADER {
        return Err("the file header is cut short".to_string());
    }
    let mut frames = Vec::new();
    let mut at = FILE_HEADER;
    while at < bytes.len() {
        let kept = word(at + 8, big_endian)
            .ok_or_else(|| format!("frame {} has a cut header", frames.len() + 1))?;
        let start = at + FRAME_HEADER;
        let frame = bytes
            .get(start..start.saturating_add(kept as usize))
            .ok_or_else(|| format!("frame {} is cut short", frames.len() + 1))?;
        frames.push(frame.to_vec());
        at = start + frame.len();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(at_micros: u64, bytes: &[u8]) -> Frame {
        Frame {
            at: Duration::from_micros(at_micros),
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn a_written_pcap_file_has_libpcaps_headers_and_reads_back_frame_for_frame() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("two.pcap");
        let frames = [frame(1_700_000_000_123_456, b"first"), frame(7, b"")];
        write_pcap(&path, &frames).expect("write the file");
        let bytes = std::fs::read(&path).expect("read the file");

        let mut expected = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        expected.extend([0, 0, 1, 0, 1, 0, 0, 0]); // snap length 65,536; Ethernet
        expected.extend(1_700_000_000u32.to_le_bytes());
        expected.extend(123_456u32.to_le_bytes());
        expected.extend([5, 0, 0, 0, 5, 0, 0, 0]);
        expected.extend(b"first");
        expected.extend([0, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            bytes, expected,
            "libpcap's layout, little-endian: magic a1b2c3d4, version 2.4, zone and accuracy 0, \
             snap length, link type 1; then per frame seconds, microseconds, kept and wire length"
        );
        assert_eq!(
            read_pcap(&path).expect("read it back"),
            vec![b"first".to_vec(), Vec::new()],
            "the frames come back in order, an empty one included"
        );
    }

    #[test]
    fn a_big_endian_pcap_file_reads_as_well() {
        let mut bytes = PCAP_MAGIC.to_be_bytes().to_vec();
        bytes.extend([0, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
        bytes.extend([0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0xab, 0xcd]);
        assert_eq!(
            frames_of_pcap(&bytes),
            Ok(vec![vec![0xab, 0xcd]]),
            "a file written on a big-endian machine has its magic byte-swapped; lengths read that way"
        );
    }

    #[test]
    fn a_cut_or_foreign_file_is_an_error_that_says_what_is_wrong() {
        let mut whole = PCAP_MAGIC.to_le_bytes().to_vec();
        whole.extend([0; 20]);
        whole.extend([0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 1, 2]);
        for (bytes, why) in [
            (&b"GIF89a"[..], "not a pcap file: magic number"),
            (&whole[..10], "the file header is cut short"),
            (&whole[..30], "frame 1 has a cut header"),
            (&whole[..], "frame 1 is cut short"),
        ] {
            let got = frames_of_pcap(bytes);
            assert!(
                matches!(&got, Err(e) if e.starts_with(why)),
                "expected an error starting {why:?}, got {got:?}"
            );
        }
    }
}
