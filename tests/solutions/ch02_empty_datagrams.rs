//! Reference solutions for the exercises of chapter 02 (tests/ch02_empty_datagrams.rs).
//!
//! Not compiled on its own: `udp-lab exercises --verify` splices each region
//! over the stub of the same name and proves it passes. Try first, then peek.

// ANCHOR: exercise_2_1
#[test]
fn two_empty_datagrams_are_two_receives() {
    for family in Family::ALL
        .into_iter()
        .filter(|f| net::family_available(*f))
    {
        let sender = net::bind_loopback(family).expect("bind the sender");
        let receiver = net::bind_loopback(family).expect("bind the receiver");
        let to = receiver.local_addr().expect("receiver address");

        sender
            .send_to(b"", to)
            .expect("send the first empty datagram");
        sender
            .send_to(b"", to)
            .expect("send the second empty datagram");
        let first =
            recv::recv_datagram(&receiver, "the first empty datagram").expect("first receive");
        let second =
            recv::recv_datagram(&receiver, "the second empty datagram").expect("second receive");

        assert_eq!(
            (first.payload.len(), second.payload.len()),
            (0, 0),
            "{family}: two empty sends are two datagrams, so two receives of 0 bytes each"
        );
    }
}
// ANCHOR_END: exercise_2_1

// ANCHOR: exercise_2_2
#[test]
fn empty_datagram_through_the_threaded_server_gets_thread_1_brackets() {
    for family in Family::ALL
        .into_iter()
        .filter(|f| net::family_available(*f))
    {
        let threaded =
            server::spawn(family.any_port(), Reply::Threaded).expect("start the threaded server");
        let client = net::bind_loopback(family).expect("bind the client");

        let reply = recv::request(&client, threaded.local_addr(), b"", "the threaded reply")
            .expect("the threaded server answers an empty request");

        assert_eq!(
            reply.text(),
            "Thread-1 []",
            "{family}: the first handler thread is Thread-1 and the empty request upper-cased is \
             empty, so the reply is the name and an empty pair of brackets"
        );
    }
}
// ANCHOR_END: exercise_2_2
