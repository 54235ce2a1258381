//! Reference solutions for the exercises of chapter 19 (tests/ch19_fast_paths.rs).
//!
//! Not compiled on its own: `udp-lab dev verify` splices each region over
//! the stub of the same name and proves it passes on the real library and
//! fails under every planted bug its exercise lists. Try first, then peek.

// ANCHOR: exercise_19_1
#[test]
fn a_gro_receiver_cuts_a_super_datagram_back_into_its_datagrams() {
    if !linux_fast_paths() {
        return;
    }
    let (receiver, sender) = gro_pair(Family::V4);
    let sent = datagrams(7, 1000, 1);
    let to = receiver.local_addr().expect("receiver address");
    fast::send_gso(&sender, to, &sent.concat(), 1000).expect("one GSO send");

    let mut buf = vec![0u8; GRO_BUFFER];
    let got = fast::recv_gro(&receiver, &mut buf).expect("the super-datagram arrives");
    let pieces = fast::split(&buf[..got.len], got.segment);

    assert_eq!(
        got.segment,
        Some(1000),
        "the UDP_GRO control message gives the segment size: {got:?}"
    );
    assert_eq!(
        pieces, sent,
        "cut at 1,000 bytes, the one receive is the 8 datagrams sent, the 1-byte one last"
    );
}
// ANCHOR_END: exercise_19_1

// ANCHOR: exercise_19_2
#[test]
fn a_file_sent_with_gso_into_a_gro_receiver_arrives_datagram_for_datagram() {
    if !linux_fast_paths() {
        return;
    }
    let file: Vec<u8> = (0..150_001).map(|i| (i % 251) as u8).collect();
    let (receiver, sender) = gro_pair(Family::V4);
    let to = receiver.local_addr().expect("receiver address");
    for chunk in file.chunks(50 * SEGMENT) {
        fast::send_gso(&sender, to, chunk, SEGMENT).expect("a GSO send of up to 50 segments");
    }

    let receives = gro_receive_all(&receiver, 126);
    let pieces: Vec<Vec<u8>> = receives.into_iter().flat_map(|(_, p)| p).collect();

    assert_eq!(
        pieces.len(),
        126,
        "150,001 B are 125 datagrams of 1,200 B and one of 1 B"
    );
    assert!(
        pieces[..125].iter().all(|p| p.len() == SEGMENT),
        "every datagram but the last is a whole segment"
    );
    assert!(
        pieces.concat() == file,
        "joined in order, the datagrams are the file, byte for byte (the last one is 1 byte, \
         not a full segment of whatever lay past the end)"
    );
}
// ANCHOR_END: exercise_19_2
