//! Reference solutions for the exercises of chapter 09 (tests/ch09_timeouts.rs).
//!
//! Not compiled on its own: `udp-lab dev verify` splices each region over
//! the stub of the same name and proves it passes on the real library and
//! fails under every planted bug its exercise lists. Try first, then peek.

// ANCHOR: exercise_9_1
#[test]
fn a_retrying_client_gives_up_on_a_silent_server_in_bounded_time() {
    use udp_lab::lab::reliable::{Client, RetryPolicy};

    let (_silent, addr) = silent_server(Family::V4);
    let policy = RetryPolicy {
        first_timeout: Duration::from_millis(10),
        max_timeout: Duration::from_millis(20),
        attempts: 3,
    };
    let mut client = Client::new(
        net::bind_loopback(Family::V4).expect("bind the client"),
        addr,
        policy,
    );
    let (done, outcome) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(client.request(b"hello").map(|a| a.payload));
    });

    let got = outcome.recv_timeout(DEFAULT_TIMEOUT).unwrap_or_else(|_| {
        panic!(
            "3 attempts of at most 20 ms end within {DEFAULT_TIMEOUT:?}: the client waited forever"
        )
    });
    assert_eq!(
        got.as_ref().map_err(io::Error::kind),
        Err(io::ErrorKind::TimedOut),
        "every attempt unanswered: the request fails with TimedOut, not an empty answer; got {got:?}"
    );
}
// ANCHOR_END: exercise_9_1

// ANCHOR: exercise_9_2
#[test]
fn a_pinger_to_a_silent_server_counts_every_ping_lost() {
    use udp_lab::lab::reliable::{self, PingSettings};

    let (_silent, addr) = silent_server(Family::V4);
    let sock = net::bind_loopback(Family::V4).expect("bind the pinger");
    let settings = PingSettings {
        count: 3,
        timeout: Duration::from_millis(20),
        interval: Duration::from_millis(20),
    };
    let (done, outcome) = mpsc::channel();
    thread::spawn(move || {
        let _ = done.send(reliable::ping(&sock, addr, &settings, |_| {}));
    });

    let report = outcome
        .recv_timeout(DEFAULT_TIMEOUT)
        .unwrap_or_else(|_| panic!("3 pings of 20 ms end within {DEFAULT_TIMEOUT:?}: it hung"))
        .expect("the pings are sent");
    assert_eq!(
        (report.sent(), report.received()),
        (3, 0),
        "a silent server answers no ping: 3 sent, 0 received; got {report:?}"
    );
    assert_eq!(report.loss_percent(), 100.0, "every ping lost is 100% loss");
}
// ANCHOR_END: exercise_9_2
