//! Reference solutions for the exercises of chapter 08 (tests/ch08_buffers.rs).
//!
//! Not compiled on its own: `udp-lab exercises --verify` splices each region
//! over the stub of the same name and proves it passes. Try first, then peek.

// ANCHOR: exercise_8_1
/// Hint: `buffers::measure(&Blast { family: Family::V4, recv_buffer: Some(16 * 1024),
/// count: 1000, payload: 1 })`: 1000 bytes of payload, a 32 KiB buffer, and still a loss.
/// Assert it on Linux (`cfg!(target_os = "linux")`), where each datagram costs its truesize.
#[test]
fn tiny_datagrams_fill_a_buffer_long_before_their_bytes_do() {
    let blast = Blast {
        family: Family::V4,
        recv_buffer: Some(16 * 1024),
        count: 1000,
        payload: 1,
    };
    let seen = buffers::measure(&blast).expect("run the blast on loopback");
    println!("{seen:?}");

    assert!(seen.kept <= seen.sent, "never more than was sent");
    if cfg!(target_os = "linux") {
        assert!(
            seen.sent * blast.payload < seen.effective,
            "all the payload bytes would fit"
        );
        assert!(
            seen.kept < seen.sent,
            "yet a {} B buffer keeps only {} one-byte datagrams: each costs its truesize, hundreds of bytes",
            seen.effective,
            seen.kept
        );
    }
}
// ANCHOR_END: exercise_8_1

// ANCHOR: exercise_8_2
/// Hint: bind the receiver with `Tuning { recv_buffer: Some(1), .. }`, then 200 times:
/// `send_to` one datagram and receive it (`recv::recv_datagram`) before sending the next.
#[test]
fn receiver_that_keeps_up_loses_nothing_even_with_the_smallest_buffer() {
    let tuning = Tuning {
        recv_buffer: Some(1),
        ..Tuning::default()
    };
    let receiver = tune::bind_tuned(Family::V4.any_port(), tuning).expect("bind the receiver");
    let sender = net::bind_loopback(Family::V4).expect("bind the sender");
    let to = receiver.local_addr().expect("the receiver's address");

    for index in 0..200 {
        let datagram = buffers::numbered_payload(index, 1000);
        sender.send_to(&datagram, to).expect("send one datagram");
        let got = udp_lab::recv::recv_datagram(&receiver, "the datagram just sent")
            .expect("an empty buffer always has room for the next datagram");
        assert_eq!(
            got.payload, datagram,
            "datagram {index} arrives whole and in turn"
        );
    }
}
// ANCHOR_END: exercise_8_2
