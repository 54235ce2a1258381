//! Reference solutions for the exercises of chapter 08 (tests/ch08_buffers.rs).
//!
//! Not compiled on its own: `udp-lab dev verify` splices each region over
//! the stub of the same name and proves it passes on the real library and
//! fails under every planted bug its exercise lists. Try first, then peek.

// ANCHOR: exercise_8_1
#[test]
fn tiny_datagrams_fill_a_buffer_long_before_their_bytes_do() {
    let seen = buffers::measure(&Blast {
        family: Family::V4,
        recv_buffer: Some(16 * 1024),
        count: 1000,
        payload: 1,
    })
    .expect("run the blast");
    if !cfg!(target_os = "linux") {
        return;
    }
    assert_eq!(
        seen.send_errors, 0,
        "loopback sends never fail: the loss is at the receiver"
    );
    assert!(
        seen.lost() > seen.sent / 2,
        "1000 one-byte datagrams are 1000 bytes, yet a {}-byte buffer charged a truesize per \
         datagram keeps only a few hundred: expected more than half lost, got {} of {} ({seen:?})",
        seen.effective,
        seen.lost(),
        seen.sent
    );
}
// ANCHOR_END: exercise_8_1

// ANCHOR: exercise_8_2
#[test]
fn a_blasts_accounting_adds_up_for_every_buffer_size() {
    let mut kept_before = 0;
    for recv_buffer in [Some(1), Some(16 * 1024), Some(64 * 1024)] {
        let seen = buffers::measure(&Blast {
            family: Family::V4,
            recv_buffer,
            count: 2000,
            payload: 200,
        })
        .expect("run the blast");
        assert_eq!(
            seen.send_errors, 0,
            "{recv_buffer:?}: loopback sends never fail"
        );
        assert_eq!(
            seen.kept + seen.lost(),
            seen.sent,
            "{recv_buffer:?}: every datagram sent was kept or lost at the receiver: {seen:?}"
        );
        if cfg!(target_os = "linux") {
            assert_eq!(
                seen.drops,
                Ok(seen.lost() as u64),
                "{recv_buffer:?}: the receiver's own drop counter counts exactly what it lost"
            );
            if recv_buffer == Some(1) {
                assert!(seen.lost() > 0, "the smallest buffer overflows: {seen:?}");
            }
        }
        assert!(
            seen.kept >= kept_before,
            "{recv_buffer:?}: a bigger buffer keeps at least as many ({} < {kept_before})",
            seen.kept
        );
        kept_before = seen.kept;
    }
}
// ANCHOR_END: exercise_8_2
