//! Planted bugs: a named catalogue of mistakes the lab can be made to
//! make, so that a test can be graded on whether it would notice them.
//!
//! A test that passes proves little by itself: `assert!(true)` passes too.
//! A test is *sharp* when it also fails on a server, relay or client that
//! breaks the property it claims. Each [`Bug`] below is one such break,
//! planted in the lab tier (`src/lab/`: the servers, the relay, the reliable
//! clients, the buffer measurement, the load generator), never in the
//! socket tier that students read first.
//!
//! # Off by default, and absent from a normal build
//! A bug is live only when the crate is built with the cargo feature
//! `planted-bugs` *and* the environment variable [`ENV`]
//! (`UDP_LAB_PLANTED_BUG`) names it when the process starts. Without the
//! feature, [`active`] is a `const fn` returning `false`, so every hook
//! (`if planted::active(Bug::X) { ... }`) is dead code the compiler drops.
//!
//! # Who uses it
//! - `udp-lab exercises check N.M` and `grade` run a student's test against
//!   the real library (it must pass) and against each bug its exercise lists
//!   under `Catches:` (it must fail).
//! - `udp-lab dev verify` proves that every reference solution catches the
//!   bugs its exercise lists, and that every bug is caught by the chapter
//!   tests named in [`Planted::caught_by`].
//!
//! How to add one: `docs/contributing.md`, "Planted bugs".

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

/// The environment variable naming the one planted bug to turn on.
pub const ENV: &str = "UDP_LAB_PLANTED_BUG";

/// Every planted bug. Its name (`snake_case`, as in `Catches:` lists and
/// [`ENV`]) and what it does are in [`CATALOGUE`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bug {
    ReplyFromAnotherSocket,
    UpperCasesEveryByte,
    MiscountsReplies,
    IgnoresEmptyRequest,
    StopsOnEmptyRequest,
    MergesQueuedRequests,
    SplitsLongReplies,
    KeepsPortAfterShutdown,
    RecverrWrongDestination,
    AnswersThePreviousClient,
    ReusesThreadNames,
    TruncatesAt1024,
    StaleBufferTail,
    Ipv4SizedBuffer,
    CutsOversizedReplies,
    LostBlamesTheSender,
    DropsReadFromTheSender,
    ClientsWaitForever,
    TimeoutIsAnAnswer,
    AcceptsReplyFromAnyAddress,
    RelayHearsStrangers,
    RelayIgnoresSeed,
    UncountedDuplicates,
    IgnoresHoldClock,
    AckSeqUnchecked,
    DeliversDuplicates,
    RetryTakesStaleReply,
    PingTakesAnyEcho,
    PingMiscountsLoss,
    PoolIgnoresWorkers,
    LoadAcceptsAnyReply,
    P99IsTheMax,
    RtoIgnoresKarn,
    PacerBursts,
    QueueCountsNoDrop,
    AmplificationCapIgnored,
    LimiterLetsFloodThrough,
    TokenCheckAcceptsAny,
    GroIgnoresSegmentSize,
    GsoOverrunsLastSegment,
    SplitDropsShortTail,
    ClearsDontFragment,
    PathMtuIsTheLinkMtu,
    SwallowsBroadcastError,
    ReceiverForgetsToJoin,
    LeaveKeepsMembership,
    MulticastLoopIgnored,
    MulticastTtlIgnored,
    RepliesFromTheWildcardsPick,
    PktinfoIgnoresIpv6,
}

/// One entry of the catalogue.
#[derive(Clone, Copy, Debug)]
pub struct Planted {
    /// The bug.
    pub bug: Bug,
    /// Its name in `Catches:` lists and in [`ENV`].
    pub name: &'static str,
    /// The chapter whose property it breaks.
    pub chapter: u8,
    /// What the lab does wrong, in one line.
    pub what: &'static str,
    /// Chapter tests that fail with it, as `chNN_slug::test_fn` (every rstest
    /// case of `test_fn` runs): the course's own tests are shown sharp. Never
    /// empty: `udp-lab dev verify` requires at least one, and that each fails
    /// under the bug.
    pub caught_by: &'static [&'static str],
}

const fn bug(
    bug: Bug,
    name: &'static str,
    chapter: u8,
    what: &'static str,
    caught_by: &'static [&'static str],
) -> Planted {
    Planted {
        bug,
        name,
        chapter,
        what,
        caught_by,
    }
}

/// Every planted bug, by chapter.
pub const CATALOGUE: &[Planted] = &[
    bug(Bug::ReplyFromAnotherSocket, "reply_from_another_socket", 1,
        "the echo server sends each reply from a new socket (another port), not the one the request came to",
        &["ch01_echo::reply_goes_to_the_address_the_request_came_from"]),
    bug(Bug::UpperCasesEveryByte, "upper_cases_every_byte", 1,
        "the echo server clears bit 5 of every byte (digits, spaces and punctuation change too), not only of ASCII letters",
        &["ch01_echo::echo_server_replies_with_the_request_upper_cased"]),
    bug(Bug::MiscountsReplies, "miscounts_replies", 1,
        "the echo server never counts a reply it sent in ServerStats::replied",
        &["ch01_echo::threaded_reply_too_large_to_send_is_counted_as_a_send_error"]),
    bug(Bug::IgnoresEmptyRequest, "ignores_empty_request", 2,
        "the echo server counts an empty request but sends no reply to it",
        &["ch02_empty_datagrams::echo_server_answers_an_empty_request_with_an_empty_reply"]),
    bug(Bug::StopsOnEmptyRequest, "stops_on_empty_request", 2,
        "the echo server takes an empty request for TCP's end of stream and stops serving, unanswered",
        &["ch02_empty_datagrams::echo_server_answers_an_empty_request_with_an_empty_reply"]),
    bug(Bug::MergesQueuedRequests, "merges_queued_requests", 3,
        "the echo server waits 100 ms for a second request from the same client and answers both with one merged reply",
        &["ch03_message_boundaries::echo_server_counts_two_back_to_back_requests_as_two_and_answers_each"]),
    bug(Bug::SplitsLongReplies, "splits_long_replies", 3,
        "the echo server sends a reply longer than 1,024 bytes as two datagrams",
        &["ch07_datagram_size::law_every_payload_size_round_trips_intact_through_the_echo_server"]),
    bug(Bug::KeepsPortAfterShutdown, "keeps_port_after_shutdown", 4,
        "a stopped echo server leaves a socket open on its port: it is still bound, and requests queue there unread",
        &["ch04_absent_server::a_connected_client_of_a_stopped_server_hears_the_refusal"]),
    bug(Bug::RecverrWrongDestination, "recverr_wrong_destination", 4,
        "the lab's IP_RECVERR reader gives the socket's own address as the refused destination",
        &["ch04_absent_server::with_ip_recverr_an_unconnected_socket_is_told_which_address_refused"]),
    bug(Bug::AnswersThePreviousClient, "answers_the_previous_client", 5,
        "the echo server sends each reply to the source of the request before (the first to its own source)",
        &["ch05_concurrency::no_client_ever_receives_another_clients_reply"]),
    bug(Bug::ReusesThreadNames, "reuses_thread_names", 5,
        "the threaded server names every handler thread Thread-1",
        &["ch05_concurrency::threaded_server_answers_every_datagram_on_a_new_thread"]),
    bug(Bug::TruncatesAt1024, "truncates_at_1024", 6,
        "the echo server receives into the article's 1,024-byte buffer: longer requests are cut, silently",
        &["ch07_datagram_size::law_every_payload_size_round_trips_intact_through_the_echo_server"]),
    bug(Bug::StaleBufferTail, "stale_buffer_tail", 6,
        "the echo server answers from its reused buffer up to the longest request so far: a short request's reply carries an old tail",
        &["ch02_empty_datagrams::echo_server_counts_an_empty_request_after_a_longer_one_as_empty"]),
    bug(Bug::Ipv4SizedBuffer, "ipv4_sized_buffer", 7,
        "the echo server's receive buffer is 65,507 bytes (IPv4's largest payload): the largest IPv6 request is cut",
        &["ch07_datagram_size::law_every_payload_size_round_trips_intact_through_the_echo_server"]),
    bug(Bug::CutsOversizedReplies, "cuts_oversized_replies", 7,
        "a reply too long for one datagram is cut to fit and sent, instead of refused (EMSGSIZE) and counted",
        &["ch01_echo::threaded_reply_too_large_to_send_is_counted_as_a_send_error"]),
    bug(Bug::LostBlamesTheSender, "lost_blames_the_sender", 8,
        "the buffer measurement counts as lost only what the sender failed to send (0 on loopback)",
        &["ch08_buffers::smallest_receive_buffer_loses_most_of_a_blast_silently"]),
    bug(Bug::DropsReadFromTheSender, "drops_read_from_the_sender", 8,
        "the kernel's drop count is read from the wrong socket's row: 0, what the sender's row shows on loopback",
        &["ch08_buffers::kernel_counts_exactly_the_datagrams_the_receiver_lost"]),
    bug(Bug::ClientsWaitForever, "clients_wait_forever", 9,
        "the lab's retrying client, stop-and-wait sender and pinger clear their read timeout and wait for a reply forever",
        &["ch09_timeouts::a_stop_and_wait_sender_gives_up_on_a_silent_peer_in_bounded_time"]),
    bug(Bug::TimeoutIsAnAnswer, "timeout_is_an_answer", 9,
        "the retrying client returns an empty answer when every attempt timed out, and the pinger counts a timed-out ping as answered",
        &["ch12_reliability::pinger_counts_every_ping_the_relay_dropped_as_lost"]),
    bug(Bug::AcceptsReplyFromAnyAddress, "accepts_reply_from_any_address", 10,
        "the retrying client takes a reply from any address, as an unconnected socket hears everyone",
        &["ch12_reliability::a_reply_from_another_address_is_ignored"]),
    bug(Bug::RelayHearsStrangers, "relay_hears_strangers", 10,
        "the relay's socket toward the server is not connected: it forwards to the client whatever anyone sends it",
        &["ch10_connected_sockets::a_relay_in_front_of_an_absent_server_counts_the_refusal"]),
    bug(Bug::RelayIgnoresSeed, "relay_ignores_seed", 11,
        "the relay draws its decisions from seed 42 whatever seed it was given",
        &["ch11_impairments::relay_delivers_exactly_the_sequence_its_seed_predicts"]),
    bug(Bug::UncountedDuplicates, "uncounted_duplicates", 11,
        "the relay sends every fifth datagram twice and counts no duplicate",
        &["ch11_impairments::relay_delivers_exactly_the_sequence_its_seed_predicts"]),
    bug(Bug::IgnoresHoldClock, "ignores_hold_clock", 11,
        "the relay keeps a held datagram until an overtaker comes or it stops: its hold clock never fires",
        &["ch11_impairments::a_lone_request_held_both_ways_is_answered_after_the_hold_clock"]),
    bug(Bug::AckSeqUnchecked, "ack_seq_unchecked", 12,
        "the stop-and-wait sender takes any ACK for the frame it waits for, stale ones too",
        &["ch12_reliability::stop_and_wait_delivers_a_stream_intact_and_in_order_over_a_lossy_relay"]),
    bug(Bug::DeliversDuplicates, "delivers_duplicates", 12,
        "the stream receiver appends a retransmitted chunk it already has",
        &["ch12_reliability::stop_and_wait_delivers_a_stream_intact_and_in_order_over_a_lossy_relay"]),
    bug(Bug::RetryTakesStaleReply, "retry_takes_stale_reply", 12,
        "the retrying client takes the reply to an earlier request for the current one",
        &["ch12_reliability::a_duplicated_reply_is_never_taken_for_the_next_request"]),
    bug(Bug::PingTakesAnyEcho, "ping_takes_any_echo", 12,
        "the pinger takes any echo from the target for the current ping, a late one too",
        &["ch12_reliability::pinger_counts_a_duplicated_echo_as_late_not_as_the_next_answer"]),
    bug(Bug::PingMiscountsLoss, "ping_miscounts_loss", 12,
        "the pinger's loss percentage is the share of pings answered, not lost",
        &[
            "ch12_reliability::pinger_reports_every_echo_with_its_round_trip_time",
            "ch12_reliability::pinger_counts_every_ping_the_relay_dropped_as_lost",
        ]),
    bug(Bug::PoolIgnoresWorkers, "pool_ignores_workers", 13,
        "the pool model starts one thread more than its configured workers",
        &["ch13_concurrency_models::threaded_replies_name_the_thread_of_the_model_that_served_them"]),
    bug(Bug::LoadAcceptsAnyReply, "load_accepts_any_reply", 13,
        "the load generator takes any reply from the server for the answer to its request",
        &["ch13_concurrency_models::bench_counts_a_wrong_reply_and_never_takes_it_for_the_answer"]),
    bug(Bug::P99IsTheMax, "p99_is_the_max", 13,
        "the load generator reports the slowest request as p99",
        &["ch13_concurrency_models::one_slow_request_in_a_thousand_moves_the_max_not_p99"]),
    bug(Bug::RtoIgnoresKarn, "rto_ignores_karn", 14,
        "the RTO estimator takes a round-trip sample from a retransmitted request (Karn's rule ignored)",
        &[
            "ch14_congestion::law_a_sample_from_a_retransmitted_request_changes_nothing",
            "ch14_congestion::an_answer_to_a_retried_request_gives_the_client_no_rtt_sample",
            "ch14_congestion::the_client_takes_one_rtt_sample_per_request_answered_at_the_first_attempt",
        ]),
    bug(Bug::PacerBursts, "pacer_bursts", 14,
        "the pacer's token bucket has no depth: credit saved while idle leaves as one burst",
        &["ch14_congestion::law_paced_send_times_never_exceed_the_rate_over_any_window"]),
    bug(Bug::QueueCountsNoDrop, "queue_counts_no_drop", 14,
        "the bottleneck's full queue drops a datagram at its tail without counting it",
        &[
            "ch14_congestion::a_bottleneck_forwards_one_datagram_per_token_and_drops_what_its_queue_cannot_hold",
            "ch14_congestion::law_every_arrival_at_the_bottleneck_is_forwarded_dropped_or_queued",
            "ch14_congestion::blasting_at_five_times_the_bottleneck_rate_delivers_no_more_than_pacing",
        ]),
    bug(Bug::AmplificationCapIgnored, "amplification_cap_ignored", 15,
        "a guarded server sends every reply, however far over its amplification cap",
        &["ch15_abuse::capped_server_sends_no_reply_longer_than_factor_times_its_request"]),
    bug(Bug::LimiterLetsFloodThrough, "limiter_lets_flood_through", 15,
        "the rate limiter admits a source whose bucket is empty: a flood is answered in full",
        &["ch15_abuse::a_flooding_source_is_limited_while_another_source_is_still_answered"]),
    bug(Bug::TokenCheckAcceptsAny, "token_check_accepts_any", 15,
        "the validating server accepts any well-formed token, even one made for another address",
        &["ch15_abuse::validating_server_answers_in_full_only_a_token_made_for_the_source"]),
    bug(Bug::GroIgnoresSegmentSize, "gro_ignores_segment_size", 19,
        "the GRO receiver drops the UDP_GRO control message: a coalesced message looks like one datagram",
        &["ch19_fast_paths::a_gso_super_datagram_reaches_a_gro_receiver_whole_and_splits_back_exactly"]),
    bug(Bug::GsoOverrunsLastSegment, "gso_overruns_last_segment", 19,
        "the GSO sender sends its last segment full-size, reading past the end of the data",
        &["ch19_fast_paths::one_gso_send_arrives_at_a_plain_receiver_as_separate_datagrams_in_order"]),
    bug(Bug::SplitDropsShortTail, "split_drops_short_tail", 19,
        "the splitter keeps only full-size pieces: the short last datagram of a coalesced message is lost",
        &["ch19_fast_paths::a_gso_super_datagram_reaches_a_gro_receiver_whole_and_splits_back_exactly"]),
    bug(Bug::ClearsDontFragment, "clears_dont_fragment", 16,
        "asked for \"don't fragment\", the lab's sender lets the kernel fragment (IP_PMTUDISC_DONT, IPV6_DONTFRAG 0)",
        &[
            "ch16_path_mtu::a_datagram_over_the_path_mtu_with_dont_fragment_fails_with_emsgsize",
            "ch16_path_mtu::ipv6_loopback_with_dontfrag_takes_65488_bytes_and_refuses_65489",
        ]),
    bug(Bug::PathMtuIsTheLinkMtu, "path_mtu_is_the_link_mtu", 16,
        "the path-MTU reader returns the MTU of the sender's own interface, not the kernel's path MTU (IP_MTU)",
        &["ch16_path_mtu::fragmentation_needed_from_the_router_lowers_the_senders_path_mtu"]),
    bug(Bug::SwallowsBroadcastError, "swallows_broadcast_error", 17,
        "the lab's broadcaster never sets SO_BROADCAST and reports the refused send (EACCES) as sent",
        &["ch17_broadcast_multicast::one_broadcast_reaches_every_host_on_the_link_once"]),
    bug(Bug::ReceiverForgetsToJoin, "receiver_forgets_to_join", 17,
        "the lab's group member binds the group's port but never joins the group",
        &["ch17_broadcast_multicast::one_multicast_send_reaches_every_member_and_no_other_host"]),
    bug(Bug::LeaveKeepsMembership, "leave_keeps_membership", 17,
        "leaving a group does nothing: the member keeps receiving",
        &["ch17_broadcast_multicast::a_member_that_leaves_the_group_hears_nothing_more"]),
    bug(Bug::MulticastLoopIgnored, "multicast_loop_ignored", 17,
        "the lab's group sender leaves IP_MULTICAST_LOOP on when asked to turn it off",
        &["ch17_broadcast_multicast::multicast_loop_decides_whether_the_senders_own_host_hears_it"]),
    bug(Bug::MulticastTtlIgnored, "multicast_ttl_ignored", 17,
        "the lab's group sender leaves the TTL (hop limit) at 1 whatever it is asked",
        &["ch17_broadcast_multicast::a_group_datagram_leaves_with_the_ttl_the_sender_set"]),
    bug(Bug::RepliesFromTheWildcardsPick, "replies_from_the_wildcards_pick", 18,
        "the pktinfo server learns each request's destination but replies from the source the kernel picks",
        &["ch18_multihoming::a_pktinfo_server_replies_from_the_address_the_client_asked"]),
    bug(Bug::PktinfoIgnoresIpv6, "pktinfo_ignores_ipv6", 18,
        "the pktinfo server asks for IP_PKTINFO only: over IPv6 it learns no destination and replies from the kernel's pick",
        &[
            "ch18_multihoming::ip_pktinfo_tells_the_server_the_address_each_request_was_sent_to",
            "ch18_multihoming::a_pktinfo_server_replies_from_the_address_the_client_asked",
        ]),
];

/// The catalogue entry named `name`.
pub fn find(name: &str) -> Option<&'static Planted> {
    CATALOGUE.iter().find(|p| p.name == name)
}

/// The catalogue entry of `bug`.
pub fn entry(bug: Bug) -> &'static Planted {
    CATALOGUE
        .iter()
        .find(|p| p.bug == bug)
        .expect("every Bug has a catalogue entry (tested)")
}

/// Whether `bug` is planted in this process: built with the feature
/// `planted-bugs` and named by [`ENV`].
#[cfg(feature = "planted-bugs")]
pub fn active(bug: Bug) -> bool {
    selected() == Some(bug)
}

/// Whether `bug` is planted in this process: never, without the feature
/// `planted-bugs` (the hooks compile to nothing).
#[cfg(not(feature = "planted-bugs"))]
#[inline(always)]
pub const fn active(_bug: Bug) -> bool {
    false
}

/// The bug [`ENV`] names, read once. A name that is not in the catalogue
/// stops the process: a typo must never look like a clean run.
#[cfg(feature = "planted-bugs")]
fn selected() -> Option<Bug> {
    use std::sync::OnceLock;
    static SELECTED: OnceLock<Option<Bug>> = OnceLock::new();
    *SELECTED.get_or_init(|| {
        let name = std::env::var(ENV).ok().filter(|n| !n.is_empty())?;
        match find(&name) {
            Some(p) => Some(p.bug),
            None => {
                let names: Vec<&str> = CATALOGUE.iter().map(|p| p.name).collect();
                eprintln!(
                    "{ENV}={name}: no such planted bug; known: {}",
                    names.join(", ")
                );
                std::process::exit(101);
            }
        }
    })
}

// The mutations themselves, called only behind `active(...)`: each is
// the wrong code a student might write, kept here so that the lab's own
// files carry one-line hooks and nothing else.

/// `ReplyFromAnotherSocket`: sends `reply` from a fresh socket.
pub(crate) fn send_from_another_socket(reply: &[u8], to: SocketAddr) -> std::io::Result<usize> {
    let other = crate::net::bind_loopback(crate::net::Family::of(&to))?;
    other.send_to(reply, to)
}

/// `UpperCasesEveryByte`: bit 5 cleared, whatever the byte.
pub(crate) fn clear_bit_5(byte: &u8) -> u8 {
    byte & !0x20
}

/// The length the echo server reads into: the article's 1,024 bytes
/// (`TruncatesAt1024`), IPv4's largest payload (`Ipv4SizedBuffer`), or
/// `full`.
pub(crate) fn receive_length(full: usize) -> usize {
    if active(Bug::TruncatesAt1024) {
        1024
    } else if active(Bug::Ipv4SizedBuffer) {
        65_507
    } else {
        full
    }
}

/// `StaleBufferTail`: the length answered, the longest request so far.
pub(crate) fn stale_length(n: usize, longest: &mut usize) -> usize {
    if active(Bug::StaleBufferTail) {
        *longest = (*longest).max(n);
        *longest
    } else {
        n
    }
}

/// `MergesQueuedRequests`: waits up to 100 ms for a second request from
/// `from` and appends it to `buf[..n]`; the new length. A request from
/// anyone else is left queued.
pub(crate) fn merge_next(sock: &UdpSocket, buf: &mut [u8], n: usize, from: SocketAddr) -> usize {
    let before = sock.read_timeout().ok().flatten();
    let _ = sock.set_read_timeout(Some(Duration::from_millis(100)));
    let mut merged = n;
    if let Ok((_, next)) = sock.peek_from(&mut [0u8; 1]) {
        if next == from {
            if let Ok((m, _)) = sock.recv_from(&mut buf[n..]) {
                merged += m;
            }
        }
    }
    let _ = sock.set_read_timeout(before);
    merged
}

/// `AnswersThePreviousClient`: where the reply goes, the source of the
/// request before this one (kept for the whole process).
pub(crate) fn previous_client(to: SocketAddr) -> SocketAddr {
    use std::sync::Mutex;
    static LAST: Mutex<Option<SocketAddr>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    last.replace(to).unwrap_or(to)
}

/// `SplitsLongReplies`: sends `reply` as two datagrams when longer than 1,024.
pub(crate) fn send_split(sock: &UdpSocket, reply: &[u8], to: SocketAddr) -> std::io::Result<usize> {
    let (head, tail) = reply.split_at(reply.len().min(1024));
    let sent = sock.send_to(head, to)?;
    if tail.is_empty() {
        return Ok(sent);
    }
    Ok(sent + sock.send_to(tail, to)?)
}

/// `CutsOversizedReplies`: `reply` cut to the largest payload of `to`'s family.
pub(crate) fn fit(reply: &[u8], to: SocketAddr) -> &[u8] {
    &reply[..reply.len().min(crate::net::Family::of(&to).max_payload())]
}

/// `GsoOverrunsLastSegment`: `data` with its last segment made full-size
/// from bytes past its end (0xEE here), or `data` itself.
pub(crate) fn last_segment(data: &[u8], segment: usize) -> std::borrow::Cow<'_, [u8]> {
    let short = if segment == 0 {
        0
    } else {
        data.len() % segment
    };
    if !active(Bug::GsoOverrunsLastSegment) || short == 0 {
        return std::borrow::Cow::Borrowed(data);
    }
    let mut overrun = data.to_vec();
    overrun.resize(data.len() + segment - short, 0xEE);
    std::borrow::Cow::Owned(overrun)
}

/// `SplitDropsShortTail`: drops a last piece shorter than the first.
pub(crate) fn drop_short_tail(pieces: &mut Vec<&[u8]>) {
    let full = pieces.first().map_or(0, |p| p.len());
    if pieces.len() > 1 && pieces.last().is_some_and(|p| p.len() < full) {
        pieces.pop();
    }
}

/// `SwallowsBroadcastError`: `send_to` without `SO_BROADCAST`, and the
/// kernel's `EACCES` taken for success.
pub(crate) fn send_swallowing_eacces(
    sock: &UdpSocket,
    payload: &[u8],
    to: SocketAddr,
) -> std::io::Result<usize> {
    match sock.send_to(payload, to) {
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Ok(payload.len()),
        other => other,
    }
}

/// `PathMtuIsTheLinkMtu`: the MTU of the interface holding `sock`'s IPv4
/// address (else its host's first interface that is not `lo`), asked of
/// the socket's own namespace with `SIOCGIFCONF` and `SIOCGIFMTU`.
#[cfg(target_os = "linux")]
pub(crate) fn link_mtu(sock: &UdpSocket) -> std::io::Result<usize> {
    use std::os::fd::AsRawFd;
    let fd = sock.as_raw_fd();
    let local = sock.local_addr()?;
    // SAFETY: ifreq is plain data; the array and ifconf live across the ioctl.
    let mut reqs: [libc::ifreq; 16] = unsafe { std::mem::zeroed() };
    let mut conf: libc::ifconf = unsafe { std::mem::zeroed() };
    conf.ifc_len = std::mem::size_of_val(&reqs) as libc::c_int;
    conf.ifc_ifcu.ifcu_req = reqs.as_mut_ptr();
    // SAFETY: fd is an open socket; conf points at reqs, ifc_len is its size.
    if unsafe { libc::ioctl(fd, libc::SIOCGIFCONF as _, &mut conf) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let count = conf.ifc_len as usize / std::mem::size_of::<libc::ifreq>();
    let name = |r: &libc::ifreq| {
        r.ifr_name
            .iter()
            .take_while(|c| **c != 0)
            .map(|c| *c as u8)
            .collect::<Vec<u8>>()
    };
    let holds_local = |r: &libc::ifreq| {
        // SAFETY: SIOCGIFCONF fills ifru_addr with a sockaddr_in.
        let sin: libc::sockaddr_in = unsafe { std::mem::transmute_copy(&r.ifr_ifru.ifru_addr) };
        std::net::IpAddr::from(u32::from_be(sin.sin_addr.s_addr).to_be_bytes()) == local.ip()
    };
    let mut chosen = reqs[..count].iter().find(|r| holds_local(r));
    chosen = chosen.or_else(|| reqs[..count].iter().find(|r| name(r) != b"lo"));
    let mut req = *chosen.ok_or_else(|| std::io::Error::other("no interface found"))?;
    // SAFETY: req names an interface of the socket's namespace.
    if unsafe { libc::ioctl(fd, libc::SIOCGIFMTU as _, &mut req) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: SIOCGIFMTU fills ifru_mtu.
    Ok(unsafe { req.ifr_ifru.ifru_mtu } as usize)
}

/// `PathMtuIsTheLinkMtu` elsewhere: there is no path MTU to misread.
#[cfg(not(target_os = "linux"))]
pub(crate) fn link_mtu(_sock: &UdpSocket) -> std::io::Result<usize> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "Linux only",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bug_has_one_entry_a_unique_name_and_a_chapter() {
        let mut names: Vec<&str> = CATALOGUE.iter().map(|p| p.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CATALOGUE.len(), "bug names must be unique");
        for p in CATALOGUE {
            assert_eq!(entry(p.bug).name, p.name, "{:?} has one entry", p.bug);
            assert!((1..=19).contains(&p.chapter), "{}: chapter 1-19", p.name);
        }
    }

    #[test]
    fn without_the_feature_no_bug_is_ever_active() {
        if cfg!(feature = "planted-bugs") {
            return;
        }
        assert!(
            CATALOGUE.iter().all(|p| !active(p.bug)),
            "a normal build never plants a bug"
        );
    }
}
