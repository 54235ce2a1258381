//! Reference solutions for the exercises of chapter 02 (tests/ch02_empty_datagrams.rs).
//!
//! Not compiled on its own: `udp-lab dev verify` splices each region over
//! the stub of the same name and proves it passes on the real library and
//! fails under every planted bug its exercise lists. Try first, then peek.

// ANCHOR: exercise_2_1
#[test]
fn echo_server_answers_two_empty_requests_then_still_serves() {
    for family in Family::ALL {
        if !net::family_available(family) {
            continue;
        }
        let echo = server::spawn(family.any_port(), Reply::Upper).expect("start the echo server");
        let client = net::bind_loopback(family).expect("bind the client");
        for n in 1..=2 {
            let reply = recv::request(
                &client,
                echo.local_addr(),
                b"",
                "the reply to an empty request",
            )
            .unwrap_or_else(|e| panic!("{family}: empty request {n} is answered: {e}"));
            assert!(
                reply.payload.is_empty(),
                "{family}: an empty request gets an empty reply; got {:?}",
                reply.text()
            );
        }
        let after = recv::request(&client, echo.local_addr(), b"still there", "the next reply")
            .unwrap_or_else(|e| {
                panic!("{family}: a request after two empty ones is answered: {e}")
            });
        assert_eq!(
            after.text(),
            "STILL THERE",
            "{family}: 0 bytes is a message, not the end of a stream: the server goes on"
        );
    }
}
// ANCHOR_END: exercise_2_1

// ANCHOR: exercise_2_2
#[test]
fn empty_datagram_through_the_threaded_server_gets_thread_1_brackets() {
    for family in Family::ALL {
        if !net::family_available(family) {
            continue;
        }
        let echo =
            server::spawn(family.any_port(), Reply::Threaded).expect("start the threaded server");
        let client = net::bind_loopback(family).expect("bind the client");
        let reply = recv::request(&client, echo.local_addr(), b"", "the threaded reply")
            .unwrap_or_else(|e| panic!("{family}: the empty request is answered: {e}"));
        assert_eq!(
            reply.text(),
            "Thread-1 []",
            "{family}: the first handler thread answers the empty request with its name and \
             empty brackets"
        );
    }
}
// ANCHOR_END: exercise_2_2
