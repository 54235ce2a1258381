//! Reference solutions for the exercises of chapter 10 (tests/ch10_connected_sockets.rs).
//!
//! Not compiled on its own: `udp-lab dev verify` splices each region over
//! the stub of the same name and proves it passes on the real library and
//! fails under every planted bug its exercise lists. Try first, then peek.

// ANCHOR: exercise_10_1
#[test]
fn a_retrying_client_takes_no_reply_from_a_stranger() {
    use udp_lab::lab::reliable::{Client, RetryPolicy};

    let server = bound(Family::V4);
    let stranger = bound(Family::V4);
    let server_addr = server.local_addr().expect("the server's address");
    let mut client = Client::new(bound(Family::V4), server_addr, RetryPolicy::default());
    let asking = std::thread::spawn(move || {
        let answer = client.request(b"hello").map(|a| a.payload);
        (answer, client.stats().strangers)
    });

    let request = recv::recv_datagram(&server, "the client's request").expect("a request");
    assert_eq!(
        request.payload, b"1 hello",
        "the client numbers its requests"
    );
    stranger
        .send_to(b"1 FAKE", request.from)
        .expect("the stranger sends first");
    server
        .send_to(b"1 REAL", request.from)
        .expect("the server answers");

    let (answer, strangers) = asking.join().expect("the client's thread");
    assert_eq!(
        answer.expect("the request is answered"),
        b"REAL",
        "the stranger's datagram came first but is not from the server: the client drops it"
    );
    assert_eq!(
        strangers, 1,
        "the stranger's datagram is counted, not taken"
    );
}
// ANCHOR_END: exercise_10_1

// ANCHOR: exercise_10_2
#[test]
fn the_relay_forwards_to_its_client_only_what_the_server_sent() {
    use udp_lab::lab::relay::{self, Links};

    let server = bound(Family::V4);
    let relay = relay::spawn(
        Family::V4.any_port(),
        server.local_addr().expect("the server's address"),
        Links::default(),
    )
    .expect("start the relay");
    let (client, stranger) = (bound(Family::V4), bound(Family::V4));
    client
        .send_to(b"hello", relay.local_addr())
        .expect("send to the relay");
    let request = recv::recv_datagram(&server, "the relayed request").expect("it is relayed");

    stranger
        .send_to(b"injected", request.from)
        .expect("the stranger sends to the relay's socket");
    server
        .send_to(b"real", request.from)
        .expect("the server answers");

    let got = recv::recv_datagram(&client, "the relayed reply").expect("a reply");
    assert_eq!(
        got.payload, b"real",
        "the relay's socket is connected to the server: the stranger's datagram never reaches it"
    );
    let more = recv::recv_within(&client, SILENCE).expect("listen for more");
    assert!(
        more.is_none(),
        "nothing but the server's reply is forwarded; got {:?}",
        more.map(|d| d.text())
    );
}
// ANCHOR_END: exercise_10_2
