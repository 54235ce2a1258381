//! Reference solutions for the exercises of chapter 04 (tests/ch04_absent_server.rs).
//!
//! Not compiled on its own: `udp-lab exercises --verify` splices each region
//! over the stub of the same name and proves it passes. Try first, then peek.

// ANCHOR: exercise_4_1
#[test]
fn same_socket_still_talks_to_a_real_server_after_sending_into_the_void() {
    use udp_lab::lab::server::{self, Reply};

    for family in Family::ALL
        .into_iter()
        .filter(|f| net::family_available(*f))
    {
        let client = net::bind_loopback(family).expect("bind the client");
        let nobody = absent_server(family);
        client
            .send_to(b"anyone?", nobody.addr())
            .expect("send_to returns Ok");
        let echo = server::spawn(family.any_port(), Reply::Upper).expect("start the echo server");

        let reply = recv::request(&client, echo.local_addr(), b"hello", "the echo reply")
            .expect("the same socket reaches a real server");

        assert_eq!(
            reply.text(),
            "HELLO",
            "{family}: a datagram lost in the void leaves the unconnected socket as it was: \
             it still sends and receives"
        );
    }
}
// ANCHOR_END: exercise_4_1

// ANCHOR: exercise_4_2
#[test]
fn server_started_after_the_send_receives_nothing() {
    for family in Family::ALL
        .into_iter()
        .filter(|f| net::family_available(*f))
    {
        let client = net::bind_loopback(family).expect("bind the client");
        let nobody = absent_server(family);
        let addr = nobody.addr();
        client
            .send_to(b"too early", addr)
            .expect("send_to returns Ok");
        drop(nobody); // free the port for the late server

        let late_server = net::bind(addr).expect("bind the late server to that address");
        let heard = recv::recv_within(&late_server, net::SILENCE).expect("listen");

        assert!(
            heard.is_none(),
            "{family}: the datagram was dropped when it found nobody on {addr}; a socket \
             bound afterwards gets nothing, got {heard:?}"
        );
    }
}
// ANCHOR_END: exercise_4_2
