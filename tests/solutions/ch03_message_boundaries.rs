//! Reference solutions for the exercises of chapter 03 (tests/ch03_message_boundaries.rs).
//!
//! Not compiled on its own: `udp-lab dev verify` splices each region over
//! the stub of the same name and proves it passes on the real library and
//! fails under every planted bug its exercise lists. Try first, then peek.

// ANCHOR: exercise_3_1
#[test]
fn echo_server_answers_each_request_of_a_burst_with_its_own_reply() {
    use udp_lab::lab::server::{self, Reply};

    const SIZES: [usize; 12] = [0, 1, 5, 1023, 1024, 1025, 3000, 2, 1500, 0, 4000, 7];
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper).expect("start the echo server");
    let client = net::bind_loopback(Family::V4).expect("bind the client");
    let requests: Vec<Vec<u8>> = SIZES
        .iter()
        .enumerate()
        .map(|(i, &len)| vec![b'a' + i as u8; len])
        .collect();
    for request in &requests {
        client
            .send_to(request, echo.local_addr())
            .expect("send one request of the burst");
    }

    for (i, request) in requests.iter().enumerate() {
        let reply = recv::recv_datagram(&client, "one reply of the burst").expect("a reply");
        assert!(
            reply.payload == server::upper_reply(request),
            "reply {i} should be request {i} ({} bytes) upper-cased, one datagram for one; got \
             {} bytes: one request, one receive at the server, one reply",
            request.len(),
            reply.payload.len()
        );
    }
    let extra = recv::recv_within(&client, net::SILENCE).expect("listen for an extra reply");
    assert!(
        extra.is_none(),
        "12 requests get 12 replies, no piece more; got another of {:?} bytes",
        extra.map(|d| d.payload.len())
    );
}
// ANCHOR_END: exercise_3_1

// ANCHOR: exercise_3_2
#[test]
#[serial_test::file_serial(frag)]
fn largest_ipv6_datagram_is_fragmented_yet_arrives_as_one_there_and_back() {
    use udp_lab::lab::kernel;
    use udp_lab::lab::server::{self, Reply};

    if !net::require(Family::V6) || !cfg!(target_os = "linux") {
        return;
    }
    let counters = || {
        let read = |name| kernel::snmp6(name).expect("a counter of /proc/net/snmp6");
        (read("Ip6FragCreates"), read("Ip6ReasmOKs"))
    };
    let echo = server::spawn(Family::V6.any_port(), Reply::Upper).expect("start the echo server");
    let client = net::bind_loopback(Family::V6).expect("bind the client");
    tune::set_recv_buffer_size(&client, 256 * 1024).expect("room for the largest reply");
    let request: Vec<u8> = (0..Family::V6.max_payload())
        .map(|i| b'a' + (i % 26) as u8)
        .collect();

    let before = counters();
    client
        .send_to(&request, echo.local_addr())
        .expect("send the largest IPv6 payload");
    let reply = recv::recv_datagram(&client, "the largest IPv6 reply").expect("the reply");
    let after = counters();

    assert!(
        reply.payload == server::upper_reply(&request),
        "the 65,527-byte request comes back upper-cased and whole, in one receive; got {} bytes",
        reply.payload.len()
    );
    let (created, reassembled) = (after.0 - before.0, after.1 - before.1);
    assert!(
        created >= 4 && reassembled >= 2,
        "request and reply are each 2 fragments, reassembled once: expected Ip6FragCreates +4 and \
         Ip6ReasmOKs +2 at least; got +{created} and +{reassembled}"
    );
}
// ANCHOR_END: exercise_3_2
