//! Reference solutions of chapter 13's exercises (`tests/ch13_concurrency_models.rs`).
//! Not compiled on its own: `udp-lab exercises --verify` splices each region
//! over its stub and runs it. Try the exercise first!

// ANCHOR: exercise_13_1
/// Hint: start `Model::Pool` with `ServerConfig { workers: 3, ..ServerConfig::new(Model::Pool,
/// Reply::Threaded) }`, run 20 clients x 5 with `run_clients`, collect `served_by(reply)`
/// of every reply and check each name is `pool-1`, `pool-2` or `pool-3`.
#[test]
fn a_pool_of_three_threads_answers_only_from_its_three_threads() {
    let config = ServerConfig {
        workers: 3,
        ..ServerConfig::new(Model::Pool, Reply::Threaded)
    };
    let server = models::spawn_with(Family::V4.any_port(), config).expect("start a pool of three");
    let logs = run_clients(server.local_addr(), 20, 5);

    let names: BTreeSet<String> = logs
        .iter()
        .flat_map(|log| &log.exchanges)
        .map(|ex| served_by(&ex.reply))
        .collect();
    let pool: BTreeSet<String> = (1..=3).map(|i| format!("pool-{i}")).collect();
    assert!(
        names.is_subset(&pool),
        "three threads share the socket, and a threaded reply names the thread that \
         received the request: only {pool:?} may appear, got {names:?}"
    );
}
// ANCHOR_END: exercise_13_1

// ANCHOR: exercise_13_2
/// Hint: start `Model::Batch`, send 100 requests `"burst N"` from one client without
/// waiting (they all fit in the server's receive buffer), then receive 100 replies:
/// the n-th must be `"BURST n"`. One socket, answered in batches, keeps the order.
#[test]
fn batch_model_answers_a_burst_of_a_hundred_datagrams_in_order() {
    let server = models::spawn(Family::V4.any_port(), Model::Batch, Reply::Upper)
        .expect("start the batch server");
    let client = net::bind_loopback(Family::V4).expect("bind the client");
    for n in 0..100 {
        let request = format!("burst {n}");
        client
            .send_to(request.as_bytes(), server.local_addr())
            .expect("send on loopback");
    }

    for n in 0..100 {
        let reply = udp_lab::recv::recv_datagram(&client, &format!("the reply to burst {n}"))
            .expect("every datagram of the burst is answered");
        assert_eq!(
            reply.text(),
            format!("BURST {n}"),
            "recvmmsg takes the queued datagrams in arrival order and sendmmsg sends the \
             replies in the same order: the n-th reply answers the n-th request"
        );
    }
}
// ANCHOR_END: exercise_13_2

// ANCHOR: exercise_13_3
/// Hint: bind two sockets to one port with `tune::bind_tuned` and `reuse_port: true`,
/// drop the first, then send one datagram from each of 20 fresh clients: the one
/// socket left must receive all 20 (closing a socket takes it out of the group).
/// Linux only: wrap the assertion in `if cfg!(target_os = "linux")`.
#[test]
fn a_reuseport_group_that_lost_a_socket_sends_everything_to_the_rest() {
    if !cfg!(target_os = "linux") {
        println!("skipped: SO_REUSEPORT groups as asserted here are Linux's");
        return;
    }
    let tuning = Tuning {
        reuse_port: true,
        ..Tuning::default()
    };
    let first = tune::bind_tuned(Family::V4.any_port(), tuning).expect("bind the first socket");
    let addr = first.local_addr().expect("its address");
    let rest = tune::bind_tuned(addr, tuning).expect("join the group");
    drop(first);

    for i in 0..20 {
        let client = net::bind_loopback(Family::V4).expect("bind a client");
        client
            .send_to(format!("client {i}").as_bytes(), addr)
            .expect("send on loopback");
    }
    let received = (0..20)
        .filter(|i| udp_lab::recv::recv_datagram(&rest, &format!("datagram {i}")).is_ok())
        .count();
    assert_eq!(
        received, 20,
        "a closed socket leaves the SO_REUSEPORT group: the hash now picks among the sockets \
         left, so the one remaining socket receives all 20 clients' datagrams"
    );
}
// ANCHOR_END: exercise_13_3
