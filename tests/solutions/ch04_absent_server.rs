//! Reference solutions for the exercises of chapter 04 (tests/ch04_absent_server.rs).
//!
//! Not compiled on its own: `udp-lab dev verify` splices each region over
//! the stub of the same name and proves it passes on the real library and
//! fails under every planted bug its exercise lists. Try first, then peek.

// ANCHOR: exercise_4_1
#[test]
fn a_stopped_servers_port_is_free_to_bind_again() {
    use udp_lab::lab::server::{self, Reply};

    for family in Family::ALL {
        if !net::family_available(family) {
            continue;
        }
        let echo = server::spawn(family.any_port(), Reply::Upper).expect("start the echo server");
        let client = net::bind_loopback(family).expect("bind the client");
        recv::request(&client, echo.local_addr(), b"hi", "the echo reply")
            .expect("the running server answers");
        let addr = echo.local_addr();

        echo.shutdown();

        let again = net::bind(addr);
        assert!(
            again.is_ok(),
            "{family}: after shutdown no socket is left on {addr}, so it can be bound again (and \
             is an absent server to any sender); got {:?}",
            again.err()
        );
    }
}
// ANCHOR_END: exercise_4_1

// ANCHOR: exercise_4_2
#[test]
#[file_serial(icmp)]
fn ip_recverr_tells_which_of_two_absent_servers_refused() {
    if !cfg!(target_os = "linux") {
        return;
    }
    for family in Family::ALL {
        if !net::require(family) {
            continue;
        }
        let (first, second) = (absent_server(family), absent_server(family));
        let sock = net::bind_loopback(family).expect("bind the sender");
        kernel::set_recv_errors(&sock, true).expect("setsockopt IP_RECVERR");
        for to in [first.addr(), second.addr()] {
            sock.send_to(b"anyone there?", to)
                .expect("send_to returns Ok: the refusal comes after");
            let refusal = kernel::next_queued_error(&sock, net::SILENCE)
                .expect("recvmsg(MSG_ERRQUEUE)")
                .unwrap_or_else(|| panic!("{family}: a refusal from {to} is queued"));
            assert_eq!(
                refusal.destination, to,
                "{family}: the queued error names the address that refused, so one socket can \
                 tell its absent peers apart"
            );
        }
    }
}
// ANCHOR_END: exercise_4_2
