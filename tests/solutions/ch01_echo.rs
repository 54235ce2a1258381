//! Reference solutions for the exercises of chapter 01 (tests/ch01_echo.rs).
//!
//! Not compiled on its own: `udp-lab dev verify` splices each region over
//! the stub of the same name and proves it passes on the real library and
//! fails under every planted bug its exercise lists. Try first, then peek.

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
        "only ASCII letters are upper-cased; digits, ' ', '-', ':' and '!' come back unchanged"
    );
    assert_eq!(
        reply.from,
        echo.local_addr(),
        "the reply comes from the address the request went to: the server's own socket"
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
        .expect("the threaded server answers");
    let text = reply.text();
    let number = text
        .strip_prefix("Thread-")
        .and_then(|rest| rest.strip_suffix(" [HI]"))
        .and_then(|n| n.parse::<u32>().ok());

    assert!(
        number.is_some(),
        "expected \"Thread-<n> [HI]\": the handler thread's name, then the request upper-cased \
         in brackets; got {text:?}"
    );
    assert_eq!(
        reply.from,
        echo.local_addr(),
        "the handler thread replies through the server's socket, from the server's address"
    );
}
// ANCHOR_END: exercise_1_2

// ANCHOR: exercise_1_3
#[test]
fn server_counts_every_request_it_answers() {
    let echo = server::spawn(Family::V4.any_port(), Reply::Upper).expect("start the echo server");
    let client = net::bind_loopback(Family::V4).expect("bind the client");
    for word in ["one", "two", "three"] {
        recv::request(
            &client,
            echo.local_addr(),
            word.as_bytes(),
            "the echo reply",
        )
        .expect("the echo server answers");
    }

    let stats = echo.shutdown();

    assert_eq!(
        (stats.received, stats.replied, stats.send_errors),
        (3, 3, 0),
        "three requests answered one by one: 3 received, 3 replied, no send error; got {stats:?}"
    );
}
// ANCHOR_END: exercise_1_3
