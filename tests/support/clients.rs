//! The chapters' lock-step clients (`udp_lab::lab::load::clients`) as the
//! tests use them: [`run_clients`] fails the test naming every client that
//! missed a reply, and [`assert_every_reply`] checks a rule on every reply,
//! listing the first ones that break it. Chapters 05 and 13 share both.

use std::net::SocketAddr;

use udp_lab::lab::load::clients::{self, ClientLog, Exchange};

/// Runs `clients` lock-step clients of `rounds` rounds against `server`
/// (`"client-007 [n]"`, each reply recorded with its source); every client
/// must get every reply.
#[track_caller]
pub fn run_clients(server: SocketAddr, clients: usize, rounds: usize) -> Vec<ClientLog> {
    clients::run(server, clients, rounds).unwrap_or_else(|e| panic!("{e}"))
}

/// Checks `rule` on every exchange of every client: it returns why an
/// exchange breaks it, or `None`. Fails with the first 10 broken ones and
/// `why`, what the rule teaches.
#[track_caller]
pub fn assert_every_reply(
    logs: &[ClientLog],
    why: &str,
    rule: impl Fn(&ClientLog, &Exchange) -> Option<String>,
) {
    let broken: Vec<String> = logs
        .iter()
        .flat_map(|log| {
            log.exchanges
                .iter()
                .filter_map(|ex| rule(log, ex))
                .map(|e| format!("{}: {e}", log.name))
        })
        .collect();
    let total: usize = logs.iter().map(|log| log.exchanges.len()).sum();
    let first: Vec<&str> = broken.iter().take(10).map(String::as_str).collect();
    assert!(
        broken.is_empty(),
        "{} of {total} replies broke the rule. {why}\nfirst ones:\n{}",
        broken.len(),
        first.join("\n")
    );
}
