//! Reference solutions to the exercises of chapter 05 (one UDP socket serves
//! many clients at once). Each region replaces the stub of the same name in
//! `tests/ch05_concurrency.rs`; this file is not compiled on its own
//! (`udp-lab dev verify` splices it in, runs
//! `cargo test --test ch05_concurrency`, and runs each solution again under
//! the planted bugs its exercise lists: it must fail under each).

// ANCHOR: exercise_5_1
#[test]
fn two_clients_taking_turns_each_receive_only_their_own_replies() {
    for family in Family::ALL {
        if !net::require(family) {
            continue;
        }
        let server = start(Reply::Upper, family);
        let alice = net::bind_loopback(family).expect("bind alice's socket");
        let bob = net::bind_loopback(family).expect("bind bob's socket");
        for round in 0..3 {
            for (name, sock) in [("alice", &alice), ("bob", &bob)] {
                let request = format!("{name} {round}");
                let reply = recv::request(sock, server.local_addr(), request.as_bytes(), &request)
                    .unwrap_or_else(|e| {
                        panic!("{family}: {name} gets a reply in round {round}: {e}")
                    });
                assert_eq!(
                    reply.text(),
                    request.to_uppercase(),
                    "{family}: {name}'s reply answers {name}'s request: the server replies to each \
                     request's source"
                );
            }
        }
    }
}
// ANCHOR_END: exercise_5_1

// ANCHOR: exercise_5_2
#[test]
fn threaded_server_answers_fifty_clients_of_four_messages_each_from_its_own_thread() {
    for family in Family::ALL {
        if !net::require(family) {
            continue;
        }
        let server = start(Reply::Threaded, family);
        let logs = run_clients(server.local_addr(), 50, 4);
        assert_every_reply(
            &logs,
            "50 clients x 4 rounds: each client gets the threaded answer to its own request.",
            |_, ex| threaded_mismatch(ex),
        );
        let names: BTreeSet<String> = logs
            .iter()
            .flat_map(|log| &log.exchanges)
            .map(|ex| served_by(&ex.reply))
            .collect();
        assert_eq!(
            names.len(),
            200,
            "{family}: 200 replies from 200 different handler threads"
        );
        assert_eq!(
            server.shutdown().threads_spawned,
            200,
            "{family}: one handler thread per datagram, 50 x 4 = 200"
        );
    }
}
// ANCHOR_END: exercise_5_2

// ANCHOR: exercise_5_3
/// The client and request id a threaded reply `"Thread-N [CLIENT-K ID=I]"` answers.
fn answered_id(reply: &str) -> Option<(usize, u32)> {
    let inside = reply.split_once(" [")?.1.strip_suffix(']')?;
    let (client, id) = inside.strip_prefix("CLIENT-")?.split_once(" ID=")?;
    Some((client.parse().ok()?, id.parse().ok()?))
}

#[test]
fn every_client_of_a_burst_gets_back_each_of_its_request_ids_once() {
    for family in Family::ALL {
        if !net::require(family) {
            continue;
        }
        let server = start(Reply::Threaded, family);
        let clients: Vec<UdpSocket> = (0..10)
            .map(|_| net::bind_loopback(family).expect("bind a client"))
            .collect();
        for (k, client) in clients.iter().enumerate() {
            for id in 0..5 {
                let request = format!("client-{k} id={id}");
                client
                    .send_to(request.as_bytes(), server.local_addr())
                    .expect("send a request without waiting");
            }
        }
        for (k, client) in clients.iter().enumerate() {
            let mut ids = BTreeSet::new();
            for _ in 0..5 {
                let text = recv::recv_datagram(client, "one of five replies")
                    .expect("a reply")
                    .text();
                let answered = answered_id(&text);
                assert!(
                    matches!(answered, Some((c, id)) if c == k && ids.insert(id)),
                    "{family}: client {k} got {text:?}: each reply answers one request of this \
                     client, each id once"
                );
            }
            assert_eq!(
                ids,
                (0..5).collect(),
                "{family}: client {k} got every id back"
            );
        }
    }
}
// ANCHOR_END: exercise_5_3
