//! Address validation (chapter 15): a server answers a source it has not
//! yet seen only with a small token, and answers in full only requests that
//! carry the token made for their source address. This is QUIC's Retry
//! (RFC 9000, section 8.1) and DNS cookies (RFC 7873) reduced to their core.
//!
//! Why it stops reflection: a forged request names a victim as its source.
//! The token goes to the victim, not to the forger, so the forger never
//! learns it and cannot send a request the server answers in full. And the
//! token reply is never larger than the request that asked for it, so the
//! victim receives no more bytes than the forger sent.
//!
//! The token is the first [`TOKEN_BYTES`] bytes of HMAC-SHA256 over the
//! source address (its IP octets and port), keyed by a secret the server
//! draws from the OS's random source when it starts. It is written in hex,
//! so `udp-lab serve` logs stay readable.
//!
//! Left out for the lab, kept by real protocols: the token never expires
//! (QUIC accepts a Retry token "only for a short time", RFC 9000 §8.1.4),
//! and binding the port means a client whose NAT rebinds it to a new port
//! must start over (a DNS server cookie binds the client's IP address and
//! client cookie, not the port).
//!
//! ```text
//! client -> server   "hello"                          (unknown source: no token)
//! server -> client   "retry 9f1c...e2"                (22 bytes, only if the request was at least as long)
//! client -> server   "token 9f1c...e2 hello"          (token for this source)
//! server -> client   "HELLO"                          (answered in full)
//! ```

use std::io;
use std::net::{IpAddr, SocketAddr};

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::lab::planted::{self, Bug};

/// How many bytes of the HMAC a token keeps (16 hex characters). Eight
/// bytes are plenty for an off-path forger who must guess them blind.
pub const TOKEN_BYTES: usize = 8;
/// The prefix of the server's token reply: `retry <hex token>`.
pub const RETRY_PREFIX: &[u8] = b"retry ";
/// The prefix of a request carrying a token: `token <hex token> <payload>`.
pub const TOKEN_PREFIX: &[u8] = b"token ";
/// The length of the token reply (22 bytes): a request shorter than this
/// from an unknown source gets no answer at all.
pub const RETRY_LEN: usize = RETRY_PREFIX.len() + 2 * TOKEN_BYTES;

/// The server's secret. Only the server knows it; a token made with it
/// proves that the client received a datagram sent to its address.
#[derive(Clone)]
pub struct TokenKey {
    key: [u8; 32],
}

impl TokenKey {
    /// A fresh key from the OS's random source (`getrandom`).
    pub fn random() -> io::Result<TokenKey> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| io::Error::other(format!("OS random source: {e}")))?;
        Ok(TokenKey { key })
    }

    fn mac(&self, addr: SocketAddr) -> Hmac<Sha256> {
        // HMAC takes a key of any length: this cannot fail.
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.key).expect("HMAC accepts any key length");
        match addr.ip() {
            IpAddr::V4(ip) => mac.update(&ip.octets()),
            IpAddr::V6(ip) => mac.update(&ip.octets()),
        }
        mac.update(&addr.port().to_be_bytes());
        mac
    }

    /// The token for `addr`, as the hex text a client sends back.
    pub fn token_for(&self, addr: SocketAddr) -> String {
        let tag = self.mac(addr).finalize().into_bytes();
        hex(&tag[..TOKEN_BYTES])
    }

    /// Whether `token` (hex text) is the token for `addr`. The comparison
    /// is the `hmac` crate's, in constant time.
    pub fn check(&self, addr: SocketAddr, token: &[u8]) -> bool {
        let Some(raw) = unhex(token) else {
            return false;
        };
        planted::active(Bug::TokenCheckAcceptsAny)
            || self.mac(addr).verify_truncated_left(&raw).is_ok()
    }
}

/// The token reply sent to an unknown source: `retry <token>`.
pub fn retry_reply(token: &str) -> Vec<u8> {
    [RETRY_PREFIX, token.as_bytes()].concat()
}

/// The token in a server's reply, if the reply is a token reply.
pub fn retry_token(reply: &[u8]) -> Option<&[u8]> {
    let token = reply.strip_prefix(RETRY_PREFIX)?;
    (token.len() == 2 * TOKEN_BYTES).then_some(token)
}

/// A request carrying `token`: `token <token> <payload>`.
pub fn with_token(token: &[u8], payload: &[u8]) -> Vec<u8> {
    [TOKEN_PREFIX, token, b" ", payload].concat()
}

/// Splits a request into its token and its payload; `None` when it
/// carries no token.
pub fn split_token(request: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = request.strip_prefix(TOKEN_PREFIX)?;
    if rest.len() <= 2 * TOKEN_BYTES || rest[2 * TOKEN_BYTES] != b' ' {
        return None;
    }
    Some((&rest[..2 * TOKEN_BYTES], &rest[2 * TOKEN_BYTES + 1..]))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of lower-case hex text of [`TOKEN_BYTES`] bytes, or `None`.
fn unhex(text: &[u8]) -> Option<Vec<u8>> {
    if text.len() != 2 * TOKEN_BYTES {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    text.chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_checks_for_its_own_address_only() {
        let key = TokenKey::random().expect("OS random source");
        let (a, b): (SocketAddr, SocketAddr) = (
            "192.0.2.1:5000".parse().unwrap(),
            "192.0.2.1:5001".parse().unwrap(),
        );
        let token = key.token_for(a);
        assert!(
            key.check(a, token.as_bytes()),
            "the token made for {a} must check for {a}"
        );
        assert!(
            !key.check(b, token.as_bytes()),
            "a token made for {a} must not check for {b}"
        );
        let request = with_token(token.as_bytes(), b"hi");
        assert_eq!(split_token(&request), Some((token.as_bytes(), &b"hi"[..])));
        assert_eq!(retry_reply(&token).len(), RETRY_LEN);
    }
}
