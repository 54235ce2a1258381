//! Reference solutions of chapter 13's exercises (`tests/ch13_concurrency_models.rs`).
//! Not compiled on its own: `udp-lab dev verify` splices each region over
//! its stub, runs it, and runs it again under each planted bug its exercise
//! lists (it must fail under each). Try the exercise first!

// ANCHOR: exercise_13_1
#[test]
fn a_pool_of_three_threads_answers_only_from_its_three_threads() {
    let config = ServerConfig {
        workers: 3,
        ..ServerConfig::new(Model::Pool, Reply::Threaded)
    };
    let server = models::spawn_with(Family::V4.any_port(), config).expect("start a pool of three");
    assert_eq!(
        server.worker_stats().len(),
        3,
        "workers: 3 means three receiving threads, no more"
    );
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
#[test]
fn latency_percentiles_are_nearest_rank_not_the_slowest() {
    use std::time::Duration;

    let mut samples: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();

    let latency = load::Latency::of(&mut samples);

    let ms = Duration::from_millis;
    assert_eq!(
        (latency.p50, latency.p90, latency.p99, latency.max),
        (ms(50), ms(90), ms(99), ms(100)),
        "nearest rank of 100 samples: p50 is the 50th, p90 the 90th, p99 the 99th, max the \
         100th; got {latency:?}"
    );
}
// ANCHOR_END: exercise_13_2

// ANCHOR: exercise_13_3
/// A "server" on `sock` that answers everything with the same wrong bytes
/// until `stop` is dropped; its read timeout lets it notice.
fn wrong_server(sock: UdpSocket, stop: mpsc::Receiver<()>) -> thread::JoinHandle<()> {
    sock.set_read_timeout(Some(std::time::Duration::from_millis(20)))
        .expect("a short read timeout");
    thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while matches!(stop.try_recv(), Err(mpsc::TryRecvError::Empty)) {
            if let Ok((_, from)) = sock.recv_from(&mut buf) {
                let _ = sock.send_to(b"WRONG", from);
            }
        }
    })
}

#[test]
fn the_load_generator_counts_every_wrong_reply_and_every_unanswered_request() {
    let load = Load {
        clients: 4,
        length: Length::Rounds(5),
        timeout: std::time::Duration::from_millis(100),
        ..Load::default()
    };
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper).expect("start the echo server");
    let right = load::run(echo.local_addr(), &load).expect("load the real server");
    assert_eq!(
        (right.requests, right.timeouts, right.wrong),
        (20, 0, 0),
        "the real server answers all 4 x 5 requests rightly: {right:?}"
    );

    let liar = net::bind_loopback(Family::V4).expect("bind the wrong server");
    let liar_addr = liar.local_addr().expect("its address");
    let (stop, stopped) = mpsc::channel();
    let liar_thread = wrong_server(liar, stopped);
    let fooled = load::run(liar_addr, &load).expect("load the wrong server");
    drop(stop);
    liar_thread.join().expect("the wrong server stops");
    assert!(
        fooled.requests == 0 && fooled.timeouts == 20 && fooled.wrong >= 20,
        "a reply that does not answer the request is counted as wrong, and the request as \
         unanswered: expected 0 answered, 20 timeouts, at least 20 wrong; got {fooled:?}"
    );

    let silent = net::bind_loopback(Family::V4).expect("bind a silent socket");
    let unanswered = load::run(silent.local_addr().expect("its address"), &load)
        .expect("load the silent socket");
    assert_eq!(
        (unanswered.requests, unanswered.timeouts),
        (0, 20),
        "nobody answers: every request times out: {unanswered:?}"
    );
}
// ANCHOR_END: exercise_13_3
