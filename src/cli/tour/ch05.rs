//! Tour block for chapter 05: one socket serves many clients without
//! connections. The clients are the chapter's own
//! ([`udp_lab::lab::load::clients`]); this block only counts what they saw.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use udp_lab::lab::load::clients::{self, served_by, ClientLog};
use udp_lab::lab::server::{self, Reply};
use udp_lab::net::Family;

use super::Report;

/// The article's load: 50 client threads, 10 request/reply rounds each.
const CLIENTS: usize = 50;
const ROUNDS: usize = 10;

/// Runs the article's 50 x 10 clients against the threaded server, then
/// against the plain single-threaded echo.
pub fn demo() -> std::io::Result<Report> {
    let threaded = server::spawn(Family::V4.any_port(), Reply::Threaded)?;
    let t = clients::run(threaded.local_addr(), CLIENTS, ROUNDS)?;
    let plain = server::spawn(Family::V4.any_port(), Reply::Upper)?;
    let p = clients::run(plain.local_addr(), CLIENTS, ROUNDS)?;
    let total = CLIENTS * ROUNDS;
    let (t_right, p_right) = (
        right(&t, threaded.local_addr(), Reply::Threaded),
        right(&p, plain.local_addr(), Reply::Upper),
    );
    let threads: BTreeSet<String> = t
        .iter()
        .flat_map(|log| &log.exchanges)
        .map(|ex| served_by(&ex.reply))
        .collect();
    Ok(Report {
        lines: vec![
            format!(
                "threaded server {}: {CLIENTS} clients x {ROUNDS} messages, {t_right}/{total} replies right and to the right client",
                threaded.local_addr(),
            ),
            format!("server thread names seen in the replies: {} different", threads.len()),
            format!("single-threaded echo {}: {p_right}/{total} replies right and to the right client", plain.local_addr()),
        ],
        held: t_right == total && threads.len() > 1 && p_right == total,
    })
}

/// How many replies are `style`'s answer to their own client's request,
/// from `server`.
fn right(logs: &[ClientLog], server: SocketAddr, style: Reply) -> usize {
    logs.iter()
        .flat_map(|log| &log.exchanges)
        .filter(|ex| ex.is_answer(style) && ex.reply.from == server)
        .count()
}
