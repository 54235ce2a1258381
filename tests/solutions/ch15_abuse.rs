//! Reference solutions for the exercises of chapter 15 (tests/ch15_abuse.rs).
//!
//! Not compiled on its own: `udp-lab dev verify` splices each region over
//! the stub of the same name and proves it passes on the real library and
//! fails under every planted bug its exercise lists. Try first, then peek.

// ANCHOR: exercise_15_1
#[test]
fn a_cap_of_3_withholds_the_reply_to_a_short_request_and_sends_the_long_one() {
    let server = guarded(
        Reply::Threaded,
        Guard {
            max_amplification: Amplification::new(3.0),
            ..Guard::default()
        },
    );
    let sock = client();

    sock.send_to(b"hi", server.local_addr())
        .expect("send a short request");
    let short = within_silence(&sock);
    let long = [b'a'; 64];
    let reply = recv::request(&sock, server.local_addr(), &long, "the reply to 64 bytes")
        .expect("a reply within 3 x 64 bytes is sent");

    assert!(
        short.is_none(),
        "the reply to 2 bytes is over 6 bytes: withheld, got {short:?}"
    );
    assert!(
        reply.payload.len() <= 3 * long.len(),
        "the long reply is within the cap"
    );
    let stats = server.shutdown();
    assert_eq!(
        (stats.over_amplification, stats.replied),
        (1, 1),
        "{stats:?}"
    );
}
// ANCHOR_END: exercise_15_1

// ANCHOR: exercise_15_2
#[test]
fn two_quiet_sources_are_still_answered_while_a_third_floods() {
    const FLOOD: u64 = 150;
    let limit = RateLimit {
        burst: 3,
        refill_every: 20,
    };
    let server = guarded(
        Reply::Upper,
        Guard {
            rate_limit: Some(limit),
            ..Guard::default()
        },
    );
    let (flooder, first, second) = (client(), client(), client());

    for i in 0..FLOOD {
        flooder
            .send_to(format!("flood {i}").as_bytes(), server.local_addr())
            .expect("flood");
    }
    for i in 0..3 {
        for (name, sock) in [("first", &first), ("second", &second)] {
            let request = format!("{name} {i}");
            let reply = recv::request(
                sock,
                server.local_addr(),
                request.as_bytes(),
                "a quiet reply",
            )
            .expect("a quiet source is answered during the flood");
            assert_eq!(reply.payload, request.to_uppercase().as_bytes());
        }
    }

    let stats = server.shutdown();
    assert!(
        stats.rate_limited >= FLOOD - limit.most_admitted_alone(FLOOD),
        "the flood beyond its burst and refills is limited: {stats:?}"
    );
}
// ANCHOR_END: exercise_15_2

// ANCHOR: exercise_15_3
#[test]
fn a_client_completes_the_token_handshake_and_a_stolen_token_gets_nothing() {
    let key = TokenKey::random().expect("a key from the OS random source");
    let server = guarded(
        Reply::Upper,
        Guard {
            validate: Some(key),
            ..Guard::default()
        },
    );
    let (alice, mallory) = (client(), client());
    let to = server.local_addr();

    // The handshake: a padded first request, the token, then the real one.
    let handshake = |sock: &UdpSocket, payload: &[u8]| {
        let padded = [payload, &vec![b' '; token::RETRY_LEN][..]].concat();
        let retry = recv::request(sock, to, &padded, "the token reply").expect("a token reply");
        let tok = token::retry_token(&retry.payload)
            .expect("'retry <token>'")
            .to_vec();
        let full = recv::request(
            sock,
            to,
            &token::with_token(&tok, payload),
            "the full answer",
        );
        (
            tok,
            full.expect("the answer to a request with the source's own token"),
        )
    };
    let (alices, answer) = handshake(&alice, b"hello");
    mallory
        .send_to(&token::with_token(&alices, b"steal"), to)
        .expect("replay alice's token");
    let stolen = within_silence(&mallory);

    assert_eq!(
        answer.payload, b"HELLO",
        "alice's request with her token is answered in full"
    );
    assert!(
        stolen.as_ref().is_none_or(|d| d.payload != b"STEAL"),
        "mallory's request with alice's token is not answered in full: {stolen:?}"
    );
    let stats = server.shutdown();
    assert_eq!((stats.replied, stats.challenged), (1, 2), "{stats:?}");
}
// ANCHOR_END: exercise_15_3
