//! Reference solutions for the exercises of chapter 01 (tests/ch01_echo.rs).
//!
//! Not compiled on its own: `udp-lab exercises --verify` splices each region
//! over the stub of the same name and proves it passes. Try first, then peek.

// ANCHOR: exercise_1_1
#[test]
fn echo_server_keeps_digits_and_punctuation_unchanged() {
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper).expect("start the echo server");
    let client = net::bind_loopback(Family::V4).expect("bind the client");

    let reply = recv::request(
        &client,
        echo.local_addr(),
        b"udp-lab 2026: ok!",
        "the echo reply",
    )
    .expect("the echo server answers");

    assert_eq!(
        reply.text(),
        "UDP-LAB 2026: OK!",
        "only ASCII letters are upper-cased; digits, '-', ':' and '!' come back unchanged"
    );
}
// ANCHOR_END: exercise_1_1

// ANCHOR: exercise_1_2
#[test]
fn threaded_reply_names_the_thread_that_handled_it() {
    let echo =
        server::spawn(Family::V4.any_port(), Reply::Threaded).expect("start the threaded server");
    let client = net::bind_loopback(Family::V4).expect("bind the client");

    let reply = recv::request(&client, echo.local_addr(), b"hi", "the threaded reply")
        .expect("the threaded server answers")
        .text();

    assert!(
        reply.starts_with("Thread-") && reply.ends_with(" [HI]"),
        "the reply is \"<thread name> [<REQUEST UPPER-CASED>]\", got {reply:?}"
    );
}
// ANCHOR_END: exercise_1_2

// ANCHOR: exercise_1_3
#[test]
fn server_counts_every_request_it_answers() {
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper).expect("start the echo server");
    let client = net::bind_loopback(Family::V4).expect("bind the client");
    for word in ["one", "two", "three"] {
        recv::request(&client, echo.local_addr(), word.as_bytes(), "an echo reply")
            .expect("answered");
    }

    let stats = echo.shutdown();

    assert_eq!(
        (stats.received, stats.replied),
        (3, 3),
        "three requests, three replies: {stats:?}"
    );
}
// ANCHOR_END: exercise_1_3
