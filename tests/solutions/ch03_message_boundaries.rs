//! Reference solutions for the exercises of chapter 03 (tests/ch03_message_boundaries.rs).
//!
//! Not compiled on its own: `udp-lab exercises --verify` splices each region
//! over the stub of the same name and proves it passes. Try first, then peek.

// ANCHOR: exercise_3_1
#[test]
fn length_prefix_framing_recovers_message_boundaries_on_tcp() {
    use std::io::Read;

    let messages: [&[u8]; 4] = [b"Hello1", b"", b"a longer third message", b"Hello4"];
    let mut pair = tcp::tcp_pair(Family::V4, false).expect("a connected TCP pair on loopback");
    for message in messages {
        let length = u32::try_from(message.len()).expect("a message shorter than 4 GiB");
        pair.client
            .write_all(&length.to_be_bytes())
            .expect("write the length prefix");
        pair.client.write_all(message).expect("write the message");
    }
    pair.client
        .shutdown(Shutdown::Write)
        .expect("close the client's sending side (FIN)");

    let mut received: Vec<Vec<u8>> = Vec::new();
    let mut prefix = [0u8; 4];
    while pair.server.read_exact(&mut prefix).is_ok() {
        let mut message = vec![0u8; u32::from_be_bytes(prefix) as usize];
        pair.server
            .read_exact(&mut message)
            .expect("the whole message follows its length");
        received.push(message);
    }

    assert_eq!(
        received, messages,
        "with a 4-byte length before each message the reader cuts the stream back into the \
         messages that were written, the empty one included: the boundaries live in the bytes"
    );
}
// ANCHOR_END: exercise_3_1

// ANCHOR: exercise_3_2
#[test]
fn datagram_of_1473_bytes_still_arrives_as_one_on_loopback() {
    for family in Family::ALL
        .into_iter()
        .filter(|f| net::family_available(*f))
    {
        let sender = net::bind_loopback(family).expect("bind the sender");
        let receiver = net::bind_loopback(family).expect("bind the receiver");
        let payload: Vec<u8> = (0..ETHERNET_PAYLOAD + 1).map(|i| (i % 251) as u8).collect();

        sender
            .send_to(&payload, receiver.local_addr().expect("receiver address"))
            .expect("send 1473 bytes");
        let got = recv::recv_datagram(&receiver, "the 1473-byte datagram").expect("one receive");
        let more = recv::recv_within(&receiver, net::SILENCE).expect("listen for a second piece");

        assert!(
            got.payload == payload,
            "{family}: one receive returns all 1473 bytes, got {}",
            got.payload.len()
        );
        assert!(
            more.is_none(),
            "{family}: nothing follows: a datagram is never split into several receives, got {more:?}"
        );
    }
}
// ANCHOR_END: exercise_3_2
