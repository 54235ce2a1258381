//! Amplification (chapter 15): how many bytes a server sends back for each
//! byte it receives. A forger who sends a small request with a victim's
//! address as its source makes the server send the victim the reply: the
//! larger the factor, the more the forger's bandwidth is multiplied.
//!
//! The factors are measured on a real server, never computed from a
//! formula: [`measure`] sends requests of each size and weighs the replies.

use std::io;

use crate::lab::server::{self, Reply};
use crate::net::{self, Family};
use crate::recv;

/// Bytes out per byte in: `reply_len / request_len` (infinite for a
/// non-empty reply to an empty request, 1 for an empty one).
pub fn factor(request_len: usize, reply_len: usize) -> f64 {
    if request_len == 0 {
        return if reply_len == 0 { 1.0 } else { f64::INFINITY };
    }
    reply_len as f64 / request_len as f64
}

/// One measurement: a request of `request_len` bytes got `reply_len`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Row {
    /// The server's reply style.
    pub style: Reply,
    /// Bytes sent.
    pub request_len: usize,
    /// Bytes received in reply.
    pub reply_len: usize,
}

impl Row {
    /// The row's factor, [`factor`].
    pub fn factor(&self) -> f64 {
        factor(self.request_len, self.reply_len)
    }
}

/// The request sizes of the chapter's table.
pub const SIZES: [usize; 5] = [1, 5, 64, 512, 1400];

/// Sends one request of each size (lower-case letters) to a fresh article's
/// server of `style` on loopback, and weighs each reply.
pub fn measure(style: Reply, sizes: &[usize]) -> io::Result<Vec<Row>> {
    let server = server::spawn(Family::V4.any_port(), style)?;
    let client = net::bind_loopback(Family::V4)?;
    let rows = sizes
        .iter()
        .map(|&n| {
            let request = vec![b'h'; n];
            let reply =
                recv::request(&client, server.local_addr(), &request, "the server's reply")?;
            Ok(Row {
                style,
                request_len: n,
                reply_len: reply.payload.len(),
            })
        })
        .collect();
    server.shutdown();
    rows
}

/// The chapter's table in Markdown: one row per style and request size.
pub fn markdown_table(rows: &[Row]) -> String {
    let mut text = String::from(
        "| reply style | request (bytes) | reply (bytes) | amplification |\n|---|---|---|---|\n",
    );
    for row in rows {
        text.push_str(&format!(
            "| {} | {} | {} | {:.2}x |\n",
            row.style,
            row.request_len,
            row.reply_len,
            row.factor()
        ));
    }
    text
}
