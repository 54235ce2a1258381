//! Reference solutions for the exercises of chapter 12 (tests/ch12_reliability.rs).
//!
//! Not compiled on its own: `udp-lab dev verify` splices each region over
//! the stub of the same name and proves it passes on the real library and
//! fails under every planted bug its exercise lists. Try first, then peek.

// ANCHOR: exercise_12_1
/// Every frame travels with the Internet checksum of RFC 1071 in two
/// trailing bytes, computed by this file's `with_sum` and checked by its
/// `sum_matches`. One flipped bit changes the sum by 2^k, never a multiple
/// of 0xFFFF, so it is always caught.
struct InternetChecksum;

impl Integrity for InternetChecksum {
    fn seal(&self, frame: Vec<u8>) -> Vec<u8> {
        with_sum(&frame)
    }

    fn open(&self, datagram: &[u8]) -> Option<Vec<u8>> {
        let frame = &datagram[..datagram.len().checked_sub(2)?];
        sum_matches(datagram).then(|| frame.to_vec())
    }
}

#[test]
fn a_checksum_lets_stop_and_wait_survive_corruption() {
    let data = stream(64 * 1024);
    let settings = StopAndWait {
        chunk_size: 4096,
        retry: fast_retry(),
    };
    let links = Links::both(Impairments::seeded(5).corrupt(0.3).loss(0.1));

    let (received, sent, receiver) = transfer(Family::V4, links, &InternetChecksum, |sock, to| {
        reliable::send_stream(sock, to, &data, &settings, &InternetChecksum)
    });

    sent.expect("every frame was acknowledged");
    assert!(
        received.expect("the whole stream") == data,
        "64 KiB arrive intact despite 30% corruption both ways"
    );
    assert!(
        receiver.rejected > 0,
        "corrupted frames were caught and dropped, then resent: {receiver:?}"
    );
}
// ANCHOR_END: exercise_12_1

// ANCHOR: exercise_12_2
/// Go-back-N: up to 8 frames unacknowledged; a cumulative ACK slides the
/// window; a timeout sends everything from the window's base again.
fn go_back_n(sock: &UdpSocket, to: SocketAddr, data: &[u8]) -> io::Result<u64> {
    const WINDOW: u32 = 8;
    let mut frames: Vec<Vec<u8>> = (0u32..)
        .zip(data.chunks(2048))
        .map(|(seq, chunk)| {
            reliable::Frame::Data {
                seq,
                chunk: chunk.to_vec(),
            }
            .encode()
        })
        .collect();
    frames.push(
        reliable::Frame::Fin {
            seq: frames.len() as u32,
        }
        .encode(),
    );
    let total = frames.len() as u32;
    let (mut base, mut next, mut sent, mut timeouts) = (0u32, 0u32, 0u64, 0u32);
    sock.set_read_timeout(Some(Duration::from_millis(30)))?;
    while base < total {
        while next < total && next < base + WINDOW {
            sock.send_to(&frames[next as usize], to)?;
            (next, sent) = (next + 1, sent + 1);
        }
        let mut buf = [0u8; 64];
        match sock.recv_from(&mut buf) {
            Ok((n, from)) if from == to => {
                if let Some(reliable::Frame::Ack { next: acked }) =
                    reliable::Frame::decode(&buf[..n])
                {
                    if acked > base && acked <= total {
                        (base, timeouts) = (acked, 0);
                    }
                }
            }
            Ok(_) => {}
            Err(e) if recv::is_timeout(&e) && timeouts < 40 => {
                (next, timeouts) = (base, timeouts + 1)
            }
            Err(e) => return Err(e),
        }
    }
    Ok(sent)
}

#[test]
fn a_go_back_n_sender_delivers_the_stream_intact() {
    let data = stream(64 * 1024);

    let (received, sent, receiver) =
        transfer(Family::V4, Links::both(lossy(3)), &Unchecked, |sock, to| {
            go_back_n(sock, to, &data)
        });

    let sent = sent.expect("every frame was acknowledged");
    assert!(
        received.expect("the whole stream") == data,
        "64 KiB intact and in order through the lossy relay"
    );
    assert!(
        sent > 33,
        "33 frames, some sent again after losses ({sent} sends); receiver: {receiver:?}"
    );
}
// ANCHOR_END: exercise_12_2

// ANCHOR: exercise_12_3
#[test]
fn an_unanswered_request_gives_up_after_exactly_its_attempts() {
    let silent = net::bind_loopback(Family::V4).expect("bind the silent server");
    let policy = RetryPolicy {
        first_timeout: Duration::from_millis(10),
        max_timeout: Duration::from_millis(10),
        attempts: 3,
    };
    let mut client = Client::new(
        net::bind_loopback(Family::V4).expect("bind"),
        silent.local_addr().expect("addr"),
        policy,
    );

    let err = client.request(b"hello?").expect_err("nobody answers");

    assert_eq!(
        err.kind(),
        io::ErrorKind::TimedOut,
        "giving up is a timeout: {err}"
    );
    assert_eq!(
        client.stats().sent,
        3,
        "exactly three sends, then no more: {:?}",
        client.stats()
    );
    for copy in 1..=3 {
        let got = recv::recv_datagram(&silent, "a copy of the request").expect("each send arrived");
        assert_eq!(
            got.payload, b"1 hello?",
            "copy {copy}: the same request, the same sequence number"
        );
    }
}
// ANCHOR_END: exercise_12_3

// ANCHOR: exercise_12_4
#[test]
fn pinger_counts_exactly_the_pings_the_relay_dropped() {
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper).expect("start the echo server");
    let links = Links {
        to_server: Impairments::seeded(7).loss(0.3),
        to_client: Impairments::seeded(8).duplicate(0.5),
    };
    let relay =
        relay::spawn(Family::V4.any_port(), echo.local_addr(), links).expect("start the relay");
    let sock = net::bind_loopback(Family::V4).expect("bind the pinger");
    let settings = PingSettings {
        count: 20,
        timeout: Duration::from_millis(200),
        interval: Duration::from_millis(5),
    };

    let report = reliable::ping(&sock, relay.local_addr(), &settings, |_| {}).expect("ping");
    let stats = relay.shutdown();

    let lost = report.sent() - report.received();
    assert!(
        stats.to_server.dropped > 0,
        "seed 7 at 30% drops some of 20 pings: {stats:?}"
    );
    assert_eq!(
        lost as u64, stats.to_server.dropped,
        "a ping is lost exactly when the relay dropped it (echoes are only duplicated, never \
         dropped); a duplicated echo of an earlier ping must not count for a lost one: {report:?}"
    );
    assert_eq!(
        report.loss_percent(),
        100.0 * lost as f64 / 20.0,
        "loss is the lost share of the pings sent"
    );
}
// ANCHOR_END: exercise_12_4
