//! The lab: the course's machinery, built on the socket tier
//! ([`crate::net`], [`crate::recv`], [`crate::tune`], [`crate::limits`],
//! [`crate::tcp`]) and never used by it. Read it after the socket tier: each
//! module here is a program a chapter runs and measures.
//!
//! | module | what it holds | chapters |
//! |---|---|---|
//! | [`server`] | the article's echo servers in background threads, with counters and a handle; [`server::models`]: five ways to dispatch datagrams to threads | 01, 05, 13 |
//! | [`buffers`] | receive-buffer overflow measured: blast, drain, count, and the kernel's drop counter | 08 |
//! | [`relay`] | an impairment relay: seeded loss, duplication, reordering, delay and corruption between a client and a server | 11, 12 |
//! | [`reliable`] | reliability on top of UDP: retries with backoff, stop-and-wait, a pinger | 12 |
//! | [`load`] | the load generator: lock-step clients that check every reply, rates and latency percentiles | 13 |
//! | [`congestion`] | being a good citizen: an RFC 6298 RTO estimator, a pacer on an injectable clock, a circuit breaker (RFC 8084), the waste of blasting past a bottleneck, measured at the relay | 14 |
//! | [`stop`] | the one way every serving thread above is stopped: a flag, a wake-up datagram, a join | |
//! | [`planted`] | the catalogue of planted bugs: mistakes the lab makes on purpose (feature `planted-bugs`, env `UDP_LAB_PLANTED_BUG`), so a test can be shown to catch them | 01-13 |
//! | [`abuse`] | amplification, forged sources, spoofed replies: measured, and the defences (chapter 15's [`server::Guard`]) | 15 |
//! | [`netns`] | private network namespaces (Linux): enter one, probe whether it works | 15 |
//! | [`fast`] | fast paths: GSO sends and GRO receives (Linux), and the bulk load `udp-lab bench --bulk` races | 19 |
//! | [`hosts`] | test hosts (Linux, root): network namespaces joined by veth links of chosen MTUs, a router between two links; path MTU options; hand-made IPv4 fragments | 16 |
//! | [`hosts`] | test hosts (Linux, root): network namespaces joined by veth links of chosen MTUs, a router between two links; path MTU options; hand-made IPv4 fragments; a bridged LAN with broadcast and multicast helpers; a multihomed host and a pktinfo server | 16, 17, 18 |
//! | [`kernel`] | what the kernel knows and the socket is not told (Linux): one socket's drops and queue in `/proc/net/udp`, the namespace's counters in `/proc/net/snmp`, ICMP errors through `IP_RECVERR`, the kernel's version | 01, 02, 04, 07, 08, 10 |
//!
//! Dependencies point one way: the `udp-lab` command line uses the lab, the
//! lab uses the socket tier, the socket tier uses neither.

pub mod abuse;
pub mod buffers;
pub mod congestion;
pub mod fast;
pub mod hosts;
pub mod kernel;
pub mod load;
pub mod netns;
pub mod planted;
pub mod relay;
pub mod reliable;
pub mod server;
pub mod stop;
