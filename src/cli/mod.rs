//! The subcommands of `udp-lab`, one file each, and how their outcome
//! becomes an exit code.

pub mod bench;
pub mod book;
pub mod buffers;
pub mod dev;
pub mod exercises;
pub mod ping;
pub mod relay;
pub mod send;
pub mod serve;
pub mod tour;

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::process::ExitCode;
use std::sync::mpsc;

use udp_lab::net::{self, Family};

/// How a subcommand ended.
pub enum Failure {
    /// The thing being checked did not hold (a missing reply, a broken
    /// property): exit code 1.
    Failed(String),
    /// Bad input or a setup error (bad address, port in use): exit code 2.
    Usage(String),
}

/// What every subcommand returns.
pub type Outcome = Result<(), Failure>;

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Usage(e.to_string())
    }
}

/// Prints a failure as one clear line on stderr and picks the exit code.
pub fn finish(outcome: Outcome) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Failed(msg)) => {
            eprintln!("udp-lab: {msg}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(msg)) => {
            eprintln!("udp-lab: error: {msg}");
            ExitCode::from(2)
        }
    }
}

/// A channel that receives once SIGINT (Ctrl-C) or SIGTERM arrives.
pub fn stop_signal() -> Result<mpsc::Receiver<()>, Failure> {
    let (tx, rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .map_err(|e| Failure::Usage(format!("cannot handle Ctrl-C: {e}")))?;
    Ok(rx)
}

/// The bind error in one line, with the likely cause for the usual ones.
pub fn bind_failure(doing: &str, bind: SocketAddr, err: &io::Error) -> Failure {
    let hint = match err.kind() {
        io::ErrorKind::AddrInUse => {
            " (another program uses this port: pick another, or port 0 to let the OS choose)"
        }
        io::ErrorKind::PermissionDenied => {
            " (ports below 1024 need administrator rights: pick one above 1023)"
        }
        io::ErrorKind::AddrNotAvailable => {
            " (no interface of this machine has that address: try 127.0.0.1 or [::1])"
        }
        _ => "",
    };
    Failure::Usage(format!("cannot {doing} on {bind}: {err}{hint}"))
}

/// A client socket of the destination's family, on a port the OS chooses:
/// on loopback when the destination is local (as the article's client,
/// whose replies come back over loopback), on every address otherwise.
pub fn bind_client_for(to: SocketAddr) -> io::Result<UdpSocket> {
    let family = Family::of(&to);
    if to.ip().is_loopback() {
        return net::bind_loopback(family);
    }
    let any = match family {
        Family::V4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        Family::V6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    net::bind(SocketAddr::new(any, 0))
}
