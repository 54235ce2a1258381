//! Reference solutions to the exercises of chapter 05 (one UDP socket serves
//! many clients at once). Each region replaces the stub of the same name in
//! `tests/ch05_concurrency.rs`; this file is not compiled on its own
//! (`udp-lab exercises --verify` splices it in and runs
//! `cargo test --test ch05_concurrency`).

// ANCHOR: exercise_5_1
/// Hint: bind one socket and `try_clone()` it: two handles, one socket (one
/// port). Send "alice" to an upper-casing server through the first handle,
/// then receive on the second. Whose reply is it? Do it for both families.
#[test]
fn two_clients_sharing_one_socket_can_receive_each_others_replies() {
    for family in Family::ALL {
        if !net::require(family) {
            continue;
        }
        let server = start(Reply::Upper, family);
        let alice = net::bind_loopback(family).expect("binding alice's socket");
        let bob = alice.try_clone().expect("bob shares alice's socket");
        alice
            .send_to(b"alice", server.local_addr())
            .expect("alice sends her request");
        let got = recv::recv_datagram(&bob, "alice's reply, read by bob").expect("bob receives");
        assert_eq!(
            got.text(),
            "ALICE",
            "{family}: bob read alice's reply. The server answers an address (one socket, one \
             port), not a thread: clients that share a socket share its replies"
        );
    }
}
// ANCHOR_END: exercise_5_1

// ANCHOR: exercise_5_2
/// Hint: `run_clients` takes the number of clients and of rounds; check every
/// reply with `threaded_mismatch`, then count the server's threads after `shutdown()`.
#[test]
fn threaded_server_answers_two_hundred_clients_of_two_messages() {
    for family in Family::ALL {
        if !net::require(family) {
            continue;
        }
        let server = start(Reply::Threaded, family);
        let logs = run_clients(server.local_addr(), 200, 2);
        assert_every_reply(
            &logs,
            "200 clients x 2 rounds: each client gets the threaded answer to its own request.",
            |_, ex| threaded_mismatch(ex),
        );
        assert_eq!(
            server.shutdown().threads_spawned,
            400,
            "{family}: one handler thread per datagram, 200 x 2 = 400"
        );
    }
}
// ANCHOR_END: exercise_5_2

// ANCHOR: exercise_5_3
/// Hint: send five requests "id=N hello" without waiting, then receive five
/// replies. The threaded server may answer them in any order: read the id
/// back from each reply and check that every id came back exactly once.
#[test]
fn a_client_tells_its_replies_apart_by_request_id() {
    for family in Family::ALL {
        if !net::require(family) {
            continue;
        }
        let server = start(Reply::Threaded, family);
        let client = net::bind_loopback(family).expect("binding the client");
        for id in 0..5 {
            let request = format!("id={id} hello");
            client
                .send_to(request.as_bytes(), server.local_addr())
                .expect("sending a request");
        }
        let mut ids = BTreeSet::new();
        for _ in 0..5 {
            let reply = recv::recv_datagram(&client, "one of five replies").expect("a reply");
            let text = reply.text();
            let id: u32 = text
                .split("ID=")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{text:?} carries no request id"));
            assert!(
                text.ends_with(&format!("[ID={id} HELLO]")) && ids.insert(id),
                "{family}: {text:?} should answer request {id}, once: the id in the reply, \
                 not the arrival order, says which request it answers"
            );
        }
        assert_eq!(
            ids,
            (0..5).collect(),
            "{family}: every request id came back"
        );
    }
}
// ANCHOR_END: exercise_5_3
