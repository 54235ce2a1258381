//! Reference solutions for the exercises of chapter 07 (tests/ch07_datagram_size.rs).
//!
//! Not compiled on its own: `udp-lab dev verify` splices each region over
//! the stub of the same name and proves it passes on the real library and
//! fails under every planted bug its exercise lists. Try first, then peek.

// ANCHOR: exercise_7_1
#[test]
#[file_serial(frag)]
fn echo_server_answers_the_largest_request_of_each_family_whole() {
    for family in Family::ALL {
        if !net::require(family) {
            continue;
        }
        let echo = server::spawn(family.any_port(), Reply::Upper).expect("start the echo server");
        let client = roomy_socket(family);
        let request = patterned(family.max_payload(), 1);

        let reply = recv::request(&client, echo.local_addr(), &request, "the largest reply")
            .unwrap_or_else(|e| panic!("{family}: the largest request is answered: {e}"));

        assert!(
            reply.payload == server::upper_reply(&request),
            "{family}: the {}-byte request comes back whole, upper-cased; got {} bytes",
            request.len(),
            reply.payload.len()
        );
    }
}
// ANCHOR_END: exercise_7_1

// ANCHOR: exercise_7_2
#[test]
fn a_reply_too_long_for_one_datagram_is_refused_never_cut() {
    let echo =
        server::spawn(Family::V4.any_port(), Reply::Threaded).expect("start the threaded server");
    let client = roomy_socket(Family::V4);
    client
        .send_to(&vec![b'a'; Family::V4.max_payload()], echo.local_addr())
        .expect("the largest request is sent");

    let got = recv::recv_within(&client, net::SILENCE).expect("listen for a reply");
    assert!(
        got.is_none(),
        "a reply longer than 65,507 bytes cannot be sent: nothing comes back, not a cut one; got \
         {:?} bytes",
        got.map(|d| d.payload.len())
    );
    recv::request(&client, echo.local_addr(), b"small", "a small reply")
        .expect("the server goes on after a reply it could not send");
    let stats = echo.shutdown();
    assert_eq!(
        (stats.send_errors, stats.replied),
        (1, 1),
        "the oversized reply is counted as a send error, the small one as replied; got {stats:?}"
    );
}
// ANCHOR_END: exercise_7_2
