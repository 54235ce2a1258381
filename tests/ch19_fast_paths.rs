//! Chapter 19: fast paths, GSO and GRO.
//!
//! Claim: Linux can move many datagrams in one system call without losing
//! a single boundary. One send with a `UDP_SEGMENT` size (GSO) leaves as
//! separate datagrams that a plain receiver takes one by one, in order; a
//! receiver with `UDP_GRO` on may get many datagrams glued in one receive,
//! and the `UDP_GRO` control message says the size to cut them back at, so
//! splitting by it gives back exactly what was sent. A receiver that ignores
//! that message sees merged messages: chapter 03's "sticky packets", back on
//! purpose. The kernel's limits (segments per send, bytes per send, the
//! path's MTU) refuse a send whole, with an error.
//!
//! GSO and GRO are Linux's; on other systems the tests say so and skip.
//! Whether the kernel merges datagrams sent one by one depends on timing:
//! no test asserts that it does, only what always holds.
//!
//! Run: `cargo test --test ch19_fast_paths`

use std::io;
use std::net::UdpSocket;

use proptest::prelude::*;
use rstest::rstest;
use udp_lab::lab::fast::{self, netns, GroReceive, GRO_BUFFER, SEGMENT};
use udp_lab::lab::kernel;
use udp_lab::net::{self, Family, DEFAULT_TIMEOUT};
use udp_lab::recv;

/// Whether GSO and GRO can be proved here; prints why not (never a
/// failure: only Linux has them).
fn linux_fast_paths() -> bool {
    if cfg!(target_os = "linux") {
        return true;
    }
    net::skip_even_under_ci(format!(
        "UDP GSO and GRO are Linux's; {} has {}",
        std::env::consts::OS,
        if cfg!(windows) {
            "USO/URO (UDP_SEND_MSG_SIZE, UDP_RECV_MAX_COALESCED_SIZE) instead"
        } else {
            "neither"
        }
    ));
    false
}

/// `count` datagrams of `size` bytes, then one of `tail` bytes (none when
/// 0); datagram i is filled with byte i, so a moved boundary shows.
fn datagrams(count: usize, size: usize, tail: usize) -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = (0..count).map(|i| vec![i as u8; size]).collect();
    if tail > 0 {
        all.push(vec![count as u8; tail]);
    }
    all
}

/// A receiver with `UDP_GRO` on and a sender, on `family`'s loopback.
#[track_caller]
fn gro_pair(family: Family) -> (UdpSocket, UdpSocket) {
    let receiver = net::bind_loopback(family).expect("bind the receiver");
    fast::enable_gro(&receiver, true).expect("turn UDP_GRO on (Linux 5.0+)");
    let sender = net::bind_loopback(family).expect("bind the sender");
    (receiver, sender)
}

/// Receives with GRO until `want` datagrams have been split out (each
/// receive bounded by the socket's timeout); every receive and its pieces.
#[track_caller]
fn gro_receive_all(receiver: &UdpSocket, want: usize) -> Vec<(GroReceive, Vec<Vec<u8>>)> {
    let mut buf = vec![0u8; GRO_BUFFER];
    let (mut receives, mut got) = (Vec::new(), 0);
    while got < want {
        let r = fast::recv_gro(receiver, &mut buf)
            .unwrap_or_else(|e| panic!("{got} of {want} datagrams arrived, then: {e}"));
        let pieces: Vec<Vec<u8>> = fast::split(&buf[..r.len], r.segment)
            .into_iter()
            .map(<[u8]>::to_vec)
            .collect();
        got += pieces.len();
        receives.push((r, pieces));
    }
    receives
}

// ANCHOR: gso_keeps_boundaries
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn one_gso_send_arrives_at_a_plain_receiver_as_separate_datagrams_in_order(#[case] family: Family) {
    if !linux_fast_paths() || !net::require(family) {
        return;
    }
    let receiver = UdpSocket::bind((family.loopback(), 0)).expect("bind the receiver");
    receiver
        .set_read_timeout(Some(DEFAULT_TIMEOUT))
        .expect("a receive never waits forever");
    let sender = UdpSocket::bind((family.loopback(), 0)).expect("bind the sender");
    let sent = datagrams(5, SEGMENT, 300); // 5 x 1,200 B, then 300 B

    let wrote = fast::send_gso(
        &sender,
        receiver.local_addr().expect("receiver address"),
        &sent.concat(),
        SEGMENT,
    )
    .expect("one sendmsg with UDP_SEGMENT = 1,200");

    assert_eq!(wrote, 6300, "the one send took all 6,300 bytes");
    let mut buf = [0u8; 65_535];
    for (i, expected) in sent.iter().enumerate() {
        let (n, _) = receiver
            .recv_from(&mut buf)
            .unwrap_or_else(|e| panic!("receive {i} of {}: {e}", sent.len()));
        assert!(
            buf[..n] == expected[..],
            "receive {i} of {}: expected {} bytes of {i}, got {n} bytes starting {:?}; the \
             kernel cut the one send at every 1,200 bytes, each piece a datagram of its own, and \
             only the last one shorter",
            sent.len(),
            expected.len(),
            &buf[..n.min(4)]
        );
    }
}
// ANCHOR_END: gso_keeps_boundaries

// ANCHOR: gso_into_gro
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn a_gso_super_datagram_reaches_a_gro_receiver_whole_and_splits_back_exactly(
    #[case] family: Family,
) {
    if !linux_fast_paths() || !net::require(family) {
        return;
    }
    let (receiver, sender) = gro_pair(family);
    let sent = datagrams(10, SEGMENT, 500);
    let to = receiver.local_addr().expect("receiver address");
    fast::send_gso(&sender, to, &sent.concat(), SEGMENT).expect("one GSO send");

    let mut buf = vec![0u8; GRO_BUFFER];
    let got = fast::recv_gro(&receiver, &mut buf).expect("the super-datagram arrives");
    let pieces = fast::split(&buf[..got.len], got.segment);

    assert_eq!(
        (got.len, got.segment),
        (12_500, Some(SEGMENT)),
        "with UDP_GRO on, the 11 datagrams of one GSO send come in one receive of 12,500 \
         bytes, with a UDP_GRO control message saying they were cut at 1,200"
    );
    assert_eq!(
        pieces, sent,
        "split at the control message's size, the one receive gives back exactly the 11 \
         datagrams sent, the short last one included"
    );
}
// ANCHOR_END: gso_into_gro

// ANCHOR: sticky_again
#[test]
fn a_gro_receiver_that_ignores_the_control_message_sees_merged_datagrams() {
    if !linux_fast_paths() {
        return;
    }
    let (receiver, sender) = gro_pair(Family::V4);
    let sent = datagrams(3, SEGMENT, 0);
    let to = receiver.local_addr().expect("receiver address");
    fast::send_gso(&sender, to, &sent.concat(), SEGMENT).expect("one GSO send");

    let got = recv::recv_datagram(&receiver, "the coalesced message").expect("it arrives");

    assert_eq!(
        got.payload.len(),
        3 * SEGMENT,
        "a plain recv_from on a socket with UDP_GRO on returned {} bytes: three datagrams \
         merged into one message, as TCP merges writes (chapter 03), because the boundaries \
         were in the control message it did not read",
        got.payload.len()
    );
}
// ANCHOR_END: sticky_again

// ANCHOR: gro_law
/// One burst: a GSO send of `count` datagrams of `size` (plus a shorter
/// tail), or as many `send_to`s.
fn send_burst(sender: &UdpSocket, receiver: &UdpSocket, burst: &[Vec<u8>], gso: bool) {
    let to = receiver.local_addr().expect("receiver address");
    if gso {
        fast::send_gso(sender, to, &burst.concat(), burst[0].len()).expect("GSO send");
    } else {
        for d in burst {
            sender.send_to(d, to).expect("send_to");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn law_gro_receives_split_back_into_exactly_the_datagrams_sent(
        bursts in prop::collection::vec((1usize..=20, 1usize..=1400, 0usize..=3, any::<bool>()), 1..=6)
    ) {
        if !linux_fast_paths() {
            return Ok(());
        }
        let (receiver, sender) = gro_pair(Family::V4);
        let mut sent = Vec::new();
        for (count, size, tail_cut, gso) in bursts {
            let burst = datagrams(count, size, size.saturating_sub(tail_cut * size / 4));
            send_burst(&sender, &receiver, &burst, gso);
            sent.extend(burst);
        }

        let receives = gro_receive_all(&receiver, sent.len());

        for (r, pieces) in &receives {
            let full = r.segment.unwrap_or(r.len);
            prop_assert!(
                pieces.iter().rev().skip(1).all(|p| p.len() == full),
                "every piece but the last is exactly the segment size: {r:?}"
            );
        }
        let got: Vec<Vec<u8>> = receives.into_iter().flat_map(|(_, p)| p).collect();
        prop_assert!(
            got == sent,
            "split by each receive's UDP_GRO size, the receives give back the {} datagrams sent, \
             in order, whether or not the kernel merged any (got {} datagrams)",
            sent.len(),
            got.len()
        );
    }
}
// ANCHOR_END: gro_law

// ANCHOR: too_many_segments
#[test]
fn gso_refuses_more_segments_than_the_kernel_allows_with_einval() {
    if !linux_fast_paths() {
        return;
    }
    let max = fast::max_segments().expect("probe the kernel's UDP_MAX_SEGMENTS");
    let receiver = net::bind_loopback(Family::V4).expect("bind the receiver");
    let sender = net::bind_loopback(Family::V4).expect("bind the sender");
    let to = receiver.local_addr().expect("receiver address");

    let err = fast::send_gso(&sender, to, &vec![0u8; (max + 1) * 100], 100)
        .expect_err("one segment more than the kernel's maximum");

    // 64 became 128 in upstream commit 1382e3b6a350 (April 2024), first
    // released in 6.9; stable kernels before it (5.15.y, ...) took it later.
    let since_6_9 = kernel::version().is_some_and(|v| v >= (6, 9));
    assert!(
        if since_6_9 {
            max == 128
        } else {
            max == 64 || max == 128
        },
        "UDP_MAX_SEGMENTS is 128 from Linux 6.9 on (commit 1382e3b6a350); before, 64, or 128 on \
         stable kernels that took the backport; this kernel ({:?}) took {max}",
        kernel::version()
    );
    assert_eq!(
        err.raw_os_error(),
        Some(libc::EINVAL),
        "{} segments of 100 B (only {} bytes) are refused as an invalid argument, not for their \
         size: {err}",
        max + 1,
        (max + 1) * 100
    );
}
// ANCHOR_END: too_many_segments

// ANCHOR: too_many_bytes
#[rstest]
#[case::ipv4(Family::V4)]
#[case::ipv6(Family::V6)]
fn gso_refuses_a_send_larger_than_one_datagram_may_be_with_emsgsize(#[case] family: Family) {
    if !linux_fast_paths() || !net::require(family) {
        return;
    }
    let receiver = net::bind_loopback(family).expect("bind the receiver");
    let sender = net::bind_loopback(family).expect("bind the sender");
    let to = receiver.local_addr().expect("receiver address");
    let largest = family.max_payload();

    let fits = fast::send_gso(&sender, to, &vec![1u8; largest], SEGMENT);
    let err = fast::send_gso(&sender, to, &vec![1u8; largest + 1], SEGMENT)
        .expect_err("one byte more than one datagram may carry");

    assert_eq!(
        fits.ok(),
        Some(largest),
        "{largest} B in 1,200-byte segments is one send (chapter 07's largest payload)"
    );
    assert_eq!(
        err.raw_os_error(),
        Some(libc::EMSGSIZE),
        "{} B are refused whole (EMSGSIZE), even cut in 1,200-byte segments: the kernel builds \
         one {family} packet first and cuts it later: {err}",
        largest + 1
    );
}
// ANCHOR_END: too_many_bytes

// ANCHOR: segment_beyond_mtu
#[test]
fn gso_refuses_a_segment_larger_than_the_path_mtu_allows() {
    if !linux_fast_paths() {
        return;
    }
    // In a namespace of its own whose loopback has Ethernet's 1,500-byte
    // MTU: 1,472 B of payload fit a packet (1,500 - 20 - 8), 1,473 do not.
    let attempt = netns::with_loopback_mtu(1500, || -> io::Result<_> {
        let receiver = net::bind_loopback(Family::V4)?;
        let sender = net::bind_loopback(Family::V4)?;
        let to = receiver.local_addr()?;
        let send = |segment: usize| fast::send_gso(&sender, to, &vec![2u8; 3 * segment], segment);
        Ok((send(1472), send(1473)))
    });
    let (fits, too_big) = match attempt {
        Ok(sends) => sends.expect("bind in the namespace"),
        Err(e) => return net::skip(format!("no private network namespace here: {e}")),
    };

    assert_eq!(
        fits.ok(),
        Some(3 * 1472),
        "three segments of 1,472 B fit an MTU of 1,500"
    );
    // The error changed in upstream commit 235174b2bed8 (2025, first in
    // 6.14): EMSGSIZE from then on, EINVAL before, except on stable kernels
    // that took the backport (6.1.y, 5.15.y), which say EMSGSIZE too.
    let errno = too_big.as_ref().err().and_then(io::Error::raw_os_error);
    let since_6_14 = kernel::version().is_some_and(|v| v >= (6, 14));
    assert!(
        if since_6_14 {
            errno == Some(libc::EMSGSIZE)
        } else {
            errno == Some(libc::EMSGSIZE) || errno == Some(libc::EINVAL)
        },
        "a 1,473-byte segment would need a 1,501-byte packet: refused whole, never fragmented, \
         with EMSGSIZE from Linux 6.14 on (commit 235174b2bed8; EINVAL or EMSGSIZE before); \
         this kernel ({:?}) gave {too_big:?}",
        kernel::version()
    );
}
// ANCHOR_END: segment_beyond_mtu

// ANCHOR: platforms
#[test]
fn gso_and_gro_are_there_on_linux_and_refused_elsewhere() {
    let gso = fast::probe_gso();
    let gro = fast::probe_gro();

    if cfg!(target_os = "linux") {
        assert!(
            gso.is_ok() && gro.is_ok(),
            "Linux has UDP_SEGMENT since 4.18 and UDP_GRO since 5.0: {gso:?}, {gro:?}"
        );
    } else {
        assert!(
            gso.is_err() && gro.is_err(),
            "only Linux has GSO and GRO (Windows: USO/URO, macOS: neither)"
        );
        net::skip_even_under_ci("the rest of this chapter is Linux's");
    }
}
// ANCHOR_END: platforms

// ---------------------------------------------------------------------------
// Exercises

// ANCHOR: exercise_19_1
/// Exercise 19.1: a GRO receiver cuts 7 x 1,000 B + 1 B back into 8 datagrams.
///
/// Hint: `gro_pair(Family::V4) -> (receiver, sender)` (in this file) gives a
/// receiver with `UDP_GRO` on. Send `datagrams(7, 1000, 1).concat()` (in this
/// file: datagram i is filled with byte i) in one
/// `fast::send_gso(&UdpSocket, SocketAddr, &[u8], segment: usize) ->
/// io::Result<usize>`, receive once with `fast::recv_gro(&UdpSocket, &mut
/// [u8]) -> io::Result<GroReceive>` (`.len`, `.segment: Option<usize>`) into a
/// `vec![0u8; GRO_BUFFER]`, and cut with `fast::split(&[u8], Option<usize>) ->
/// Vec<&[u8]>`: the pieces are the 8 datagrams sent, the 1-byte one last.
///
/// Catches: gro_ignores_segment_size, split_drops_short_tail
#[test]
#[ignore = "exercise 19.1: delete this line to start"]
fn a_gro_receiver_cuts_a_super_datagram_back_into_its_datagrams() {
    todo!("exercise 19.1: write the test")
}
// ANCHOR_END: exercise_19_1

// ANCHOR: exercise_19_2
/// Exercise 19.2: a 150,001-byte file sent with GSO into a GRO receiver arrives as 126 datagrams, intact.
///
/// Hint: a file transfer over the fast paths, as QUIC does it. Make the file
/// (`(0..150_001).map(|i| (i % 251) as u8).collect::<Vec<u8>>()`), and send it
/// in sends of at most 50 segments of `SEGMENT` (1,200) bytes
/// (`file.chunks(50 * SEGMENT)`, each one `fast::send_gso`): 125 full
/// datagrams and a 1-byte one, 126 in all. On a `gro_pair(Family::V4)`
/// receiver, `gro_receive_all(&UdpSocket, want: usize) -> Vec<(GroReceive,
/// Vec<Vec<u8>>)>` (in this file) receives until `want` datagrams are split
/// out. Check the count of datagrams, that all but the last are 1,200 bytes,
/// and that joined together they are the file. Uses (imported at the top of
/// this file unless said): `fast::send_gso(&UdpSocket, SocketAddr, &[u8],
/// usize) -> io::Result<usize>`, `SEGMENT`, `Family`.
///
/// Catches: gso_overruns_last_segment, split_drops_short_tail, gro_ignores_segment_size
#[test]
#[ignore = "exercise 19.2: delete this line to start"]
fn a_file_sent_with_gso_into_a_gro_receiver_arrives_datagram_for_datagram() {
    todo!("exercise 19.2: write the test")
}
// ANCHOR_END: exercise_19_2
